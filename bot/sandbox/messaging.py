"""The Bot API methods that put messages into chats, with Telegram's checks and error texts.

sendMessage, the media senders (photo, document, video, voice, audio, sticker; by upload,
file_id or URL), sendLocation, sendContact, sendMediaGroup, copyMessage and forwardMessage:
each takes the decoded `Params` of one call and returns the `result` the Bot API would return,
or raises `ApiError` with Telegram's description. Also the lookups other method modules share
(chat, target chat, message). Transport concerns (routing, update delivery, fault injection,
the call log) belong to `botapi`; this module only reads and changes the `World`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.sandbox.api_input import (
    ApiError,
    Params,
    Upload,
    bad_request,
    caption_param,
    markup_param,
    text_param,
)
from bot.sandbox.telegram_html import ParsedText
from bot.sandbox.world import BOT_ID, Chat, JsonDict, Message, StoredFile, World

Method = Callable[[Params], Any]
MEDIA_METHODS = ("photo", "video", "document", "audio", "voice", "sticker")
_ALBUM_KINDS = ("photo", "video", "document", "audio")
_MIME = {"photo": "image/jpeg", "video": "video/mp4", "voice": "audio/ogg", "audio": "audio/mpeg"}


def find_chat(world: World, params: Params, name: str = "chat_id") -> Chat:
    chat = world.find_chat(params.chat_id(name))
    if chat is None:
        raise bad_request("chat not found")
    return chat


def find_message(world: World, params: Params, missing: str) -> Message:
    """The live message named by chat_id + message_id, or Telegram's `missing` error."""
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = find_chat(world, params)
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = world.live_message(chat, message_id)
    if message is None:
        raise bad_request(missing)
    return message


def target_chat(world: World, params: Params) -> Chat:
    """The chat a new bot message goes to, refusing where Telegram would."""
    chat = find_chat(world, params)
    user = world.users.get(chat.user_id or 0)
    if user is not None and user.blocked_bot:
        raise ApiError("Forbidden: bot was blocked by the user", 403)
    return chat


class Messaging:
    """Sending methods over one `World`."""

    def __init__(self, world: World) -> None:
        self.world = world

    def table(self) -> dict[str, Method]:
        """Method name (lower case, as Telegram matches them) to implementation."""
        return {
            "sendmessage": self.send_message,
            **{f"send{kind}": self._media_sender(kind) for kind in MEDIA_METHODS},
            "sendlocation": self.send_location,
            "sendcontact": self.send_contact,
            "sendmediagroup": self.send_media_group,
            "copymessage": self.copy_message,
            "forwardmessage": self.forward_message,
        }

    # -- shared steps ----------------------------------------------------------------------

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
        inline, keyboard = markup_param(params)
        message = self.world.add_message(
            chat,
            BOT_ID,
            kind,
            reply_markup=inline,
            keyboard=keyboard,
            reply_to=self.reply_to(chat, params),
            **fields,
        )
        if keyboard is not None and ("keyboard" in keyboard or keyboard.get("remove_keyboard")):
            chat.reply_keyboard = keyboard if "keyboard" in keyboard else None
            self.world.emit("chat", chat.id, chat=self.world.chat_view(chat))
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

    # -- the methods -----------------------------------------------------------------------

    def send_message(self, params: Params) -> JsonDict:
        chat = target_chat(self.world, params)
        source, parsed, mode = text_param(params)
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
            chat = target_chat(self.world, params)
            stored = self.file_param(params, kind, kind)
            source, parsed, mode = caption_param(params)
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
        chat = target_chat(self.world, params)
        latitude, longitude = params.number("latitude"), params.number("longitude")
        if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
            raise bad_request("wrong latitude or longitude specified")
        location = {"latitude": latitude, "longitude": longitude}
        message = self.post(chat, params, "location", media={"location": location})
        return self.world.message_json(message)

    def send_contact(self, params: Params) -> JsonDict:
        chat = target_chat(self.world, params)
        phone, first_name = params.string("phone_number"), params.string("first_name")
        if not phone or not first_name:
            raise bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": phone, "first_name": first_name}
        if params.string("last_name"):
            contact["last_name"] = params.string("last_name") or ""
        message = self.post(chat, params, "contact", media={"contact": contact})
        return self.world.message_json(message)

    def send_media_group(self, params: Params) -> list[JsonDict]:
        chat = target_chat(self.world, params)
        items = params.json("media")
        if not isinstance(items, list) or not 2 <= len(items) <= 10:
            raise bad_request("wrong number of media in the group: must be 2-10")
        parts: list[tuple[str, StoredFile, ParsedText, str, str | None]] = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in _ALBUM_KINDS:
                raise bad_request("can't parse InputMedia JSON object")
            kind = str(item["type"])
            media = Params({**params.values, "media": item.get("media", "")})
            caption = {"caption": item.get("caption"), "parse_mode": item.get("parse_mode")}
            source, parsed, mode = caption_param(Params({k: v for k, v in caption.items() if v}))
            parts.append((kind, self.file_param(media, "media", kind), parsed, source, mode))
        reply_to = self.reply_to(chat, params)
        group_id = str(time.time_ns())
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
            for kind, file, parsed, source, mode in parts
        ]
        return [self.world.message_json(message) for message in messages]

    def _original(self, params: Params, missing: str) -> tuple[Chat, Message]:
        target = target_chat(self.world, params)
        source_chat = find_chat(self.world, params, "from_chat_id")
        original = self.world.live_message(source_chat, params.integer("message_id"))
        if original is None:
            raise bad_request(missing)
        return target, original

    @staticmethod
    def _content(original: Message) -> dict[str, Any]:
        return {
            "text": original.text,
            "caption": original.caption,
            "entities": original.entities,
            "source": original.source,
            "parse_mode": original.parse_mode,
            "media": original.media,
            "file_id": original.file_id,
        }

    def copy_message(self, params: Params) -> JsonDict:
        target, original = self._original(params, "message to copy not found")
        fields = self._content(original)
        if params.has("caption"):
            source, parsed, mode = caption_param(params)
            fields.update(caption=parsed.text, entities=parsed.entities, source=source)
            fields["parse_mode"] = mode
        copy = self.post(target, params, original.kind, **fields)
        return {"message_id": copy.message_id}

    def forward_message(self, params: Params) -> JsonDict:
        target, original = self._original(params, "message to forward not found")
        sender = self.world.users[original.sender_id]
        origin = original.forward_origin or {
            "type": "user",
            "date": original.date,
            "sender_user": sender.to_json(),
        }
        forwarded = self.world.add_message(
            target, BOT_ID, original.kind, forward_origin=origin, **self._content(original)
        )
        return self.world.message_json(forwarded)
