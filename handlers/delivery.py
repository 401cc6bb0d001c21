"""The outbox dispatcher: sends owed messages to Telegram within its limits, with retries.

One feeder task claims due rows (`bot.outbox.Delivery`) into per-chat queues, a second's worth
at a time (a claim's cost grows with the backlog, so it is not made once per send); one worker task
per chat with rows sends them in order through `deliver` (exactly one Bot API call per row), so
different chats go concurrently. Every send passes the `Throttle` (`bot.pacing`) first: at most
`per_second` sends in any second overall, `chat_interval` between two sends to a chat, and
`group_per_window` in any `group_window` to a group, counting the bot's direct replies, which the
throttle records as they are made (replies first). A 429 pauses every send for its
`retry_after`; network errors, timeouts and 5xx are retried with exponential backoff;
"blocked", "kicked" and "chat not found" fail the row for good and flag the chat unreachable.
Delivery is at least once: a row is marked `sent` only after Telegram answered, so a crash in
between (or a timeout after Telegram did deliver) sends it again. This module never touches
the database itself and never logs message text, only row ids, chat ids and error classes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.outbox import Delivery, OutboxItem
from bot.pacing import Throttle
from bot.telegram_http import retry_seconds

log = logging.getLogger(__name__)

Deliver = Callable[[OutboxItem], Awaitable[int | None]]
CLAIM_EVERY = 0.25  # seconds between two claims while rows are in hand (see Dispatcher)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one failed call means for its row."""

    action: Literal["sent", "retry", "failed"]
    error: str  # error class and Telegram's description; never message text
    retry_after: float | None = None  # Telegram's own delay, instead of the backoff
    unreachable: bool = False


def judge(exc: Exception) -> Verdict:
    """Classify a failed call. The order matters: BadRequest and TimedOut are NetworkErrors."""
    error = _describe(exc)
    if isinstance(exc, RetryAfter):
        return Verdict("retry", error, retry_after=retry_seconds(exc))
    if isinstance(exc, Forbidden):  # blocked by the user, kicked from the group, user deleted
        return Verdict("failed", error, unreachable=True)
    if isinstance(exc, ChatMigrated):  # the group became a supergroup with a new id
        return Verdict("failed", error)
    if isinstance(exc, BadRequest):
        text = exc.message.lower()
        if "chat not found" in text:
            return Verdict("failed", error, unreachable=True)
        if "message is not modified" in text:  # an edit that was already applied
            return Verdict("sent", error)
        return Verdict("failed", error)
    # NetworkError (timeouts, 5xx), the other TelegramErrors, and any other exception (a bug in
    # `deliver`, logged with its traceback by the dispatcher): try again later.
    return Verdict("retry", error)


def _describe(exc: Exception) -> str:
    """The error class, and Telegram's description (which never quotes the message sent)."""
    name = type(exc).__name__
    if not isinstance(exc, TelegramError):
        return name  # str() of any other error may hold payload values
    return exc.message if exc.message.startswith(f"{name}:") else f"{name}: {exc.message}"


