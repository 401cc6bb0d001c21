"""What each intake step says and which buttons it shows, in the current locale.

Every value a user supplied is escaped with `esc` before it goes into Telegram HTML, and long
texts are shortened so that a message always fits Telegram's 4096-character limit.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.directory import CategoryInfo, Directory, Place
from bot.i18n import N_, _, current_locale, format_date
from bot.intake import DraftView, Limits, Receipt, Step
from handlers.keyboards import button, draft_data, in_rows, markup

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None

PAGE_SIZE = 8
REVIEW_FACTS_CHARS = 1500

TYPE_LABELS = {
    "suggestion": N_("Suggestion or opinion (建议意见)"),
    "accusation": N_("Accusation or complaint (检举控告)"),
    "appeal": N_("Appeal or request (申诉求决)"),
}

FIELD_LABELS = {
    "type": N_("Petition type"),
    "place": N_("Where the problem is"),
    "category": N_("Category"),
    "request": N_("Request"),
    "facts": N_("Facts and reasons"),
    "attachments": N_("Attachments"),
    "name": N_("Name"),
    "phone": N_("Phone"),
    "address": N_("Address"),
}


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    markup: Markup = None


@dataclass(slots=True)
class Screen:
    """The messages that make up one step's prompt (the last one carries the step's buttons)."""

    replies: list[Reply] = field(default_factory=list)


def esc(text: str | None) -> str:
    return html.escape(text or "", quote=False)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def nav_row(draft: DraftView, *, back: bool = True) -> list[InlineKeyboardButton]:
    row: list[InlineKeyboardButton] = []
    if back:
        row.append(button(_("◀ Back"), draft_data(draft.id, "back", draft.step)))
    row.append(button(_("✖ Cancel"), draft_data(draft.id, "cancel")))
    return row


async def screen(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    """The prompt for the draft's current step."""
    builder = _BUILDERS[draft.step]
    return await builder(draft, directory, limits)


