"""Bad input at every step of the intake conversation, end to end over the Bot API stand-in.

Whatever a person sends or presses — a sticker, a file where text is wanted, text where a button
is wanted, a forwarded or edited message, an unknown command, a button of an earlier step, a
forged button, a button of someone else's draft, text full of markup, control or right-to-left
characters — the bot either uses it or says what it expects instead; it never apologises for a
failure, never makes a call Telegram would refuse (the driver is strict), never changes the
draft by mistake, and the person can go on with a valid answer afterwards. Each test reaches
its step once (`tests.dialogs.reach`) and tries all its inputs in that one walk.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from sqlalchemy import select

from bot.intake import Step
from storage.models import Case, Draft
from tests.dialogs import (
    ENGLISH,
    Petition,
    answer,
    assert_no_apology,
    current_step,
    draft_button,
    file_petition,
    reach,
    sent,
    texts,
)
from tests.driver import BotMessage, Person

BUTTONS = "Please choose one of the buttons above."
TEXT = "Please type your answer as text."
STICKER = "Stickers cannot be used here. Please type your answer."
FILES = "Please send a photo, document, video or voice message, or press Done or Skip above."
PHONE = "Please type your phone number, or share it with the button below the message box."
PLACE = "Please type the name of the place, share a location, or browse the list."
FORWARDED = "Forwarded messages are not taken at this step. Please type your answer yourself."
EDITED = "Edits to messages you already sent are not picked up."
UNKNOWN = "Unknown command. These work: /new /cases /status /language /cancel /help"
STALE = "This button is no longer active."
EMPTY = "The answer is empty. Please type it."

# What each step asks for when something else arrives.
EXPECTS = {
    Step.CONSENT: BUTTONS,
    Step.TYPE: BUTTONS,
    Step.PLACE: PLACE,
    Step.PLACE_CONFIRM: BUTTONS,
    Step.CATEGORY: BUTTONS,
    Step.ROUTE: BUTTONS,
    Step.REQUEST: TEXT,
    Step.FACTS: TEXT,
    Step.ATTACHMENTS: FILES,
    Step.NAME: TEXT,
    Step.PHONE: PHONE,
    Step.ADDRESS: TEXT,
    Step.REVIEW: BUTTONS,
    Step.DUPLICATE: BUTTONS,
}
TEXT_STEPS = (Step.PLACE, Step.REQUEST, Step.FACTS, Step.NAME, Step.PHONE, Step.ADDRESS)
BUTTON_STEPS = tuple(step for step, expects in EXPECTS.items() if expects in (BUTTONS, FILES))

# Text that could break a message's formatting or disguise what staff read. The long one is
# last: at the facts step it no longer fits after the others were added.
ODD_TEXTS = {
    "html tag": "<b>",
    "closing tag": "</code>",
    "ampersand": "&",
    "markdown": "*_[]()~`",
    "control characters": "\x00\x07\x1b",
    "right-to-left": "مرحبا بالعالم שלום עולם",
    "bidi override": "\u202eevil\u202c",
    "10,000 characters": "x" * 10_000,
}


async def reply_to(turn: Awaitable[list[BotMessage]], expected: str) -> list[BotMessage]:
    """The bot's answer to one input: there is one, it is no apology, it says `expected`."""
    replies = await turn
    assert replies, "the bot said nothing"
    assert_no_apology(replies)
    assert expected in texts(replies), texts(replies)
    return replies


async def press_stale(person: Person, message_id: int, data: str) -> list[BotMessage]:
    """Press `data` on a message whose buttons are gone (or never had it): the bot refuses it
    with a toast and shows the current step again."""
    replies = await person.press(data=data, message_id=message_id, force=True)
    assert person.last_answer is not None and person.last_answer["text"] == STALE
    assert_no_apology(replies)
    assert any(m.buttons for m in sent(replies)), "the current step was not shown again"
    return replies


async def draft_of(bot: Any, person: Person) -> Draft | None:
    async with bot.services.db.sessions() as session:
        return await session.scalar(
            select(Draft).where(Draft.petitioner_id == person.id, Draft.status == "open")
        )


def snapshot(draft: Draft | None) -> tuple[Any, ...]:
    assert draft is not None
    return (
        draft.step,
        draft.petition_type,
        draft.place_code,
        draft.place_candidate,
        draft.category_code,
        draft.request_text,
        draft.facts_text,
        draft.name,
        draft.phone,
        draft.address,
        draft.duplicate_of,
    )


# --- every step, everything but an answer ------------------------------------------------------


