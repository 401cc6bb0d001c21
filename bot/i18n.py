"""Translation and locale formatting: gettext catalogs from `locales/`, one locale per update.

The locale lives in a ContextVar set once per update (by the handler in group -1) and read by
`_()`. Strings defined at import time are marked with `N_()` and translated at use. Telegram's
language codes (`zh-hans`, `en-US`) are normalised before negotiation. Catalogs are the compiled
`.mo` files when they are up to date, else the `.po` files compiled in memory, so a fresh
checkout runs without a build step.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
SUPPORTED = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def catalog(locale: str) -> gettext.NullTranslations:
    """The translations for `locale` (a member of SUPPORTED)."""
    directory = LOCALES_DIR / locale / "LC_MESSAGES"
    po, mo = directory / f"{DOMAIN}.po", directory / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fp:
        parsed = read_po(fp, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, parsed)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """Translate `message` into the current update's locale."""
    return catalog(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalog(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, at use."""
    return message


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    """Set the locale for the rest of this task (one update)."""
    _current.set(locale if locale in SUPPORTED else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Translate in `locale` inside the block (for messages to someone other than the sender)."""
    token = _current.set(locale if locale in SUPPORTED else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def negotiate(language_code: str | None) -> str:
    """Map a Telegram language code (an IETF tag like `zh-hans`, `en-US`) to a supported locale.

    Any Chinese tag (`zh`, `zh-hans`, `zh-hant`, `zh-CN`) gives `zh_CN`. Any other language
    (`en-US`, `pt-br`, `ru`) gives `en`: a foreigner is likelier to read English than Chinese.
    No code at all, or one that names no known language, gives the default `zh_CN`.
    """
    if not language_code:
        return DEFAULT_LOCALE
    tag = language_code.strip().replace("_", "-").lower()
    try:
        parsed = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        primary = tag.split("-", 1)[0]
        try:
            parsed = Locale.parse(primary)
        except (ValueError, UnknownLocaleError):
            return DEFAULT_LOCALE
    return "zh_CN" if parsed.language == "zh" else "en"


def babel_locale(locale: str | None = None) -> str:
    return {"zh_CN": "zh_Hans_CN", "en": "en"}.get(locale or _current.get(), "zh_Hans_CN")


def format_date(value: date) -> str:
    """A calendar date, long form, in the current locale (2026年12月9日 / December 9, 2026)."""
    return _babel_format_date(value, "long", locale=babel_locale())


def format_datetime(value: datetime, tz: ZoneInfo) -> str:
    """A moment in the deployment's time zone, medium form, in the current locale."""
    return _babel_format_datetime(value, "medium", tzinfo=tz, locale=babel_locale())


def language_name(locale: str) -> str:
    """The name of a supported locale in its own language (for the language picker)."""
    return {"zh_CN": "简体中文", "en": "English"}[locale]
