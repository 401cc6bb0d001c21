"""Locale negotiation, the per-task locale, translation from `.po`/`.mo` catalogs and locale
formatting in `bot.i18n`.

Catalogs are written into tmp_path and `bot.i18n.LOCALES_DIR` is pointed at them (configuration,
not a stand-in for behaviour); the catalog cache is cleared around each such test so no test sees
another's catalogs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import write_po

from bot import i18n
from bot.i18n import (
    _,
    babel_locale,
    current_locale,
    format_date,
    format_datetime,
    language_name,
    negotiate,
    ngettext,
    set_locale,
    use_locale,
)

TRANSLATIONS = {
    "zh_CN": {"Hello": "您好", ("%(count)d case", "%(count)d cases"): ("%(count)d 件案件",)},
    "en": {
        "Hello": "Hello!",
        ("%(count)d case", "%(count)d cases"): ("One case", "%(count)d cases"),
    },
}


def _catalog(locale: str, translations: dict[object, object]) -> Catalog:
    catalog = Catalog(locale=locale, fuzzy=False)
    for msgid, msgstr in translations.items():
        catalog.add(msgid, msgstr)
    return catalog


def _write_po(locales: Path, locale: str, translations: dict[object, object]) -> Path:
    path = locales / locale / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, _catalog(locale, translations))
    return path


def _write_mo(locales: Path, locale: str, translations: dict[object, object]) -> Path:
    path = locales / locale / "LC_MESSAGES" / "messages.mo"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_mo(fp, _catalog(locale, translations))
    return path


@pytest.fixture(autouse=True)
def _default_locale() -> Iterator[None]:
    """Start each test in the default locale and undo whatever locale it sets."""
    with use_locale(i18n.DEFAULT_LOCALE):
        yield


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty locales directory that `bot.i18n` reads instead of the project's."""
    directory = tmp_path / "locales"
    directory.mkdir()
    monkeypatch.setattr(i18n, "LOCALES_DIR", directory)
    i18n.catalog.cache_clear()
    yield directory
    i18n.catalog.cache_clear()


# --- negotiation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_code", "locale"),
    [
        ("zh-hans", "zh_CN"),
        ("zh-hant", "zh_CN"),  # a reader of Traditional reads Simplified more easily than English
        ("zh", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh_TW", "zh_CN"),
        ("en", "en"),
        ("en-US", "en"),
        (" EN-gb ", "en"),
        ("pt-br", "en"),  # a foreigner is likelier to read English than Chinese
        ("ru", "en"),
        ("pt-xx", "en"),  # an unknown region of a known language
        (None, "zh_CN"),
        ("", "zh_CN"),
        ("garbage", "zh_CN"),  # names no language: the default
        ("!!!", "zh_CN"),
    ],
)
def test_telegram_language_codes_map_to_a_supported_locale(
    language_code: str | None, locale: str
) -> None:
    assert negotiate(language_code) == locale


# --- the locale of a task -------------------------------------------------------------------


async def test_concurrent_updates_each_keep_their_own_locale(locales: Path) -> None:
    for locale, translations in TRANSLATIONS.items():
        _write_po(locales, locale, translations)
    both_set = asyncio.Barrier(2)

    async def handle_update(language_code: str) -> tuple[str, str]:
        set_locale(negotiate(language_code))
        await both_set.wait()  # both tasks have set a locale before either translates
        await asyncio.sleep(0)
        return current_locale(), _("Hello")

    results = await asyncio.gather(handle_update("zh-hans"), handle_update("en-US"))

    assert results == [("zh_CN", "您好"), ("en", "Hello!")]
    assert current_locale() == "zh_CN"  # the tasks' choices did not leak out


async def test_use_locale_applies_inside_its_block_and_only_to_its_task(locales: Path) -> None:
    for locale, translations in TRANSLATIONS.items():
        _write_po(locales, locale, translations)
    inside = asyncio.Event()
    checked = asyncio.Event()

    async def notify_foreigner() -> str:
        with use_locale("en"):
            inside.set()
            await checked.wait()
            return _("Hello")

    async def answer_sender() -> str:
        await inside.wait()
        text = _("Hello")
        checked.set()
        return text

    assert await asyncio.gather(notify_foreigner(), answer_sender()) == ["Hello!", "您好"]


