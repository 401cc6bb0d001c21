"""The intake conversation: one table of steps, the state in the database.

```mermaid
flowchart LR
  consent --> type --> place --> category --> request --> facts --> attachments
  place -. location .-> place_confirm --> category
  category -. legal route .-> route --> request
  attachments --> name --> phone --> address --> review --> receipt
  review -. same matter open .-> duplicate
  review -. edit a field .-> type & place & category & request & facts & name & phone & address
```

| step | prompt | accepts | validation | next |
|---|---|---|---|---|
| consent | notice, PIPL consent, prohibited conduct, legal routes | Agree / Cancel | — | type |
| type | 建议意见 / 检举控告 / 申诉求决 | buttons | one of three | place |
| place | where the problem is | text (fuzzy), browse, location | county, in root | category |
| place_confirm | "the location is in X — right?" | Yes / No | — | category / place |
| category | two-level tree | buttons | a leaf | route if flagged, else request |
| route | legal route, time limit | use it / submit anyway / other | — | end / request / category |
| request | what is asked | text | 4…max chars | facts |
| facts | facts and reasons | text (several, joined) + Done | ≥10 chars, ≤max total | attachments |
| attachments | files | photo, document, video, voice + Done/Skip | ≤10 files, ≤20 MB each | name |
| name, phone, address | contact details | text, own contact, saved value | valid each | next |
| review | the whole petition | Submit / Edit / Cancel | all fields present | receipt or duplicate |
| duplicate | an open case about the same matter | follow-up / new case | — | receipt |

The current step is the draft's `step` column; `dispatch_message` and `dispatch_press` read the
draft and hand the update to its step. Every answer to a step is written by one use case in one
transaction, so a restart at any moment loses nothing answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Message, Update

from bot import validation
from bot.directory import locate
from bot.errors import DomainError, DuplicateUpdate, StaleAction
from bot.i18n import _, current_locale
from bot.intake import AttachmentIn, DraftView, FollowUp, PossibleDuplicate, Receipt, Step
from bot.petitioners import Actor
from handlers import prompts, replies
from handlers.context import Ctx
from handlers.keyboards import Press, button, draft_data, markup, parse_draft_data

TextOp = Callable[[Ctx, Actor, DraftView, str], Awaitable[DraftView | None]]
PressOp = Callable[[Ctx, Actor, DraftView, Press, Message | None], Awaitable[DraftView | None]]


@dataclass(frozen=True, slots=True)
class StepSpec:
    """What a step accepts: typed text, its buttons, and for some steps media or a contact."""

    expects: str  # the sentence shown when something else arrives
    text: TextOp | None = None
    presses: dict[str, PressOp] = field(default_factory=dict)
    accepts_media: bool = False
    accepts_contact: bool = False
    accepts_location: bool = False


# --- operations: each calls one use case --------------------------------------------------


async def _agree(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.consent(actor, draft.id)


async def _type(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.choose_type(actor, draft.id, press.arg)


async def _pick_place(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.choose_place(actor, draft.id, press.arg)


async def _browse_place(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> None:
    code, _sep, page = press.arg.partition(":")
    if code == "root":
        code = ctx.services.deployment.root
    reply = await prompts.browse(
        draft, ctx.services.directory, code, int(page) if page.isdigit() else 0
    )
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)


async def _search_place(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> None:
    # Cleaned like every answer: a control or bidi-override character must not reach the echo.
    query = validation.one_line(text)
    if not query:
        raise DomainError("empty")
    places = await ctx.services.directory.search(query)
    if not places:
        root = await ctx.services.directory.root_place()
        await replies.send(
            ctx,
            actor.chat_id,
            prompts.Reply(
                _(
                    "No county-level place called “%(text)s” was found in %(area)s, the area "
                    "this service covers. Check the name, or browse the list."
                )
                % {
                    "text": prompts.esc(prompts.shorten(query, 40)),
                    "area": prompts.esc(root.name(current_locale())),
                },
                markup(
                    [
                        [button(_("🗂 Browse the list"), _data(draft, "pb", f"{root.code}:0"))],
                        prompts.nav_row(draft),
                    ]
                ),
            ),
        )
        return None
    await replies.send(ctx, actor.chat_id, prompts.matches(draft, places))
    return None


async def _location(
    ctx: Ctx, actor: Actor, draft: DraftView, latitude: float, longitude: float
) -> DraftView:
    code = await asyncio.to_thread(locate, latitude, longitude, ctx.services.geo_cache)
    return await ctx.services.intake.propose_place(actor, draft.id, code)


async def _confirm_place(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    if press.arg == "yes":
        return await ctx.services.intake.choose_place(actor, draft.id, draft.place_candidate or "")
    return await ctx.services.intake.reject_place(actor, draft.id)


async def _category(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    category = await ctx.services.directory.category(press.arg)
    if category is None:
        raise StaleAction
    if category.is_leaf:
        return await ctx.services.intake.choose_category(actor, draft.id, category.code)
    reply = await prompts.categories(draft, ctx.services.directory, category.code)
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)
    return None


async def _categories_up(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> None:
    reply = await prompts.categories(draft, ctx.services.directory, None)
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)


async def _route(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    intake = ctx.services.intake
    if press.arg == "go":
        category = await intake.take_route(actor, draft.id)
        await replies.clear_buttons(ctx, msg)
        await replies.send(
            ctx, actor.chat_id, prompts.Reply(prompts.route_taken(category), replies.menu_markup())
        )
        return None
    if press.arg == "submit":
        return await intake.submit_anyway(actor, draft.id)
    if press.arg == "other":
        return await intake.other_category(actor, draft.id)
    raise StaleAction


async def _request(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> DraftView:
    return await ctx.services.intake.set_request(actor, draft.id, text)


async def _facts(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> None:
    view = await ctx.services.intake.add_facts(actor, draft.id, text)
    await replies.send(ctx, actor.chat_id, prompts.facts_progress(view, ctx.services.intake.limits))


async def _facts_done(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.facts_done(actor, draft.id)


async def _attachments_done(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.attachments_done(actor, draft.id)


async def _attachments_clear(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.clear_attachments(actor, draft.id)


async def _name(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> DraftView:
    return await ctx.services.intake.set_name(actor, draft.id, text)


async def _phone(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> DraftView:
    return await ctx.services.intake.set_phone(actor, draft.id, text)


async def _address(ctx: Ctx, actor: Actor, draft: DraftView, text: str) -> DraftView:
    return await ctx.services.intake.set_address(actor, draft.id, text)


async def _saved(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.use_saved(actor, draft.id, press.arg)


async def _edit_menu(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> None:
    reply = await prompts.review(draft, ctx.services.directory, editing=press.action == "editmenu")
    await replies.edit_or_send(ctx, actor.chat_id, msg, reply)


async def _edit(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView:
    return await ctx.services.intake.edit(actor, draft.id, press.arg)


async def _submit(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    result = await ctx.services.intake.submit(actor, press.draft_id)
    return await _after_submit(ctx, actor, result, msg)


async def _duplicate(
    ctx: Ctx, actor: Actor, draft: DraftView, press: Press, msg: Message | None
) -> DraftView | None:
    intake = ctx.services.intake
    if press.arg == "follow":
        done = await intake.follow_up(actor, draft.id)
        return await _after_submit(ctx, actor, done, msg)
    if press.arg == "new":
        result = await intake.submit(actor, draft.id, as_new=True)
        return await _after_submit(ctx, actor, result, msg)
    raise StaleAction


async def _after_submit(
    ctx: Ctx, actor: Actor, result: Receipt | PossibleDuplicate | FollowUp, msg: Message | None
) -> DraftView | None:
    if isinstance(result, PossibleDuplicate):
        return result.draft
    await replies.clear_buttons(ctx, msg)
    if isinstance(result, FollowUp):
        text = _(
            "Your petition was added to case <b>%(number)s</b> as a follow-up. The office "
            "handling that case will see it."
        ) % {"number": prompts.esc(result.number)}
    else:
        text = prompts.receipt(result)
    await replies.send(ctx, actor.chat_id, prompts.Reply(text, replies.menu_markup()))
    return None


# --- the flow table ------------------------------------------------------------------------

FLOW: dict[Step, StepSpec] = {
    Step.CONSENT: StepSpec("buttons", presses={"agree": _agree}),
    Step.TYPE: StepSpec("buttons", presses={"type": _type}),
    Step.PLACE: StepSpec(
        "place",
        text=_search_place,
        presses={"pl": _pick_place, "pb": _browse_place},
        accepts_location=True,
    ),
    Step.PLACE_CONFIRM: StepSpec(
        "buttons",
        presses={"plc": _confirm_place, "pb": _browse_place, "pl": _pick_place},
        accepts_location=True,
    ),
    Step.CATEGORY: StepSpec("buttons", presses={"cg": _category, "cgu": _categories_up}),
    Step.ROUTE: StepSpec("buttons", presses={"rt": _route}),
    Step.REQUEST: StepSpec("text", text=_request),
    Step.FACTS: StepSpec("text", text=_facts, presses={"fdone": _facts_done}),
    Step.ATTACHMENTS: StepSpec(
        "files",
        presses={"done": _attachments_done, "clear": _attachments_clear},
        accepts_media=True,
    ),
    Step.NAME: StepSpec("text", text=_name, presses={"saved": _saved}),
    Step.PHONE: StepSpec("phone", text=_phone, presses={"saved": _saved}, accepts_contact=True),
    Step.ADDRESS: StepSpec("text", text=_address, presses={"saved": _saved}),
    Step.REVIEW: StepSpec(
        "buttons",
        presses={"submit": _submit, "editmenu": _edit_menu, "review": _edit_menu, "edit": _edit},
    ),
    Step.DUPLICATE: StepSpec("buttons", presses={"dup": _duplicate}),
}


# --- dispatch --------------------------------------------------------------------------------


def actor_of(update: Update) -> Actor:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None  # private-chat handlers only
    return Actor(user.id, chat.id, update.update_id, user.language_code)


async def show_step(ctx: Ctx, chat_id: int, draft: DraftView) -> None:
    """Send the prompt of the draft's current step."""
    screen = await prompts.screen(draft, ctx.services.directory, ctx.services.intake.limits)
    for reply in screen.replies:
        await replies.send(ctx, chat_id, reply)