@pytest.mark.parametrize("step", list(Step), ids=str)
async def test_anything_but_an_answer_is_refused_clearly_and_the_person_can_go_on(
    bot: Any, step: Step
) -> None:
    alice = await bot.sandbox.user(first_name="Alice")
    bob = await bot.sandbox.user(first_name="Bob")
    await bob.say("/new")
    bobs_button = draft_button(await bob.messages(), "agree")
    assert bobs_button is not None

    # A button of an earlier step: "I agree" on the opening notice (at the consent step itself,
    # the one of a draft cancelled before).
    if step == Step.CONSENT:
        await alice.say("/new")
        stale = draft_button(await alice.messages(), "agree")
        await alice.press("✖ Cancel")
        await reach(alice, step)
        notices = [m for m in await alice.messages() if m.text.startswith("Before you start")]
        opening = notices[0]
    else:
        await reach(alice, step)
        draft = await draft_of(bot, alice)
        assert draft is not None
        stale = f"v1:{draft.id}:agree"
        notices = [m for m in await alice.messages() if m.text.startswith("Before you start")]
        opening = notices[-1]
    assert stale is not None
    before = snapshot(await draft_of(bot, alice))
    expects = EXPECTS[step]

    await reply_to(alice.send_sticker(), STICKER if expects == TEXT else expects)
    if step != Step.ATTACHMENTS:
        await reply_to(alice.send_file("notes.pdf", mime="application/pdf"), expects)
        await reply_to(alice.send_photo(), expects)
    if step not in (Step.PLACE, Step.PLACE_CONFIRM):
        await reply_to(alice.share_location(30.657, 104.081), expects)
    if step != Step.PHONE:
        await reply_to(alice.share_contact(), expects)
    if step in BUTTON_STEPS:
        for text in ("Yes", *ODD_TEXTS.values()):
            await reply_to(alice.say(text), expects)
    forwarded = alice.forward("Please look into this.", from_name="Neighbour")
    await reply_to(forwarded, expects if step in BUTTON_STEPS else FORWARDED)
    command = next(m for m in await alice.messages() if m.sender_id == alice.id)
    assert command.text == "/new"
    await reply_to(alice.edit(command.message_id, "/new again"), EDITED)
    await reply_to(alice.say("/frobnicate"), UNKNOWN)
    await press_stale(alice, opening.message_id, stale)
    assert alice.last is not None
    await press_stale(alice, alice.last.message_id, "v1:999999:submit")
    await press_stale(alice, alice.last.message_id, bobs_button)

    assert snapshot(await draft_of(bot, alice)) == before  # nothing was applied
    assert await current_step(bot, bob) == Step.CONSENT  # nor to Bob's draft
    await bot.sandbox.assert_no_errors()

    moved_on = await answer(alice, step, _petition_for(step))
    assert_no_apology(moved_on)
    if step in (Step.REVIEW, Step.DUPLICATE):
        assert "Your petition has been submitted." in texts(moved_on)
        assert await current_step(bot, alice) is None
    else:
        assert await current_step(bot, alice) not in (None, step)


def _petition_for(step: Step) -> Petition:
    if step == Step.PLACE_CONFIRM:
        return Petition(location=(30.657, 104.081))
    return ENGLISH


# --- odd text at the steps that take text --------------------------------------------------------

# What each text step says to the odd texts it refuses (by key of ODD_TEXTS); it takes the rest.
TOO_SHORT = "That is too short: please write at least 4 characters."
NOT_FOUND = "No county-level place called “"
REFUSALS: dict[Step, dict[str, str]] = {
    Step.PLACE: {**dict.fromkeys(ODD_TEXTS, NOT_FOUND), "control characters": EMPTY},
    Step.REQUEST: {
        "html tag": TOO_SHORT,
        "ampersand": TOO_SHORT,
        "control characters": EMPTY,
        "10,000 characters": "That is too long: 10000 characters, at most 500 are allowed.",
    },
    Step.FACTS: {
        "control characters": EMPTY,
        "10,000 characters": "That would make the facts longer than 10000 characters",
    },
    Step.NAME: {
        "ampersand": "Your name must contain letters, not only digits or symbols.",
        "markdown": "Your name must contain letters, not only digits or symbols.",
        "control characters": EMPTY,
        "10,000 characters": "That is too long: 10000 characters, at most 64 are allowed.",
    },
    Step.PHONE: {
        **dict.fromkeys(ODD_TEXTS, "That is not a valid phone number."),
        "control characters": EMPTY,
    },
    Step.ADDRESS: {
        "html tag": TOO_SHORT,
        "ampersand": TOO_SHORT,
        "control characters": EMPTY,
        "10,000 characters": "That is too long: 10000 characters, at most 300 are allowed.",
    },
}
# The prompt that shows a text was taken.
TAKEN = {
    Step.REQUEST: "Facts and reasons",
    Step.FACTS: "Added. The facts now have",
    Step.NAME: "Your phone number",
    Step.ADDRESS: "Please check your petition",
}


