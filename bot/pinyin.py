"""Pinyin as pypinyin reads it, from a table instead of pypinyin's dictionaries.

The place search reads typed Chinese as pinyin to match homophone typos (`bot.directory`).
pypinyin's dictionaries hold 55 MB in memory as Python objects; the same readings, already in
pypinyin's NORMAL style (no tones, ü as v), fit in `bot/data/pinyin.tsv` and about a fifth of
that memory. `scripts/reference_tables.py` writes the table with pypinyin itself: every phrase
of its phrase dictionary and every character of its character dictionary, each converted as
pypinyin converts one segment. This module segments text the way pypinyin 0.55 does (runs of
Chinese characters, cut by forward maximum matching against the phrases, strict: a piece is a
phrase or a single character) and looks the segments up; `tests/test_refdata.py` checks it
against pypinyin on every entry, every division's name and random text. Loaded on first use.
"""

from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path

PINYIN_FILE = Path(__file__).parent / "data" / "pinyin.tsv"


class _Keys:
    """The keys of the table's rows, as a sequence `bisect` can search (UTF-8 bytes sort as the
    strings do)."""

    def __init__(self, data: bytes, starts: array[int]) -> None:
        self.data, self.starts = data, starts

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> bytes:
        start = self.starts[i]
        return self.data[start : self.data.index(b"\t", start)]


class _Table:
    """The table in memory as its UTF-8 text and where each row starts (3 MB, where the rows
    as Python strings would take 28 MB)."""

    def __init__(self, data: bytes) -> None:
        header = data.index(b"\n")
        self.hans = re.compile(data[:header].decode())  # pypinyin's RE_HANS: what it reads
        ends = (m.end() for m in re.finditer(b"\n", data))
        self.keys = _Keys(data, array("I", (end for end in ends if end < len(data))))

    def _find(self, key: bytes) -> int | None:
        i = bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key else None

    def row(self, key: str) -> list[str] | None:
        """[p (a phrase) or c, the usual readings, every reading] of `key`, if in the table."""
        i = self._find(key.encode())
        if i is None:
            return None
        start = self.keys.starts[i]
        end = self.keys.data.index(b"\n", start)
        return self.keys.data[start:end].decode().split("\t")[1:]

    def is_phrase(self, word: str) -> bool:
        row = self.row(word)
        return row is not None and row[0] == "p"

    def starts_a_phrase(self, word: str) -> bool:
        """Whether some phrase begins with `word` (pypinyin's prefix set)."""
        prefix = word.encode()
        keys, data = self.keys, self.keys.data
        i = bisect_left(keys, prefix)
        while i < len(keys) and keys[i].startswith(prefix):
            if data[data.index(b"\t", keys.starts[i]) + 1] == ord("p"):
                return True
            i += 1
        return False

    def cut(self, text: str) -> Iterator[str]:
        """pypinyin's `mmseg.seg.cut` (strict): phrases, or single characters."""
        remain = text
        while remain:
            last_valid_word = ""
            last_valid_index = 0
            for index in range(len(remain)):
                word = remain[: index + 1]
                if self.starts_a_phrase(word):
                    if self.is_phrase(word):
                        last_valid_word, last_valid_index = word, index + 1
                else:
                    if last_valid_word:
                        yield last_valid_word
                        remain = remain[last_valid_index:]
                    else:
                        yield remain[0]
                        remain = remain[1:]
                    break
            else:
                if last_valid_word:
                    yield last_valid_word
                    remain = remain[last_valid_index:]
                elif self.is_phrase(remain):
                    yield remain
                    break
                else:
                    yield from remain
                    break

    def segments(self, text: str) -> Iterator[list[str]]:
        """The rows of the Chinese segments of `text` (other characters are dropped)."""
        for run in _runs(text, self.hans):
            if self.hans.match(run):
                for piece in self.cut(run):
                    row = self.row(piece)
                    if row is not None:
                        yield row


def _runs(chars: str, hans: re.Pattern[str]) -> list[str]:
    """pypinyin's `simpleseg._seg`: `chars` split into runs of Chinese and of anything else."""
    runs: list[str] = []
    run = ""
    chinese = True
    for n, c in enumerate(chars):
        is_han = bool(hans.match(c))
        if n == 0:
            chinese = is_han
        if is_han == chinese:
            run += c
        else:
            runs.append(run)
            chinese, run = is_han, c
    runs.append(run)
    return runs


_lock = threading.Lock()
_table: _Table | None = None


def _the_table() -> _Table:
    global _table  # noqa: PLW0603 - loaded once per process, on first use
    with _lock:
        if _table is None:
            _table = _Table(PINYIN_FILE.read_bytes())
        return _table


def lazy_pinyin(text: str) -> list[str]:
    """`pypinyin.lazy_pinyin(text, errors="ignore")`: the usual reading of each character."""
    return [s for row in _the_table().segments(text) for s in row[1].split("|")]


def heteronyms(text: str) -> list[list[str]]:
    """`pypinyin.pinyin(text, style=Style.NORMAL, heteronym=True, errors="ignore")`."""
    out: list[list[str]] = []
    for row in _the_table().segments(text):
        out.extend(alternatives.split(",") for alternatives in row[2].split("|"))
    return out


def pinyin_table() -> str:
    """The text of `bot/data/pinyin.tsv`, computed with pypinyin (for the script and tests)."""
    from pypinyin import Style  # noqa: PLC0415 - the source of the table, never the bot's
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS  # noqa: PLC0415
    from pypinyin.converter import UltimateConverter  # noqa: PLC0415
    from pypinyin.core import Pinyin  # noqa: PLC0415

    reader = Pinyin(UltimateConverter())
    keys = set(PHRASES_DICT) | {chr(code) for code in PINYIN_DICT}
    rows = [RE_HANS.pattern]
    for key in sorted(k for k in keys if RE_HANS.match(k)):
        # As one segment: a list's Chinese item is converted without being cut again.
        lazy = reader.pinyin([key], style=Style.NORMAL, heteronym=False, errors="ignore")
        every = reader.pinyin([key], style=Style.NORMAL, heteronym=True, errors="ignore")
        if not every:
            continue
        phrase = "p" if key in PHRASES_DICT else "c"
        first = "|".join(s for item in lazy for s in item)
        rows.append(f"{key}\t{phrase}\t{first}\t{'|'.join(','.join(i) for i in every)}")
    return "\n".join(rows) + "\n"