async def dispatch_message(update: Update, ctx: Ctx) -> None:
    """Any message in the private chat while a draft is open: hand it to the draft's step."""
    message = update.effective_message
    assert message is not None
    actor = actor_of(update)
    if await ctx.services.petitioners.already_applied(actor.user_id, actor.update_id):
        return  # redelivered by Telegram: it was applied and answered the first time
    draft = await ctx.services.intake.current(actor.user_id)
    if draft is None:
        await replies.send(
            ctx,
            actor.chat_id,
            prompts.Reply(
                _("No petition is in progress. What would you like to do?"), replies.menu_markup()
            ),
        )
        return
    spec = FLOW[draft.step]
    try:
        view = await _route_message(ctx, actor, draft, spec, message)
    except DomainError as error:
        await replies.send(ctx, actor.chat_id, prompts.Reply(await _explain(ctx, error)))
        return
    except (StaleAction, DuplicateUpdate):
        view = await ctx.services.intake.current(actor.user_id)
    if view is not None:
        await show_step(ctx, actor.chat_id, view)


async def _route_message(
    ctx: Ctx, actor: Actor, draft: DraftView, spec: StepSpec, message: Message
) -> DraftView | None:
    if message.forward_origin is not None and not spec.accepts_media:
        refusal = (
            replies.expected(spec.expects, message)
            if spec.expects == "buttons"
            else _(
                "Forwarded messages are not taken at this step. Please type your answer yourself."
            )
        )
        await replies.send(ctx, actor.chat_id, prompts.Reply(refusal))
        return None
    if message.location is not None and spec.accepts_location:
        return await _location(
            ctx, actor, draft, message.location.latitude, message.location.longitude
        )
    if message.contact is not None and spec.accepts_contact:
        return await ctx.services.intake.set_contact(
            actor, draft.id, message.contact.phone_number, message.contact.user_id
        )
    media = attachment_of(message)
    if media is not None and spec.accepts_media:
        view = await ctx.services.intake.add_attachment(actor, draft.id, media)
        await replies.send(
            ctx, actor.chat_id, prompts.attachments_prompt(view, ctx.services.intake.limits)
        )
        return None
    if message.text is not None and spec.text is not None:
        return await spec.text(ctx, actor, draft, message.text)
    await replies.send(ctx, actor.chat_id, prompts.Reply(replies.expected(spec.expects, message)))
    return draft


