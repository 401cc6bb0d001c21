"""The end of the intake: the review with Edit, Submit, the duplicate offer and the receipt.

The review shows every answer escaped (and long facts shortened) so the message always fits
Telegram; Edit sends the person to one step and its answer returns here. Submit makes the case
once; an open case about the same matter is offered as the target of a follow-up first.
"""

from __future__ import annotations

from telegram import Message

from bot.directory import Directory
from bot.errors import StaleAction
from bot.i18n import _, current_locale, format_date
from bot.intake import DraftView, FollowUp, Limits, PossibleDuplicate, Receipt
from bot.petitioners import Actor
from handlers import replies
from handlers.context import Ctx
from handlers.keyboards import Press, button, draft_data, in_rows, markup
from handlers.prompts import FIELD_LABELS, TYPE_LABELS, Reply, Screen, esc, nav_row, shorten

REVIEW_FACTS_CHARS = 1500


async def prompt_review(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
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


async def prompt_duplicate(draft: DraftView, directory: Directory, limits: Limits) -> Screen:
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


# --- operations ----------------------------------------------------------------------------


async def edit_menu(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> None:
    reply = await review(draft, ctx.services.directory, editing=press.action == "editmenu")
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)


async def edit(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.edit(actor, draft.id, press.arg)


async def submit(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    result = await ctx.services.intake.submit(actor, press.draft_id)
    return await after_submit(ctx, actor, result, msg)


async def decide_duplicate(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    intake = ctx.services.intake
    if press.arg == "follow":
        done = await intake.follow_up(actor, draft.id)
        return await after_submit(ctx, actor, done, msg)
    if press.arg == "new":
        result = await intake.submit(actor, draft.id, as_new=True)
        return await after_submit(ctx, actor, result, msg)
    raise StaleAction


async def after_submit(
    ctx: Ctx, actor: Actor, result: Receipt | PossibleDuplicate | FollowUp, msg: Message | None
) -> DraftView | None:
    if isinstance(result, PossibleDuplicate):
        return result.draft
    await replies.clear_buttons(ctx, msg)
    ctx.services.wake_outbox()  # the receipt and the office's alert are in the outbox
    if isinstance(result, FollowUp):
        text = _(
            "Your petition was added to case <b>%(number)s</b> as a follow-up. The office "
            "handling that case will see it."
        ) % {"number": esc(result.number)}
    elif result.again:  # Submit pressed again: show the receipt once more, straight away
        text = receipt(result)
    else:
        return None
    await replies.send(ctx, actor.chat_id, Reply(text, replies.menu_markup()))
    return None
