"""Reading cases: numbers, status with history, one's own cases, an office's queue.

Read-only views (frozen dataclasses) for the petitioner who filed a case and for staff of the
office it is with (or a parent office). Anyone else gets None, exactly what a number that does
not exist gets, so a case number reveals nothing. Changing cases is `bot.casework`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.directory import Directory
from bot.lifecycle import TERMINAL, WITH_OFFICE, State
from storage import cases
from storage.db import Database
from storage.models import Case, CaseEvent

__all__ = ["TERMINAL", "State"]

NUMBER_RE = re.compile(r"^XF(\d{4})-(\d{6})$", re.ASCII)  # ASCII digits only: canonical
_QUERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def case_number(year: int, seq: int) -> str:
    """`XF` + year + `-` + six-digit sequence, e.g. XF2026-000042."""
    return f"XF{year:04d}-{seq:06d}"


def parse_case_number(text: str) -> str | None:
    """The canonical case number in `text` (case-insensitive, full-width tolerant), or None."""
    candidate = text.strip().upper().replace("－", "-").replace("—", "-")
    candidate = candidate.translate({ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９ＸＦ"})
    return candidate if NUMBER_RE.match(candidate) else None


def new_query_code() -> str:
    return "".join(secrets.choice(_QUERY_ALPHABET) for _ in range(8))


@dataclass(frozen=True, slots=True)
class CaseSummary:
    id: int
    number: str
    state: str
    submitted_at: datetime
    registration_due: date
    due_on: date | None
    office_id: str
    place_code: str
    category_code: str


def summary(case: Case) -> CaseSummary:
    return CaseSummary(
        case.id,
        case.number,
        case.state,
        case.submitted_at,
        case.registration_due,
        case.due_on,
        case.office_id,
        case.place_code,
        case.category_code,
    )


@dataclass(frozen=True, slots=True)
class EventView:
    at: datetime
    by: str  # petitioner | staff | system
    actor_id: int | None
    action: str
    from_state: str | None
    to_state: str
    detail: str | None
    office_id: str | None
    public_text: str | None
    internal_note: str | None


@dataclass(frozen=True, slots=True)
class CaseView:
    """A whole case with its history, for its petitioner or its office's staff."""

    id: int
    number: str
    query_code: str
    state: str
    petition_type: str
    place_code: str
    category_code: str
    route_acknowledged: bool
    request_text: str
    facts_text: str
    name: str
    phone: str
    address: str
    petitioner_id: int
    office_id: str
    previous_office_id: str | None
    submitted_at: datetime
    registration_due: date
    handling_due: date | None
    due_on: date | None
    return_due: date | None
    extension_days: int | None
    opinion: str | None
    rating: str | None
    can_rate: bool
    attachments: int
    history: list[EventView] = field(default_factory=list)

    @property
    def last(self) -> EventView | None:
        return self.history[-1] if self.history else None


def _event(e: CaseEvent) -> EventView:
    return EventView(
        e.at,
        e.actor_kind,
        e.actor_id,
        e.action,
        e.from_state,
        e.to_state,
        e.detail,
        e.office_id,
        e.public_text,
        e.internal_note,
    )


async def _view(session: AsyncSession, case: Case) -> CaseView:
    return CaseView(
        id=case.id,
        number=case.number,
        query_code=case.query_code,
        state=case.state,
        petition_type=case.petition_type,
        place_code=case.place_code,
        category_code=case.category_code,
        route_acknowledged=case.route_acknowledged,
        request_text=case.request_text,
        facts_text=case.facts_text,
        name=case.name,
        phone=case.phone,
        address=case.address,
        petitioner_id=case.petitioner_id,
        office_id=case.office_id,
        previous_office_id=case.previous_office_id,
        submitted_at=case.submitted_at,
        registration_due=case.registration_due,
        handling_due=case.handling_due,
        due_on=case.due_on,
        return_due=case.return_due,
        extension_days=case.extension_days,
        opinion=case.opinion,
        rating=case.rating,
        can_rate=case.opinion_seq > case.rated_seq,
        attachments=len(await cases.attachments(session, case.id)),
        history=[_event(e) for e in await cases.events(session, case.id)],
    )


@dataclass(frozen=True, slots=True)
class Page:
    items: list[CaseSummary]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class StatusView:
    case: CaseView
    as_staff: bool  # staff see internal notes and the petitioner's contact


@dataclass(frozen=True, slots=True)
class Queue:
    office_id: str
    today: date
    items: list[CaseSummary]
    total: int


