"""Helpers for the lifecycle's use-case tests: a deployment's intake and casework on one clock.

`Desk` files petitions through the real intake (place 锦江区 → office cd-jinjiang) at moments the
test sets, lets staff of the example deployment act in their groups (`Staff`) and petitioners in
their private chats, and reads back the case, its history and the outbox. `beijing` writes a
moment in Beijing time as the UTC instant the clock returns. `refused` checks that a refused
action left no trace: the case's row, its history and the outbox are as they were.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.casework import Casework, NeedText, Outcome
from bot.directory import Directory
from bot.errors import DomainError
from bot.intake import Intake
from storage import cases
from storage.db import Database
from storage.models import Case, CaseEvent, Outbox
from tests.test_intake_usecases import JINJIANG as JINJIANG_PLACE
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

    async def file(self, person: Person, at: datetime, place: str = JINJIANG_PLACE) -> int:
        """A petition about `place` filed by `person` at `at`; returns the case's id."""
        self.clock.now = at
        receipt = await file_case(self.intake, person, place=place)
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
