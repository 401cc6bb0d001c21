"""Pacing sends under Telegram's limits: the overall rate, each chat's spacing, group windows.

Pure bookkeeping on a monotonic clock, used by the outbox dispatcher (`handlers.delivery`)
before every call: it sleeps, sends nothing and knows nothing of Telegram's API.

The budget is the whole bot's, replies first: the calls a handler makes while a person waits
(which pass PTB's rate limiter, not this throttle) are `record`ed as they are made, in the overall
rate, their chat's spacing and their group's window, so the outbox sends only in what the replies
leave. A notice can wait a second; a person answering the bot should not.

The overall rate is shared by every chat, so the throttle hands its slots out first come, first
served: a chat that asked and had to wait (for its own spacing, its group's window or a free
slot) keeps its place in line, and a chat that asks later cannot take the slot it is owed.
Without the line, waiting chats could lose round after round to chats newly claimed from a
backlog, and a group's alerts were left for the end of it (docs/performance.md).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings

# Direct replies may come in a burst of this many seconds' worth of the overall rate at once
# (then at the rate): people answer unevenly, and with one second's worth replies queued for up
# to a third of a second whenever many people were filing at once (docs/performance.md).
REPLY_BURST = 2.0
# A throttle prunes itself this often as replies are recorded, for a process that does not send
# the outbox (another holds the lease) records replies but has no dispatcher to prune it.
SELF_PRUNE = 10.0
BUSY_POLL = 0.05  # every slot of a window is a send in flight: ask again this soon
# A chat in line that was told to ask again by now holds a free slot for itself this long (its
# sender may wake a little late when the event loop is busy); then the slot goes to whoever asks,
# so that a late sender idles a slot no longer than this. It keeps its place in line.
LATE = 0.02
# A chat in line that has not asked again this long after it was told to is taken to have gone
# (its sender stopped): the chats behind it no longer count on it, and `Throttle.prune` forgets
# it. If it comes back it has its place still, until pruned.
ABSENT = 1.0


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

    def free(self, now: float) -> int:
        """How many sends may start now."""
        self._forget(now)
        return max(0, self.limit - self._open - len(self._ends))

    def frees_in(self, k: int, now: float) -> float:
        """Once the slots free now are taken: how long until the `k`-th next one frees (from 0).

        A slot still held by a send in flight frees a `period` after that send ends, so no sooner
        than a `period` from now. Sends recorded past the limit (replies, see `Throttle.record`)
        must be forgotten first.
        """
        self._forget(now)
        k += max(0, self._open + len(self._ends) - self.limit)
        return self._ends[k] + self.period - now if k < len(self._ends) else self.period

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
    previous call, for the same reason as in `Window`.

    The overall rate's slots go to chats in the order they first asked (each chat has one sender
    at a time, asking again when told). A chat told to wait is told when its turn comes: when
    the slot frees that is left once every chat before it in line, and free to send (its own
    spacing and window allow it), has had one. Until then the free slots are kept for the chats
    before it that are due to ask (for `LATE`); chats still held by their own limits, or told to
    come back later, do not hold a slot up.
    """

    def __init__(self, limits: SendLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        burst = max(1, math.floor(limits.per_second))
        self._overall = Window(burst, burst / limits.per_second)
        self._groups: dict[int, Window] = {}
        self._last_end: dict[int, float] = {}
        self._paused_until = 0.0
        self._pruned_at = clock()
        # Chats that asked and were told to wait, in the order they first asked, each with the
        # moment it was told to ask again.
        self._line: dict[int, float] = {}

    def wait(self, chat_id: int) -> float:
        """0 when a send to `chat_id` may start now; else seconds to wait before asking again."""
        now = self._clock()
        own = self._own_wait(chat_id, now)
        if own > 0:
            return self._told(chat_id, now, own)
        # Chats in line before this one that are free to send: all of them will take a slot
        # before it; those told to ask again by now (and not much later) claim the free ones.
        ahead = claiming = 0
        for other, due in self._line.items():
            if other == chat_id:
                break
            late = now - due
            if late <= ABSENT and self._own_wait(other, now) <= 0:
                ahead += 1
                claiming += 0 <= late <= LATE
        free = self._overall.free(now)
        if claiming < free:
            self._line.pop(chat_id, None)
            return 0.0
        return self._told(chat_id, now, self._overall.frees_in(ahead - free, now))

    def begin(self, chat_id: int) -> None:
        """A send starts; call right after `wait` returned 0, with no await in between."""
        self._line.pop(chat_id, None)
        self._overall.begin()
        if chat_id < 0:
            self._group(chat_id).begin()

    def end(self, chat_id: int) -> None:
        now = self._clock()
        self._overall.end(now)
        if chat_id < 0:
            self._group(chat_id).end(now)
        self._last_end[chat_id] = now

    def record(self, chat_id: int) -> None:
        """A call to `chat_id` was made outside the throttle (a direct reply): it counts against
        every limit as a send just ended, even where that takes a window past its limit. An
        outbox sender for the chat keeps its place in line."""
        self._overall.begin()
        if chat_id < 0:
            self._group(chat_id).begin()
        self.end(chat_id)
        if self._clock() - self._pruned_at >= SELF_PRUNE:
            self.prune()

    def pause(self, seconds: float) -> None:
        """Telegram said "too many requests": no send to any chat for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def prune(self) -> None:
        """Forget chats whose limits no longer constrain anything, and chats that stopped asking
        (keeps memory bounded)."""
        now = self._pruned_at = self._clock()
        interval = self.limits.chat_interval
        self._last_end = {c: t for c, t in self._last_end.items() if now - t < interval}
        self._groups = {c: w for c, w in self._groups.items() if not w.idle(now)}
        self._line = {c: due for c, due in self._line.items() if now - due <= ABSENT}

    def chats(self) -> int:
        """How many chats the throttle keeps anything of (bounded by pruning)."""
        return len(self._last_end.keys() | self._groups.keys() | self._line.keys())

    def _own_wait(self, chat_id: int, now: float) -> float:
        """How long the limits of this chat alone (and a pause) hold it up."""
        wait = max(
            self._paused_until - now,
            self._last_end.get(chat_id, -math.inf) + self.limits.chat_interval - now,
        )
        if chat_id < 0:
            wait = max(wait, self._group(chat_id).wait(now))
        return wait

    def _told(self, chat_id: int, now: float, wait: float) -> float:
        """Keep the chat's place in line (or give it the last) and when it should ask again."""
        self._line[chat_id] = now + wait
        return wait

    def _group(self, chat_id: int) -> Window:
        window = self._groups.get(chat_id)
        if window is None:
            window = Window(self.limits.group_per_window, self.limits.group_window)
            self._groups[chat_id] = window
        return window
