"""Delivery bookkeeping for the outbox: claiming due rows and recording how each attempt went.

The dispatcher (`handlers.delivery`) asks `Delivery` for due rows, sends them, and reports each
outcome here; every call is one short transaction of its own, so no transaction is ever held
across a Telegram call. A row is marked `sending` when claimed and only afterwards `sent`, so a
crash in between leaves it `sending` and `release_stale` makes it due again when a dispatcher
next starts: delivery is at least once. This module never talks to Telegram and never decides
*why* a send failed; `last_error` holds only an error class and Telegram's description, never
message text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.leases import process_name
from storage import outbox, petitioners
from storage.db import Database
from storage.models import Outbox

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300  # `last_error` is a short diagnosis, not a log


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One claimed row, as the dispatcher needs it to send."""

    id: int
    chat_id: int
    kind: str
    case_id: int | None
    payload: dict[str, Any]
    attempts: int  # attempts made before this one

    @classmethod
    def of(cls, row: Outbox) -> OutboxItem:
        return cls(row.id, row.chat_id, row.kind, row.case_id, dict(row.payload), row.attempts)


class Delivery:
    """The outbox as the dispatcher sees it: claim, then sent / retry / failed."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] | None = None,
        max_attempts: int = 12,
        owner: str | None = None,
    ) -> None:
        self._db = db
        self._now = clock or (lambda: datetime.now(UTC))
        self.max_attempts = max_attempts
        self.owner = owner or process_name()  # this process, among those sharing the database

    async def release_stale(self) -> int:
        """Rows left `sending` by other processes (which stopped: this one holds the sending
        lease) are due again. Call before the first claim."""
        async with self._db.sessions.begin() as session:
            count = await outbox.release_sending(session, self.owner)
        if count:
            log.warning("outbox: %d rows left sending by an earlier run are due again", count)
        return count

    async def claim(
        self, limit: int, skip_chats: set[int], per_chat: int | None = None
    ) -> list[OutboxItem]:
        """Up to `limit` due rows, oldest first, now `sending`; none for `skip_chats`, at most
        `per_chat` for any one chat, and a chat's rows in their order."""
        async with self._db.sessions.begin() as session:
            rows = await outbox.claim_due(
                session,
                self._now(),
                limit,
                owner=self.owner,
                skip_chats=skip_chats,
                per_chat=per_chat,
            )
            return [OutboxItem.of(row) for row in rows]

    async def unclaim(self, item_ids: list[int]) -> None:
        """Claimed rows that were not attempted are due again, unchanged."""
        if item_ids:
            async with self._db.sessions.begin() as session:
                await outbox.release(session, item_ids)

    async def sent(self, item_id: int, message_id: int | None) -> None:
        async with self._db.sessions.begin() as session:
            await outbox.mark_sent(session, item_id, message_id=message_id, now=self._now())

    async def retry(
        self, item_id: int, delay: float, error: str, *, throttled: bool = False
    ) -> None:
        """The attempt failed for a passing reason: try again in `delay` seconds, unless the row
        has had `max_attempts` attempts. A `throttled` attempt (Telegram said "too many
        requests") says nothing about the row, so it never makes the row give up."""
        async with self._db.sessions.begin() as session:
            row = await outbox.get(session, item_id)
            if row is None:
                return
            if not throttled and row.attempts + 1 >= self.max_attempts:
                await outbox.mark_failed(session, item_id, error=_short(f"gave up: {error}"))
                log.warning("outbox row %d given up after %d attempts", item_id, row.attempts)
                return
            due = self._now() + timedelta(seconds=delay)
            await outbox.mark_retry(session, item_id, error=_short(error), next_attempt_at=due)

    async def failed(self, item_id: int, error: str, *, unreachable: bool) -> None:
        """The row will never be sent. `unreachable`: Telegram will not let the bot write to
        that chat at all, so the petitioner whose chat it is is flagged as well."""
        async with self._db.sessions.begin() as session:
            row = await outbox.mark_failed(session, item_id, error=_short(error))
            if row is not None and unreachable:
                await petitioners.mark_unreachable(session, row.chat_id, self._now())

    async def next_due(self) -> datetime | None:
        """When the earliest row waiting to be sent is (or was) due."""
        async with self._db.reads() as session:
            return await outbox.next_due_at(session)

    async def seconds_to_next(self) -> float | None:
        """Seconds until a row that is not due yet becomes due (None: no such row). Rows that
        are due already but wait for their chat are not counted."""
        now = self._now()
        async with self._db.reads() as session:
            due = await outbox.next_due_after(session, now)
        return None if due is None else (due - now).total_seconds()

    async def counts(self) -> dict[str, int]:
        """Rows per status (every status, zeros included)."""
        async with self._db.reads() as session:
            return await outbox.counts(session)


def _short(error: str) -> str:
    return error if len(error) <= MAX_ERROR_CHARS else error[: MAX_ERROR_CHARS - 1] + "…"
