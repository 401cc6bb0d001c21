"""Telegram's HTML parse mode, re-implemented strictly for the Bot API stand-in.

`parse_html` turns the text a bot sends with `parse_mode=HTML` into the plain text a client
shows plus Bot API `MessageEntity` dicts (UTF-16 offsets), or raises `HtmlParseError` carrying
the description Telegram gives after "can't parse entities: ". It follows the server's rules
(supported tags, attribute syntax, nesting, the four named entities and numeric references) and
is deliberately stricter in one place: an `&` that does not start a complete entity ending in
`;` is an error, where Telegram would show it literally, so missing escaping in the bot fails
loudly. It knows nothing about HTTP or the bot and must stay free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_ENTITY = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\f\v"
# Characters Telegram removes from both ends of a message text or caption.
_STRIPPED = _SPACES + "\u200b\u200c\u200d\u2060\ufeff"


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; `str(err)` is Telegram's description."""


@dataclass
class ParsedText:
    """Plain text as a client shows it, and the Bot API entities that format it."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    def stripped(self) -> ParsedText:
        """Trim leading and trailing blanks as Telegram does, keeping entity offsets right."""
        body = self.text.lstrip(_STRIPPED)
        head = utf16_len(self.text) - utf16_len(body)
        body = body.rstrip(_STRIPPED)
        end = utf16_len(body)
        entities: list[dict[str, Any]] = []
        for entity in self.entities:
            start = max(entity["offset"] - head, 0)
            stop = min(entity["offset"] + entity["length"] - head, end)
            if stop > start:
                entities.append({**entity, "offset": start, "length": stop - start})
        return ParsedText(body, entities)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(source: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at `source[pos] == "&"`: (character, next index)."""
    end = source.find(";", pos + 1, pos + 12)
    if end < 0:
        return None
    body = source[pos + 1 : end]
    if body in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[body], end + 1
    if not body.startswith("#") or len(body) < 2:
        return None
    digits, base = (body[2:], 16) if body[1] in "xX" else (body[1:], 10)
    allowed = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
    if not digits or any(ch not in allowed for ch in digits):
        return None
    code = int(digits, base)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_start: int  # index into the output text, for <a> without href


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # characters in `out`, kept to avoid re-joining
        self.utf16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def peek(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def error(self, message: str, index: int | None = None) -> HtmlParseError:
        if index is None:
            return HtmlParseError(message)
        return HtmlParseError(f"{message} at byte offset {_byte_offset(self.src, index)}")

    def emit(self, chars: str) -> None:
        self.out.append(chars)
        self.out_len += len(chars)
        self.utf16 += utf16_len(chars)

    def run(self) -> ParsedText:
        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if ch == "&":
                decoded = _decode_entity(self.src, self.pos)
                if decoded is None:
                    raise self.error('Unescaped "&"', self.pos)
                self.emit(decoded[0])
                self.pos = decoded[1]
            elif ch == "<":
                self.tag()
            else:
                self.emit(ch)
                self.pos += 1
        if self.open:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)

    def tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self.peek() == "/":
            self.end_tag(begin)
        else:
            self.start_tag(begin)

    def skip_spaces(self) -> None:
        while self.peek() and self.peek() in _SPACES:
            self.pos += 1

    def start_tag(self, begin: int) -> None:
        start = self.pos
        while self.peek() and self.peek() not in _SPACES and self.peek() != ">":
            self.pos += 1
        if not self.peek():
            raise self.error("Unclosed start tag", begin)
        name = self.src[start : self.pos].lower()
        if name not in _SUPPORTED_TAGS:
            raise self.error(f'Unsupported start tag "{name}"', begin)
        argument = ""
        while self.peek() != ">":
            self.skip_spaces()
            if self.peek() == ">":
                break
            attr, value = self.attribute(name, begin)
            argument = _tag_argument(name, attr, value, argument)
        self.pos += 1
        if name == "span" and argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        if name == "tg-emoji" and not argument:
            raise self.error('Tag "tg-emoji" must have attribute "emoji-id"', begin)
        self.open.append(_OpenTag(name, argument, self.utf16, self.out_len))

    def attribute(self, tag: str, begin: int) -> tuple[str, str]:
        start = self.pos
        while self.peek() and self.peek() not in _SPACES and self.peek() not in "=>":
            self.pos += 1
        attr = self.src[start : self.pos]
        if not attr:
            raise self.error(f'Empty attribute name in the tag "{tag}"', begin)
        self.skip_spaces()
        if self.peek() != "=":
            if tag == "blockquote" and attr.lower() == "expandable":
                return attr, ""  # the one valueless attribute Telegram understands
            raise self.error(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
            )
        self.pos += 1
        self.skip_spaces()
        if not self.peek():
            raise self.error(f'Unclosed start tag "{tag}"', begin)
        quote = self.peek()
        if quote not in "'\"":
            token_start = self.pos
            while self.peek() and (self.peek().isalnum() or self.peek() in ".-"):
                self.pos += 1
            if not self.peek() or (self.peek() not in _SPACES and self.peek() != ">"):
                raise self.error("Unexpected end of name token", token_start)
            return attr, self.src[token_start : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while self.peek() and self.peek() != quote:
            if self.peek() == "&":
                decoded = _decode_entity(self.src, self.pos)
                if decoded is None:
                    raise self.error('Unescaped "&"', self.pos)
                value.append(decoded[0])
                self.pos = decoded[1]
            else:
                value.append(self.peek())
                self.pos += 1
        if not self.peek():
            raise self.error("Unclosed start tag", begin)
        self.pos += 1
        return attr, "".join(value)

    def end_tag(self, begin: int) -> None:
        if not self.open:
            raise self.error("Unexpected end tag", begin)
        self.pos += 1
        start = self.pos
        while self.peek() and self.peek() not in _SPACES and self.peek() != ">":
            self.pos += 1
        name = self.src[start : self.pos].lower()
        self.skip_spaces()
        if self.peek() != ">":
            raise self.error("Unclosed end tag", begin)
        self.pos += 1
        tag = self.open.pop()
        if name and name != tag.name:
            raise self.error(
                f"Unmatched end tag at byte offset {_byte_offset(self.src, begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        length = self.utf16 - tag.utf16_offset
        if length:
            self.add_entity(tag, length)

    def add_entity(self, tag: _OpenTag, length: int) -> None:
        base: dict[str, Any] = {"offset": tag.utf16_offset, "length": length}
        if tag.name in _SIMPLE_ENTITY:
            self.entities.append({"type": _SIMPLE_ENTITY[tag.name], **base})
        elif tag.name == "a":
            url = tag.argument or "".join(self.out)[tag.text_start :]
            if url.startswith(("http://", "https://", "tg://", "mailto:")):
                self.entities.append({"type": "text_link", **base, "url": url})
        elif tag.name == "code":
            inner = self._same_span(base, "pre")
            if inner is not None:
                if tag.argument:
                    inner["language"] = tag.argument
            else:
                self.entities.append({"type": "code", **base, "_language": tag.argument})
        elif tag.name == "pre":
            inner = self._same_span(base, "code")
            if inner is not None:
                language = inner.pop("_language", "")
                inner["type"] = "pre"
                if language:
                    inner["language"] = language
            else:
                self.entities.append({"type": "pre", **base})
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            self.entities.append({"type": kind, **base})
        elif tag.name == "tg-emoji":
            self.entities.append({"type": "custom_emoji", **base, "custom_emoji_id": tag.argument})

    def _same_span(self, base: dict[str, Any], kind: str) -> dict[str, Any] | None:
        """`<pre><code class="language-x">` (either nesting) is one `pre` entity with a language."""
        if self.entities:
            last = self.entities[-1]
            if last["type"] == kind and (last["offset"], last["length"]) == (
                base["offset"],
                base["length"],
            ):
                return last
        return None


def _tag_argument(tag: str, attr: str, value: str, current: str) -> str:
    attr = attr.lower()
    if tag == "a" and attr == "href":
        return value
    if tag == "code" and attr == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attr == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attr == "emoji-id":
        return value
    if tag == "blockquote" and attr == "expandable":
        return "1"
    return current


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise `HtmlParseError`."""
    parsed = _Parser(source).run()
    for entity in parsed.entities:
        entity.pop("_language", None)
    return parsed
