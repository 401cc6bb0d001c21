"""What the intake steps say and which buttons they show, in the current locale.

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

from bot.directory import Directory
from bot.i18n import N_, _, current_locale
from bot.intake import DraftView, Limits
from handlers.keyboards import button, draft_data, markup

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


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


async def prompt_consent(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
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


async def prompt_type(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    rows = [
        [button(_(label), draft_data(draft.id, "type", key))] for key, label in TYPE_LABELS.items()
    ]
    rows.append(nav_row(draft))
    return Screen([Reply(_("<b>What kind of petition is it?</b>"), markup(rows))])


async def prompt_request(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _(
        "<b>What do you ask for?</b>\n\nIn one short message (up to %(max)d characters), say "
        "what you want the office to do. You will describe the facts in the next step."
    ) % {"max": limits.max_request_chars}
    return Screen([Reply(text, markup([nav_row(draft)]))])


async def prompt_facts(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
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


async def prompt_attachments(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
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


async def prompt_name(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _("<b>Your name</b>\n\nYour full name as on your identity document.")
    return Screen([Reply(text, markup([_saved_row(draft, "name"), nav_row(draft)]))])


async def prompt_phone(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
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


async def prompt_address(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
    text = _("<b>Your address</b>\n\nWhere written notices about your petition can reach you.")
    return Screen([Reply(text, markup([_saved_row(draft, "address"), nav_row(draft)]))])
