"""The gettext catalogs match the source, checked the way `scripts/i18n.sh` builds them.

Every message the source marks (`_`, `N_`, `ngettext`) is in each locale's `.po`, translated and
not fuzzy; nothing in a `.po` is stale or obsolete; each translation keeps its msgid's
placeholders and HTML tags; the committed `locales/messages.pot` lists exactly the source's
messages. The checkers take a source root and a locales directory, so the second half of this
module tests them on a small project written into tmp_path. Nothing here writes to the checkout.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, SUPPORTED

ROOT = Path(__file__).resolve().parent.parent
# The same keywords as `pybabel extract -k N_ -k ngettext:1,2` in scripts/i18n.sh (which keeps
# Babel's defaults and adds these).
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["N_", "ngettext:1,2"])}

_PERCENT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
_BRACE = re.compile(r"(?<!\{)\{\w*(?:![rsa])?(?::[^{}]*)?\}(?!\})")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^<>]*>")

Key = tuple[str | None, str | tuple[str, ...]]


# --- the checkers ---------------------------------------------------------------------------


def extract_template(source_root: Path, mapping: Path) -> Catalog:
    """What `pybabel extract -F <mapping>` would write for `source_root`, as a Catalog."""
    with mapping.open(encoding="utf-8") as fp:
        method_map, options_map = parse_mapping_cfg(fp, str(mapping))
    template = Catalog(project="petition-bot")
    for filename, lineno, message, comments, context in extract_from_dir(
        source_root, method_map, options_map, keywords=KEYWORDS
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _key(message: Message) -> Key:
    return (message.context, message.id)


def _entries(catalog: Catalog) -> dict[Key, Message]:
    return {_key(m): m for m in catalog if m.id}


def _show(key: Key) -> str:
    context, msgid = key
    text = repr(msgid[0] if isinstance(msgid, tuple) else msgid)
    return f"{text} (context {context!r})" if context else text


def _po_path(locales_dir: Path, locale: str) -> Path:
    return locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def catalog_problems(template: Catalog, locales_dir: Path, locales: Iterable[str]) -> list[str]:
    """Messages missing, untranslated, fuzzy, stale or obsolete in each locale's `.po`."""
    problems: list[str] = []
    wanted = _entries(template)
    for locale in locales:
        path = _po_path(locales_dir, locale)
        if not path.is_file():
            problems.append(f"{locale}: {path} does not exist (run scripts/i18n.sh)")
            continue
        po = _read(path, locale)
        if po.fuzzy:
            problems.append(f"{locale}: the header is fuzzy, so pybabel compile skips the catalog")
        have = _entries(po)
        for key in wanted.keys() - have.keys():
            problems.append(f"{locale}: {_show(key)} is in the source but not in the catalog")
        for key, message in have.items():
            if key not in wanted:
                problems.append(f"{locale}: {_show(key)} is stale: no longer in the source")
            elif message.fuzzy:
                problems.append(f"{locale}: {_show(key)} is fuzzy")
            elif not all(_forms(message)):
                problems.append(f"{locale}: {_show(key)} has an empty msgstr")
        for message in po.obsolete.values():
            problems.append(f"{locale}: {_show(_key(message))} is obsolete (#~): delete it")
    return sorted(problems)


def _forms(message: Message) -> tuple[str, ...]:
    string = message.string
    return tuple(string) if isinstance(string, (tuple, list)) else (string,)


def _placeholders(text: str) -> set[str]:
    return {p for p in _PERCENT.findall(text) if p != "%%"} | set(_BRACE.findall(text))


def _tags(text: str) -> Counter[str]:
    return Counter(closing + name.lower() for closing, name in _TAG.findall(text))


