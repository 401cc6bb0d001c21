"""Repository for petitioners: the Telegram users who file petitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Petitioner


async def get(
    session: AsyncSession, user_id: int, *, for_update: bool = False
) -> Petitioner | None:
    stmt = select(Petitioner).where(Petitioner.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def language_of(session: AsyncSession, user_id: int) -> str | None:
    """The user's explicit language choice, if any."""
    stmt = select(Petitioner.language).where(Petitioner.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def add(session: AsyncSession, petitioner: Petitioner) -> Petitioner:
    session.add(petitioner)
    await session.flush()
    return petitioner


async def add_if_missing(session: AsyncSession, **values: Any) -> None:
    """Insert a petitioner unless one with this user_id exists or is being inserted: two first
    updates of a new person in separate transactions must not collide on the primary key."""
    stmt = dialect_insert(session, Petitioner).values(values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[Petitioner.user_id]))


async def mark_unreachable(session: AsyncSession, chat_id: int, now: datetime) -> int:
    """Telegram refused to deliver to `chat_id`: flag the petitioner(s) of that chat, if any."""
    result = await session.execute(
        update(Petitioner)
        .where(Petitioner.chat_id == chat_id, Petitioner.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
