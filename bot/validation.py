"""Validation and normalisation of what a petitioner types (domain-rules §2.4 V1, V2).

Every text is cleaned the same way before it is checked or stored: Unicode NFC, control
characters and bidirectional overrides removed (they could disguise what staff read), runs of
blank lines collapsed. Pure functions raising `DomainError`; nothing here formats messages.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from bot.errors import DomainError

_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C], None
)
_BLANK_LINES = re.compile(r"\n{3,}")
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

NAME_MAX = 64
ADDRESS_MIN, ADDRESS_MAX = 4, 300
REQUEST_MIN = 4
FACTS_MIN = 10


def clean_text(raw: str) -> str:
    """NFC, no control or bidi-override characters, trimmed, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", raw).translate(_BIDI_CONTROLS)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co")
    )
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def one_line(raw: str) -> str:
    """`clean_text` folded onto one line (names, phone numbers)."""
    return " ".join(clean_text(raw).split())


def check_length(text: str, minimum: int, maximum: int) -> str:
    if not text:
        raise DomainError("empty")
    if len(text) < minimum:
        raise DomainError("too_short", minimum=minimum)
    if len(text) > maximum:
        raise DomainError("too_long", maximum=maximum, length=len(text))
    return text


def request(raw: str, maximum: int) -> str:
    return check_length(clean_text(raw), REQUEST_MIN, maximum)


def name(raw: str) -> str:
    text = check_length(one_line(raw), 1, NAME_MAX)
    if not _HAS_LETTER.search(text):
        raise DomainError("name_invalid")
    return text


def address(raw: str) -> str:
    return check_length(clean_text(raw), ADDRESS_MIN, ADDRESS_MAX)


def phone(raw: str) -> str:
    """A typed phone number, checked with libphonenumber (Chinese numbers need no +86)."""
    text = one_line(raw)
    if not text:
        raise DomainError("empty")
    if len(text) > 32:
        raise DomainError("phone_invalid")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise DomainError("phone_invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise DomainError("phone_invalid")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def contact_phone(raw: str) -> str:
    """A shared contact's number: Telegram often sends it without the leading +."""
    text = raw.strip()
    if text and not text.startswith("+"):
        text = "+" + text
    return phone(text)