def format_problems(locales_dir: Path, locales: Iterable[str]) -> list[str]:
    """Translations whose placeholders or HTML tags differ from their msgid's."""
    problems: list[str] = []
    for locale in locales:
        path = _po_path(locales_dir, locale)
        if not path.is_file():
            continue  # catalog_problems reports it
        for message in _read(path, locale):
            if not message.id or message.fuzzy:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            forms = _forms(message)
            for index, form in enumerate(forms):
                if not form:
                    continue
                where = f"{locale}: {_show(_key(message))}"
                if len(forms) > 1 and len(ids) > 1:
                    # msgstr[0] of a plural may drop the count ("One case" for "%(count)d case").
                    expected = ids[1] if index else ids[0]
                    allowed = _placeholders(ids[0]) | _placeholders(ids[1])
                    extra = _placeholders(form) - allowed
                    lost = set() if index == 0 else _placeholders(ids[1]) - _placeholders(form)
                else:
                    expected = ids[-1]
                    extra = _placeholders(form) - _placeholders(expected)
                    lost = _placeholders(expected) - _placeholders(form)
                if extra:
                    problems.append(f"{where}: msgstr[{index}] adds {sorted(extra)}")
                if lost:
                    problems.append(f"{where}: msgstr[{index}] loses {sorted(lost)}")
                if _tags(form) != _tags(expected):
                    problems.append(
                        f"{where}: msgstr[{index}] has tags {sorted(_tags(form).elements())}, "
                        f"the msgid {sorted(_tags(expected).elements())}"
                    )
    return problems


def template_problems(template: Catalog, pot: Path) -> list[str]:
    """Differences between the committed `.pot` and the source (locations are not compared)."""
    if not pot.is_file():
        return [f"{pot} does not exist (run scripts/i18n.sh extract)"]
    wanted, have = _entries(template), _entries(_read(pot))
    return sorted(
        [f"{pot.name} lacks {_show(key)}" for key in wanted.keys() - have.keys()]
        + [
            f"{pot.name} has {_show(key)}, no longer in the source"
            for key in have.keys() - wanted.keys()
        ]
    )


# --- the project's own catalogs -------------------------------------------------------------


def _listing(problems: list[str]) -> str:
    return "\n".join(["", *problems, "fix: scripts/i18n.sh, then translate the new entries"])


def test_every_catalog_translates_every_message_of_the_source_and_nothing_else() -> None:
    template = extract_template(ROOT, ROOT / "babel.cfg")
    problems = catalog_problems(template, ROOT / "locales", SUPPORTED)
    assert not problems, _listing(problems)


def test_every_translation_keeps_the_placeholders_and_html_tags_of_its_msgid() -> None:
    problems = format_problems(ROOT / "locales", SUPPORTED)
    assert not problems, _listing(problems)


def test_committed_template_lists_exactly_the_messages_of_the_source() -> None:
    template = extract_template(ROOT, ROOT / "babel.cfg")
    problems = template_problems(template, ROOT / "locales" / "messages.pot")
    assert not problems, _listing(problems)


# --- the checkers themselves, on a small project in tmp_path --------------------------------

TINY_SOURCE = """\
from app.i18n import N_, _, ngettext, pgettext

WELCOME = N_("Welcome, <b>%(name)s</b>!")


def reply(number: str, count: int) -> list[str]:
    return [
        _("Hello"),
        _("Case {number} is registered.").format(number=number),
        ngettext("%(count)d case", "%(count)d cases", count) % {"count": count},
        pgettext("button", "Open"),
    ]
"""

TRANSLATIONS = {
    "zh_CN": {
        "Welcome, <b>%(name)s</b>!": "欢迎，<b>%(name)s</b>！",
        "Hello": "您好",
        "Case {number} is registered.": "案件 {number} 已登记。",
        "%(count)d case": ("%(count)d 件",),
        "Open": "打开",
    },
    "en": {
        "Welcome, <b>%(name)s</b>!": "Welcome, <b>%(name)s</b>!",
        "Hello": "Hello",
        "Case {number} is registered.": "Case {number} is registered.",
        "%(count)d case": ("One case", "%(count)d cases"),
        "Open": "Open",
    },
}


def _tiny_project(root: Path) -> Catalog:
    (root / "app").mkdir()
    (root / "app" / "replies.py").write_text(TINY_SOURCE, encoding="utf-8")
    (root / "babel.cfg").write_text("[python: app/**.py]\n", encoding="utf-8")
    return extract_template(root, root / "babel.cfg")


def _write_catalog(
    locales_dir: Path,
    locale: str,
    template: Catalog,
    change: Callable[[Catalog], None] = lambda po: None,
) -> None:
    """Write a complete `.po` for `locale`, after `change` has spoilt it as a test wants."""
    po = Catalog(locale=locale, project="petition-bot", fuzzy=False)
    for message in template:
        if message.id:
            singular = message.id[0] if isinstance(message.id, tuple) else message.id
            po.add(message.id, TRANSLATIONS[locale][singular], context=message.context)
    change(po)
    path = _po_path(locales_dir, locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, po)


