"""The stand-in's world: users, chats, stored messages and files, and the event log.

Everything the fake Telegram knows lives here, in memory: who exists, which chats there are,
every message in each chat in order (with per-chat message ids, the plain text, the raw HTML
as sent, markup, edits and deletions), uploaded or fabricated files, and a global event
sequence the sandbox page long-polls. It renders messages in two shapes: Telegram's `Message`
JSON for the bot, and a flat "view" for the page and the test driver. It does no HTTP and no
validation of bot requests (that is the methods' job), and it never imports the bot.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

BOT_ID = 1000000001
MAX_EVENTS = 20_000  # the page only needs recent history; tests read messages directly

_FILE_PREFIX = {
    "photo": ("AgACAgUAAxkBAAI", "photos", "jpg"),
    "document": ("BQACAgUAAxkBAAI", "documents", "bin"),
    "video": ("BAACAgUAAxkBAAI", "videos", "mp4"),
    "voice": ("AwACAgUAAxkBAAI", "voice", "oga"),
    "audio": ("CQACAgUAAxkBAAI", "music", "mp3"),
    "sticker": ("CAACAgUAAxkBAAI", "stickers", "webp"),
}
MEDIA_KINDS = tuple(_FILE_PREFIX)
_PHOTO_SIZE = {"width": 1280, "height": 960}


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    blocked_bot: bool = False  # a private chat the bot may no longer write to

    def to_json(self) -> JsonDict:
        out: JsonDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


BOT_USER = User(BOT_ID, "Petition Bot", username="petition_sandbox_bot", is_bot=True)


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    size: int
    mime_type: str | None
    file_name: str | None
    file_path: str
    data: bytes | None  # None: content is fabricated on download, so big files cost nothing

    def chunks(self, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data
            return
        pattern = f"sandbox file {self.file_unique_id}\n".encode() * 4096
        remaining = self.size
        while remaining > 0:
            piece = pattern[: min(chunk_size, remaining)]
            remaining -= len(piece)
            yield piece


@dataclass
class Message:
    chat_id: int
    message_id: int
    sender_id: int
    kind: str  # text, photo, document, video, voice, audio, sticker, contact, location
    date: int
    seq: int = 0  # event sequence of the last change, so readers can ask "what changed"
    text: str | None = None  # plain text of a text message
    caption: str | None = None
    entities: list[JsonDict] = field(default_factory=list)
    source: str | None = None  # text or caption exactly as sent (raw HTML with parse_mode)
    parse_mode: str | None = None
    media: JsonDict = field(default_factory=dict)  # e.g. {"document": {...}} or {"contact": …}
    file_id: str | None = None
    reply_markup: JsonDict | None = None  # inline keyboard, the only markup a message keeps
    keyboard: JsonDict | None = None  # reply keyboard / remove / force_reply sent with it
    reply_to: int | None = None
    forward_origin: JsonDict | None = None
    media_group_id: str | None = None
    link_preview_options: JsonDict | None = None
    edit_date: int | None = None
    edited: int = 0
    deleted: bool = False

    @property
    def display_text(self) -> str:
        return (self.text if self.text is not None else self.caption) or ""

    def has_button(self, data: str) -> bool:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return any(button.get("callback_data") == data for row in rows for button in row)


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float  # time.monotonic(), for "query is too old"
    answered: bool = False


@dataclass
class Chat:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    user_id: int | None = None  # the other party of a private chat
    members: set[int] = field(default_factory=set)
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JsonDict | None = None  # what the client shows under the input box


class World:
    """All chats, users, messages and files, plus the event log the page follows."""

    def __init__(self, groups: dict[int, str] | None = None) -> None:
        self.users: dict[int, User] = {BOT_ID: BOT_USER}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.queries: dict[str, CallbackQuery] = {}
        self.events: list[JsonDict] = []
        self.seq = 0
        self._file_counter = 0
        self._event_signal = asyncio.Event()
        for chat_id, title in (groups or {}).items():
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            self.chats[chat_id] = Chat(chat_id, kind, title=title, members={BOT_ID})

    # -- users and chats -------------------------------------------------------------------

    def add_user(self, user: User) -> User:
        """Create or update a user and their private chat with the bot."""
        self.users[user.id] = user
        if user.id not in self.chats:
            self.chats[user.id] = Chat(user.id, "private", user_id=user.id, members={user.id})
        self.emit("chat", user.id)
        return user

    def find_chat(self, chat_id: int | str) -> Chat | None:
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            for user in self.users.values():
                if user.username and user.username.lower() == name and user.id in self.chats:
                    return self.chats[user.id]
            return None
        return self.chats.get(chat_id)

    def chat_json(self, chat: Chat) -> JsonDict:
        if chat.type == "private" and chat.user_id in self.users:
            user = self.users[chat.user_id]
            out: JsonDict = {"id": chat.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                out["last_name"] = user.last_name
            if user.username:
                out["username"] = user.username
            return out
        return {"id": chat.id, "type": chat.type, "title": chat.title or ""}

    def chat_view(self, chat: Chat) -> JsonDict:
        title = chat.title or (self.users[chat.user_id].name if chat.user_id else str(chat.id))
        return {
            "id": chat.id,
            "type": chat.type,
            "title": title,
            "members": sorted(chat.members),
            "reply_keyboard": chat.reply_keyboard,
        }

    # -- messages --------------------------------------------------------------------------

    def add_message(self, chat: Chat, sender_id: int, kind: str, **fields: Any) -> Message:
        message = Message(chat.id, chat.next_message_id, sender_id, kind, int(time.time()))
        for key, value in fields.items():
            setattr(message, key, value)
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        if sender_id != BOT_ID:
            chat.members.add(sender_id)
        self.touch(message, "message")
        return message

    def live_message(self, chat: Chat, message_id: int | None) -> Message | None:
        message = chat.messages.get(message_id) if message_id is not None else None
        return None if message is None or message.deleted else message

    def touch(self, message: Message, event: str) -> None:
        """Record a change to a message and tell the page about it."""
        message.seq = self.seq + 1  # the sequence number emit() is about to give this event
        self.emit(event, message.chat_id, message=self.message_view(message))

    def message_json(self, message: Message, *, nested: bool = True) -> JsonDict:
        """The message as Telegram's `Message` object."""
        chat = self.chats[message.chat_id]
        out: JsonDict = {
            "message_id": message.message_id,
            "from": self.users[message.sender_id].to_json(),
            "chat": self.chat_json(chat),
            "date": message.date,
        }
        if message.text is not None:
            out["text"] = message.text
            if message.entities:
                out["entities"] = message.entities
        if message.caption:
            out["caption"] = message.caption
            if message.entities:
                out["caption_entities"] = message.entities
        out.update(message.media)
        optional = {
            "reply_markup": message.reply_markup,
            "edit_date": message.edit_date,
            "forward_origin": message.forward_origin,
            "media_group_id": message.media_group_id,
            "link_preview_options": message.link_preview_options,
        }
        out.update({key: value for key, value in optional.items() if value})
        replied = self.live_message(chat, message.reply_to)
        if nested and replied is not None:
            out["reply_to_message"] = self.message_json(replied, nested=False)
        return out

    def message_view(self, message: Message) -> JsonDict:
        """The message as the page and the test driver see it."""
        sender = self.users[message.sender_id]
        stored = self.files.get(message.file_id or "")
        return {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "seq": message.seq,
            "date": message.date,
            "from": {"id": sender.id, "name": sender.name, "is_bot": sender.is_bot},
            "kind": message.kind,
            "text": message.display_text,
            "entities": message.entities,
            "html": message.source if message.source is not None else message.display_text,
            "parse_mode": message.parse_mode,
            "buttons": (message.reply_markup or {}).get("inline_keyboard", []),
            "keyboard": message.keyboard,
            "file": None
            if stored is None
            else {
                "file_id": stored.file_id,
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "file_size": stored.size,
            },
            "contact": message.media.get("contact"),
            "location": message.media.get("location"),
            "sticker": (message.media.get("sticker") or {}).get("emoji"),
            "reply_to_message_id": message.reply_to,
            "forward_origin": message.forward_origin,
            "media_group_id": message.media_group_id,
            "edited": message.edited,
            "deleted": message.deleted,
        }

    # -- files -----------------------------------------------------------------------------

    def add_file(
        self,
        kind: str,
        *,
        size: int,
        data: bytes | None = None,
        mime_type: str | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        self._file_counter += 1
        prefix, folder, ext = _FILE_PREFIX[kind]
        digest = hashlib.sha256(f"{kind}:{self._file_counter}".encode()).digest()
        token = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1][:8] or ext
        stored = StoredFile(
            file_id=f"{prefix}{self._file_counter:05d}{token[:40]}",
            file_unique_id=f"AgAD{token[40:]}{self._file_counter}",
            kind=kind,
            size=size,
            mime_type=mime_type,
            file_name=file_name,
            file_path=f"{folder}/file_{self._file_counter}.{ext}",
            data=data,
        )
        self.files[stored.file_id] = stored
        return stored

    def media_json(self, stored: StoredFile, *, emoji: str | None = None) -> JsonDict:
        """The Telegram object(s) describing a file, keyed by the message field it goes in."""
        base: JsonDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        named = {"mime_type": stored.mime_type, "file_name": stored.file_name}
        named = {key: value for key, value in named.items() if value}
        if stored.kind == "photo":
            thumb = self.add_file("photo", size=min(stored.size, 1800), mime_type="image/jpeg")
            small = {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "file_size": thumb.size,
            }
            return {"photo": [{**small, "width": 90, "height": 68}, {**base, **_PHOTO_SIZE}]}
        extra: dict[str, JsonDict] = {
            "document": named,
            "video": {**named, "width": 1280, "height": 720, "duration": 12},
            "voice": {"mime_type": stored.mime_type or "audio/ogg", "duration": 4},
            "audio": {**named, "duration": 95},
            "sticker": {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji or "👍",
            },
        }
        return {stored.kind: {**base, **extra[stored.kind]}}

    def file_by_path(self, file_path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == file_path), None)

    # -- events ----------------------------------------------------------------------------

    def emit(self, kind: str, chat_id: int | None, **payload: Any) -> int:
        self.seq += 1
        self.events.append({"seq": self.seq, "type": kind, "chat_id": chat_id, **payload})
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]
        self._event_signal.set()
        self._event_signal = asyncio.Event()
        return self.seq

    def wake(self) -> None:
        """Release every waiting events poll (used on shutdown)."""
        self._event_signal.set()
        self._event_signal = asyncio.Event()

    async def wait_events(self, since: int, seconds: float) -> list[JsonDict]:
        """Events after `since`, waiting up to `seconds` for the first one."""
        if self.seq <= since and seconds > 0:
            signal = self._event_signal
            try:
                await asyncio.wait_for(signal.wait(), seconds)
            except TimeoutError:
                return []
        return [event for event in self.events if event["seq"] > since]
