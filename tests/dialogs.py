"""Reusable steps of the intake dialog for the end-to-end tests.

`file_petition` walks the happy path from `/new` and stops when the prompt of a given step has
been shown (or submits). Buttons are pressed by their callback data (`v1:<draft>:<action>:<arg>`),
never by label, so the same walk works in every language. `answer` gives the valid answer to
one step, so a test can check that the person can go on after something the bot refused. The
remaining helpers read what the bot stored (the database may be read to verify, never written)
and rebuild an update exactly as the stand-in delivered it, for redelivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot.categories import load_categories
from bot.intake import Step
from storage.models import Case, Draft
from tests.driver import BotMessage, Person

APOLOGY = "something went wrong"  # the error handler's words (English)
CASE_NUMBER = re.compile(r"XF\d{4}-\d{6}")


@dataclass(frozen=True)
class Petition:
    """The answers of one petition, step by step."""

    petition_type: str = "appeal"
    place_query: str = "锦江"
    place_code: str = "510104"  # 成都市锦江区
    location: tuple[float, float] | None = None  # share a location instead of typing the place
    category: tuple[str, str] = ("03", "0306")  # 城乡建设 / 物业管理: no legal route
    request: str = "Please have the broken lift in building 5 repaired."
    facts: tuple[str, ...] = (
        "The lift in building 5 of Hongxing estate has been broken since March 2026.",
        "The property company has not answered three written complaints.",
    )
    attachments: int = 0  # photos sent at the attachments step
    name: str = "Alice Li"
    phone: str = "13800138000"
    address: str = "5 Hongxing Road, Jinjiang District, Chengdu"


# The categories whose legal route is shown before the request (the shipped file).
ROUTED = {c.code for top in load_categories() for c in top.children if c.route}

ENGLISH = Petition()
CHINESE = Petition(
    request="请尽快修好5号楼的电梯。",
    facts=("红星小区5号楼的电梯从2026年3月起一直坏着，物业公司对三次书面投诉都没有答复。",),
    name="张三",
    address="成都市锦江区红星路5号",
)
LOCATED = Petition(location=(30.657, 104.081))  # 成都市锦江区, by a shared location
# 劳动和社会保障 / 工资福利: a labour dispute, whose legal route is labour arbitration.
WAGES = Petition(
    category=("04", "0402"),
    request="Make my employer pay the wages owed since January.",
    facts=("I worked at a restaurant on Hongxing Road from October to March and was not paid.",),
)


def draft_button(messages: list[BotMessage], action: str, arg: str | None = None) -> str | None:
    """The callback data of the newest draft button with `action` (and `arg`), if any."""
    pattern = re.compile(
        rf"v1:\d+:{re.escape(action)}" + (rf":{re.escape(arg)}" if arg is not None else "") + "$"
    )
    for message in reversed(messages):
        if not message.from_bot:
            continue
        for row in message.buttons:
            for _label, data in row:
                if data is not None and pattern.match(data):
                    return data
    return None


async def choose(person: Person, action: str, arg: str | None = None) -> list[BotMessage]:
    """Press the newest button of the draft with this action (language-independent)."""
    data = draft_button(await person.messages(), action, arg)
    assert data is not None, f"no button {action}:{arg} in {person.last!r}"
    return await person.press(data=data)


async def answer(person: Person, step: Step, petition: Petition = ENGLISH) -> list[BotMessage]:
    """Give the valid answer to `step`; returns the bot's messages of the last turn."""
    p = petition
    if step == Step.CONSENT:
        return await choose(person, "agree")
    if step == Step.TYPE:
        return await choose(person, "type", p.petition_type)
    if step == Step.PLACE and p.location is not None:
        return await person.share_location(*p.location)
    if step == Step.PLACE:
        await person.say(p.place_query)
        return await choose(person, "pl", p.place_code)
    if step == Step.PLACE_CONFIRM:
        return await choose(person, "plc", "yes")
    if step == Step.CATEGORY:
        await choose(person, "cg", p.category[0])
        return await choose(person, "cg", p.category[1])
    if step == Step.ROUTE:
        return await choose(person, "rt", "submit")
    if step == Step.REQUEST:
        return await person.say(p.request)
    if step == Step.FACTS:
        for part in p.facts:
            await person.say(part)
        return await choose(person, "fdone")
    if step == Step.ATTACHMENTS:
        for _ in range(p.attachments):
            await person.send_photo()
        return await choose(person, "done")
    if step == Step.NAME:
        return await person.say(p.name)
    if step == Step.PHONE:
        return await person.say(p.phone)
    if step == Step.ADDRESS:
        return await person.say(p.address)
    if step == Step.REVIEW:
        return await choose(person, "submit")
    if step == Step.DUPLICATE:
        return await choose(person, "dup", "new")
    raise AssertionError(f"no answer for {step}")


