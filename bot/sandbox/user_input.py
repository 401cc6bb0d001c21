"""What a sandbox user sends, turned into the fields of a Telegram message.

The control API's `send` accepts text, a sticker, a contact, a location, or a file (real bytes
as base64, or only a size whose content is fabricated on download), optionally forwarded; this
module builds the message content Telegram would deliver for it (bot_command entities, photo
sizes, document metadata, forward origins) and hides a one-time reply keyboard once used. It
raises `InputError` for malformed requests and never talks HTTP.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from bot.sandbox.telegram_html import utf16_len
from bot.sandbox.world import MEDIA_KINDS, Chat, JsonDict, Message, World


class InputError(ValueError):
    """A control request that cannot be turned into a message."""


def as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be an integer") from err


def _file_fields(world: World, kind: str, spec: Any) -> JsonDict:
    if not isinstance(spec, dict):
        raise InputError(f"{kind} must be an object")
    data: bytes | None = None
    if "data_b64" in spec:
        try:
            data = base64.b64decode(spec["data_b64"], validate=True)
        except (binascii.Error, ValueError) as err:
            raise InputError("data_b64 is not valid base64") from err
        size = len(data)
    else:
        size = as_int(spec.get("size", 0), "size")
    mime = spec.get("mime_type") or {"photo": "image/jpeg", "voice": "audio/ogg"}.get(kind)
    stored = world.add_file(
        kind,
        size=size,
        data=data,
        mime_type=mime,
        file_name=spec.get("file_name") if kind != "photo" else None,
    )
    return {"media": world.media_json(stored), "file_id": stored.file_id}


def message_content(world: World, body: JsonDict) -> tuple[str, JsonDict]:
    """The message kind and fields for what the user sends."""
    if isinstance(body.get("text"), str):
        text = body["text"]
        if not text.strip():
            raise InputError("text must not be empty")
        entities = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return "text", {"text": text, "entities": entities}
    if "sticker" in body:
        emoji = body["sticker"] if isinstance(body["sticker"], str) else "👍"
        stored = world.add_file("sticker", size=23_000, mime_type="image/webp")
        return "sticker", {
            "media": world.media_json(stored, emoji=emoji),
            "file_id": stored.file_id,
        }
    if isinstance(body.get("contact"), dict):
        contact = {k: v for k, v in body["contact"].items() if v not in (None, "")}
        if not contact.get("phone_number") or not contact.get("first_name"):
            raise InputError("contact needs phone_number and first_name")
        return "contact", {"media": {"contact": contact}}
    if isinstance(body.get("location"), dict):
        loc = body["location"]
        try:
            location = {"latitude": float(loc["latitude"]), "longitude": float(loc["longitude"])}
        except (KeyError, TypeError, ValueError) as err:
            raise InputError("location needs numeric latitude and longitude") from err
        return "location", {"media": {"location": location}}
    for kind in MEDIA_KINDS:
        if kind in body and kind != "sticker":
            fields = _file_fields(world, kind, body[kind])
            if body.get("caption"):
                fields["caption"] = str(body["caption"])
            return kind, fields
    raise InputError("nothing to send: give text, sticker, contact, location or a file")


def forward_origin(world: World, spec: Any) -> JsonDict | None:
    if spec is None:
        return None
    date = int(time.time()) - 3600
    if isinstance(spec, dict) and "user_id" in spec:
        origin = world.users.get(as_int(spec["user_id"], "forward_from.user_id"))
        if origin is None:
            raise InputError("forward_from.user_id is not a known user")
        return {"type": "user", "date": date, "sender_user": origin.to_json()}
    if isinstance(spec, dict) and "chat_title" in spec:
        chat = {"id": -1009000000001, "type": "channel", "title": str(spec["chat_title"])}
        return {"type": "channel", "date": date, "chat": chat, "message_id": 42}
    name = spec.get("sender_name") if isinstance(spec, dict) else spec
    return {"type": "hidden_user", "date": date, "sender_user_name": str(name)}


def hide_one_time_keyboard(world: World, chat: Chat, message: Message) -> None:
    keyboard = chat.reply_keyboard
    if keyboard and keyboard.get("one_time_keyboard"):
        labels = {button["text"] for row in keyboard["keyboard"] for button in row}
        if message.kind in ("contact", "location") or message.text in labels:
            chat.reply_keyboard = None
            world.emit("chat", chat.id, chat=world.chat_view(chat))
