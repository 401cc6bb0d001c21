"""Durable intake of updates: every update is stored before Telegram is told it arrived, then
handled once, in order per chat, by whichever process claims it (`storage.inbox`).

The poller (polling mode) or the webhook server stores each update as it comes (`store`); the
update pump (`handlers.updates`) claims stored updates, hands them to the PTB Application and
reports them `finish`ed. A process keeps its claims with `renew`; if it dies, its updates are
claimed again by another process (or itself, restarted) once the lease has expired, and the use
cases recognise an update applied before (drafts keep the last update id; case transitions
are guarded by state). This module knows nothing of Telegram: updates are plain JSON objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # an update whose handling a crash interrupted this often is given up
KEEP = timedelta(days=3)  # handled updates are kept this long (Telegram redelivers for a day)


@dataclass(frozen=True, slots=True)
class Stored:
    """One claimed update."""

    update_id: int
    body: dict[str, Any]


class Inbox:
    """Stored updates, as one process sees them."""

    def __init__(self, db: Database, owner: str, lease_seconds: float) -> None:
        self._db = db
        self.owner = owner
        self._lease = timedelta(seconds=lease_seconds)

    async def store(self, updates: list[tuple[int, str, dict[str, Any]]]) -> int:
        """Store (update_id, chat_key, body) updates in one transaction; how many were new.
        Once it returns, the updates may be confirmed to Telegram."""
        if not updates:
            return 0
        async with self._db.sessions.begin() as session:
            return await inbox.add(session, updates, datetime.now(UTC))

    async def claim(self, limit: int) -> list[Stored]:
        """Up to `limit` updates for this process to handle now, oldest first."""
        now = datetime.now(UTC)
        async with self._db.sessions.begin() as session:
            rows, given_up = await inbox.claim(
                session, self.owner, now, now + self._lease, limit, max_attempts=MAX_ATTEMPTS
            )
            claimed = [Stored(row.update_id, dict(row.body)) for row in rows]
        for update_id in given_up:
            log.error(
                "update %d given up: its handling was interrupted %d times", update_id, MAX_ATTEMPTS
            )
        return claimed

    async def renew(self) -> None:
        """Keep this process's updates in hand for another lease."""
        async with self._db.sessions.begin() as session:
            await inbox.renew(session, self.owner, datetime.now(UTC) + self._lease)

    async def finish(self, update_ids: list[int]) -> None:
        if update_ids:
            async with self._db.sessions.begin() as session:
                await inbox.finish(session, update_ids, datetime.now(UTC))

    async def release(self, update_ids: list[int]) -> None:
        """Claimed updates this process will not handle are pending again, as they were."""
        if update_ids:
            async with self._db.sessions.begin() as session:
                await inbox.release(session, self.owner, update_ids)

    async def prune(self) -> int:
        async with self._db.sessions.begin() as session:
            return await inbox.prune(session, datetime.now(UTC) - KEEP)

    async def counts(self) -> dict[str, int]:
        async with self._db.reads() as session:
            return await inbox.counts(session)
