"""Repository for the outbox: messages owed to chats, and their delivery status.

Rows are added in the transaction that made them owed. The dispatcher claims due rows (status
`pending` or `failed_temporary` whose `next_attempt_at` has come) by turning them `sending`, then
records how each attempt went. These functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Outbox

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED_TEMPORARY = "failed_temporary"
FAILED_PERMANENT = "failed_permanent"
STATUSES = (PENDING, SENDING, SENT, FAILED_TEMPORARY, FAILED_PERMANENT)
_DUE = (PENDING, FAILED_TEMPORARY)


async def add(
    session: AsyncSession,
    *,
    chat_id: int,
    kind: str,
    payload: dict[str, Any],
    case_id: int | None,
    now: datetime,
) -> Outbox:
    row = Outbox(
        chat_id=chat_id,
        kind=kind,
        case_id=case_id,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    *,
    owner: str,
    skip_chats: set[int],
    per_chat: int | None = None,
) -> list[Outbox]:
    """The oldest due rows (not for `skip_chats`, whose queues are busy), now `sending` and
    claimed by `owner`.

    A chat's rows are claimed only up to its first row that is not yet due, so one chat's
    messages never overtake each other; and at most `per_chat` of them, so one chat with a long
    backlog (sent at one message a second) does not take every slot of a claim. On PostgreSQL
    the rows are locked with `FOR UPDATE SKIP LOCKED`: a row another transaction is claiming
    at the same moment is left to it, and so are that chat's later rows.
    """
    # Only each chat's first rows are read, and no chat whose first row is waiting (for a retry,
    # or in another send): otherwise a long backlog behind one retrying row would fill the read
    # and starve every other chat until that retry.
    ranked = select(
        Outbox.id,
        Outbox.chat_id,
        Outbox.status,
        Outbox.next_attempt_at,
        func.row_number().over(partition_by=Outbox.chat_id, order_by=Outbox.id).label("place"),
    ).where(Outbox.status.in_((*_DUE, SENDING)))
    if skip_chats:
        ranked = ranked.where(Outbox.chat_id.not_in(skip_chats))
    first = ranked.cte("first_rows")
    waiting = select(first.c.chat_id).where(
        first.c.place == 1, or_(first.c.status == SENDING, first.c.next_attempt_at > now)
    )
    candidates = (
        select(first.c.id, first.c.chat_id)
        .where(first.c.place <= (per_chat or limit), first.c.chat_id.not_in(waiting))
        .order_by(first.c.id)
        .limit(limit)
    )
    chosen = [(row_id, chat_id) for row_id, chat_id in await session.execute(candidates)]
    if not chosen:
        return []
    ids = [row_id for row_id, _ in chosen]
    # A window function cannot be locked, so the rows it chose are read again to be locked
    # (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims) and
    # checked again: another dispatcher may have claimed some since.
    locked = (
        select(Outbox)
        .where(Outbox.id.in_(ids))
        .order_by(Outbox.id)
        .with_for_update(skip_locked=True)
    )
    rows = {row.id: row for row in (await session.execute(locked)).scalars()}
    claimed: list[Outbox] = []
    blocked: set[int] = set()
    taken: dict[int, int] = {}
    for row_id, chat_id in chosen:
        row = rows.get(row_id)
        if row is None:  # locked by another claim: this chat's later rows must wait too
            blocked.add(chat_id)
            continue
        if row.chat_id in blocked:
            continue
        if row.status not in _DUE or row.next_attempt_at > now:
            blocked.add(row.chat_id)
            continue
        row.status, row.claimed_by = SENDING, owner
        claimed.append(row)
        taken[row.chat_id] = taken.get(row.chat_id, 0) + 1
        if per_chat is not None and taken[row.chat_id] >= per_chat:
            blocked.add(row.chat_id)
        if len(claimed) >= limit:
            break
    await session.flush()
    return claimed


async def get(session: AsyncSession, row_id: int) -> Outbox | None:
    return await session.get(Outbox, row_id)


async def mark_sent(
    session: AsyncSession, row_id: int, *, message_id: int | None, now: datetime
) -> Outbox | None:
    row = await session.get(Outbox, row_id)
    if row is not None:
        row.status, row.message_id, row.sent_at = SENT, message_id, now
        row.attempts += 1
        row.last_error = None
        await session.flush()
    return row


async def mark_retry(
    session: AsyncSession, row_id: int, *, error: str, next_attempt_at: datetime
) -> Outbox | None:
    """One more failed attempt; the row is due again at `next_attempt_at`."""
    row = await session.get(Outbox, row_id)
    if row is not None:
        row.status, row.last_error, row.next_attempt_at = FAILED_TEMPORARY, error, next_attempt_at
        row.attempts += 1
        await session.flush()
    return row


async def mark_failed(session: AsyncSession, row_id: int, *, error: str) -> Outbox | None:
    """One more failed attempt, and the last: the row will not be sent."""
    row = await session.get(Outbox, row_id)
    if row is not None:
        row.status, row.last_error = FAILED_PERMANENT, error
        row.attempts += 1
        await session.flush()
    return row


async def release_sending(session: AsyncSession, owner: str) -> int:
    """Rows left `sending` by other processes' dispatchers are due again (at-least-once). Only
    for the one dispatcher that holds the sending lease: the others have stopped sending."""
    result = await session.execute(
        update(Outbox)
        .where(
            Outbox.status == SENDING, or_(Outbox.claimed_by.is_(None), Outbox.claimed_by != owner)
        )
        .values(status=PENDING, claimed_by=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def next_due_at(session: AsyncSession) -> datetime | None:
    stmt = select(func.min(Outbox.next_attempt_at)).where(Outbox.status.in_(_DUE))
    return (await session.execute(stmt)).scalar_one_or_none()


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in STATUSES}


async def for_case(session: AsyncSession, case_id: int) -> list[Outbox]:
    stmt = select(Outbox).where(Outbox.case_id == case_id).order_by(Outbox.id)
    return list((await session.execute(stmt)).scalars())


async def next_due_after(session: AsyncSession, now: datetime) -> datetime | None:
    """When the next row that is not yet due becomes due (rows due already are not counted)."""
    stmt = select(func.min(Outbox.next_attempt_at)).where(
        Outbox.status.in_(_DUE), Outbox.next_attempt_at > now
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def release(session: AsyncSession, row_ids: list[int]) -> int:
    """Claimed rows that were not attempted (the dispatcher stopped, or an earlier row of the same
    chat must be retried first) are due again, as they were."""
    if not row_ids:
        return 0
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id.in_(row_ids), Outbox.status == SENDING)
        .values(status=PENDING, claimed_by=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