async def dispatch_press(update: Update, ctx: Ctx) -> None:
    """A button on a draft step: check it belongs to the current step, then apply it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    actor = actor_of(update)
    msg = query.message if isinstance(query.message, Message) else None
    press = parse_draft_data(query.data)
    draft = await ctx.services.intake.current(actor.user_id)
    try:
        if (
            press is not None
            and press.action == "submit"
            and (draft is None or press.draft_id != draft.id)
        ):
            await _submit_again(ctx, actor, press)
            return
        if await ctx.services.petitioners.already_applied(actor.user_id, actor.update_id):
            return  # redelivered by Telegram: applied and answered the first time
        view = await _route_press(ctx, actor, draft, press, msg)
    except DomainError as error:
        await replies.answer(query)
        await replies.send(ctx, actor.chat_id, prompts.Reply(await _explain(ctx, error)))
        return
    except DuplicateUpdate:
        return  # answered when it was first delivered; Telegram refuses a second answer
    except StaleAction:
        await replies.answer(query, _("This button is no longer active."))
        await replies.clear_buttons(ctx, msg)
        current = await ctx.services.intake.current(actor.user_id)
        if current is not None:
            await show_step(ctx, actor.chat_id, current)
        return
    await replies.answer(query)
    if view is not None:
        await replies.clear_buttons(ctx, msg)
        await show_step(ctx, actor.chat_id, view)


async def _submit_again(ctx: Ctx, actor: Actor, press: Press) -> None:
    """Submit on a draft that is no longer open (pressed twice, or the update redelivered): the
    use case finds the case made from it, and its receipt is shown again. The first Submit took
    the buttons off, and answered the press: this one is left unanswered, as it may be that same
    press redelivered, and Telegram refuses to answer a callback query twice."""
    result = await ctx.services.intake.submit(actor, press.draft_id)
    view = await _after_submit(ctx, actor, result, None)
    if view is not None:
        await show_step(ctx, actor.chat_id, view)


async def _route_press(
    ctx: Ctx, actor: Actor, draft: DraftView | None, press: Press | None, msg: Message | None
) -> DraftView | None:
    if press is None or draft is None or press.draft_id != draft.id:
        raise StaleAction
    intake = ctx.services.intake
    if press.action == "cancel":
        await intake.cancel(actor)
        await replies.clear_buttons(ctx, msg)
        await replies.send(
            ctx,
            actor.chat_id,
            prompts.Reply(
                _("Your petition was cancelled. Nothing was submitted."), replies.menu_markup()
            ),
        )
        return None
    if press.action == "back":
        # The step the button was shown at: a Back left on an earlier step's message is stale.
        if press.arg not in set(Step):
            raise StaleAction
        return await intake.back(actor, draft.id, Step(press.arg))
    operation = FLOW[draft.step].presses.get(press.action)
    if operation is None:
        raise StaleAction
    return await operation(ctx, actor, draft, press, msg)


async def _explain(ctx: Ctx, error: DomainError) -> str:
    """The sentence for a refused answer; a refused place also names the area covered."""
    root = await ctx.services.directory.root_place()
    return replies.explain(error, area=prompts.esc(root.name(current_locale())))


def attachment_of(message: Message) -> AttachmentIn | None:
    """The file in a message, as the intake use case takes it (largest photo size)."""
    if message.photo:
        photo = message.photo[-1]
        return AttachmentIn(
            "photo", photo.file_id, photo.file_unique_id, None, "image/jpeg", photo.file_size
        )
    for kind in ("document", "video", "voice", "audio", "video_note", "animation"):
        item = getattr(message, kind)
        if item is not None:
            return AttachmentIn(
                kind,
                item.file_id,
                item.file_unique_id,
                getattr(item, "file_name", None),
                getattr(item, "mime_type", None),
                item.file_size,
            )
    return None


def _data(draft: DraftView, action: str, arg: str = "") -> str:
    return draft_data(draft.id, action, arg)
