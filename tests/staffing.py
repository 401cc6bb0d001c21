"""The staff side of the end-to-end tests: the example's offices, their groups and members.

Staff act the way a person does in the sandbox: they press the buttons under an alert (by
callback data, `v1:s:<case>:<action>[:<arg>]`, so the walk is the same in every language), pick
a choice from the message the bot posts, and answer the bot's request for words in their group.
`LifecycleRun` is a `BotRun` whose deployment writes every group in the language under test.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.intake import PossibleDuplicate, Receipt
from bot.petitioners import Actor
from bot.sandbox.runner import EXAMPLE
from bot.sandbox.updates import FIRST_UPDATE_ID
from storage.models import Case, CaseEvent, Outbox, PendingInput, Petitioner
from tests.botrun import BotRun
from tests.driver import BotMessage, Person, Sandbox


@dataclass(frozen=True)
class Office:
    id: str
    group: int
    member_id: int
    member_name: str


SICHUAN = Office("sc", -1001000000001, 900001, "王芳")
CHENGDU = Office("cd", -1001000000002, 900002, "李强")
JINJIANG = Office("cd-jinjiang", -1001000000003, 900003, "张伟")
WUHOU = Office("cd-wuhou", -1001000000004, 900004, "刘洋")

_ALERT_DATA = re.compile(r"^v1:s:(\d+):")


def deployment_in(language: str, tmp_path: Path) -> Path:
    """The example deployment with every office's group written in `language`."""
    if language == "zh_CN":
        return EXAMPLE
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "[[offices]]\n", f'[[offices]]\nlanguage = "{language}"\n'
    )
    path = tmp_path / "deployment.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def member(sandbox: Sandbox, office: Office, language_code: str = "zh-hans") -> Person:
    return await sandbox.user(
        id=office.member_id,
        first_name=office.member_name,
        language_code=language_code,
        groups=(office.group,),
    )


def case_id_in(message: BotMessage) -> int | None:
    for row in message.buttons:
        for _label, data in row:
            found = _ALERT_DATA.match(data or "")
            if found:
                return int(found.group(1))
    return None


async def alert_for(sandbox: Sandbox, office: Office, number: str) -> BotMessage:
    """The newest alert about case `number` in the office's group. The outbox sends to each
    chat on its own, so the alert may follow the petitioner's notice by a moment: wait for it
    (a few seconds at most) rather than race it."""
    for _attempt in range(50):
        messages = await sandbox.chat_messages(office.group)
        for message in sorted(messages, key=lambda m: m.message_id, reverse=True):
            if message.from_bot and number in message.text and case_id_in(message) is not None:
                return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no alert for {number} in {office.id}: {[m.text for m in messages]}")


async def act(
    staff: Person,
    office: Office,
    case_id: int,
    action: str,
    arg: str | None = None,
    *,
    text: str | None = None,
) -> list[BotMessage]:
    """Press `action` on the case's alert, then the choice `arg`, then send `text` if asked."""
    replies = await staff.press(data=f"v1:s:{case_id}:{action}", chat_id=office.group)
    if arg is not None:
        replies = await staff.press(data=f"v1:s:{case_id}:{action}:{arg}", chat_id=office.group)
    if text is not None:
        replies = await staff.say(text, chat_id=office.group)
    return replies


async def petitioner_act(
    person: Person, case_id: int, action: str, arg: str | None = None, *, text: str | None = None
) -> list[BotMessage]:
    """The petitioner presses one of their case buttons, picks `arg`, writes `text`."""
    replies = await person.press(data=f"v1:c:{case_id}:{action}")
    if arg is not None:
        replies = await person.press(data=f"v1:c:{case_id}:{action}:{arg}")
    if text is not None:
        replies = await person.say(text)
    return replies


async def bot_texts(sandbox: Sandbox, chat_id: int, since: int = 0) -> list[str]:
    """The texts of the bot's live messages in a chat, oldest first (edits included)."""
    messages = await sandbox.chat_messages(chat_id, since=since)
    return [m.text for m in sorted(messages, key=lambda m: m.message_id) if m.from_bot]


