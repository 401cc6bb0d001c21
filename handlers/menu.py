"""The citizen's menu and commands: start, new, cancel, language, help, my cases, status.

Also the catch-alls that keep nobody stuck: unknown commands, edited messages, stale or
unknown buttons, and commands sent in a group chat.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.cases import parse_case_number
from bot.errors import DuplicateUpdate
from bot.i18n import N_, SUPPORTED, _, format_date, language_name, set_locale
from bot.petitioners import Actor
from handlers import prompts, replies
from handlers.context import Ctx
from handlers.intake import actor_of, show_step
from handlers.keyboards import button, markup, menu_data

STATE_LABELS = {
    "submitted": N_("Submitted, waiting for registration"),
    "transferred": N_("Transferred"),
    "accepted": N_("Accepted"),
    "not_accepted": N_("Not accepted"),
    "redirected": N_("Redirected to a legal route"),
    "extended": N_("Handling period extended"),
    "answered": N_("Answered"),
    "review_requested": N_("Review requested"),
    "reviewed": N_("Reviewed"),
    "recheck_requested": N_("Recheck requested"),
    "rechecked": N_("Rechecked (final)"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}


async def set_user_locale(update: Update, ctx: Ctx) -> None:
    """Group -1: resolve the sender's locale once per update."""
    user = update.effective_user
    if user is None:
        return
    set_locale(await ctx.services.petitioners.locale_for(user.id, user.language_code))


def help_text() -> str:
    return _(
        "<b>Petition service</b>\n\n"
        "File a petition (信访) about a matter in this area, step by step; the responsible "
        "office must register it and tell you whether it is accepted within 15 days. We tell "
        "you here about every step.\n\n"
        "/new — file a new petition\n/cases — my cases\n/status NUMBER — the status of a case\n"
        "/language — change the language\n/cancel — cancel the petition in progress\n"
        "/help — this help"
    )


async def start(update: Update, ctx: Ctx) -> None:
    """/start and /new: continue an unfinished draft, or begin a new one."""
    actor = actor_of(update)
    try:
        draft, resumed = await ctx.services.intake.start(actor)
    except DuplicateUpdate:
        return
    if resumed:
        text = _("You have a petition in progress. Continue where you left off, or start over?")
        keyboard = markup(
            [
                [button(_("▶ Continue"), menu_data("resume"))],
                [button(_("↺ Start over"), menu_data("restart"))],
            ]
        )
        await replies.send(ctx, actor.chat_id, prompts.Reply(text, keyboard))
        return
    await show_step(ctx, actor.chat_id, draft)


async def welcome(update: Update, ctx: Ctx) -> None:
    """/start: the menu (and the unfinished draft if any)."""
    actor = actor_of(update)
    if await ctx.services.intake.current(actor.user_id) is not None:
        await start(update, ctx)
        return
    await replies.send(ctx, actor.chat_id, prompts.Reply(help_text(), replies.menu_markup()))


async def help_command(update: Update, ctx: Ctx) -> None:
    await replies.send(
        ctx, actor_of(update).chat_id, prompts.Reply(help_text(), replies.menu_markup())
    )


async def cancel(update: Update, ctx: Ctx) -> None:
    actor = actor_of(update)
    try:
        cancelled = await ctx.services.intake.cancel(actor)
    except DuplicateUpdate:
        return
    text = (
        _("Your petition was cancelled. Nothing was submitted.")
        if cancelled
        else _("There is no petition in progress to cancel.")
    )
    await replies.send(ctx, actor.chat_id, prompts.Reply(text, replies.menu_markup()))


async def language(update: Update, ctx: Ctx) -> None:
    rows = [[button(language_name(loc), f"v1:lang:{loc}")] for loc in SUPPORTED]
    await replies.send(
        ctx, actor_of(update).chat_id, prompts.Reply(_("Choose your language:"), markup(rows))
    )


async def language_chosen(update: Update, ctx: Ctx) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = actor_of(update)
    try:
        chosen = await ctx.services.petitioners.set_language(actor, query.data.rsplit(":", 1)[-1])
    except DuplicateUpdate:
        await query.answer()
        return
    set_locale(chosen)
    await query.answer()
    await replies.clear_buttons(ctx, query.message if isinstance(query.message, Message) else None)
    await replies.send(ctx, actor.chat_id, prompts.Reply(_("The language is now English."), None))
    draft = await ctx.services.intake.current(actor.user_id)
    if draft is not None:
        await show_step(ctx, actor.chat_id, draft)
    else:
        await replies.send(ctx, actor.chat_id, prompts.Reply(help_text(), replies.menu_markup()))