async def file_petition(
    person: Person, *, upto: Step | None = None, petition: Petition = ENGLISH
) -> list[BotMessage]:
    """From `/new`, answer every step until the prompt of `upto` is shown (None: submit).

    The path follows `petition`: a location goes through the confirmation, a category with a
    legal route through the route step ("submit here anyway"). Returns the bot's messages of the
    last turn: the prompt of `upto`, or the receipt.
    """
    path = [Step.CONSENT, Step.TYPE, Step.PLACE]
    if petition.location is not None:
        path.append(Step.PLACE_CONFIRM)
    path.append(Step.CATEGORY)
    if petition.category[1] in ROUTED:
        path.append(Step.ROUTE)
    path += [Step.REQUEST, Step.FACTS, Step.ATTACHMENTS, Step.NAME, Step.PHONE, Step.ADDRESS]
    path.append(Step.REVIEW)
    if upto is not None and upto not in path:
        raise ValueError(f"{upto} is not on the path of {petition}")
    replies = await person.say("/new")
    for step in path:
        if step == upto:
            return replies
        replies = await answer(person, step, petition)
    return replies


async def reach(person: Person, step: Step) -> list[BotMessage]:
    """Bring the person to any step, the side steps too: the location confirmation (by a shared
    location), the legal route (a labour dispute) and the duplicate offer (a second petition
    like a first one, submitted before)."""
    if step == Step.PLACE_CONFIRM:
        return await file_petition(person, upto=step, petition=LOCATED)
    if step == Step.ROUTE:
        return await file_petition(person, upto=step, petition=WAGES)
    if step == Step.DUPLICATE:
        await file_petition(person)
        await file_petition(person, upto=Step.REVIEW)
        return await choose(person, "submit")
    return await file_petition(person, upto=step)


# --- reading what the bot did ------------------------------------------------------------------


def texts(messages: list[BotMessage]) -> str:
    """The plain text of `messages`, joined, for `in` assertions."""
    return "\n".join(m.text for m in messages)


def sent(messages: list[BotMessage]) -> list[BotMessage]:
    """The new messages among a turn's answer (leaving out the earlier ones the bot edited)."""
    return [m for m in messages if not m.edited]


def assert_no_apology(messages: list[BotMessage]) -> None:
    for message in messages:
        assert APOLOGY not in message.text, f"the bot failed: {message.text!r}"


async def current_step(bot: Any, person: Person) -> Step | None:
    """The step of the person's open draft, read from the database (None: no open draft)."""
    async with bot.services.db.sessions() as session:
        step = await session.scalar(
            select(Draft.step).where(Draft.petitioner_id == person.id, Draft.status == "open")
        )
    return Step(step) if step is not None else None


async def cases_of(bot: Any, person: Person) -> list[Case]:
    async with bot.services.db.sessions() as session:
        rows = await session.scalars(
            select(Case).where(Case.petitioner_id == person.id).order_by(Case.id)
        )
        return list(rows)


async def count_cases(bot: Any) -> int:
    async with bot.services.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


async def press_keeping_update(
    bot: Any, person: Person, label: str | None = None, **press: Any
) -> tuple[list[BotMessage], dict[str, Any]]:
    """Press a button and return the bot's answer and the update exactly as the stand-in
    delivered it (same update_id, callback query and message), rebuilt from its records."""
    world = bot.api.world
    chat = world.chats[press.get("chat_id", person.chat_id)]
    as_shown = {i: world.message_json(m) for i, m in chat.messages.items()}  # buttons and all
    replies = await person.press(label, **press)
    query = list(world.queries.values())[-1]
    assert query.user_id == person.id
    update = {
        "update_id": bot.api.updates.next_id - 1,  # the last update injected: this press
        "callback_query": {
            "id": query.id,
            "from": world.users[person.id].to_json(),
            "message": as_shown[query.message_id],
            "chat_instance": str(abs(query.chat_id) * 7919 % 10**19),
            "data": query.data,
        },
    }
    return replies, update


async def say_keeping_update(
    bot: Any, person: Person, text: str
) -> tuple[list[BotMessage], dict[str, Any]]:
    """Send a text and return the bot's answer and the update as the stand-in delivered it."""
    replies = await person.say(text)
    assert person.sent is not None
    message = bot.api.world.chats[person.chat_id].messages[person.sent.message_id]
    update = {
        "update_id": bot.api.updates.next_id - 1,
        "message": bot.api.world.message_json(message),
    }
    return replies, update