def test_use_locale_restores_the_outer_locale_even_after_an_error() -> None:
    set_locale("en")
    with pytest.raises(RuntimeError), use_locale("zh_CN"):
        assert current_locale() == "zh_CN"
        with use_locale("en"):
            assert current_locale() == "en"
        assert current_locale() == "zh_CN"
        raise RuntimeError
    assert current_locale() == "en"


def test_an_unsupported_locale_falls_back_to_the_default() -> None:
    set_locale("pt_BR")
    assert current_locale() == "zh_CN"
    with use_locale("ru"):
        assert current_locale() == "zh_CN"


# --- catalogs -------------------------------------------------------------------------------


def test_a_po_file_is_compiled_in_memory_when_no_mo_exists(locales: Path) -> None:
    po = _write_po(locales, "en", TRANSLATIONS["en"])

    with use_locale("en"):
        assert _("Hello") == "Hello!"
        assert ngettext("%(count)d case", "%(count)d cases", 1) == "One case"
        assert ngettext("%(count)d case", "%(count)d cases", 3) == "%(count)d cases"
    assert sorted(p.name for p in po.parent.iterdir()) == ["messages.po"]  # nothing written


def test_chinese_has_one_plural_form(locales: Path) -> None:
    _write_po(locales, "zh_CN", TRANSLATIONS["zh_CN"])

    with use_locale("zh_CN"):
        assert ngettext("%(count)d case", "%(count)d cases", 1) == "%(count)d 件案件"
        assert ngettext("%(count)d case", "%(count)d cases", 5) == "%(count)d 件案件"


def test_a_compiled_catalog_is_used_while_it_is_newer_than_its_po(locales: Path) -> None:
    po = _write_po(locales, "en", {"Hello": "Hello from the po"})
    mo = _write_mo(locales, "en", {"Hello": "Hello from the mo"})
    os.utime(po, (1_000_000, 1_000_000))
    os.utime(mo, (2_000_000, 2_000_000))

    assert i18n.catalog("en").gettext("Hello") == "Hello from the mo"


def test_a_po_edited_after_compiling_wins_over_the_stale_mo(locales: Path) -> None:
    po = _write_po(locales, "en", {"Hello": "Hello from the po"})
    mo = _write_mo(locales, "en", {"Hello": "Hello from the mo"})
    os.utime(mo, (1_000_000, 1_000_000))
    os.utime(po, (2_000_000, 2_000_000))

    assert i18n.catalog("en").gettext("Hello") == "Hello from the po"


def test_without_a_catalog_or_a_translation_the_msgid_is_shown(locales: Path) -> None:
    _write_po(locales, "en", {"Hello": "Hello!"})

    with use_locale("zh_CN"):
        assert _("Hello") == "Hello"  # no zh_CN catalog at all
    with use_locale("en"):
        assert _("Goodbye") == "Goodbye"  # not in the en catalog


# --- formatting -----------------------------------------------------------------------------


def test_dates_are_written_the_way_each_locale_writes_them() -> None:
    day = date(2026, 12, 9)

    with use_locale("zh_CN"):
        assert format_date(day) == "2026年12月9日"
    with use_locale("en"):
        assert format_date(day) == "December 9, 2026"


def test_moments_are_shown_in_the_deployment_time_zone() -> None:
    moment = datetime(2026, 12, 9, 2, 0, tzinfo=UTC)
    shanghai = ZoneInfo("Asia/Shanghai")

    with use_locale("zh_CN"):
        assert format_datetime(moment, shanghai) == "2026年12月9日 10:00:00"
    with use_locale("en"):
        assert format_datetime(moment, shanghai) == "Dec 9, 2026, 10:00:00\u202fAM"


def test_each_locale_has_a_babel_locale_and_a_name_in_its_own_language() -> None:
    assert babel_locale("zh_CN") == "zh_Hans_CN"
    assert babel_locale("en") == "en"
    assert language_name("zh_CN") == "简体中文"
    assert language_name("en") == "English"
