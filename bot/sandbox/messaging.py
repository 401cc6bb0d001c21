"""The Bot API methods about chats and messages, with Telegram's checks and error texts.

Each public method here takes the decoded `Params` of one call and returns the `result` the
Bot API would return, or raises `ApiError` with Telegram's description: sending (text, media,
albums, location, contact, copies, forwards), editing, deleting, callback answers, chat actions,
files, chats and members, and the bot's commands and menu. Transport concerns (routing, update
delivery, fault injection, the call log) belong to `botapi`; this module only reads and changes
the `World`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.api_input import ApiError, Params, Upload, bad_request, check_reply_markup
from bot.sandbox.telegram_html import HtmlParseError, ParsedText, parse_html, utf16_len
from bot.sandbox.world import BOT_ID, BOT_USER, Chat, JsonDict, Message, StoredFile, World

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_ADMIN_DENIED = (
    "can_be_edited", "is_anonymous", "can_post_stories", "can_edit_stories",
    "can_delete_stories", "can_promote_members",
)  # fmt: skip
_ADMIN_GRANTED = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_change_info", "can_invite_users", "can_pin_messages",
)  # fmt: skip
_MIME = {"photo": "image/jpeg", "video": "video/mp4", "voice": "audio/ogg", "audio": "audio/mpeg"}

Method = Callable[[Params], Any]


class Messaging:
    """Message and chat methods over one `World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.query_ttl = 60.0  # seconds a callback query may wait for its answer
        self.commands: dict[str, list[JsonDict]] = {}
        self.menu_buttons: dict[int, JsonDict] = {}
        self.profile: dict[str, str] = {}

    def table(self) -> dict[str, Method]:
        """Method name (lower case, as Telegram matches them) to implementation."""
        send = {f"send{kind}": self._media_sender(kind) for kind in _MEDIA_METHODS}
        profile = {
            f"{verb}my{field.replace('_', '')}": self._profile(verb, field)
            for verb in ("set", "get")
            for field in ("name", "description", "short_description")
        }
        return {
            "sendmessage": self.send_message,
            **send,
            **profile,
            "sendlocation": self.send_location,
            "sendcontact": self.send_contact,
            "sendmediagroup": self.send_media_group,
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
            "editmessagetext": self.edit_message_text,
            "editmessagecaption": self.edit_message_caption,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "deletemessage": self.delete_message,
            "deletemessages": self.delete_messages,
            "answercallbackquery": self.answer_callback_query,
            "sendchataction": self.send_chat_action,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            "getfile": self.get_file,
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "getchatadministrators": self.get_chat_administrators,
        }

    # -- helpers ---------------------------------------------------------------------------

    def chat(self, params: Params, name: str = "chat_id") -> Chat:
        chat = self.world.find_chat(params.chat_id(name))
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def target(self, params: Params) -> Chat:
        """The chat a new message goes to, refusing where Telegram would."""
        chat = self.chat(params)
        user = self.world.users.get(chat.user_id or 0)
        if user is not None and user.blocked_bot:
            raise ApiError("Forbidden: bot was blocked by the user", 403)
        return chat

    def formatted(self, params: Params, name: str) -> tuple[str, ParsedText, str | None]:
        """(text as sent, parsed and trimmed text, parse mode) of a text or caption field."""
        source = params.string(name) or ""
        mode = params.string("parse_mode") or None
        if mode is None:
            entities = params.json("entities" if name == "text" else "caption_entities")
            return source, ParsedText(source, list(entities or [])).stripped(), None
        if mode.lower() != "html":
            raise bad_request("unsupported parse_mode")
        try:
            return source, parse_html(source).stripped(), mode
        except HtmlParseError as err:
            raise bad_request(f"can't parse entities: {err}") from err

    def text_param(self, params: Params) -> tuple[str, ParsedText, str | None]:
        source, parsed, mode = self.formatted(params, "text")
        if not parsed.text:
            raise bad_request("message text is empty")
        if utf16_len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        return source, parsed, mode

    def caption_param(self, params: Params) -> tuple[str, ParsedText, str | None]:
        source, parsed, mode = self.formatted(params, "caption")
        if utf16_len(parsed.text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return source, parsed, mode

    def markup(self, params: Params) -> tuple[JsonDict | None, JsonDict | None]:
        """(inline keyboard kept on the message, reply keyboard / removal for the chat)."""
        if not params.has("reply_markup"):
            return None, None
        error = "Bad Request: can't parse reply keyboard markup JSON object"
        markup = check_reply_markup(params.json("reply_markup", error))
        return (markup, None) if "inline_keyboard" in markup else (None, markup)

    def reply_to(self, chat: Chat, params: Params) -> int | None:
        options = params.json("reply_parameters") or {}
        if not isinstance(options, dict):
            raise bad_request("can't parse reply parameters JSON object")
        message_id = options.get("message_id", params.integer("reply_to_message_id"))
        if message_id is None:
            return None
        source = self.world.find_chat(options.get("chat_id", chat.id)) or chat
        if self.world.live_message(source, int(message_id)) is None:
            if options.get("allow_sending_without_reply") or params.flag(
                "allow_sending_without_reply"
            ):
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def post(self, chat: Chat, params: Params, kind: str, **fields: Any) -> Message:
        """Store a bot message with the common options and apply its reply keyboard."""
        inline, keyboard = self.markup(params)
        message = self.world.add_message(
            chat,
            BOT_ID,
            kind,
            reply_markup=inline,
            keyboard=keyboard,
            reply_to=self.reply_to(chat, params),
            **fields,
        )
        if keyboard is not None:
            chat.reply_keyboard = keyboard if "keyboard" in keyboard else None
            if "keyboard" in keyboard or keyboard.get("remove_keyboard"):
                self.world.emit("chat", chat.id, chat=self.world.chat_view(chat))
        return message

    def find_message(self, params: Params, missing: str) -> Message:
        if params.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self.chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = self.world.live_message(chat, message_id)
        if message is None:
            raise bad_request(missing)
        return message

    def file_param(self, params: Params, name: str, kind: str) -> StoredFile:
        """A file given by upload, by file_id, or by URL (fabricated: the sandbox is offline)."""
        upload = params.upload(name)
        value = params.string(name)
        if upload is None and value and value.startswith("attach://"):
            upload = params.upload(value.removeprefix("attach://"))
        if upload is not None:
            return self._stored_upload(upload, kind)
        if not value:
            raise bad_request(f"there is no {kind} in the request")
        if value.startswith(("http://", "https://")):
            name_hint = value.rsplit("/", 1)[-1] or None
            return self.world.add_file(kind, size=4096, file_name=name_hint)
        stored = self.world.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _stored_upload(self, upload: Upload, kind: str) -> StoredFile:
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = _MIME.get(kind, mime)
        return self.world.add_file(
            kind, size=len(upload.data), data=upload.data, mime_type=mime, file_name=upload.filename
        )

    # -- sending ---------------------------------------------------------------------------

    def send_message(self, params: Params) -> JsonDict:
        chat = self.target(params)
        source, parsed, mode = self.text_param(params)
        message = self.post(
            chat,
            params,
            "text",
            text=parsed.text,
            entities=parsed.entities,
            source=source,
            parse_mode=mode,
            link_preview_options=params.json("link_preview_options"),
        )
        return self.world.message_json(message)

    def _media_sender(self, kind: str) -> Method:
        def send(params: Params) -> JsonDict:
            chat = self.target(params)
            stored = self.file_param(params, kind, kind)
            source, parsed, mode = self.caption_param(params)
            message = self.post(
                chat,
                params,
                kind,
                caption=parsed.text or None,
                entities=parsed.entities,
                source=source or None,
                parse_mode=mode,
                media=self.world.media_json(stored, emoji=params.string("emoji")),
                file_id=stored.file_id,
            )
            return self.world.message_json(message)

        return send

    def send_location(self, params: Params) -> JsonDict:
        chat = self.target(params)
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
            raise bad_request("wrong latitude or longitude specified")
        location = {"latitude": latitude, "longitude": longitude}
        message = self.post(chat, params, "location", media={"location": location})
        return self.world.message_json(message)

    def send_contact(self, params: Params) -> JsonDict:
        chat = self.target(params)
        phone, first_name = params.string("phone_number"), params.string("first_name")
        if not phone or not first_name:
            raise bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": phone, "first_name": first_name}
        if params.string("last_name"):
            contact["last_name"] = params.string("last_name") or ""
        message = self.post(chat, params, "contact", media={"contact": contact})
        return self.world.message_json(message)

    def send_media_group(self, params: Params) -> list[JsonDict]:
        chat = self.target(params)
        items = params.json("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise bad_request("wrong number of media in the group: must be 2-10")
        group_id = str(int(time.time() * 1000))
        stored: list[tuple[str, StoredFile, ParsedText, str, str | None]] = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in _MEDIA_METHODS[:-2]:
                raise bad_request("can't parse InputMedia JSON object")
            kind = str(item["type"])
            media = Params({**params.values, "media": item.get("media", "")})
            fields = {"caption": item.get("caption", ""), "parse_mode": item.get("parse_mode")}
            source, parsed, mode = self.caption_param(
                Params({k: v for k, v in fields.items() if v})
            )
            stored.append((kind, self.file_param(media, "media", kind), parsed, source, mode))
        reply_to = self.reply_to(chat, params)
        messages = [
            self.world.add_message(
                chat,
                BOT_ID,
                kind,
                caption=parsed.text or None,
                entities=parsed.entities,
                source=source or None,
                parse_mode=mode,
                media=self.world.media_json(file),
                file_id=file.file_id,
                media_group_id=group_id,
                reply_to=reply_to,
            )
            for kind, file, parsed, source, mode in stored
        ]
        return [self.world.message_json(message) for message in messages]

    def _copy(self, params: Params, missing: str) -> tuple[Chat, Message]:
        target = self.target(params)
        source_chat = self.chat(params, "from_chat_id")
        message_id = params.integer("message_id")
        original = self.world.live_message(source_chat, message_id)
        if original is None:
            raise bad_request(missing)
        return target, original

    def copy_message(self, params: Params) -> JsonDict:
        target, original = self._copy(params, "message to copy not found")
        fields: dict[str, Any] = {
            "text": original.text,
            "caption": original.caption,
            "entities": original.entities,
            "source": original.source,
            "parse_mode": original.parse_mode,
            "media": original.media,
            "file_id": original.file_id,
        }
        if params.has("caption"):
            source, parsed, mode = self.caption_param(params)
            fields.update(caption=parsed.text, entities=parsed.entities, source=source)
            fields["parse_mode"] = mode
        copy = self.post(target, params, original.kind, **fields)
        return {"message_id": copy.message_id}

    def forward_message(self, params: Params) -> JsonDict:
        target, original = self._copy(params, "message to forward not found")
        sender = self.world.users[original.sender_id]
        origin = original.forward_origin or {
            "type": "user",
            "date": original.date,
            "sender_user": sender.to_json(),
        }
        forwarded = self.world.add_message(
            target,
            BOT_ID,
            original.kind,
            text=original.text,
            caption=original.caption,
            entities=original.entities,
            source=original.source,
            parse_mode=original.parse_mode,
            media=original.media,
            file_id=original.file_id,
            forward_origin=origin,
        )
        return self.world.message_json(forwarded)

    # -- editing and deleting --------------------------------------------------------------

    def _editable(self, params: Params) -> Message:
        message = self.find_message(params, "message to edit not found")
        if message.sender_id != BOT_ID:
            raise bad_request("message can't be edited")
        return message

    def _edited_markup(self, params: Params) -> JsonDict | None:
        inline, keyboard = self.markup(params)
        if keyboard is not None:
            raise bad_request("inline keyboard expected")
        return inline

    def _commit_edit(
        self, message: Message, fields: dict[str, Any], source: tuple[str | None, str | None]
    ) -> JsonDict:
        """Apply an edit unless it changes nothing visible; `source` is (as sent, parse mode)."""
        if all(getattr(message, key) == value for key, value in fields.items()):
            raise bad_request(_NOT_MODIFIED)
        for key, value in fields.items():
            setattr(message, key, value)
        message.source, message.parse_mode = source
        message.edited += 1
        message.edit_date = int(time.time())
        self.world.touch(message, "edit")
        return self.world.message_json(message)

    def edit_message_text(self, params: Params) -> JsonDict:
        message = self._editable(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        source, parsed, mode = self.text_param(params)
        fields = {
            "text": parsed.text,
            "entities": parsed.entities,
            "reply_markup": self._edited_markup(params),
        }
        return self._commit_edit(message, fields, (source, mode))

    def edit_message_caption(self, params: Params) -> JsonDict:
        message = self._editable(params)
        if message.kind not in _MEDIA_METHODS:
            raise bad_request("there is no caption in the message to edit")
        source, parsed, mode = self.caption_param(params)
        fields = {
            "caption": parsed.text or None,
            "entities": parsed.entities,
            "reply_markup": self._edited_markup(params),
        }
        return self._commit_edit(message, fields, (source or None, mode))

    def edit_message_reply_markup(self, params: Params) -> JsonDict:
        message = self._editable(params)
        fields = {"reply_markup": self._edited_markup(params)}
        return self._commit_edit(message, fields, (message.source, message.parse_mode))

    def delete_message(self, params: Params) -> bool:
        message = self.find_message(params, "message to delete not found")
        message.deleted = True
        self.world.touch(message, "delete")
        return True

    def delete_messages(self, params: Params) -> bool:
        chat = self.chat(params)
        ids = params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty Array of at most 100 items")
        for message_id in ids:
            message = self.world.live_message(chat, int(message_id))
            if message is not None:
                message.deleted = True
                self.world.touch(message, "delete")
        return True

    # -- callback queries, actions, files, chats -------------------------------------------

    def answer_callback_query(self, params: Params) -> bool:
        query = self.world.queries.get(params.string("callback_query_id") or "")
        if query is None or query.answered or time.monotonic() - query.created > self.query_ttl:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.string("text") or ""
        if len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        self.world.emit(
            "callback_answer",
            query.chat_id,
            answer={
                "callback_query_id": query.id,
                "user_id": query.user_id,
                "message_id": query.message_id,
                "text": text,
                "show_alert": params.flag("show_alert"),
                "url": params.string("url"),
            },
        )
        return True

    def send_chat_action(self, params: Params) -> bool:
        chat = self.target(params)
        action = params.string("action")
        if action not in _ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.world.emit("action", chat.id, action=action)
        return True

    def get_file(self, params: Params) -> JsonDict:
        stored = self.world.files.get(params.string("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    def get_chat(self, params: Params) -> JsonDict:
        chat = self.chat(params)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **self.world.chat_json(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {**dict.fromkeys(gifts, False), "gifts_from_channels": False},
        }

    def _member(self, chat: Chat, user_id: int) -> JsonDict:
        user = self.world.users[user_id]
        if user_id == BOT_ID and chat.type != "private":
            flags = {**dict.fromkeys(_ADMIN_DENIED, False), **dict.fromkeys(_ADMIN_GRANTED, True)}
            return {"status": "administrator", "user": user.to_json(), **flags}
        status = "member" if user_id in chat.members or chat.type == "private" else "left"
        return {"status": status, "user": user.to_json()}

    def get_chat_member(self, params: Params) -> JsonDict:
        chat = self.chat(params)
        user_id = params.integer("user_id")
        if user_id not in self.world.users:
            raise bad_request("user not found")
        return self._member(chat, user_id)

    def get_chat_administrators(self, params: Params) -> list[JsonDict]:
        chat = self.chat(params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        return [self._member(chat, BOT_ID)]

    # -- the bot's profile -----------------------------------------------------------------

    def _scope_key(self, params: Params) -> str:
        scope = params.json("scope") or {"type": "default"}
        return f"{sorted(scope.items()) if isinstance(scope, dict) else scope}|" + (
            params.string("language_code") or ""
        )

    def set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            valid = (
                name
                and len(name) <= 32
                and all(c.islower() or c.isdigit() or c == "_" for c in name)
            )
            if not valid:
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be non-empty")
        self.commands[self._scope_key(params)] = commands
        return True

    def get_my_commands(self, params: Params) -> list[JsonDict]:
        return self.commands.get(self._scope_key(params), [])

    def delete_my_commands(self, params: Params) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def set_chat_menu_button(self, params: Params) -> bool:
        chat_id = params.integer("chat_id") or 0
        button = params.json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    def get_chat_menu_button(self, params: Params) -> JsonDict:
        chat_id = params.integer("chat_id") or 0
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(0, {"type": "commands"}))

    def _profile(self, verb: str, field: str) -> Method:
        def handle(params: Params) -> Any:
            key = f"{field}|{params.string('language_code') or ''}"
            if verb == "set":
                self.profile[key] = params.string(field) or ""
                return True
            default = BOT_USER.first_name if field == "name" else ""
            return {field: self.profile.get(key, default)}

        return handle


_MEDIA_METHODS = ("photo", "video", "document", "audio", "voice", "sticker")
