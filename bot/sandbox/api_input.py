"""Decoding and checking what a bot sends to the Bot API stand-in.

Bots (PTB included) send parameters as `application/x-www-form-urlencoded` or multipart form
fields in which strings stay raw and every other value is JSON-encoded, or as a JSON body.
`Params` reads either form with typed accessors; `text_param`/`caption_param` parse formatted
text and enforce Telegram's length limits, and `markup_param` validates keyboards, all with
Telegram's own error descriptions. `ApiError` is the one way a method refuses a call. This
module knows nothing about chats or the bot under test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.telegram_html import HtmlParseError, ParsedText, parse_html, utf16_len

JsonDict = dict[str, Any]

MAX_TEXT = 4096  # UTF-16 code units after entity parsing
MAX_CAPTION = 1024

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
_INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_REPLY_REQUESTS = (
    "request_users", "request_chat", "request_contact", "request_location", "request_poll",
    "web_app",
)  # fmt: skip
_STRUCTURED = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "link_preview_options",
        "reply_parameters", "media", "allowed_updates", "commands", "scope", "menu_button",
        "message_ids",
    }
)  # fmt: skip
_MARKUP_JSON_ERROR = "Bad Request: can't parse reply keyboard markup JSON object"


class ApiError(Exception):
    """A refusal in Telegram's shape: HTTP status, description, optional retry_after."""

    def __init__(self, description: str, status: int = 400, retry_after: int | None = None):
        super().__init__(description)
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def payload(self) -> JsonDict:
        out: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


def bad_request(detail: str) -> ApiError:
    return ApiError(f"Bad Request: {detail}")


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """The parameters of one Bot API call, with Telegram's lenient typing."""

    def __init__(self, values: Mapping[str, object]) -> None:
        self.values = dict(values)

    @classmethod
    async def from_request(cls, request: web.Request) -> Params:
        values: dict[str, object] = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as err:
                raise bad_request("invalid JSON body") from err
            if isinstance(body, dict):
                values.update(body)
        elif request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge as err:
                raise ApiError("Request Entity Too Large", 413) from err
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    values[key] = Upload(value.filename, value.content_type, value.file.read())
                else:
                    values[key] = value
        return cls(values)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, Upload):
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad_request(f'field "{name}" must be a valid Number')
        try:
            return int(value)
        except ValueError as err:
            raise bad_request(f'field "{name}" must be a valid Number') from err

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as err:
            raise bad_request(f'field "{name}" must be a valid Number') from err

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, error: str | None = None) -> Any:
        """A structured parameter, JSON-encoded in forms or already decoded in JSON bodies."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ApiError(error or f"Bad Request: can't parse {name} JSON object") from err

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.values.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError as err:
            raise bad_request("chat not found") from err

    def upload(self, name: str) -> Upload | None:
        value = self.values.get(name)
        return value if isinstance(value, Upload) else None

    def public(self) -> JsonDict:
        """The parameters for the call log: structured values decoded, files described."""
        out: JsonDict = {}
        for key, value in self.values.items():
            if isinstance(value, Upload):
                out[key] = {"upload": value.filename, "size": len(value.data)}
            elif isinstance(value, str) and key in _STRUCTURED:
                try:
                    out[key] = json.loads(value)
                except json.JSONDecodeError:
                    out[key] = value
            else:
                out[key] = value
        return out


def formatted_param(params: Params, name: str) -> tuple[str, ParsedText, str | None]:
    """(text as sent, parsed and trimmed text, parse mode) of a `text` or `caption` field."""
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


def text_param(params: Params) -> tuple[str, ParsedText, str | None]:
    source, parsed, mode = formatted_param(params, "text")
    if not parsed.text:
        raise bad_request("message text is empty")
    if utf16_len(parsed.text) > MAX_TEXT:
        raise bad_request("message is too long")
    return source, parsed, mode


def caption_param(params: Params) -> tuple[str, ParsedText, str | None]:
    source, parsed, mode = formatted_param(params, "caption")
    if utf16_len(parsed.text) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return source, parsed, mode


def markup_param(params: Params) -> tuple[JsonDict | None, JsonDict | None]:
    """(inline keyboard kept on the message, reply keyboard / removal for the chat)."""
    if not params.has("reply_markup"):
        return None, None
    markup = check_reply_markup(params.json("reply_markup", _MARKUP_JSON_ERROR))
    return (markup, None) if "inline_keyboard" in markup else (None, markup)


def check_reply_markup(markup: Any) -> JsonDict:
    """Validate any of the four markup kinds; return it normalised (buttons as dicts)."""
    if not isinstance(markup, dict):
        raise ApiError(_MARKUP_JSON_ERROR)
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _check_inline_keyboard(markup["inline_keyboard"])}
    if "keyboard" in markup:
        return {**markup, "keyboard": _check_reply_keyboard(markup["keyboard"])}
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise ApiError(_MARKUP_JSON_ERROR)


def _rows(keyboard: Any, field: str) -> list[list[Any]]:
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise bad_request(f'field "{field}" must be an Array of Arrays')
    return keyboard


def _check_inline_keyboard(keyboard: Any) -> list[list[JsonDict]]:
    rows = _rows(keyboard, "inline_keyboard")
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_inline_button(button)
    return rows


def _check_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(prefix + 'Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(prefix + "exactly one of the optional fields must be used")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")


def _check_reply_keyboard(keyboard: Any) -> list[list[JsonDict]]:
    rows = _rows(keyboard, "keyboard")
    normalised: list[list[JsonDict]] = []
    for row in rows:
        out_row: list[JsonDict] = []
        for button in row:
            item: JsonDict = {"text": button} if isinstance(button, str) else button
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise bad_request('can\'t parse keyboard button: Field "text" must be a String')
            if not item["text"].strip():
                raise bad_request("keyboard button text must be non-empty")
            if sum(1 for key in _REPLY_REQUESTS if item.get(key)) > 1:
                raise bad_request("can't parse keyboard button: only one request field allowed")
            out_row.append(item)
        normalised.append(out_row)
    if not any(normalised):
        raise bad_request("keyboard must be non-empty")
    return normalised
