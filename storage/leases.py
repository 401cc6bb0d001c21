"""Repository for leases: a named role held by one process at a time until it expires.

`hold` takes a free or expired lease, or renews the caller's own, in one statement, so two
processes asking at once cannot both get it. These functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import Lease


async def hold(
    session: AsyncSession, name: str, owner: str, now: datetime, until: datetime
) -> bool:
    """Take lease `name` for `owner` until `until` if it is free, expired or already `owner`'s;
    whether `owner` holds it now."""
    values = {"name": name, "owner": owner, "expires_at": until}
    stmt = dialect_insert(session, Lease).values(values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={"owner": owner, "expires_at": until},
        where=(Lease.owner == owner) | (Lease.expires_at <= now),
    ).returning(Lease.owner)
    return (await session.execute(upsert)).scalar_one_or_none() == owner


async def drop(session: AsyncSession, name: str, owner: str) -> None:
    """Give lease `name` up, if `owner` holds it (another process may take it at once)."""
    await session.execute(delete(Lease).where(Lease.name == name, Lease.owner == owner))


async def holder(session: AsyncSession, name: str, now: datetime) -> str | None:
    """Who holds lease `name` now (None: nobody, or it expired)."""
    row = await session.get(Lease, name)
    return row.owner if row is not None and row.expires_at > now else None
