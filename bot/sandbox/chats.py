"""The Bot API methods about chats, members, files and the bot's own profile.

getChat, getChatMember, getChatAdministrators, sendChatAction, getFile (refusing files over
the 20 MB bot download limit, as Telegram does), set/get/deleteMyCommands per scope and
language, set/getChatMenuButton and set/getMyName/Description/ShortDescription. The bot is an
administrator of every configured group; users are members of the groups they were put in or
wrote in. Like the other method modules it only reads and changes the `World`.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.api_input import Params, bad_request
from bot.sandbox.messaging import Method, find_chat, target_chat
from bot.sandbox.world import BOT_ID, BOT_USER, Chat, JsonDict, World

MAX_DOWNLOAD = 20 * 1024 * 1024
_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_ADMIN_DENIED = (
    "can_be_edited", "is_anonymous", "can_post_stories", "can_edit_stories",
    "can_delete_stories", "can_promote_members",
)  # fmt: skip
_ADMIN_GRANTED = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_change_info", "can_invite_users", "can_pin_messages",
)  # fmt: skip
_GIFT_TYPES = (
    "unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
    "gifts_from_channels",
)  # fmt: skip


class Chats:
    """Chat, member, file and profile methods over one `World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.commands: dict[str, list[JsonDict]] = {}
        self.menu_buttons: dict[int, JsonDict] = {}
        self.profile: dict[str, str] = {}

    def table(self) -> dict[str, Method]:
        profile = {
            f"{verb}my{field.replace('_', '')}": self._profile(verb, field)
            for verb in ("set", "get")
            for field in ("name", "description", "short_description")
        }
        return {
            "getchat": self.get_chat,
            "getchatmember": self.get_chat_member,
            "getchatadministrators": self.get_chat_administrators,
            "sendchataction": self.send_chat_action,
            "getfile": self.get_file,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "setchatmenubutton": self.set_chat_menu_button,
            "getchatmenubutton": self.get_chat_menu_button,
            **profile,
        }

    # -- chats and members -----------------------------------------------------------------

    def get_chat(self, params: Params) -> JsonDict:
        chat = find_chat(self.world, params)
        return {
            **self.world.chat_json(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(_GIFT_TYPES, False),
        }

    def _member(self, chat: Chat, user_id: int) -> JsonDict:
        user = self.world.users[user_id]
        if user_id == BOT_ID and chat.type != "private":
            flags = {**dict.fromkeys(_ADMIN_DENIED, False), **dict.fromkeys(_ADMIN_GRANTED, True)}
            return {"status": "administrator", "user": user.to_json(), **flags}
        status = "member" if user_id in chat.members or chat.type == "private" else "left"
        return {"status": status, "user": user.to_json()}

    def get_chat_member(self, params: Params) -> JsonDict:
        chat = find_chat(self.world, params)
        user_id = params.integer("user_id")
        if user_id is None or user_id not in self.world.users:
            raise bad_request("user not found")
        return self._member(chat, user_id)

    def get_chat_administrators(self, params: Params) -> list[JsonDict]:
        chat = find_chat(self.world, params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        return [self._member(chat, BOT_ID)]

    def send_chat_action(self, params: Params) -> bool:
        chat = target_chat(self.world, params)
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

    # -- the bot's profile -----------------------------------------------------------------

    def _scope_key(self, params: Params) -> str:
        scope = params.json("scope") or {"type": "default"}
        shape = sorted(scope.items()) if isinstance(scope, dict) else scope
        return f"{shape}|{params.string('language_code') or ''}"

    def set_my_commands(self, params: Params) -> bool:
        commands = params.json("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not (
                isinstance(name, str)
                and 1 <= len(name) <= 32
                and all(c.islower() or c.isdigit() or c == "_" for c in name)
            ):
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
        button = params.json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "default",
            "commands",
            "web_app",
        ):
            raise bad_request("can't parse menu button JSON object")
        self.menu_buttons[params.integer("chat_id") or 0] = button
        return True

    def get_chat_menu_button(self, params: Params) -> JsonDict:
        default = self.menu_buttons.get(0, {"type": "commands"})
        return self.menu_buttons.get(params.integer("chat_id") or 0, default)

    def _profile(self, verb: str, field: str) -> Method:
        def handle(params: Params) -> Any:
            key = f"{field}|{params.string('language_code') or ''}"
            if verb == "set":
                self.profile[key] = params.string(field) or ""
                return True
            default = BOT_USER.first_name if field == "name" else ""
            return {field: self.profile.get(key, default)}

        return handle