async def _consent(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _(
        "<b>Before you start</b>\n\n"
        "This service takes petitions (信访) about matters in <b>%(area)s</b> and passes them "
        "to the responsible petition office, which must register each one and answer within "
        "the legal time limits.\n\n"
        "<b>Your personal data.</b> We keep your name, phone number, address, your petition "
        "and your files only to handle your petition and to tell you about it. They are shown "
        "only to the staff of the responsible offices. Your consent is required (PIPL).\n\n"
        "<b>Please note.</b> Petitions must be truthful. Illegal gatherings, blocking traffic, "
        "carrying dangerous objects, insulting others or inciting others are prohibited "
        "(Regulations on "
        "Petition Work, Art. 26).\n\n"
        "Matters that belong to a court, arbitration or administrative reconsideration have "
        "their own legal routes; we will show you the route when your matter is one of them."
    ) % {"area": esc((await directory.root_place()).name(current_locale()))}
    keyboard = markup(
        [
            [button(_("✅ I agree"), draft_data(draft.id, "agree"))],
            [button(_("✖ Cancel"), draft_data(draft.id, "cancel"))],
        ]
    )
    return Screen([Reply(text, keyboard)])


async def _type(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    rows = [
        [button(_(label), draft_data(draft.id, "type", key))] for key, label in TYPE_LABELS.items()
    ]
    rows.append(nav_row(draft))
    return Screen([Reply(_("<b>What kind of petition is it?</b>"), markup(rows))])


async def _place(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    root = await directory.root_place()
    text = _(
        "<b>Where is the problem?</b>\n\n"
        "Type the name of the county or district (for example 锦江区), browse the list, or "
        "share a location with the button below the message box. It must be a county-level "
        "place in %(area)s."
    ) % {"area": esc(root.name(current_locale()))}
    keyboard = markup(
        [
            [button(_("🗂 Browse the list"), draft_data(draft.id, "pb", f"{root.code}:0"))],
            nav_row(draft),
        ]
    )
    location = ReplyKeyboardMarkup(
        [[KeyboardButton(_("📍 Share a location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    return Screen(
        [
            Reply(_("You can share a location with the button below."), location),
            Reply(text, keyboard),
        ]
    )


async def browse(draft: DraftView, directory: Directory, code: str, page: int) -> Reply:
    """One page of the places under `code`."""
    parent = await directory.place(code)
    children = await directory.children(code)
    if parent is None or not children:
        parent = await directory.root_place()
        children = await directory.children(parent.code)
    locale = current_locale()
    pages = max(1, (len(children) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = children[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    buttons = [
        button(
            child.name(locale) if child.selectable else child.name(locale) + " ›",
            draft_data(
                draft.id,
                "pl" if child.selectable else "pb",
                child.code if child.selectable else f"{child.code}:0",
            ),
        )
        for child in shown
    ]
    rows = in_rows(buttons, 2)
    paging = []
    if page > 0:
        paging.append(
            button(_("« Previous"), draft_data(draft.id, "pb", f"{parent.code}:{page - 1}"))
        )
    if page + 1 < pages:
        paging.append(button(_("Next »"), draft_data(draft.id, "pb", f"{parent.code}:{page + 1}")))
    rows.append(paging)
    root = await directory.root_place()
    if parent.code != root.code and parent.parent_code:
        rows.append([button(_("⬆ Up"), draft_data(draft.id, "pb", f"{parent.parent_code}:0"))])
    rows.append(nav_row(draft))
    text = _("<b>Choose the place</b> in %(parent)s (page %(page)d of %(pages)d):") % {
        "parent": esc(parent.full_name(locale)),
        "page": page + 1,
        "pages": pages,
    }
    return Reply(text, markup(rows))


def matches(draft: DraftView, places: list[Place]) -> Reply:
    """Search results as buttons, each with its parent so equal names can be told apart."""
    locale = current_locale()
    rows = []
    for place in places:
        parent = place.parent_name_zh if locale == "zh_CN" else place.parent_name_en
        label = f"{place.name(locale)} ({parent})" if parent else place.name(locale)
        if place.selectable:
            rows.append([button(label, draft_data(draft.id, "pl", place.code))])
        else:
            rows.append([button(label + " ›", draft_data(draft.id, "pb", f"{place.code}:0"))])
    rows.append([button(_("🗂 Browse the list"), draft_data(draft.id, "pb", "root:0"))])
    rows.append(nav_row(draft))
    return Reply(_("<b>Which place do you mean?</b>"), markup(rows))


async def _place_confirm(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    place = await directory.place(draft.place_candidate or "")
    name = place.full_name(current_locale()) if place else "?"
    text = _("The location is in <b>%(place)s</b>. Is that where the problem is?") % {
        "place": esc(name)
    }
    keyboard = markup(
        [
            [button(_("✅ Yes"), draft_data(draft.id, "plc", "yes"))],
            [button(_("No, choose another place"), draft_data(draft.id, "plc", "no"))],
            nav_row(draft),
        ]
    )
    return Screen([Reply(text, keyboard)])


async def _category(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    return Screen([await categories(draft, directory, None)])


async def categories(draft: DraftView, directory: Directory, parent: str | None) -> Reply:
    """First-level categories, or the second level under `parent`."""
    locale = current_locale()
    items = await directory.categories(parent)
    rows = in_rows([button(c.name(locale), draft_data(draft.id, "cg", c.code)) for c in items], 2)
    if parent is not None:
        rows.append([button(_("⬆ All categories"), draft_data(draft.id, "cgu"))])
        head = await directory.category(parent)
        text = _("<b>%(category)s</b>: choose the closest item.") % {
            "category": esc(head.name(locale) if head else "")
        }
    else:
        text = _("<b>What is the petition about?</b> Choose a category.")
    rows.append(nav_row(draft))
    return Reply(text, markup(rows))


async def _route(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    category = await directory.category(draft.category_code or "")
    return Screen([route_offer(draft, category)])


def route_offer(draft: DraftView, category: CategoryInfo | None) -> Reply:
    locale = current_locale()
    text = _(
        "<b>This matter has its own legal route.</b>\n\n"
        "<b>%(category)s</b>\n%(route)s\n\n<b>Time limit:</b> %(limit)s\n\n"
        "Do not rely on a petition to stop or extend this time limit. You may use that route, "
        "submit the petition here anyway (the office decides how to handle it), or choose another "
        "category."
    ) % {
        "category": esc(category.name(locale) if category else ""),
        "route": esc(category.route_text(locale) if category else ""),
        "limit": esc(category.limit_text(locale) if category else ""),
    }
    keyboard = markup(
        [
            [button(_("I will use that route"), draft_data(draft.id, "rt", "go"))],
            [button(_("Submit here anyway"), draft_data(draft.id, "rt", "submit"))],
            [button(_("Choose another category"), draft_data(draft.id, "rt", "other"))],
            nav_row(draft),
        ]
    )
    return Reply(text, keyboard)


def route_taken(category: CategoryInfo) -> str:
    locale = current_locale()
    return _(
        "Your draft is closed. Please apply through the legal route:\n\n<b>%(category)s</b>\n"
        "%(route)s\n\n<b>Time limit:</b> %(limit)s\n\nSend /new to start another petition."
    ) % {
        "category": esc(category.name(locale)),
        "route": esc(category.route_text(locale)),
        "limit": esc(category.limit_text(locale)),
    }


async def _request(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _(
        "<b>What do you ask for?</b>\n\nIn one short message (up to %(max)d characters), say "
        "what you want the office to do. You will describe the facts in the next step."
    ) % {"max": limits.max_request_chars}
    return Screen([Reply(text, markup([nav_row(draft)]))])


async def _facts(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    if draft.facts_text and not draft.replacing_facts:
        return Screen([facts_progress(draft, limits)])
    if draft.replacing_facts:
        text = _(
            "<b>Facts and reasons</b>\n\nSend the new description. It replaces the current one "
            "when you send it; several messages are joined. Press <b>Done</b> when you have "
            "finished, or Back to keep the current description."
        )
        keyboard = markup([[button(_("✅ Done"), draft_data(draft.id, "fdone"))], nav_row(draft)])
        return Screen([Reply(text, keyboard)])
    text = _(
        "<b>Facts and reasons</b>\n\nDescribe what happened, when and where, who is involved, "
        "and why you think your request is justified. You may send several messages; they are "
        "joined. Press <b>Done</b> when you have finished."
    )
    keyboard = markup([[button(_("✅ Done"), draft_data(draft.id, "fdone"))], nav_row(draft)])
    return Screen([Reply(text, keyboard)])


def facts_progress(draft: DraftView, limits: Limits) -> Reply:
    used = len(draft.facts_text or "")
    text = _(
        "Added. The facts now have %(used)d of at most %(max)d characters. Send more, or press "
        "<b>Done</b>."
    ) % {"used": used, "max": limits.max_facts_chars}
    keyboard = markup([[button(_("✅ Done"), draft_data(draft.id, "fdone"))], nav_row(draft)])
    return Reply(text, keyboard)


async def _attachments(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    return Screen([attachments_prompt(draft, limits)])


def attachments_prompt(draft: DraftView, limits: Limits) -> Reply:
    text = _(
        "<b>Attachments</b> (optional)\n\nSend photos, documents, videos or voice messages that "
        "support your petition: up to %(max)d files, each at most %(mb)d MB. "
        "Attached so far: %(count)d."
    ) % {
        "max": limits.max_attachments,
        "mb": limits.max_attachment_bytes // 2**20,
        "count": draft.attachments,
    }
    rows = []
    if draft.attachments:
        rows.append([button(_("✅ Done"), draft_data(draft.id, "done"))])
        rows.append([button(_("🗑 Remove all attachments"), draft_data(draft.id, "clear"))])
    else:
        rows.append([button(_("Skip"), draft_data(draft.id, "done"))])
    rows.append(nav_row(draft))
    return Reply(text, markup(rows))


def _saved_row(draft: DraftView, field_name: str) -> list[InlineKeyboardButton]:
    value = draft.saved(field_name)
    if not value:
        return []
    label = _("Use: %(value)s") % {"value": shorten(value, 40)}
    return [button(label, draft_data(draft.id, "saved", field_name))]


async def _name(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _("<b>Your name</b>\n\nYour full name as on your identity document.")
    return Screen([Reply(text, markup([_saved_row(draft, "name"), nav_row(draft)]))])


async def _phone(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    contact = ReplyKeyboardMarkup(
        [[KeyboardButton(_("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    text = _(
        "<b>Your phone number</b>\n\nPress the button below the message box to share your own "
        "number, or type it (for example 13800138000)."
    )
    return Screen(
        [
            Reply(_("You can share your number with the button below."), contact),
            Reply(text, markup([_saved_row(draft, "phone"), nav_row(draft)])),
        ]
    )


async def _address(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _("<b>Your address</b>\n\nWhere written notices about your petition can reach you.")
    return Screen([Reply(text, markup([_saved_row(draft, "address"), nav_row(draft)]))])


async def _review(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    return Screen([await review(draft, directory)])


def _field(key: str, value: str | None) -> str:
    """One line of the review: the translated label (with the language's colon), the value."""
    return _("<b>%(label)s:</b> %(value)s") % {"label": _(FIELD_LABELS[key]), "value": esc(value)}


async def review(draft: DraftView, directory: Directory, *, editing: bool = False) -> Reply:
    locale = current_locale()
    place = await directory.place(draft.place_code or "")
    category = await directory.category(draft.category_code or "")
    parent = await directory.category(category.parent_code or "") if category else None
    category_name = " / ".join(c.name(locale) for c in (parent, category) if c)
    if category and category.route and draft.route_acknowledged:
        category_name += " " + _("(submitted despite its legal route)")
    facts = shorten(draft.facts_text or "", REVIEW_FACTS_CHARS)
    type_label = _(TYPE_LABELS[draft.petition_type]) if draft.petition_type in TYPE_LABELS else ""
    lines = [
        _("<b>Please check your petition</b>"),
        "",
        _field("type", type_label),
        _field("place", place.full_name(locale) if place else ""),
        _field("category", category_name),
        _field("request", draft.request_text),
        _field("facts", "").rstrip() + "\n" + esc(facts),
        _field("attachments", str(draft.attachments)),
        _field("name", draft.name),
        _field("phone", draft.phone),
        _field("address", draft.address),
    ]
    if editing:
        rows = in_rows(
            [
                button(_(label), draft_data(draft.id, "edit", key))
                for key, label in FIELD_LABELS.items()
            ],
            2,
        )
        rows.append([button(_("◀ Back to the review"), draft_data(draft.id, "review"))])
        lines += ["", _("Which part do you want to change?")]
    else:
        rows = [
            [button(_("📨 Submit"), draft_data(draft.id, "submit"))],
            [button(_("✏️ Edit a field"), draft_data(draft.id, "editmenu"))],
            nav_row(draft),
        ]
    return Reply("\n".join(lines), markup(rows))


async def _duplicate(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _(
        "You already have an open case, <b>%(number)s</b>, about the same place and category. "
        "By law, the same matter is not accepted again while it is being handled. Add this "
        "petition to that case as a follow-up, or submit it as a new case?"
    ) % {"number": esc(draft.duplicate_of)}
    rows = [
        [button(_("Add to my open case"), draft_data(draft.id, "dup", "follow"))],
        [button(_("Submit as a new case"), draft_data(draft.id, "dup", "new"))],
        nav_row(draft),
    ]
    return Screen([Reply(text, markup(rows))])


def receipt(result: Receipt) -> str:
    locale = current_locale()
    head = (
        _("This petition was already submitted.")
        if result.again
        else _("✅ <b>Your petition has been submitted.</b>")
    )
    body = _(
        "<b>Case number:</b> %(number)s\n<b>Query code:</b> %(code)s\n"
        "<b>Sent to:</b> %(office)s\n\n"
        "The office must register your petition and tell you whether it is accepted by "
        "<b>%(due)s</b>. We will tell you here about every step. Keep the case number and query "
        "code to check the status."
    ) % {
        "number": esc(result.number),
        "code": esc(result.query_code),
        "office": esc(result.office.name(locale)),
        "due": esc(format_date(result.registration_due)),
    }
    return f"{head}\n\n{body}"


_BUILDERS = {
    Step.CONSENT: _consent,
    Step.TYPE: _type,
    Step.PLACE: _place,
    Step.PLACE_CONFIRM: _place_confirm,
    Step.CATEGORY: _category,
    Step.ROUTE: _route,
    Step.REQUEST: _request,
    Step.FACTS: _facts,
    Step.ATTACHMENTS: _attachments,
    Step.NAME: _name,
    Step.PHONE: _phone,
    Step.ADDRESS: _address,
    Step.REVIEW: _review,
    Step.DUPLICATE: _duplicate,
}
