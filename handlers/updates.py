"""Updates in and through the bot: the poller stores them, the pump hands them to the Application.

`Poller` (polling mode; one process at a time, under the `poller` lease) long-polls getUpdates,
stores each batch (`bot.inbox.Inbox.store`) and only then asks for the next batch with a higher
offset, which is what confirms the batch to Telegram (tech-notes §1.10): an update is never
confirmed before it is stored. In webhook mode `bot.web` stores each update before its 200.

`UpdatePump` (every process) claims stored updates and runs each through the Application's
update processor (`handlers.ordering.KeyedUpdateProcessor`: one at a time per chat and person,
concurrently across them) and `process_update`, then reports it done. A chat's updates are
claimed by one process at a time, so they are handled in order whichever process polled them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application

from bot.inbox import Inbox, Stored

log = logging.getLogger(__name__)

AnyApp = Application[Any, Any, Any, Any, Any, Any]
Observer = Callable[[str, float], None]  # (update kind, seconds its handling took)
PRUNE_EVERY = 3600.0  # seconds between two prunings of old handled updates


def chat_key(update: Update) -> str:
    """What orders updates: a chat and a person (as `KeyedUpdateProcessor` serialises them); an
    update with neither is ordered with nothing."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None and user is None:
        return f"u{update.update_id}"
    return f"{chat.id if chat else ''}:{user.id if user else ''}"


def kind_of(body: dict[str, Any]) -> str:
    return next((key for key in body if key != "update_id"), "other")


class UpdatePump:
    """Claims stored updates and has the Application handle them; `start`, `wake`, `stop`."""

    def __init__(
        self,
        app: AnyApp,
        inbox: Inbox,
        *,
        lease_seconds: float,
        capacity: int = 256,
        batch: int = 100,
        poll: float = 1.0,
    ) -> None:
        self._app, self._inbox = app, inbox
        self._renew_every = lease_seconds / 3
        self._capacity, self._batch, self._poll = capacity, batch, poll
        self.observe: Observer | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._done: list[int] = []
        self._wake = asyncio.Event()
        self._finished = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.handled = 0  # updates handled since start

    @property
    def alive(self) -> bool:
        return bool(self._tasks) and not any(task.done() for task in self._tasks)

    def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="updates-claim"),
            asyncio.create_task(self._finish_loop(), name="updates-finish"),
            asyncio.create_task(self._renew_loop(), name="updates-renew"),
        ]

    def wake(self) -> None:
        """Updates were stored: claim now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Claim nothing more, let the updates in hand finish, and record them done."""
        self._stopping.set()
        self._wake.set()
        claim, finish, renew = self._tasks
        await claim
        if self._handling:
            await asyncio.gather(*self._handling, return_exceptions=True)
        self._finished.set()
        await finish
        await renew
        self._tasks = []

    # -- claiming and handling --------------------------------------------------------------

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before claiming: a wake during the claim means "look again"
            free = min(self._batch, self._capacity - len(self._handling))
            claimed: list[Stored] = []
            if free > 0:
                try:
                    claimed = await self._inbox.claim(free)
                except Exception:
                    log.exception("updates: claiming stored updates failed")
                for stored in claimed:
                    task = asyncio.create_task(self._handle(stored), name="update")
                    self._handling.add(task)
                    task.add_done_callback(self._handling.discard)
            if claimed and len(claimed) == free:
                continue  # there may be more
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _handle(self, stored: Stored) -> None:
        kind = kind_of(stored.body)
        started = time.perf_counter()
        try:
            update = Update.de_json(stored.body, self._app.bot)
            await self._app.update_processor.process_update(
                update, self._app.process_update(update)
            )
        except Exception:  # PTB's error handlers see handler errors; this is anything else
            log.exception("update %d (%s) could not be handled", stored.update_id, kind)
        finally:
            self.handled += 1
            self._done.append(stored.update_id)
            self._finished.set()
            if len(self._handling) >= self._capacity:
                self._wake.set()  # a slot is free
            if self.observe is not None:
                self.observe(kind, time.perf_counter() - started)

    # -- bookkeeping ------------------------------------------------------------------------

    async def _finish_loop(self) -> None:
        """Record handled updates done, in batches; until it succeeds (the database may be
        briefly away). Stops after the last handled update once stopping."""
        while True:
            await self._finished.wait()
            self._finished.clear()
            done, self._done = self._done, []
            if done:
                try:
                    await self._inbox.finish(done)
                except Exception:
                    log.exception("updates: recording %d handled updates failed", len(done))
                    self._done = done + self._done
                    self._finished.set()
                    if self._stopping.is_set() and not self._handling:
                        log.error("updates: stopping with handled updates unrecorded")
                        return
                    await asyncio.sleep(0.5)
                    continue
            if self._stopping.is_set() and not self._handling and not self._done:
                return

    async def _renew_loop(self) -> None:
        pruned_at = time.monotonic()
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), self._renew_every)
                return
            except TimeoutError:
                pass
            try:
                await self._inbox.renew()
                if time.monotonic() - pruned_at > PRUNE_EVERY:
                    pruned_at = time.monotonic()
                    await self._inbox.prune()
            except Exception:
                log.exception("updates: renewing the claims failed")


class Poller:
    """Long-polls Telegram and stores every update before confirming it; `begin` and `end`
    are a `bot.leases.Role`'s work."""

    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        stored: Callable[[], None],
        *,
        allowed_updates: Sequence[str],
        long_poll: int = 30,
    ) -> None:
        self._bot, self._inbox, self._stored = bot, inbox, stored
        self._allowed = list(allowed_updates)
        self._long_poll = long_poll
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        self._task = asyncio.create_task(self._poll(), name="poller")

    async def end(self) -> None:
        """Stop polling; confirm what was stored (else Telegram sends it again: harmless)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._offset is not None:
            try:
                await self._bot.get_updates(offset=self._offset, timeout=0, limit=1)
            except TelegramError as exc:
                log.warning("poller: confirming the last updates failed (%s)", type(exc).__name__)

    async def _poll(self) -> None:
        # Polling and a webhook exclude each other; updates waiting at Telegram are kept.
        await self._call_until_done(lambda: self._bot.delete_webhook(drop_pending_updates=False))
        while True:
            updates = await self._call_until_done(
                lambda: self._bot.get_updates(
                    offset=self._offset,
                    timeout=self._long_poll,
                    allowed_updates=self._allowed,
                )
            )
            if not updates:
                continue
            rows = [(u.update_id, chat_key(u), u.to_dict()) for u in updates]
            await self._store(rows)
            self._offset = updates[-1].update_id + 1  # the next call confirms them
            self._stored()

    async def _store(self, rows: list[tuple[int, str, dict[str, Any]]]) -> None:
        delay = 0.5
        while True:
            try:
                await self._inbox.store(rows)
                return
            except Exception:
                log.exception("poller: storing %d updates failed; not confirming them", len(rows))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _call_until_done(self, call: Callable[[], Any]) -> Any:
        delay = 1.0
        while True:
            try:
                return await call()
            except InvalidToken:
                log.error("poller: Telegram refused the bot token; retrying in 60 s")
                await asyncio.sleep(60)
            except Conflict as exc:  # another getUpdates, or a webhook set by someone else
                log.warning("poller: %s; retrying in %.0f s", exc.message, delay)
                await asyncio.sleep(delay)
            except TelegramError as exc:  # network errors, timeouts, 5xx
                log.warning("poller: %s; retrying in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
