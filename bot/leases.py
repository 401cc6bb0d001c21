"""Roles that one process at a time may play (long-polling Telegram, sending the outbox).

Each process has an `owner` name. A `Role` keeps trying to hold its lease in the database; while
it holds it, it runs the role's work, renewing the lease every third of its length; when a
renewal fails (another process took the lease, or the database has been away for two thirds
of the length), it stops the work at once. A process that dies simply stops renewing, and
another takes the role over when the lease expires. Leases compare wall-clock times, so hosts
sharing a database keep their clocks synchronised (NTP).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from storage import leases
from storage.db import Database

log = logging.getLogger(__name__)


def process_name() -> str:
    """A name for this process, unique among the processes sharing a database."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Leases:
    """Leases in the database, held on behalf of one process."""

    def __init__(self, db: Database, owner: str, seconds: float) -> None:
        self._db = db
        self.owner = owner
        self.seconds = seconds

    async def hold(self, name: str) -> bool:
        """Take or renew lease `name`; whether this process holds it now."""
        now = datetime.now(UTC)
        async with self._db.sessions.begin() as session:
            return await leases.hold(
                session, name, self.owner, now, now + timedelta(seconds=self.seconds)
            )

    async def drop(self, name: str) -> None:
        async with self._db.sessions.begin() as session:
            await leases.drop(session, name, self.owner)

    async def holder(self, name: str) -> str | None:
        async with self._db.reads() as session:
            return await leases.holder(session, name, datetime.now(UTC))


class Role:
    """Run `begin()` while this process holds lease `name`, and `end()` when it stops holding it.

    `begin` starts the work and returns; `end` stops it and returns once it has stopped.
    """

    def __init__(
        self,
        name: str,
        leases_: Leases,
        begin: Callable[[], Awaitable[None]],
        end: Callable[[], Awaitable[None]],
    ) -> None:
        self.name = name
        self._leases = leases_
        self._begin, self._end = begin, end
        self.active = False
        self._renewed = 0.0  # monotonic time of the last successful hold
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        """Whether the role's loop runs (playing the role, or standing by for it)."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Try for the lease now (so a lone process plays the role once this returns), then
        keep trying and renewing in the background."""
        self._stopping.clear()
        self._renewed = 0.0
        await self._step()
        self._task = asyncio.create_task(self._run(), name=f"role-{self.name}")

    async def stop(self) -> None:
        """Stop the work (if this process plays the role) and give the lease up."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        elif self.active:  # started, but the loop never ran
            await self._give_up()

    async def _step(self) -> None:
        period = self._leases.seconds / 3
        try:
            held = await self._leases.hold(self.name)
            if held:
                self._renewed = time.monotonic()
        except Exception:
            log.exception("lease %s: renewing failed", self.name)
            # Still ours until two thirds of the lease have passed since the last renewal.
            held = self.active and time.monotonic() - self._renewed < 2 * period
        if held and not self.active:
            log.info("lease %s: taken by this process", self.name)
            await self._begin()
            self.active = True
        elif not held and self.active:
            log.warning("lease %s: lost; stopping its work", self.name)
            await self._stop_work()

    async def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    await asyncio.wait_for(self._stopping.wait(), self._leases.seconds / 3)
                except TimeoutError:
                    await self._step()
        finally:
            await self._give_up()

    async def _give_up(self) -> None:
        if self.active:
            await self._stop_work()
            try:
                await self._leases.drop(self.name)
            except Exception:
                log.exception("lease %s: giving it up failed (it expires)", self.name)

    async def _stop_work(self) -> None:
        self.active = False
        try:
            await self._end()
        except Exception:
            log.exception("lease %s: stopping its work failed", self.name)
