"""Repository for cases, their history and the yearly case-number counter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Attachment, Case, CaseAlert, CaseCounter, CaseEvent, PendingInput


async def next_seq(session: AsyncSession, year: int) -> int:
    """Hand out the next sequence number of `year`, atomically on SQLite and PostgreSQL."""
    values = {"year": year, "last": 1}
    bump = {"last": CaseCounter.last + 1}
    stmt = dialect_insert(session, CaseCounter).values(values)
    upsert = stmt.on_conflict_do_update(index_elements=[CaseCounter.year], set_=bump)
    return int((await session.execute(upsert.returning(CaseCounter.last))).scalar_one())


async def add(session: AsyncSession, case: Case) -> Case:
    session.add(case)
    await session.flush()
    return case


async def add_event(session: AsyncSession, event: CaseEvent) -> None:
    session.add(event)
    await session.flush()


async def by_draft(session: AsyncSession, draft_id: int) -> Case | None:
    return (
        await session.execute(select(Case).where(Case.draft_id == draft_id))
    ).scalar_one_or_none()


async def by_number(session: AsyncSession, number: str) -> Case | None:
    return (await session.execute(select(Case).where(Case.number == number))).scalar_one_or_none()


async def open_for_petitioner(
    session: AsyncSession, petitioner_id: int, closed_states: tuple[str, ...]
) -> list[Case]:
    stmt = (
        select(Case)
        .where(Case.petitioner_id == petitioner_id, Case.state.not_in(closed_states))
        .order_by(Case.id.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def list_for_petitioner(
    session: AsyncSession, petitioner_id: int, *, offset: int, limit: int
) -> list[Case]:
    stmt = (
        select(Case)
        .where(Case.petitioner_id == petitioner_id)
        .order_by(Case.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list((await session.execute(stmt)).scalars())


async def get(session: AsyncSession, case_id: int, *, for_update: bool = False) -> Case | None:
    stmt = select(Case).where(Case.id == case_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_for_petitioner(session: AsyncSession, petitioner_id: int) -> int:
    stmt = select(func.count()).select_from(Case).where(Case.petitioner_id == petitioner_id)
    return int((await session.execute(stmt)).scalar_one())


async def queue(
    session: AsyncSession,
    office_ids: list[str],
    states: Iterable[str],
    *,
    due_before: date | None = None,
    limit: int,
) -> list[Case]:
    """Cases of `office_ids` in `states`, nearest deadline first (none last)."""
    stmt = select(Case).where(Case.office_id.in_(office_ids), Case.state.in_(list(states)))
    if due_before is not None:
        stmt = stmt.where(Case.due_on < due_before)
    stmt = stmt.order_by(Case.due_on.is_(None), Case.due_on, Case.id).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def count_queue(
    session: AsyncSession,
    office_ids: list[str],
    states: Iterable[str],
    *,
    due_before: date | None = None,
) -> int:
    stmt = (
        select(func.count())
        .select_from(Case)
        .where(Case.office_id.in_(office_ids), Case.state.in_(list(states)))
    )
    if due_before is not None:
        stmt = stmt.where(Case.due_on < due_before)
    return int((await session.execute(stmt)).scalar_one())


async def count_by_state(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Case.state, func.count()).group_by(Case.state))
    return {str(state): int(n) for state, n in rows}


async def due_by(session: AsyncSession, states: Iterable[str], last_day: date) -> list[Case]:
    """Cases in `states` whose deadline is on or before `last_day`, by office and deadline."""
    stmt = (
        select(Case)
        .where(Case.state.in_(list(states)), Case.due_on <= last_day)
        .order_by(Case.office_id, Case.due_on, Case.id)
    )
    return list((await session.execute(stmt)).scalars())


# --- alerts in staff groups ------------------------------------------------------------------


async def alerts(session: AsyncSession, case_id: int) -> list[CaseAlert]:
    stmt = select(CaseAlert).where(CaseAlert.case_id == case_id).order_by(CaseAlert.chat_id)
    return list((await session.execute(stmt)).scalars())


async def alert(session: AsyncSession, case_id: int, chat_id: int) -> CaseAlert | None:
    return await session.get(CaseAlert, (case_id, chat_id))


async def set_alert(session: AsyncSession, case_id: int, chat_id: int, message_id: int) -> None:
    found = await session.get(CaseAlert, (case_id, chat_id))
    if found is None:
        session.add(CaseAlert(case_id=case_id, chat_id=chat_id, message_id=message_id))
    else:
        found.message_id = message_id
    await session.flush()


# --- actions waiting for someone's text --------------------------------------------------------


async def pending(session: AsyncSession, user_id: int, chat_id: int) -> PendingInput | None:
    return await session.get(PendingInput, (user_id, chat_id))


async def set_pending(session: AsyncSession, row: PendingInput) -> None:
    await clear_pending(session, row.user_id, row.chat_id)
    session.add(row)
    await session.flush()


async def clear_pending(session: AsyncSession, user_id: int, chat_id: int) -> bool:
    result = await session.execute(
        delete(PendingInput).where(PendingInput.user_id == user_id, PendingInput.chat_id == chat_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def offices_involved(session: AsyncSession, case_id: int) -> list[str]:
    """Every office the case has been with, by the history (for refreshing their alerts)."""
    stmt = (
        select(CaseEvent.office_id)
        .where(CaseEvent.case_id == case_id, CaseEvent.office_id.is_not(None))
        .distinct()
    )
    return sorted(str(o) for o in (await session.execute(stmt)).scalars())


async def attachments(session: AsyncSession, case_id: int) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)
    return list((await session.execute(stmt)).scalars())


async def add_attachment(session: AsyncSession, attachment: Attachment) -> None:
    session.add(attachment)
    await session.flush()
