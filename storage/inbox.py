"""Repository for stored updates (`inbound_updates`): added before Telegram is told they arrived,
claimed per chat by one process at a time, marked done once handled.

A row is `pending`, then `handling` by one process (`owner`) until `lease_until`, which that
process keeps renewing; then `done`, or `failed` when it was claimed `max_attempts` times
without being finished (each time, its process stopped while handling it). A chat's rows are
taken only by a process that no other live process is ahead of: while another process handles
a row of the chat, the chat's later rows wait, so a chat's updates are handled in order. Claims
are serialised (SQLite's `BEGIN IMMEDIATE`; on PostgreSQL a transaction-scoped advisory lock),
so two processes never decide about the same chat at once. These functions flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import dialect_insert
from storage.models import InboundUpdate

PENDING = "pending"
HANDLING = "handling"
DONE = "done"
FAILED = "failed"
STATUSES = (PENDING, HANDLING, DONE, FAILED)
# Any constant: the key of the PostgreSQL advisory lock that serialises claims.
_CLAIM_LOCK = 0x7065_7469_7469


async def add(
    session: AsyncSession, updates: Iterable[tuple[int, str, dict[str, Any]]], now: datetime
) -> int:
    """Store (update_id, chat_key, body) rows, ignoring update ids stored before (Telegram
    delivers an update again until it is confirmed); how many were new."""
    values = [
        {
            "update_id": update_id,
            "chat_key": chat_key,
            "body": body,
            "status": PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for update_id, chat_key, body in updates
    ]
    if not values:
        return 0
    stmt = dialect_insert(session, InboundUpdate)
    inserted = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=[InboundUpdate.update_id]).returning(
            InboundUpdate.update_id
        ),
        values,
    )
    return len(inserted.all())


async def claim(
    session: AsyncSession,
    owner: str,
    now: datetime,
    until: datetime,
    limit: int,
    *,
    max_attempts: int,
) -> tuple[list[InboundUpdate], list[int]]:
    """Up to `limit` rows for `owner` to handle (now `handling` until `until`), oldest first,
    and the ids of rows given up (`failed`: claimed `max_attempts` times before).

    Taken: pending rows, and rows whose handling process stopped renewing — but no row of a chat
    that another live process is handling. `owner`'s own rows in hand are never taken again.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK})
    busy = select(InboundUpdate.chat_key).where(
        InboundUpdate.status == HANDLING,
        InboundUpdate.owner != owner,
        InboundUpdate.lease_until > now,
    )
    abandoned = and_(
        InboundUpdate.status == HANDLING,
        InboundUpdate.owner != owner,
        InboundUpdate.lease_until <= now,
    )
    stmt = (
        select(InboundUpdate)
        .where(
            or_(InboundUpdate.status == PENDING, abandoned),
            InboundUpdate.chat_key.not_in(busy),
        )
        .order_by(InboundUpdate.update_id)
        .limit(limit)
    )
    claimed: list[InboundUpdate] = []
    given_up: list[int] = []
    for row in (await session.execute(stmt)).scalars():
        if row.attempts >= max_attempts:
            row.status, row.owner, row.lease_until, row.done_at = FAILED, None, None, now
            given_up.append(row.update_id)
            continue
        row.status, row.owner, row.lease_until = HANDLING, owner, until
        row.attempts += 1
        claimed.append(row)
    await session.flush()
    return claimed, given_up


async def renew(session: AsyncSession, owner: str, until: datetime) -> int:
    """Keep `owner`'s rows in hand for itself until `until`."""
    result = await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.status == HANDLING, InboundUpdate.owner == owner)
        .values(lease_until=until)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def finish(session: AsyncSession, update_ids: list[int], now: datetime) -> None:
    """The updates were handled."""
    if update_ids:
        await session.execute(
            update(InboundUpdate)
            .where(InboundUpdate.update_id.in_(update_ids))
            .values(status=DONE, owner=None, lease_until=None, done_at=now)
        )


async def release(session: AsyncSession, owner: str, update_ids: list[int]) -> None:
    """Rows `owner` claimed but did not start are pending again, as they were."""
    if update_ids:
        await session.execute(
            update(InboundUpdate)
            .where(
                InboundUpdate.update_id.in_(update_ids),
                InboundUpdate.status == HANDLING,
                InboundUpdate.owner == owner,
            )
            .values(
                status=PENDING, owner=None, lease_until=None, attempts=InboundUpdate.attempts - 1
            )
        )


async def prune(session: AsyncSession, before: datetime) -> int:
    """Forget updates handled (or given up) before `before`."""
    result = await session.execute(
        delete(InboundUpdate).where(
            InboundUpdate.status.in_((DONE, FAILED)), InboundUpdate.done_at < before
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(InboundUpdate.status, func.count()).group_by(InboundUpdate.status)
    )
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}
