"""Repository for petitioners: the Telegram users who file petitions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
