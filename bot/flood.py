"""Per-user flood control: a token bucket per person, in this process's memory.

A person may send `burst` updates at once and `rate` a second after that. Past the limit their
updates wait their turn (slowed, not refused) up to `max_wait` seconds; an update that would wait
longer is dropped unanswered — it was never answered, so nothing already answered is lost. The
person is told once per flood: `warn` is True for the first slowed or dropped update after the
bucket was last full. Pure bookkeeping on a monotonic clock; the handler does the waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Admission:
    wait: float  # seconds to hold the update before handling it
    drop: bool  # too far over the limit: do not handle it at all
    warn: bool  # the first update of this flood: tell the person once


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGate:
    """Token buckets by user id; forgets people whose bucket is full again."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_wait: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_wait = rate, burst, max_wait
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def admit(self, user_id: int) -> Admission:
        now = self._clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # a full bucket ends the flood: the next one is told again
        wait = max(0.0, (1.0 - bucket.tokens) / self.rate)
        if wait > self.max_wait:
            warn = not bucket.warned
            bucket.warned = True
            return Admission(0.0, drop=True, warn=warn)
        bucket.tokens -= 1.0  # may go below zero: the updates queued behind wait longer
        warn = wait > 0 and not bucket.warned
        bucket.warned = bucket.warned or wait > 0
        self._forget(now)
        return Admission(wait, drop=False, warn=warn)

    def _forget(self, now: float) -> None:
        if len(self._buckets) < 10_000:
            return
        full = [
            user
            for user, b in self._buckets.items()
            if b.tokens + (now - b.at) * self.rate >= self.burst
        ]
        for user in full:
            del self._buckets[user]