def test_checkers_accept_a_complete_catalog_and_an_up_to_date_template(tmp_path: Path) -> None:
    template = _tiny_project(tmp_path)
    assert len(_entries(template)) == 5
    for locale in SUPPORTED:
        _write_catalog(tmp_path / "locales", locale, template)
    with (tmp_path / "locales" / "messages.pot").open("wb") as fp:
        write_po(fp, template)

    assert catalog_problems(template, tmp_path / "locales", SUPPORTED) == []
    assert format_problems(tmp_path / "locales", SUPPORTED) == []
    assert template_problems(template, tmp_path / "locales" / "messages.pot") == []


def test_catalog_check_lists_every_missing_empty_fuzzy_stale_and_obsolete_entry(
    tmp_path: Path,
) -> None:
    template = _tiny_project(tmp_path)

    def spoil(po: Catalog) -> None:
        po.delete("Hello")
        po["Case {number} is registered."].string = ""
        po["%(count)d case"].string = ("One case", "")
        po.get("Open", context="button").flags.add("fuzzy")
        po.add("Goodbye", "Goodbye")
        po.obsolete["Farewell"] = Message("Farewell", "Farewell")
        po.fuzzy = True

    _write_catalog(tmp_path / "locales", "en", template, spoil)
    _write_catalog(tmp_path / "locales", "zh_CN", template)

    assert catalog_problems(template, tmp_path / "locales", SUPPORTED) == [
        "en: '%(count)d case' has an empty msgstr",
        "en: 'Case {number} is registered.' has an empty msgstr",
        "en: 'Farewell' is obsolete (#~): delete it",
        "en: 'Goodbye' is stale: no longer in the source",
        "en: 'Hello' is in the source but not in the catalog",
        "en: 'Open' (context 'button') is fuzzy",
        "en: the header is fuzzy, so pybabel compile skips the catalog",
    ]


def test_catalog_check_reports_a_locale_without_a_catalog(tmp_path: Path) -> None:
    template = _tiny_project(tmp_path)
    _write_catalog(tmp_path / "locales", "zh_CN", template)

    problems = catalog_problems(template, tmp_path / "locales", SUPPORTED)

    assert len(problems) == 1
    assert problems[0].startswith("en: ") and "does not exist" in problems[0]


def test_format_check_finds_placeholders_and_tags_a_translation_changed(tmp_path: Path) -> None:
    template = _tiny_project(tmp_path)

    def spoil_zh(po: Catalog) -> None:
        po["Welcome, <b>%(name)s</b>!"].string = "欢迎，<i>%(nom)s</i>！"
        po["Case {number} is registered."].string = "案件已登记。"
        po["%(count)d case"].string = ("若干件",)

    def spoil_en(po: Catalog) -> None:
        po["%(count)d case"].string = ("One case in {place}", "%(count)d cases")

    _write_catalog(tmp_path / "locales", "zh_CN", template, spoil_zh)
    _write_catalog(tmp_path / "locales", "en", template, spoil_en)

    assert format_problems(tmp_path / "locales", SUPPORTED) == [
        "zh_CN: 'Welcome, <b>%(name)s</b>!': msgstr[0] adds ['%(nom)s']",
        "zh_CN: 'Welcome, <b>%(name)s</b>!': msgstr[0] loses ['%(name)s']",
        "zh_CN: 'Welcome, <b>%(name)s</b>!': msgstr[0] has tags ['/i', 'i'], the msgid ['/b', 'b']",
        "zh_CN: 'Case {number} is registered.': msgstr[0] loses ['{number}']",
        "zh_CN: '%(count)d case': msgstr[0] loses ['%(count)d']",
        "en: '%(count)d case': msgstr[0] adds ['{place}']",
    ]


def test_template_check_reports_messages_added_to_and_removed_from_the_source(
    tmp_path: Path,
) -> None:
    template = _tiny_project(tmp_path)
    pot = tmp_path / "messages.pot"
    outdated = Catalog(project="petition-bot")
    for message in template:
        if message.id and message.id != "Hello":
            outdated.add(message.id, context=message.context)
    outdated.add("Goodbye")
    with pot.open("wb") as fp:
        write_po(fp, outdated)

    assert template_problems(template, pot) == [
        "messages.pot has 'Goodbye', no longer in the source",
        "messages.pot lacks 'Hello'",
    ]