# --- for the authorisation and staff-command tests ---------------------------------------------


class Clock:
    """The bot's `now`, moved by the test: by default 03:00 in Beijing, before the daily job's
    hour, so no reminder is written behind a test's back."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 23, 19, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@asynccontextmanager
async def running(database_url: str, geo_cache: Path, clock: Clock) -> AsyncIterator[BotRun]:
    """The real bot on `database_url` (the example deployment, groups in Chinese)."""
    run = BotRun(database_url, geo_cache.parent, clock=clock)
    async with run:
        yield run


@dataclass(frozen=True)
class Footprint:
    """What a refused press must leave as it was: the case, its history, the outbox (every
    chat's), the inputs waiting for someone's words."""

    state: str
    office_id: str
    events: int
    outbox: int
    pending: int


async def footprint(run: BotRun, case_id: int) -> Footprint:
    assert run.services is not None
    async with run.services.db.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None

        async def count(model: type[Any], *where: Any) -> int:
            stmt = select(func.count()).select_from(model).where(*where)
            return int(await session.scalar(stmt) or 0)

        return Footprint(
            case.state,
            case.office_id,
            await count(CaseEvent, CaseEvent.case_id == case_id),
            await count(Outbox),
            await count(PendingInput),
        )


async def events_of(run: BotRun, case_id: int) -> list[CaseEvent]:
    assert run.services is not None
    async with run.services.db.sessions() as session:
        stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return list(await session.scalars(stmt))


async def delivered(run: BotRun) -> None:
    """Wait until the outbox owes nothing more and the bot is idle."""
    assert run.services is not None and run.sandbox is not None
    run.services.wake_outbox()
    for _ in range(600):  # 30 s at most
        async with run.services.db.sessions() as session:
            stmt = select(func.count()).select_from(Outbox)
            owed = await session.scalar(stmt.where(Outbox.status.in_(("pending", "sending"))))
        if not owed:
            await run.sandbox.wait_idle()
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not empty")


async def file_directly(
    run: BotRun,
    person: Person,
    *,
    place_code: str = "510104",
    request: str = "请尽快修好5号楼的电梯。",
) -> tuple[str, int]:
    """File a petition through the intake use cases, as the dialog would, in a fraction of the
    time; returns its number and case id. Only for a person who has not yet talked to the bot
    through the stand-in: these turns take update ids below the stand-in's first one."""
    assert run.services is not None
    intake = run.services.intake
    async with run.services.db.sessions() as session:
        row = await session.get(Petitioner, person.id)
    last = row.last_update_id if row is not None else 0
    assert last < FIRST_UPDATE_ID - 100, "file directly before the person talks to the bot"
    ids = itertools.count(last + 1)

    def actor() -> Actor:
        return Actor(person.id, person.chat_id, next(ids), person.language_code)

    draft, _resumed = await intake.start(actor())
    await intake.consent(actor(), draft.id)
    await intake.choose_type(actor(), draft.id, "appeal")
    await intake.choose_place(actor(), draft.id, place_code)
    await intake.choose_category(actor(), draft.id, "0306")  # 物业管理: no legal route
    await intake.set_request(actor(), draft.id, request)
    await intake.add_facts(actor(), draft.id, "物业公司对三次书面投诉都没有答复。")
    await intake.facts_done(actor(), draft.id)
    await intake.attachments_done(actor(), draft.id)
    await intake.set_name(actor(), draft.id, "张三")
    await intake.set_phone(actor(), draft.id, "13800138000")
    await intake.set_address(actor(), draft.id, "成都市锦江区红星路5号")
    made = await intake.submit(actor(), draft.id)
    if isinstance(made, PossibleDuplicate):  # like an earlier one: filed as a new case anyway
        made = await intake.submit(actor(), draft.id, as_new=True)
    assert isinstance(made, Receipt)
    async with run.services.db.sessions() as session:
        case_id = await session.scalar(select(Case.id).where(Case.number == made.number))
    assert case_id is not None
    return made.number, case_id
