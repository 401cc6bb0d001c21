"""The petitioner's cases: My cases (paged), status by number, and acting on one's own case.

Status answers come from `bot.cases`, which gives a case only to its petitioner or its office's
staff; anyone else gets exactly the answer for a number that does not exist. The petitioner's
buttons (`v1:c:<case>:<action>`) go through `bot.casework`, which checks the lifecycle table;
an action that needs words parks a pending input, and the next private message completes it
before the intake sees it.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.cases import parse_case_number
from bot.casework import Done, NeedChoice, NeedText, Outcome
from bot.errors import DomainError, DuplicateUpdate
from bot.i18n import _, format_date
from bot.petitioners import Actor
from handlers import intake, prompts, replies
from handlers.casecard import (
    CHOICES,
    CardDeps,
    petitioner_markup,
    state_label,
    status_text,
)
from handlers.context import Ctx
from handlers.intake import actor_of, attachment_of
from handlers.keyboards import button, case_data, markup, menu_data, parse_case_data

PER_PAGE = 5


def deps(ctx: Ctx) -> CardDeps:
    return CardDeps(ctx.services.directory, ctx.services.deployment.tz)


async def my_cases(update: Update, ctx: Ctx, page: int = 0) -> None:
    actor = actor_of(update)
    found = await ctx.services.cases.mine(actor.user_id, page=page, per_page=PER_PAGE)
    if not found.total:
        await replies.send(
            ctx, actor.chat_id, prompts.Reply(_("You have no cases yet."), replies.menu_markup())
        )
        return
    lines = [
        _("<b>Your cases</b> (%(total)d) — page %(page)d of %(pages)d")
        % {"total": found.total, "page": found.page + 1, "pages": found.pages}
    ]
    rows = []
    for case in found.items:
        lines.append(
            _("%(number)s — %(state)s — submitted %(date)s")
            % {
                "number": case.number,
                "state": state_label(case.state),
                "date": format_date(case.submitted_at.astimezone(ctx.services.deployment.tz)),
            }
        )
        rows.append([button(case.number, case_data("c", case.id, "show"))])
    nav = []
    if found.page > 0:
        nav.append(button(_("◀ Newer"), menu_data("cases", str(found.page - 1))))
    if found.page + 1 < found.pages:
        nav.append(button(_("Older ▶"), menu_data("cases", str(found.page + 1))))
    rows.append(nav)
    await replies.send(ctx, actor.chat_id, prompts.Reply("\n".join(lines), markup(rows)))


async def status(update: Update, ctx: Ctx) -> None:
    """/status NUMBER (private chat or a staff group)."""
    message = update.effective_message
    assert message is not None
    parts = (message.text or "").split(maxsplit=1)
    number = parse_case_number(parts[1]) if len(parts) > 1 else None
    if number is None:
        await message.reply_text(_("Send the case number, for example /status XF2026-000042."))
        return
    await send_status(update, ctx, number)


async def case_number_message(update: Update, ctx: Ctx) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    number = parse_case_number(message.text)
    assert number is not None
    actor = actor_of(update)
    if await ctx.services.casework.waiting(actor.user_id, actor.chat_id) is not None:
        await private_message(update, ctx)  # a follow-up may well quote a case number
        return
    await send_status(update, ctx, number)


async def send_status(update: Update, ctx: Ctx, number: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    found = await ctx.services.cases.status(user.id, number, chat.id)
    if found is None:
        text = _("No case %(number)s was found among your cases.") % {"number": prompts.esc(number)}
        await ctx.bot.send_message(chat.id, text)
        return
    text = await status_text(deps(ctx), found.case, as_staff=found.as_staff)
    keyboard = None if found.as_staff else petitioner_markup(found.case)
    await ctx.bot.send_message(chat.id, text, reply_markup=keyboard)


async def case_press(update: Update, ctx: Ctx) -> None:
    """A petitioner's button on one of their cases."""
    query = update.callback_query
    assert query is not None and query.data is not None
    press = parse_case_data(query.data)
    actor = actor_of(update)
    if press is None or press.side != "c":
        await query.answer(_("This button is no longer active."))
        return
    if press.action == "show":
        await query.answer()
        view = await ctx.services.cases.status_by_id(actor.user_id, press.case_id)
        if view is None:
            await replies.send(ctx, actor.chat_id, prompts.Reply(_("No such case was found.")))
            return
        text = await status_text(deps(ctx), view, as_staff=False)
        await replies.send(ctx, actor.chat_id, prompts.Reply(text, petitioner_markup(view)))
        return
    try:
        outcome = await ctx.services.casework.petitioner_press(
            actor, press.case_id, press.action, press.arg
        )
    except DuplicateUpdate:
        await query.answer()
        return
    except DomainError as error:
        await query.answer()
        await replies.send(ctx, actor.chat_id, prompts.Reply(refusal(error)))
        return
    await query.answer()
    await after_outcome(ctx, actor, outcome)


