"""Update delivery for the stand-in: the pending-update queue and the webhook pusher.

`UpdateQueue` keeps updates until they are confirmed the way the Bot API defines it: an
update is dropped once getUpdates is called with a higher offset (or, with a webhook, once
the bot's server answers 2xx). An update injected again under an id that was already
confirmed (a "redelivery") is kept until it has been handed out once. `WebhookPusher` POSTs
pending updates one by one to the bot's webhook with the secret-token header and retries
failures with capped exponential backoff. Neither knows about chats or the bot's code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import aiohttp

from bot.sandbox.world import JsonDict

log = logging.getLogger(__name__)

FIRST_UPDATE_ID = 100_000_001
# What Telegram sends when allowed_updates was never given.
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class PendingUpdate:
    update_id: int
    payload: JsonDict
    kind: str
    redelivery: bool = False
    handed_out: bool = False


class UpdateQueue:
    """Updates not yet confirmed, in the order they were injected."""

    def __init__(self) -> None:
        self.pending: list[PendingUpdate] = []
        self.next_id = FIRST_UPDATE_ID
        self.confirmed_offset = 0
        self.allowed: list[str] | None = None
        self._arrival = asyncio.Event()

    def push(self, body: JsonDict, update_id: int | None = None) -> int:
        """Queue an update (`body` without or with its update_id) and wake waiting polls."""
        if update_id is None:
            update_id = int(body.get("update_id") or self.next_id)
        redelivery = update_id < self.next_id  # an id seen before: keep until handed out
        self.next_id = max(self.next_id, update_id + 1)
        payload = {**body, "update_id": update_id}
        kind = next((key for key in payload if key != "update_id"), "unknown")
        self.pending.append(PendingUpdate(update_id, payload, kind, redelivery))
        self.wake()
        return update_id

    def wake(self) -> None:
        self._arrival.set()
        self._arrival = asyncio.Event()

    def confirm(self, offset: int) -> None:
        """Apply getUpdates' `offset`: forget what it confirms."""
        if offset < 0:
            self.pending = self.pending[offset:]
            return
        if offset == 0:
            return
        self.confirmed_offset = max(self.confirmed_offset, offset)
        self.pending = [
            p for p in self.pending if p.update_id >= offset or (p.redelivery and not p.handed_out)
        ]

    def drop(self, update: PendingUpdate) -> None:
        if update in self.pending:
            self.pending.remove(update)
        self.confirmed_offset = max(self.confirmed_offset, update.update_id + 1)

    def drop_all(self) -> None:
        for update in list(self.pending):
            self.drop(update)

    def take(self, limit: int) -> list[PendingUpdate]:
        """Hand out up to `limit` updates with increasing ids, skipping types not allowed."""
        batch: list[PendingUpdate] = []
        for update in list(self.pending):
            if len(batch) >= limit:
                break
            if not self._allows(update.kind):
                self.pending.remove(update)
                continue
            if batch and update.update_id <= batch[-1].update_id:
                break  # keep batches ascending so the bot's next offset confirms them all
            batch.append(update)
        for update in batch:
            update.handed_out = True
        return batch

    def _allows(self, kind: str) -> bool:
        if self.allowed:
            return kind in self.allowed
        return kind not in _DEFAULT_EXCLUDED

    async def wait(self, seconds: float, *interrupts: asyncio.Event) -> None:
        """Sleep until an update arrives, an interrupt is set, or `seconds` pass."""
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._arrival, *interrupts)]
        try:
            await asyncio.wait(waiters, timeout=max(seconds, 0), return_when="FIRST_COMPLETED")
        finally:
            for waiter in waiters:
                waiter.cancel()


class WebhookPusher:
    """Delivers queued updates to a webhook URL, one at a time, like Telegram does."""

    def __init__(self, queue: UpdateQueue) -> None:
        self.queue = queue
        self.url = ""
        self.secret: str | None = None
        self.max_connections = 40
        self.max_attempts = 8
        self.backoff = 0.05  # first retry delay in seconds, doubled per attempt up to 2 s
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.deliveries: list[JsonDict] = []  # every attempt: update_id, status, error
        self._changed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def configure(self, url: str, secret: str | None, max_connections: int = 40) -> None:
        self.url, self.secret, self.max_connections = url, secret, max_connections
        self.last_error_date = self.last_error_message = None
        self._changed.set()

    def info(self) -> JsonDict:
        out: JsonDict = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue.pending),
        }
        if self.url:
            out["max_connections"] = self.max_connections
            if self.queue.allowed:
                out["allowed_updates"] = self.queue.allowed
        if self.last_error_date is not None:
            out["last_error_date"] = self.last_error_date
            out["last_error_message"] = self.last_error_message
        return out

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            batch = self.queue.take(1) if self.url else []
            if not batch:
                await self.queue.wait(3600, self._changed)
                continue
            await self._deliver(batch[0])

    async def _deliver(self, update: PendingUpdate) -> None:
        url = self.url
        for attempt in range(1, self.max_attempts + 1):
            error = await self._post(url, update, attempt)
            if error is None:
                self.queue.drop(update)
                return
            self.last_error_date, self.last_error_message = int(time.time()), error
            delay = min(self.backoff * 2 ** (attempt - 1), 2.0)
            self._changed.clear()
            await self.queue.wait(delay, self._changed)
            if self._changed.is_set() or url != self.url:
                update.handed_out = False  # the webhook changed: deliver it afresh
                return
        log.warning("webhook gave up on update %s", update.update_id)
        self.queue.drop(update)

    async def _post(self, url: str, update: PendingUpdate, attempt: int) -> str | None:
        """POST one update; None on success, else Telegram's last_error_message."""
        assert self._session is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret} if self.secret else {}
        record: JsonDict = {"update_id": update.update_id, "attempt": attempt, "at": time.time()}
        self.deliveries.append(record)
        try:
            async with self._session.post(url, json=update.payload, headers=headers) as resp:
                record["status"] = resp.status
                if 200 <= resp.status < 300:
                    return None
                return f"Wrong response from the webhook: {resp.status} {resp.reason}"
        except (aiohttp.ClientError, TimeoutError) as err:
            record["error"] = type(err).__name__
            return f"Connection failed: {type(err).__name__}"
