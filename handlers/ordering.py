"""Updates of one chat in order, different chats concurrently.

PTB's ConversationHandler needs sequential updates, and so does our draft-per-user state: two
answers of one person must not race. A per-key lock serialises updates of the same (chat, user)
while other people's updates run in parallel (tech-notes §1.4).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class KeyedUpdateProcessor(BaseUpdateProcessor):
    """Process updates concurrently, but strictly one at a time per (chat, user)."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[tuple[int | None, int | None], asyncio.Lock] = {}
        self._waiting: Counter[tuple[int | None, int | None]] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        chat, user = update.effective_chat, update.effective_user
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