@pytest.mark.parametrize("step", TEXT_STEPS, ids=str)
async def test_odd_text_at_a_text_step_is_taken_or_refused_with_the_reason(
    bot: Any, step: Step
) -> None:
    alice = await bot.sandbox.user()
    await reach(alice, step)

    for key, text in ODD_TEXTS.items():
        refusal = REFUSALS[step].get(key)
        replies = await reply_to(alice.say(text), refusal or TAKEN[step])
        for message in replies:  # no control or override character is echoed
            for hidden in ("\x00", "\x1b", "\u202e"):
                assert hidden not in message.html, (key, message.html)
        if refusal is None and step != Step.FACTS:
            assert await current_step(bot, alice) != step
            back = await alice.press("◀ Back")
            assert_no_apology(back)
        assert await current_step(bot, alice) == step, key

    moved_on = await answer(alice, step)
    assert_no_apology(moved_on)
    assert await current_step(bot, alice) not in (None, step)


async def test_a_place_not_found_echoes_the_typed_text_escaped_and_cleaned(bot: Any) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.PLACE)

    tag = await alice.say("<b>Nowhere</b> & co")
    assert "“&lt;b&gt;Nowhere&lt;/b&gt; &amp; co”" in tag[-1].html
    assert "“<b>Nowhere</b> & co”" in tag[-1].text
    override = await alice.say("\u202eevil\x07 place")
    assert "“evil place”" in override[-1].text


async def test_user_text_is_shown_escaped_on_the_review_and_stored_as_typed(bot: Any) -> None:
    odd = Petition(
        request="<b>Fix</b> the lift & refund </code> *_[]()~`",
        facts=(
            "Facts with <i>tags</i> & \x00\x07\x1b control characters.",
            "שלום עולם مرحبا بالعالم and an \u202eoverride\u202c inside.",
        ),
        name="<b>Alice</b> Li",
        address="1 <a href='x'>Road</a> & Co, Chengdu",
    )
    alice = await bot.sandbox.user()
    review = (await file_petition(alice, upto=Step.REVIEW, petition=odd))[-1]

    escaped = "&lt;b&gt;Fix&lt;/b&gt; the lift &amp; refund &lt;/code&gt; *_[]()~`"
    assert f"<b>Request:</b> {escaped}" in review.html
    assert "Request: <b>Fix</b> the lift & refund </code> *_[]()~`" in review.text
    assert "Name: <b>Alice</b> Li" in review.text
    assert "&lt;b&gt;Alice&lt;/b&gt; Li" in review.html
    assert "Address: 1 <a href='x'>Road</a> & Co, Chengdu" in review.text
    assert "Facts with <i>tags</i> &  control characters." in review.text
    assert "שלום עולם مرحبا بالعالم and an override inside." in review.text
    for hidden in ("\x00", "\x07", "\x1b", "\u202e", "\u202c"):
        assert hidden not in review.text

    await alice.press("📨 Submit")
    async with bot.services.db.sessions() as session:
        case = await session.scalar(select(Case).where(Case.petitioner_id == alice.id))
    assert case is not None
    assert case.request_text == odd.request  # stored as typed: escaping is for display
    assert case.name == odd.name
    assert "\x00" not in case.facts_text and "\u202e" not in case.facts_text


# --- buttons left on earlier messages ---------------------------------------------------------


async def test_back_and_done_left_on_earlier_messages_do_not_act_on_the_current_step(
    bot: Any,
) -> None:
    alice = await bot.sandbox.user()
    await file_petition(alice, upto=Step.FACTS)
    request_prompt = next(m for m in await alice.messages() if "What do you ask for?" in m.text)
    first_added = (await alice.say(ENGLISH.facts[0]))[-1]
    await alice.say(ENGLISH.facts[1])
    await alice.press("✅ Done")
    assert await current_step(bot, alice) == Step.ATTACHMENTS

    # The first "Added." message and the request prompt still show their buttons.
    assert "✅ Done" in first_added.labels
    await press_stale(alice, first_added.message_id, first_added.data_for("✅ Done") or "")
    assert await current_step(bot, alice) == Step.ATTACHMENTS
    back = request_prompt.data_for("◀ Back")
    assert back is not None
    await press_stale(alice, request_prompt.message_id, back)
    assert await current_step(bot, alice) == Step.ATTACHMENTS

    name = await alice.press("Skip")
    assert "Your name" in name[-1].text
