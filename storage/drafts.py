"""Repository for petition drafts and the attachments collected with them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment, Draft, Petitioner


async def open_for(session: AsyncSession, petitioner_id: int) -> Draft | None:
    """The petitioner's open draft (there is at most one)."""
    stmt = (
        select(Draft)
        .where(Draft.petitioner_id == petitioner_id, Draft.status == "open")
        .order_by(Draft.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_started_since(session: AsyncSession, petitioner_id: int, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(Draft)
        .where(Draft.petitioner_id == petitioner_id, Draft.created_at >= since)
    )
    return int((await session.execute(stmt)).scalar_one())


async def get(session: AsyncSession, draft_id: int) -> Draft | None:
    return await session.get(Draft, draft_id)


async def add(session: AsyncSession, draft: Draft) -> Draft:
    session.add(draft)
    await session.flush()
    return draft


async def attachments(session: AsyncSession, draft_id: int) -> list[Attachment]:
    stmt = select(Attachment).where(Attachment.draft_id == draft_id).order_by(Attachment.id)
    return list((await session.execute(stmt)).scalars())


async def add_attachment(session: AsyncSession, attachment: Attachment) -> None:
    session.add(attachment)
    await session.flush()


async def delete_attachments(session: AsyncSession, draft_id: int) -> None:
    for attachment in await attachments(session, draft_id):
        await session.delete(attachment)
    await session.flush()


async def move_attachments_to_case(session: AsyncSession, draft_id: int, case_id: int) -> None:
    await session.execute(
        update(Attachment).where(Attachment.draft_id == draft_id).values(case_id=case_id)
    )


async def stale(session: AsyncSession, before: datetime) -> list[tuple[Draft, Petitioner]]:
    """Open drafts untouched since `before`, with their petitioners."""
    stmt = (
        select(Draft, Petitioner)
        .join(Petitioner, Petitioner.user_id == Draft.petitioner_id)
        .where(Draft.status == "open", Draft.updated_at < before)
        .order_by(Draft.id)
        .with_for_update(of=Draft)
    )
    return [(d, p) for d, p in (await session.execute(stmt)).all()]
