"""Callback data and keyboard building.

Buttons carry short, stable, versioned callback data — `v1:<draft id>:<action>[:<arg>]` for a
draft's step, `v1:s:`/`v1:c:<case id>:<action>[:<arg>]` for a case (staff / petitioner),
`v1:m:<action>` for the menu, `v1:lang:<locale>` — never translated labels, and
always within Telegram's 64-byte limit (checked here, so a bad button fails in tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

PREFIX = "v1"
MAX_DATA_BYTES = 64


@dataclass(frozen=True, slots=True)
class Press:
    """A decoded button press on a draft step."""

    draft_id: int
    action: str
    arg: str


def draft_data(draft_id: int, action: str, arg: str = "") -> str:
    data = f"{PREFIX}:{draft_id}:{action}" + (f":{arg}" if arg else "")
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse_draft_data(data: str) -> Press | None:
    parts = data.split(":", 3)
    if len(parts) < 3 or parts[0] != PREFIX or not parts[1].isdigit():
        return None
    return Press(int(parts[1]), parts[2], parts[3] if len(parts) > 3 else "")


def menu_data(action: str, arg: str = "") -> str:
    return f"{PREFIX}:m:{action}" + (f":{arg}" if arg else "")


def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label[:64], callback_data=data)


def markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(row) for row in rows if row])


def in_rows(
    buttons: Sequence[InlineKeyboardButton], per_row: int
) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


@dataclass(frozen=True, slots=True)
class CasePress:
    """A decoded press on a case: `v1:s:<case id>:<action>[:<arg>]` for staff (alerts),
    `v1:c:<case id>:<action>[:<arg>]` for the petitioner."""

    side: str  # s | c
    case_id: int
    action: str
    arg: str | None


def case_data(side: str, case_id: int, action: str, arg: str | None = None) -> str:
    data = f"{PREFIX}:{side}:{case_id}:{action}" + (f":{arg}" if arg else "")
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse_case_data(data: str) -> CasePress | None:
    parts = data.split(":", 4)
    if len(parts) < 4 or parts[0] != PREFIX or parts[1] not in {"s", "c"}:
        return None
    if not parts[2].isdigit() or not parts[3]:
        return None
    return CasePress(parts[1], int(parts[2]), parts[3], parts[4] if len(parts) > 4 else None)
