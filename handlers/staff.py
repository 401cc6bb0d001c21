"""Staff at work: alert buttons, the words an action asks for, /case, /queue, /overdue.

Every press is authorised again by `bot.casework` (staff of the case's office or a parent
office, in one of those offices' groups; the state must allow the action): anyone else is
refused with a message and nothing changes. An action that needs a choice shows its options;
one that needs words asks the member who pressed, by name, and only that member's next message
in that chat completes it. Other messages in a staff group are the staff's own conversation and
are left alone.
"""

from __future__ import annotations

import html

from telegram import ForceReply, Message, Update

from bot.cases import parse_case_number
from bot.casework import Done, NeedChoice, NeedText, Outcome
from bot.errors import DomainError
from bot.i18n import _, current_locale
from handlers import replies
from handlers.casecard import (
    CHOICES,
    due_line,
    office_name,
    state_label,
    status_text,
)
from handlers.context import Ctx
from handlers.keyboards import button, case_data, in_rows, markup, parse_case_data
from handlers.status import deps, refusal


def _ask(need: NeedText) -> str:
    choice = CHOICES.get(need.arg or "")
    p = {"number": html.escape(need.number), "choice": _(choice) if choice else ""}
    asks = {
        "return": _("the reason for sending case %(number)s back"),
        "not_accept": _("the reason why case %(number)s is not accepted"),
        "redirect": _(
            "where case %(number)s should go instead (the legal route or body, and how to apply)"
        ),
        "extend": _("the reason for extending case %(number)s (it is told to the petitioner)"),
        "answer": _("the opinion on case %(number)s (%(choice)s), with its legal basis"),
        "reply": _("the reply to suggestion %(number)s (%(choice)s)"),
        "decide_review": _("the review opinion on case %(number)s (%(choice)s)"),
        "decide_recheck": _("the recheck opinion on case %(number)s (%(choice)s)"),
        "note": _("the internal note for case %(number)s (only staff see it)"),
    }
    return asks.get(need.action, _("your text for case %(number)s")) % p


async def _choice_labels(ctx: Ctx, need: NeedChoice) -> list[str]:
    if need.action == "transfer":
        return [await office_name(deps(ctx), c) for c in need.choices]
    if need.action == "extend":
        return [_("%(days)s days") % {"days": c} for c in need.choices]
    return [_(CHOICES[c]) for c in need.choices]


async def press(update: Update, ctx: Ctx) -> None:
    """A button under an alert, a choice or a staff card: `v1:s:<case>:<action>[:<arg>]`."""
    query = update.callback_query
    user, chat = update.effective_user, update.effective_chat
    assert query is not None and query.data is not None and user is not None and chat is not None
    pressed = parse_case_data(query.data)
    message = query.message if isinstance(query.message, Message) else None
    if pressed is None or pressed.side != "s":
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    if pressed.action == "dismiss":  # ✖ Cancel under a choice: only that message, only staff
        if not _shows(message, query.data):
            await query.answer(_("This button is no longer active."), show_alert=True)
        elif await ctx.services.cases.for_staff(user.id, pressed.case_id, chat.id) is None:
            await query.answer(refusal(DomainError("not_authorised")), show_alert=True)
        else:
            await query.answer()
            await replies.clear_buttons(ctx, message)
        return
    try:
        if pressed.action in {"full", "files", "history"}:
            await _details(ctx, user.id, chat.id, pressed.case_id, pressed.action)
            await query.answer()
            return
        outcome = await ctx.services.casework.staff_press(
            user.id, chat.id, pressed.case_id, pressed.action, pressed.arg
        )
    except DomainError as error:
        await query.answer(refusal(error), show_alert=True)
        return
    await query.answer(_("Done.") if isinstance(outcome, Done) else None)
    if pressed.arg is not None:  # a choice message: its buttons have served
        await replies.clear_buttons(ctx, message)
    await _after(ctx, chat.id, user.id, user.full_name, outcome)


def _shows(message: Message | None, data: str) -> bool:
    """True when `message` carries a button with `data` (forged data names one it has not)."""
    keyboard = message.reply_markup if message is not None else None
    return keyboard is not None and any(
        b.callback_data == data for row in keyboard.inline_keyboard for b in row
    )


