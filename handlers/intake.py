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
transaction, so a restart at any moment loses nothing answered. The prompts live in
`handlers.prompts`, the place and category steps in `handlers.places`, the review, submit and
receipt in `handlers.review`; `FLOW` below ties each step to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Message, Update

from bot.directory import Directory
from bot.errors import DomainError, DuplicateUpdate, StaleAction
from bot.i18n import _, current_locale
from bot.intake import AttachmentIn, DraftView, Limits, Step
from bot.petitioners import Actor
from handlers import places, prompts, replies, review
from handlers.context import Ctx
from handlers.keyboards import Press, draft_data, parse_draft_data
from handlers.prompts import Screen

Prompt = Callable[[DraftView, Directory, Limits], Awaitable[Screen]]
TextOp = Callable[[Ctx, Actor, DraftView, str], Awaitable[DraftView | None]]
PressOp = Callable[[Ctx, Actor, DraftView, Press, Message | None], Awaitable[DraftView | None]]


@dataclass(frozen=True, slots=True)
class StepSpec:
    """What a step accepts: typed text, its buttons, and for some steps media or a contact."""

    prompt: Prompt  # what the step says, with its buttons
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


# --- the flow table ------------------------------------------------------------------------

FLOW: dict[Step, StepSpec] = {
    Step.CONSENT: StepSpec(prompts.prompt_consent, "buttons", presses={"agree": _agree}),
    Step.TYPE: StepSpec(prompts.prompt_type, "buttons", presses={"type": _type}),
    Step.PLACE: StepSpec(
        places.prompt_place,
        "place",
        text=places.search_place,
        presses={"pl": places.pick_place, "pb": places.browse_place},
        accepts_location=True,
    ),
    Step.PLACE_CONFIRM: StepSpec(
        places.prompt_place_confirm,
        "buttons",
        presses={"plc": places.confirm_place, "pb": places.browse_place, "pl": places.pick_place},
        accepts_location=True,
    ),
    Step.CATEGORY: StepSpec(
        places.prompt_category,
        "buttons",
        presses={"cg": places.choose_category, "cgu": places.categories_up},
    ),
    Step.ROUTE: StepSpec(places.prompt_route, "buttons", presses={"rt": places.decide_route}),
    Step.REQUEST: StepSpec(prompts.prompt_request, "text", text=_request),
    Step.FACTS: StepSpec(prompts.prompt_facts, "text", text=_facts, presses={"fdone": _facts_done}),
    Step.ATTACHMENTS: StepSpec(
        prompts.prompt_attachments,
        "files",
        presses={"done": _attachments_done, "clear": _attachments_clear},
        accepts_media=True,
    ),
    Step.NAME: StepSpec(prompts.prompt_name, "text", text=_name, presses={"saved": _saved}),
    Step.PHONE: StepSpec(
        prompts.prompt_phone, "phone", text=_phone, presses={"saved": _saved}, accepts_contact=True
    ),
    Step.ADDRESS: StepSpec(
        prompts.prompt_address, "text", text=_address, presses={"saved": _saved}
    ),
    Step.REVIEW: StepSpec(
        review.prompt_review,
        "buttons",
        presses={
            "submit": review.submit,
            "editmenu": review.edit_menu,
            "review": review.edit_menu,
            "edit": review.edit,
        },
    ),
    Step.DUPLICATE: StepSpec(
        review.prompt_duplicate, "buttons", presses={"dup": review.decide_duplicate}
    ),
}


# --- dispatch --------------------------------------------------------------------------------


def actor_of(update: Update) -> Actor:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None  # private-chat handlers only
    return Actor(user.id, chat.id, update.update_id, user.language_code)


async def show_step(ctx: Ctx, chat_id: int, draft: DraftView) -> None:
    """Send the prompt of the draft's current step."""
    screen = await FLOW[draft.step].prompt(
        draft, ctx.services.directory, ctx.services.intake.limits
    )
    for reply in screen.replies:
        await replies.send(ctx, chat_id, reply)


async def resume(ctx: Ctx, actor: Actor) -> None:
    """An update applied already: Telegram's own redeliveries never get here (the stored
    updates are unique), so its process stopped after applying it and perhaps before answering.
    Show the person where they are now: the current step, or the menu."""
    draft = await ctx.services.intake.current(actor.user_id)
    if draft is not None:
        await show_step(ctx, actor.chat_id, draft)
        return
    await replies.send(
        ctx,
        actor.chat_id,
        prompts.Reply(
            _("No petition is in progress. What would you like to do?"), replies.menu_markup()
        ),
    )


async def dispatch_message(update: Update, ctx: Ctx) -> None:
    """Any message in the private chat while a draft is open: hand it to the draft's step."""
    message = update.effective_message
    assert message is not None
    actor = actor_of(update)
    try:
        draft = await ctx.services.intake.current(actor.user_id, actor.update_id)
    except DuplicateUpdate:
        await resume(ctx, actor)
        return
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
        return await places.location(
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
    try:
        draft = await ctx.services.intake.current(actor.user_id, actor.update_id)
        redelivered = False
    except DuplicateUpdate:  # applied before its process stopped: see `resume`
        draft, redelivered = None, True
    try:
        if (
            press is not None
            and press.action == "submit"
            and (draft is None or press.draft_id != draft.id)
        ):
            await _submit_again(ctx, actor, press)
            return
        if redelivered:
            await replies.answer(query)
            await resume(ctx, actor)
            return
        view = await _route_press(ctx, actor, draft, press, msg)
    except DomainError as error:
        await replies.answer(query)
        await replies.send(ctx, actor.chat_id, prompts.Reply(await _explain(ctx, error)))
        return
    except DuplicateUpdate:
        await replies.answer(query)
        await resume(ctx, actor)
        return
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
    """Submit on a draft that is no longer open (pressed twice, or handled again after its
    process stopped): the use case finds the case made from it, and its receipt is shown
    again. The first Submit took the buttons off, and answered the press: this one is left
    unanswered, as it may be that same press, and Telegram refuses a second answer."""
    result = await ctx.services.intake.submit(actor, press.draft_id)
    view = await review.after_submit(ctx, actor, result, None)
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