class Dispatcher:
    """Sends the outbox; `start` once, `wake` after committing rows, `stop` at shutdown."""

    def __init__(
        self,
        delivery: Delivery,
        deliver: Deliver,
        throttle: Throttle,
        *,
        backoff: float = 1.0,
        backoff_cap: float = 300.0,
        poll: float = 1.0,
    ) -> None:
        self._delivery, self._deliver = delivery, deliver
        # The bot's one send budget, which its direct replies are recorded in (`bot.pacing`).
        self.throttle = throttle
        limits = throttle.limits
        self._backoff, self._backoff_cap, self._poll = backoff, backoff_cap, poll
        # Rows held in memory (queued or in flight): about three seconds' worth, so a claim never
        # takes more than will be sent soon; per chat, two seconds at its own pace. A claim reads
        # the outbox's due rows, which costs more the longer the backlog (tens of milliseconds
        # of CPU with 10,000 rows due), so the feeder does not claim after every send: only
        # when a second's worth of slots is free, and, unless nothing is in hand or new rows
        # were committed here, at most every CLAIM_EVERY.
        self._capacity = max(4, math.ceil(3 * limits.per_second))
        self._batch = max(1, self._capacity // 3)
        self._per_chat = max(1, min(self._capacity, math.ceil(2 / limits.chat_interval)))
        self._queues: dict[int, deque[OutboxItem]] = {}  # a chat has a queue iff a worker
        self._workers: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._fresh = True  # rows were committed by this process since the last claim
        self._claimed_at = -math.inf
        self._stopping = asyncio.Event()
        self._feeder: asyncio.Task[None] | None = None
        # Bot API calls made since start, by outcome ("sent", "retry", "failed"), and the 429s
        # among the retries ("flood_wait"): read by the metrics endpoint.
        self.attempts: Counter[str] = Counter()

    @property
    def alive(self) -> bool:
        """Whether the feeder task is running (started, not stopped, not crashed)."""
        return self._feeder is not None and not self._feeder.done()

    async def start(self) -> None:
        """Make rows a previous run left `sending` due again, then start sending."""
        if self._feeder is not None:
            raise RuntimeError("the dispatcher is running already")
        await self._delivery.release_stale()
        self._stopping.clear()
        self._feeder = asyncio.create_task(self._feed(), name="outbox-feeder")

    async def stop(self) -> None:
        """Let sends in flight finish and be recorded; put rows not yet sent back as due."""
        self._stopping.set()
        self._wake.set()
        if self._feeder is not None:
            await self._feeder
            self._feeder = None
        await asyncio.gather(*self._workers)

    def wake(self) -> None:
        """New rows were committed: look now instead of at the next poll."""
        self._fresh = True
        self._wake.set()

    # -- the feeder ------------------------------------------------------------------------

    async def _feed(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before claiming: a wake during the claim means "look again"
            wait = self._poll
            free = self._capacity - self._in_flight - sum(map(len, self._queues.values()))
            if self._claim_now(free):
                self._fresh, self._claimed_at = False, time.monotonic()
                try:
                    items = await self._delivery.claim(free, set(self._queues), self._per_chat)
                except Exception:
                    log.exception("outbox: claiming rows failed")
                    items = []
                for item in items:
                    self._enqueue(item)
                self.throttle.prune()
                try:
                    due = await self._delivery.seconds_to_next()
                except Exception:
                    log.exception("outbox: reading the next due time failed")
                    due = None
                if due is not None:
                    wait = min(wait, due + 0.001)
            elif free >= self._batch:  # only the interval holds the claim back
                wait = max(0.0, self._claimed_at + CLAIM_EVERY - time.monotonic())
            # Until a worker frees a slot, `wake` is called, or the next row is due; at most
            # `poll`, which finds rows committed by another process (that cannot wake this one).
            await _wait(self._wake, wait)

    def _claim_now(self, free: int) -> bool:
        if free < self._batch:
            return False
        if free == self._capacity or self._fresh:  # nothing in hand, or new rows here
            return True
        return time.monotonic() - self._claimed_at >= CLAIM_EVERY

    def _enqueue(self, item: OutboxItem) -> None:
        queue = self._queues.get(item.chat_id)
        if queue is None:
            # The claim skipped chats with a queue, so this is the first row of a new batch.
            queue = self._queues[item.chat_id] = deque()
            task = asyncio.create_task(self._work(item.chat_id, queue), name="outbox-chat")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        queue.append(item)

    # -- one chat's worker -----------------------------------------------------------------

    async def _work(self, chat_id: int, queue: deque[OutboxItem]) -> None:
        try:
            while queue and await self._ready(chat_id):
                item = queue.popleft()
                self._in_flight += 1
                try:
                    go_on = await self._attempt(item)
                finally:
                    self._in_flight -= 1
                    self._wake.set()  # a slot is free
                if not go_on:  # the row waits for a retry: the rows after it must wait too
                    break
        finally:
            # Dropped before the rows are put back: once they are due, a new batch for this chat
            # may start while this task is still finishing.
            del self._queues[chat_id]
            rest = [item.id for item in queue]
            if rest:
                await self._record("unclaim", lambda: self._delivery.unclaim(rest))
            self._wake.set()

    async def _ready(self, chat_id: int) -> bool:
        """Wait until the throttle lets a send to `chat_id` start; False when stopping."""
        while not self._stopping.is_set():
            wait = self.throttle.wait(chat_id)
            if wait <= 0:
                return True
            await _wait(self._stopping, wait)
        return False

    async def _attempt(self, item: OutboxItem) -> bool:
        """Send one row and record the outcome; False when the chat's queue must stop here."""
        self.throttle.begin(item.chat_id)
        try:
            try:
                message_id = await self._deliver(item)
            finally:
                self.throttle.end(item.chat_id)
        except Exception as exc:
            return await self._after_failure(item, exc)
        self.attempts["sent"] += 1
        await self._record("sent", lambda: self._delivery.sent(item.id, message_id))
        return True

    async def _after_failure(self, item: OutboxItem, exc: Exception) -> bool:
        verdict = judge(exc)
        self.attempts[verdict.action] += 1
        if verdict.retry_after is not None:
            self.attempts["flood_wait"] += 1
        where = f"outbox row {item.id} ({item.kind}) to chat {item.chat_id}"
        if verdict.action == "sent":
            await self._record("sent", lambda: self._delivery.sent(item.id, None))
            return True
        if verdict.action == "failed":
            if verdict.unreachable:
                log.warning("%s: the chat is unreachable (%s)", where, type(exc).__name__)
            else:  # Telegram refused the call itself: a bug in what the bot sends
                log.error("%s refused for good: %s", where, verdict.error)
            unreachable = verdict.unreachable
            await self._record(
                "failed",
                lambda: self._delivery.failed(item.id, verdict.error, unreachable=unreachable),
            )
            return True
        if verdict.retry_after is not None:
            delay = verdict.retry_after
            self.throttle.pause(delay)  # the limit is the bot's, not the chat's
            log.warning("%s: flood control, every send paused for %gs", where, delay)
        else:
            delay = min(self._backoff_cap, self._backoff * 2**item.attempts)
            delay *= random.uniform(1.0, 1.1)  # jitter: rows that failed together spread out
            if isinstance(exc, TelegramError):
                log.warning("%s failed (%s); retry in %.1fs", where, verdict.error, delay)
            else:
                log.error("%s: deliver raised; retry in %.1fs", where, delay, exc_info=exc)
        throttled = verdict.retry_after is not None
        await self._record(
            "retry",
            lambda: self._delivery.retry(item.id, delay, verdict.error, throttled=throttled),
        )
        return False

    async def _record(self, what: str, call: Callable[[], Awaitable[None]]) -> None:
        """Run a bookkeeping call until it succeeds: the database may be briefly away. When
        stopping, give up; the row stays `sending` and the next start sends it again."""
        delay = 0.5
        while True:
            try:
                await call()
                return
            except Exception:
                log.exception("outbox: recording %s failed", what)
            if not await _wait(self._stopping, delay):
                delay = min(delay * 2, 30.0)
                continue
            log.error("outbox: stopping with %s unrecorded; the row is resent at next start", what)
            return


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` pass; whether it is set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True
