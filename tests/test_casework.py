"""The case lifecycle's use cases with a controlled clock, on SQLite and on PostgreSQL.

Petitions are filed through the real intake (place 锦江区 → office cd-jinjiang) at moments the
test sets; staff of the example deployment act in their groups (`Staff`); the petitioner acts
in their private chat. Moments are written in Beijing time (`beijing`) and stored in UTC, so a
deadline's last day ends at 23:59 Beijing time, which is 15:59 UTC. After each action the test
reads the case's history and the outbox rows the action wrote; after a refused one, nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from bot.casework import Casework, Done, NeedChoice, NeedText, Outcome
from bot.directory import Directory
from bot.errors import DomainError
from bot.intake import Intake
from storage import cases
from storage.db import Database
from storage.models import Case, CaseEvent, Outbox
from tests.test_intake_usecases import TZ, Clock, Person, case_row, file_case, make_intake


@dataclass(frozen=True)
class Staff:
    user_id: int
    group: int  # the office's staff group, where they act


CHENGDU = Staff(900002, -1001000000002)
JINJIANG = Staff(900003, -1001000000003)
WUHOU = Staff(900004, -1001000000004)


def beijing(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    """A moment given in Beijing time, as the UTC instant the bot's clock returns."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


@dataclass
class Desk:
    """One deployment's intake and casework sharing the test's clock."""

    db: Database
    clock: Clock
    intake: Intake
    casework: Casework

    async def file(self, person: Person, at: datetime) -> int:
        """A petition filed by `person` at `at`; returns the case's id."""
        self.clock.now = at
        receipt = await file_case(self.intake, person)
        return (await case_row(self.db, receipt.number)).id

    async def staff(
        self,
        who: Staff,
        case_id: int,
        action: str,
        arg: str | None = None,
        text: str | None = None,
    ) -> Outcome:
        """Press `action` (with the choice `arg`), then send `text` when words are asked for."""
        outcome = await self.casework.staff_press(who.user_id, who.group, case_id, action, arg)
        if text is None:
            return outcome
        assert isinstance(outcome, NeedText), outcome
        done = await self.casework.staff_text(who.user_id, who.group, text)
        assert done is not None
        return done

    async def petitioner(
        self,
        person: Person,
        case_id: int,
        action: str,
        arg: str | None = None,
        text: str | None = None,
    ) -> Outcome:
        outcome = await self.casework.petitioner_press(person.next(), case_id, action, arg)
        if text is None:
            return outcome
        assert isinstance(outcome, NeedText), outcome
        done = await self.casework.petitioner_text(person.next(), text)
        assert done is not None
        return done

    async def answered(self, person: Person, filed: datetime, answered: datetime) -> int:
        """A case filed, accepted at once and answered (opinion `support`) at `answered`."""
        case_id = await self.file(person, filed)
        await self.staff(JINJIANG, case_id, "accept")
        self.clock.now = answered
        await self.staff(JINJIANG, case_id, "answer", "support", "经核实，补贴将于下月补发。")
        return case_id

    async def case(self, case_id: int) -> Case:
        async with self.db.sessions() as session:
            found = await cases.get(session, case_id)
            assert found is not None
            return found

    async def events(self, case_id: int) -> list[CaseEvent]:
        async with self.db.sessions() as session:
            return await cases.events(session, case_id)

    async def outbox(self) -> list[Outbox]:
        async with self.db.sessions() as session:
            return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())

    async def trail(self, case_id: int) -> tuple[object, ...]:
        """Everything an action would change: the case's row, its history, the outbox."""
        case = await self.case(case_id)
        async with self.db.sessions() as session:
            outbox = (await session.execute(select(func.count()).select_from(Outbox))).scalar()
        row = {c.name: getattr(case, c.name) for c in Case.__table__.columns}
        return row, len(await self.events(case_id)), outbox


async def make_desk(db: Database, directory: Directory) -> Desk:
    clock = Clock()
    intake = await make_intake(db, directory, clock)
    return Desk(db, clock, intake, Casework(db, directory, TZ, clock=clock))


async def refused(desk: Desk, case_id: int, code: str, act: Awaitable[object]) -> None:
    """`act` is refused with `code` and leaves no trace."""
    before = await desk.trail(case_id)
    with pytest.raises(DomainError) as raised:
        await act
    assert raised.value.code == code
    assert await desk.trail(case_id) == before


def kinds(rows: list[Outbox]) -> list[tuple[str, int]]:
    return [(row.kind, row.chat_id) for row in rows]


# --- time zone --------------------------------------------------------------------------------


