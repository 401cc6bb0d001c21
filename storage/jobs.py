"""Repository for periodic jobs' last runs (one row per job)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import JobRun


async def claim_day(session: AsyncSession, name: str, day: date, now: datetime) -> bool:
    """Record that job `name` runs for `day`; False when it already ran for `day` (or later).

    One statement, so two processes asking at once cannot both get True.
    """
    values = {"name": name, "last_day": day, "ran_at": now}
    stmt = dialect_insert(session, JobRun).values(values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[JobRun.name],
        set_={"last_day": day, "ran_at": now},
        where=JobRun.last_day < day,
    ).returning(JobRun.name)
    return (await session.execute(upsert)).scalar_one_or_none() is not None


async def last_day(session: AsyncSession, name: str) -> date | None:
    row = await session.get(JobRun, name)
    return row.last_day if row else None
