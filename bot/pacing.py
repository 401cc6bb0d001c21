"""Pacing sends under Telegram's limits: the overall rate, each chat's spacing, group windows.

Pure bookkeeping on a monotonic clock, used by the outbox dispatcher (`handlers.delivery`)
before every call: it sleeps, sends nothing and knows nothing of Telegram's API.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings

BUSY_POLL = 0.05  # every slot of a window is a send in flight: ask again this soon


@dataclass(frozen=True, slots=True)
class SendLimits:
    per_second: float = 25.0
    chat_interval: float = 1.0
    group_per_window: int = 20
    group_window: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SendLimits:
        return cls(
            settings.send_rate, settings.chat_interval, settings.group_rate, settings.group_period
        )


class Window:
    """At most `limit` sends in any `period` seconds, as Telegram will see them arrive.

    A send counts from when it starts until `period` after it *ends*: Telegram received it at
    some moment in between, so however the network delays each request, no `period` of
    arrivals can hold more than `limit`.
    """

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self._open = 0
        self._ends: deque[float] = deque()  # in order: ends are recorded as they happen

    def wait(self, now: float) -> float:
        """0 when a send may start now; else how long to wait before asking again."""
        self._forget(now)
        if self._open + len(self._ends) < self.limit:
            return 0.0
        return self._ends[0] + self.period - now if self._ends else BUSY_POLL

    def begin(self) -> None:
        self._open += 1

    def end(self, now: float) -> None:
        self._open -= 1
        self._ends.append(now)

    def idle(self, now: float) -> bool:
        """Nothing in flight and nothing that still counts: the window may be dropped."""
        self._forget(now)
        return self._open == 0 and not self._ends

    def _forget(self, now: float) -> None:
        while self._ends and now - self._ends[0] >= self.period:
            self._ends.popleft()


class Throttle:
    """Every limit a send must pass: a global pause, the overall rate, the chat's spacing and,
    for groups (negative ids), the group's window. Spacing counts from the end of the chat's
    previous call, for the same reason as in `Window`."""

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        burst = max(1, math.floor(limits.per_second))
        self._overall = Window(burst, burst / limits.per_second)
        self._groups: dict[int, Window] = {}
        self._last_end: dict[int, float] = {}
        self._paused_until = 0.0

    def wait(self, chat_id: int) -> float:
        """0 when a send to `chat_id` may start now; else seconds to wait before asking again."""
        now = self._clock()
        waits = [
            self._paused_until - now,
            self._last_end.get(chat_id, -math.inf) + self.limits.chat_interval - now,
            self._overall.wait(now),
        ]
        if chat_id < 0:
            waits.append(self._group(chat_id).wait(now))
        return max(0.0, *waits)

    def begin(self, chat_id: int) -> None:
        """A send starts; call right after `wait` returned 0, with no await in between."""
        self._overall.begin()
        if chat_id < 0:
            self._group(chat_id).begin()

    def end(self, chat_id: int) -> None:
        now = self._clock()
        self._overall.end(now)
        if chat_id < 0:
            self._group(chat_id).end(now)
        self._last_end[chat_id] = now

    def pause(self, seconds: float) -> None:
        """Telegram said "too many requests": no send to any chat for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def prune(self) -> None:
        """Forget chats whose limits no longer constrain anything (keeps memory bounded)."""
        now = self._clock()
        interval = self.limits.chat_interval
        self._last_end = {c: t for c, t in self._last_end.items() if now - t < interval}
        self._groups = {c: w for c, w in self._groups.items() if not w.idle(now)}

    def _group(self, chat_id: int) -> Window:
        window = self._groups.get(chat_id)
        if window is None:
            window = Window(self.limits.group_per_window, self.limits.group_window)
            self._groups[chat_id] = window
        return window
