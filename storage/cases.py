"""Repository for cases, their history and the yearly case-number counter."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseCounter, CaseEvent


async def next_seq(session: AsyncSession, year: int) -> int:
    """Hand out the next sequence number of `year`, atomically on SQLite and PostgreSQL."""
    values = {"year": year, "last": 1}
    bump = {"last": CaseCounter.last + 1}
    stmt: PgInsert | SqliteInsert
    if session.get_bind().dialect.name == "postgresql":
        stmt = pg_insert(CaseCounter).values(values)
    else:
        stmt = sqlite_insert(CaseCounter).values(values)
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
