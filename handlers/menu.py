"""The citizen's menu and commands: start, new, cancel, language, help (cases: `status`).

Also the catch-alls that keep nobody stuck: unknown commands, edited messages, stale or
unknown buttons, and commands sent in a group chat.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.errors import DomainError, DuplicateUpdate
from bot.i18n import SUPPORTED, _, language_name, set_locale
from handlers import prompts, replies, status
from handlers.context import Ctx
from handlers.intake import actor_of, resume, show_step
from handlers.keyboards import button, markup, menu_data


async def set_user_locale(update: Update, ctx: Ctx) -> None:
    """Group -1: resolve the sender's locale once per update."""
    user, chat = update.effective_user, update.effective_chat
    if user is None:
        return
    if chat is not None and chat.id < 0:  # a staff group speaks its office's language
        office = await ctx.services.directory.office_of_group(chat.id)
        if office is not None:
            set_locale(office.language)
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
    except DuplicateUpdate:  # applied before its process stopped
        await resume(ctx, actor)
        return
    except DomainError as error:
        await replies.send(ctx, actor.chat_id, prompts.Reply(replies.explain(error)))
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
    if await ctx.services.casework.stop_waiting(actor.user_id, actor.chat_id):
        await replies.send(
            ctx, actor.chat_id, prompts.Reply(_("Stopped. Nothing was changed."), None)
        )
        return
    try:
        cancelled = await ctx.services.intake.cancel(actor)
    except DuplicateUpdate:  # applied before its process stopped
        await resume(ctx, actor)
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
        except DuplicateUpdate:  # applied before its process stopped
            await resume(ctx, actor)
            return
        except DomainError as error:
            await replies.send(ctx, actor.chat_id, prompts.Reply(replies.explain(error)))
            return
        await show_step(ctx, actor.chat_id, draft)
    elif action == "cases":
        page = query.data.split(":")[3] if query.data.count(":") >= 3 else "0"
        await status.my_cases(update, ctx, int(page) if page.isdigit() else 0)
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
