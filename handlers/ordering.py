"""Updates of one chat in order, different chats concurrently; flood control on arrival.

PTB's ConversationHandler needs sequential updates, and so does our draft-per-user state: two
answers of one person must not race. A per-key lock serialises updates of the same (chat, user)
while other people's updates run in parallel (tech-notes §1.4). Each update is also admitted by
the flood gate when it arrives (not when its turn comes), so a burst is seen as a burst; the
admission waits in `admissions` for `handlers.flood`, which slows, warns or drops.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.flood import Admission, FloodGate


class KeyedUpdateProcessor(BaseUpdateProcessor):
    """Process updates concurrently, but strictly one at a time per (chat, user)."""

    def __init__(self, max_concurrent_updates: int = 256, gate: FloodGate | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[tuple[int | None, int | None], asyncio.Lock] = {}
        self._waiting: Counter[tuple[int | None, int | None]] = Counter()
        self._gate = gate
        # update_id -> (admission, the monotonic time before which it must not be handled)
        self.admissions: dict[int, tuple[Admission, float]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        chat, user = update.effective_chat, update.effective_user
        if self._gate is not None and user is not None:
            admission = self._gate.admit(user.id)
            self.admissions[update.update_id] = (admission, time.monotonic() + admission.wait)
        key = (chat.id if chat else None, user.id if user else None)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if self._waiting[key] == 0:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