async def after_outcome(ctx: Ctx, actor: Actor, outcome: Outcome) -> None:
    if isinstance(outcome, NeedChoice):
        rows = [
            [button(_(CHOICES[c]), case_data("c", outcome.case_id, outcome.action, c))]
            for c in outcome.choices
        ]
        text = _("How satisfied are you with the answer to case %(number)s?") % {
            "number": outcome.number
        }
        await replies.send(ctx, actor.chat_id, prompts.Reply(text, markup(rows)))
    elif isinstance(outcome, NeedText):
        await replies.send(ctx, actor.chat_id, prompts.Reply(ask_petitioner(outcome)))
    elif isinstance(outcome, Done):
        await replies.send(
            ctx, actor.chat_id, prompts.Reply(petitioner_done(outcome), replies.menu_markup())
        )
    ctx.services.wake_outbox()


def ask_petitioner(need: NeedText) -> str:
    p = {"number": need.number}
    asks = {
        "follow_up": _(
            "Send the information to add to case %(number)s: a message, or a photo, document, "
            "video or voice message. /cancel to stop."
        ),
        "rate": _("Please tell us why you are not satisfied with the answer to %(number)s."),
        "request_review": _(
            "Why do you ask for a review of the answer to case %(number)s? Please write your "
            "reasons; they go to the office one level up. /cancel to stop."
        ),
        "request_recheck": _(
            "Why do you ask for a recheck of case %(number)s? Please write your reasons; they go "
            "to the office one level up. /cancel to stop."
        ),
    }
    return asks.get(need.action, _("Please write your answer.")) % p


def petitioner_done(done: Done) -> str:
    p = {"number": done.number}
    texts = {
        "withdraw": _("Case %(number)s is withdrawn."),
        "follow_up": _("Added to case %(number)s. The office handling it will see it."),
        "rate": _("Thank you. Your rating of case %(number)s was recorded."),
        "request_review": _("Your review request for case %(number)s was sent."),
        "request_recheck": _("Your recheck request for case %(number)s was sent."),
    }
    return texts.get(done.action, _("Done.")) % p


def refusal(error: DomainError) -> str:
    """The answer to a case action that cannot be taken."""
    p = dict(error.params)
    if p.get("due") is not None:
        p["due"] = format_date(p["due"])
    if "state" in p:
        p["state"] = state_label(str(p["state"]))
    texts = {
        "case_not_found": lambda: _("No such case was found among your cases."),
        "not_authorised": lambda: _("Only staff of the office handling this case may do this."),
        "action_unavailable": lambda: (
            _("This is not possible any more: case %(number)s is now “%(state)s”.") % p
        ),
        "action_unknown": lambda: _("This button is no longer active."),
        "window_closed": lambda: (
            _(
                "The period to ask for this ended on %(due)s, so it cannot be asked for case "
                "%(number)s any more. A late request is not accepted (信访工作条例 Art 35–36)."
            )
            % p
            if p.get("due")
            else _("This is not possible for case %(number)s now.") % p
        ),
        "return_late": lambda: (
            _("Case %(number)s can no longer be sent back: the 5 working days ended on %(due)s.")
            % p
        ),
        "extension_late": lambda: (
            _("Case %(number)s can no longer be extended: its handling period ended on %(due)s.")
            % p
        ),
        "already_rated": lambda: _("This answer of case %(number)s was already rated.") % p,
        "text_expected": lambda: _("Please send text."),
        "text_too_long": lambda: (
            _("That is too long: %(length)d characters, at most %(limit)d are allowed.") % p
        ),
    }
    make = texts.get(error.code)
    return make() if make else _("That could not be done. Please try again.")


async def private_message(update: Update, ctx: Ctx) -> None:
    """Any private message: it completes a waiting case action, or goes to the intake."""
    message = update.effective_message
    assert message is not None
    actor = actor_of(update)
    casework = ctx.services.casework
    waiting = await casework.waiting(actor.user_id, actor.chat_id)
    if waiting is None:
        await intake.dispatch_message(update, ctx)
        return
    try:
        done = await _complete(ctx, actor, message)
    except DuplicateUpdate:
        return
    except DomainError as error:
        await replies.send(ctx, actor.chat_id, prompts.Reply(refusal(error)))
        return
    if done is not None:
        await after_outcome(ctx, actor, done)


async def _complete(ctx: Ctx, actor: Actor, message: Message) -> Done | None:
    casework = ctx.services.casework
    media = attachment_of(message)
    if media is not None:
        return await casework.petitioner_file(actor, media)
    if message.text is None or message.text.startswith("/"):
        raise DomainError("text_expected")
    return await casework.petitioner_text(actor, message.text)