async def my_cases(update: Update, ctx: Ctx) -> None:
    actor = actor_of(update)
    rows = await ctx.services.cases.mine(actor.user_id, page=0, per_page=10)
    if not rows:
        await replies.send(
            ctx, actor.chat_id, prompts.Reply(_("You have no cases yet."), replies.menu_markup())
        )
        return
    lines = [_("<b>Your cases</b>")]
    for case in rows[:10]:
        lines.append(
            _("%(number)s — %(state)s — submitted %(date)s")
            % {
                "number": case.number,
                "state": _(STATE_LABELS.get(case.state, case.state)),
                "date": format_date(case.submitted_at.date()),
            }
        )
    await replies.send(ctx, actor.chat_id, prompts.Reply("\n".join(lines), replies.menu_markup()))


async def status(update: Update, ctx: Ctx) -> None:
    """/status NUMBER, or a bare case number: only its petitioner learns anything."""
    actor = actor_of(update)
    message = update.effective_message
    assert message is not None
    text = message.text or ""
    if text.startswith("/"):
        text = text.split(maxsplit=1)[1] if len(text.split(maxsplit=1)) > 1 else ""
    number = parse_case_number(text)
    if number is None:
        await replies.send(
            ctx,
            actor.chat_id,
            prompts.Reply(_("Send the case number, for example /status XF2026-000042.")),
        )
        return
    await send_status(ctx, actor, number)


async def send_status(ctx: Ctx, actor: Actor, number: str) -> None:
    case = await ctx.services.cases.status(actor.user_id, number)
    if case is None:
        text = _("No case %(number)s was found among your cases.") % {"number": prompts.esc(number)}
    else:
        text = _(
            "<b>%(number)s</b>\nState: %(state)s\nSubmitted: %(submitted)s\n"
            "Registration and acceptance notice due by: %(due)s"
        ) % {
            "number": case.number,
            "state": _(STATE_LABELS.get(case.state, case.state)),
            "submitted": format_date(case.submitted_at.date()),
            "due": format_date(case.registration_due),
        }
    await replies.send(ctx, actor.chat_id, prompts.Reply(text, replies.menu_markup()))


async def menu_press(update: Update, ctx: Ctx) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    action = query.data.split(":")[2] if query.data.count(":") >= 2 else ""
    await query.answer()
    actor = actor_of(update)
    if action == "new":
        await start(update, ctx)
    elif action == "resume":
        draft = await ctx.services.intake.current(actor.user_id)
        if draft is None:  # finished or expired since the question was asked
            await help_command(update, ctx)
        else:
            await show_step(ctx, actor.chat_id, draft)
    elif action == "restart":
        try:
            draft, _resumed = await ctx.services.intake.start(actor, fresh=True)
        except DuplicateUpdate:
            return
        await show_step(ctx, actor.chat_id, draft)
    elif action == "cases":
        await my_cases(update, ctx)
    elif action == "status":
        await replies.send(
            ctx, actor.chat_id, prompts.Reply(_("Send the case number, for example XF2026-000042."))
        )
    elif action == "language":
        await language(update, ctx)
    else:
        await help_command(update, ctx)


async def unknown_command(update: Update, ctx: Ctx) -> None:
    actor = actor_of(update)
    await replies.send(
        ctx,
        actor.chat_id,
        prompts.Reply(
            _("Unknown command. These work: /new /cases /status /language /cancel /help")
        ),
    )
    draft = await ctx.services.intake.current(actor.user_id)
    if draft is not None:
        await show_step(ctx, actor.chat_id, draft)


async def edited(update: Update, ctx: Ctx) -> None:
    message = update.edited_message
    if message is None or message.chat.type != "private":
        return
    await replies.send(
        ctx,
        message.chat.id,
        prompts.Reply(
            _(
                "Edits to messages you already sent are not picked up. To change an answer, "
                "use Edit on the review screen, or send the answer again when asked."
            )
        ),
    )


async def stale_button(update: Update, ctx: Ctx) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer(_("This button is no longer active."))


async def group_command(update: Update, ctx: Ctx) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_text(_("Please talk to me in a private chat to file or check a petition."))


async def case_number_message(update: Update, ctx: Ctx) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    number = parse_case_number(message.text)
    assert number is not None
    await send_status(ctx, actor_of(update), number)