async def test_deadlines_count_from_the_beijing_date_not_the_utc_date(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    at = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Beijing
    early, late = await desk.file(Person(401), at), await desk.file(Person(402), at)
    assert (await desk.case(early)).registration_due == date(2026, 12, 16)

    # The same UTC day, two minutes apart: 23:59 on 3 December and 00:01 on 4 December.
    desk.clock.now = datetime(2026, 12, 3, 15, 59, tzinfo=UTC)
    await desk.staff(JINJIANG, early, "accept")
    desk.clock.now = datetime(2026, 12, 3, 16, 1, tzinfo=UTC)
    await desk.staff(JINJIANG, late, "accept")

    first, second = await desk.case(early), await desk.case(late)
    assert (first.accepted_on, first.handling_due) == (date(2026, 12, 3), date(2027, 2, 1))
    assert (second.accepted_on, second.handling_due) == (date(2026, 12, 4), date(2027, 2, 2))


# --- acceptance and extension -----------------------------------------------------------------


async def test_accepting_tells_the_petitioner_and_refreshes_the_alert(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(403)
    case_id = await desk.file(owner, beijing(3, 2))
    written = len(await desk.outbox())

    desk.clock.now = beijing(3, 5, 9, 30)
    done = await desk.staff(JINJIANG, case_id, "accept")

    assert done == Done(case_id, done.number, "accept", None, "accepted")
    case = await desk.case(case_id)
    # 5 March + 60 = 4 May, in the Labour Day holiday → Wednesday 6 May.
    assert (case.accepted_on, case.handling_due, case.due_on) == (
        date(2026, 3, 5),
        date(2026, 5, 6),
        date(2026, 5, 6),
    )
    event = (await desk.events(case_id))[-1]
    assert (event.action, event.actor_kind, event.actor_id, event.at) == (
        "accept",
        "staff",
        JINJIANG.user_id,
        desk.clock.now,
    )
    assert (event.from_state, event.to_state, event.office_id) == (
        "submitted",
        "accepted",
        "cd-jinjiang",
    )
    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("status", owner.user_id), ("alert_refresh", JINJIANG.group)]
    assert rows[0].payload["due"] == "2026-05-06" and rows[0].case_id == case_id


async def test_an_extension_is_granted_with_a_reason_until_the_handling_deadline(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(404)
    case_id = await desk.file(owner, beijing(3, 5))
    await desk.staff(JINJIANG, case_id, "accept")  # handling due Wednesday 6 May

    desk.clock.now = beijing(5, 6, 23, 59)
    asked = await desk.staff(JINJIANG, case_id, "extend")
    assert isinstance(asked, NeedChoice) and asked.choices == ("10", "20", "30")
    written = len(await desk.outbox())
    done = await desk.staff(JINJIANG, case_id, "extend", "30", "需要调取村委会账目。")

    assert isinstance(done, Done) and done.state == "extended"
    case = await desk.case(case_id)
    assert (case.handling_due, case.due_on, case.extension_days) == (
        date(2026, 6, 5),
        date(2026, 6, 5),
        30,
    )
    event = (await desk.events(case_id))[-1]
    assert (event.action, event.detail, event.public_text, event.internal_note) == (
        "extend",
        "30",
        "需要调取村委会账目。",
        None,
    )
    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("status", owner.user_id), ("alert_refresh", JINJIANG.group)]
    assert (rows[0].payload["days"], rows[0].payload["text"]) == (30, "需要调取村委会账目。")


async def test_an_extension_is_refused_once_the_handling_deadline_has_passed(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    case_id = await desk.file(Person(405), beijing(3, 5))
    await desk.staff(JINJIANG, case_id, "accept")  # handling due Wednesday 6 May

    desk.clock.now = beijing(5, 7, 0, 0)
    await refused(desk, case_id, "extension_late", desk.staff(JINJIANG, case_id, "extend", "30"))

    # Asked for on the last day, its reason sent after midnight: refused all the same.
    other = await desk.file(Person(406), beijing(3, 5))
    await desk.staff(JINJIANG, other, "accept")
    desk.clock.now = beijing(5, 6, 23, 58)
    assert isinstance(await desk.staff(JINJIANG, other, "extend", "30"), NeedText)
    desk.clock.now = beijing(5, 7, 0, 1)
    text = desk.casework.staff_text(JINJIANG.user_id, JINJIANG.group, "需要调取村委会账目。")
    await refused(desk, other, "extension_late", text)


# --- the review window ------------------------------------------------------------------------


async def test_a_review_may_be_requested_until_23_59_beijing_time_on_the_last_day(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(407)
    case_id = await desk.answered(owner, beijing(3, 2), beijing(3, 10))
    assert (await desk.case(case_id)).due_on == date(2026, 4, 9)  # 10 March + 30

    desk.clock.now = beijing(4, 9, 23, 59)  # 15:59 UTC
    written = len(await desk.outbox())
    done = await desk.petitioner(owner, case_id, "request_review", text="处理意见认定事实不清。")

    assert isinstance(done, Done) and done.state == "review_requested"
    case = await desk.case(case_id)
    # 9 April + 30 = Saturday 9 May, an adjusted working day.
    assert (case.office_id, case.due_on) == ("cd", date(2026, 5, 9))
    event = (await desk.events(case_id))[-1]
    assert (event.actor_kind, event.actor_id, event.from_state, event.to_state) == (
        "petitioner",
        owner.user_id,
        "answered",
        "review_requested",
    )
    assert (event.office_id, event.public_text) == ("cd", "处理意见认定事实不清。")
    # The case went one level up: the office above gets a new alert, the one below a refresh.
    assert kinds((await desk.outbox())[written:]) == [
        ("status", owner.user_id),
        ("alert_refresh", JINJIANG.group),
        ("alert", CHENGDU.group),
    ]


async def test_a_review_requested_the_next_beijing_day_is_refused(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner, other = Person(408), Person(409)
    case_id = await desk.answered(owner, beijing(3, 2), beijing(3, 10))  # window to 9 April
    begun = await desk.answered(other, beijing(3, 2), beijing(3, 10))

    desk.clock.now = beijing(4, 10, 0, 0)  # still 9 April in UTC
    await refused(desk, case_id, "window_closed", desk.petitioner(owner, case_id, "request_review"))

    # Begun at 23:58 on the last day, its reason sent after midnight: refused as well.
    desk.clock.now = beijing(4, 9, 23, 58)
    assert isinstance(await desk.petitioner(other, begun, "request_review"), NeedText)
    desk.clock.now = beijing(4, 10, 0, 1)
    text = desk.casework.petitioner_text(other.next(), "处理意见认定事实不清。")
    await refused(desk, begun, "window_closed", text)