async def _after(ctx: Ctx, chat_id: int, user_id: int, name: str, outcome: Outcome) -> None:
    if isinstance(outcome, NeedChoice):
        labels = await _choice_labels(ctx, outcome)
        buttons = [
            button(label, case_data("s", outcome.case_id, outcome.action, choice))
            for label, choice in zip(labels, outcome.choices, strict=True)
        ]
        rows = in_rows(buttons, 1 if outcome.action == "transfer" else 3)
        rows.append([button(_("✖ Cancel"), case_data("s", outcome.case_id, "dismiss"))])
        text = _("Case %(number)s: choose one.") % {"number": html.escape(outcome.number)}
        await ctx.bot.send_message(chat_id, text, reply_markup=markup(rows))
    elif isinstance(outcome, NeedText):
        mention = f'<a href="tg://user?id={user_id}">{html.escape(name)}</a>'
        text = _("%(who)s, please reply with %(what)s. /cancel to stop.") % {
            "who": mention,
            "what": _ask(outcome),
        }
        await ctx.bot.send_message(chat_id, text, reply_markup=ForceReply(selective=True))
    elif isinstance(outcome, Done):
        ctx.services.wake_outbox()


async def _details(ctx: Ctx, user_id: int, chat_id: int, case_id: int, what: str) -> None:
    # The case's own words and files go only where it may be seen: a group of its office or
    # of a parent office, or the member's private chat — never a sibling office's group.
    view = await ctx.services.cases.for_staff(user_id, case_id, chat_id)
    if view is None:
        raise DomainError("not_authorised")
    if what == "history":
        await ctx.bot.send_message(chat_id, await status_text(deps(ctx), view, as_staff=True))
        return
    await ctx.services.casework.send_details(user_id, chat_id, case_id, what, current_locale())
    ctx.services.wake_outbox()


async def group_message(update: Update, ctx: Ctx) -> None:
    """A message in a group: the words a member was asked for, or none of the bot's business."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    waiting = await ctx.services.casework.waiting(user.id, message.chat.id)
    if waiting is None:
        return
    if not message.text or message.text.startswith("/"):
        await message.reply_text(_("Please send text."))
        return
    try:
        done = await ctx.services.casework.staff_text(user.id, message.chat.id, message.text)
    except DomainError as error:
        await message.reply_text(refusal(error))
        return
    if done is not None:
        await message.reply_text(
            _("Recorded for case %(number)s: %(state)s.")
            % {"number": html.escape(done.number), "state": state_label(done.state)}
        )
        ctx.services.wake_outbox()


async def cancel(update: Update, ctx: Ctx) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    stopped = await ctx.services.casework.stop_waiting(user.id, message.chat.id)
    await message.reply_text(
        _("Stopped. Nothing was changed.") if stopped else _("Nothing is waiting for you.")
    )


async def case_command(update: Update, ctx: Ctx) -> None:
    """/case NUMBER (and /status NUMBER in a group): the case with its whole history."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    parts = (message.text or "").split(maxsplit=1)
    number = parse_case_number(parts[1]) if len(parts) > 1 else None
    if number is None:
        await message.reply_text(_("Send the case number, for example /case XF2026-000042."))
        return
    found = await ctx.services.cases.status(user.id, number, message.chat.id)
    if found is None or not found.as_staff:
        await message.reply_text(
            _("No case %(number)s was found among your cases.") % {"number": number}
        )
        return
    await message.reply_text(await status_text(deps(ctx), found.case, as_staff=True))


async def queue(update: Update, ctx: Ctx) -> None:
    await _queue(update, ctx, overdue=False)


async def overdue(update: Update, ctx: Ctx) -> None:
    await _queue(update, ctx, overdue=True)


async def _queue(update: Update, ctx: Ctx, *, overdue: bool) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    found = await ctx.services.cases.queue(user.id, message.chat.id, overdue=overdue)
    if found is None:
        await message.reply_text(_("Only staff of this office may see its cases."))
        return
    office = await office_name(deps(ctx), found.office_id)
    if not found.items:
        empty = _("No overdue cases.") if overdue else _("No open cases.")
        await message.reply_text(f"<b>{office}</b>\n{empty}")
        return
    title = (
        _("<b>Overdue cases — %(office)s</b> (%(total)d)")
        if overdue
        else _("<b>Open cases by deadline — %(office)s</b> (%(total)d)")
    ) % {"office": office, "total": found.total}
    lines = [title] + [due_line(c.number, c.state, c.due_on) for c in found.items]
    if found.total > len(found.items):
        lines.append(_("… and %(more)d more.") % {"more": found.total - len(found.items)})
    await message.reply_text("\n".join(lines))