class Cases:
    """Read-only case views, each given only to whom it belongs."""

    def __init__(
        self,
        db: Database,
        directory: Directory | None = None,
        tz: ZoneInfo | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = db
        self._directory = directory
        self._tz = tz or ZoneInfo("Asia/Shanghai")
        self._now = clock or (lambda: datetime.now(UTC))

    def today(self) -> date:
        return self._now().astimezone(self._tz).date()

    async def mine(self, user_id: int, *, page: int = 0, per_page: int = 5) -> Page:
        """One page of the petitioner's cases, newest first."""
        async with self._db.reads() as session:
            total = await cases.count_for_petitioner(session, user_id)
            pages = max(1, -(-total // per_page))
            page = min(max(page, 0), pages - 1)
            rows = await cases.list_for_petitioner(
                session, user_id, offset=page * per_page, limit=per_page
            )
        return Page([summary(c) for c in rows], page, pages, total)

    async def status(
        self, user_id: int, number: str, chat_id: int | None = None
    ) -> StatusView | None:
        """The case if `user_id` filed it or is staff for it (in a chat that may see it); None
        otherwise — the same as for no such case."""
        async with self._db.reads() as session:
            case = await cases.by_number(session, number)
            if case is None:
                return None
            if case.petitioner_id == user_id and (chat_id is None or chat_id > 0):
                return StatusView(await _view(session, case), as_staff=False)
            if await self._staff_may_see(user_id, case.office_id, chat_id):
                return StatusView(await _view(session, case), as_staff=True)
            return None

    async def status_by_id(self, user_id: int, case_id: int) -> CaseView | None:
        """The petitioner's own case by id (from their buttons); None for anyone else's."""
        async with self._db.reads() as session:
            case = await cases.get(session, case_id)
            if case is None or case.petitioner_id != user_id:
                return None
            return await _view(session, case)

    async def for_staff(self, user_id: int, case_id: int, chat_id: int) -> CaseView | None:
        """The case by id for staff who may see it in `chat_id`; None for anyone else."""
        async with self._db.reads() as session:
            case = await cases.get(session, case_id)
            if case is None or not await self._staff_may_see(user_id, case.office_id, chat_id):
                return None
            return await _view(session, case)

    async def card(self, case_id: int) -> CaseView | None:
        """The case as its office's alert shows it."""
        async with self._db.reads() as session:
            case = await cases.get(session, case_id)
            return await _view(session, case) if case else None

    async def alert_message(self, case_id: int, chat_id: int) -> int | None:
        async with self._db.reads() as session:
            found = await cases.alert(session, case_id, chat_id)
            return int(found.message_id) if found else None

    async def record_alert(self, case_id: int, chat_id: int, message_id: int) -> None:
        async with self._db.sessions.begin() as session:
            await cases.set_alert(session, case_id, chat_id, message_id)

    async def queue(
        self, user_id: int, chat_id: int, *, overdue: bool = False, limit: int = 20
    ) -> Queue | None:
        """Open cases of the office (and its sub-offices) by nearest deadline; None when
        `user_id` is not staff who may see them here."""
        office_id = await self._office_for(user_id, chat_id)
        if office_id is None:
            return None
        offices = await self._with_sub_offices(office_id)
        today = self.today()
        due_before = today if overdue else None
        async with self._db.reads() as session:
            rows = await cases.queue(
                session, offices, WITH_OFFICE, due_before=due_before, limit=limit
            )
            total = await cases.count_queue(session, offices, WITH_OFFICE, due_before=due_before)
        return Queue(office_id, today, [summary(c) for c in rows], total)

    async def count_by_state(self) -> dict[str, int]:
        """Cases per lifecycle state, every state (zeros included), for the metrics endpoint."""
        async with self._db.reads() as session:
            found = await cases.count_by_state(session)
        return {state.value: found.get(state.value, 0) for state in State}

    async def _office_for(self, user_id: int, chat_id: int) -> str | None:
        """The office a staff command in `chat_id` speaks for."""
        if self._directory is None:
            return None
        if chat_id < 0:
            office = await self._directory.office_of_group(chat_id)
            if office is None or not await self._is_staff_for(user_id, office.id):
                return None
            return office.id
        mine = await self._directory.staff_member(user_id)
        return mine[0].office_id if mine else None

    async def _with_sub_offices(self, office_id: str) -> list[str]:
        assert self._directory is not None
        out = []
        for office in await self._directory.offices():
            chain = await self._directory.office_chain(office.id)
            if any(o.id == office_id for o in chain):
                out.append(office.id)
        return out

    async def _is_staff_for(self, user_id: int, office_id: str) -> bool:
        assert self._directory is not None
        return await self._directory.is_staff_for(user_id, office_id)

    async def _staff_may_see(self, user_id: int, office_id: str, chat_id: int | None) -> bool:
        if self._directory is None or not await self._is_staff_for(user_id, office_id):
            return False
        if chat_id is None or chat_id > 0:
            return True
        # In a group, only the group of the case's office or of a parent office.
        group = await self._directory.office_of_group(chat_id)
        chain = await self._directory.office_chain(office_id)
        return group is not None and any(o.id == group.id for o in chain)
