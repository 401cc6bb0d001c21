"""The outbox dispatcher's pacing on a simulated clock: what the throttle alone allows.

    python3 bench/dispatch_sim.py [--notices 10000] [--latency 0.01] [--lag 0.03] [--claim 0.02]

Runs the real `handlers.delivery.Dispatcher` and `bot.pacing.Throttle` on an event loop whose
clock jumps to the next timer instead of waiting for it, so 400 s of sending take a few seconds
and no other process on the machine changes the result. The outbox is a list in memory claimed
as `storage.outbox.claim_due` claims it (oldest first, at most `per_chat` rows of a chat, none
for chats with rows in hand); the workload is `dispatcher.py`'s (one notice per case, a case's
petitioner drawn at random among 0.6 per case, and the groups' alerts taking turns, spread
evenly). Each send takes `--latency`; each claim `--claim`; every wake-up of a sleeping worker
comes late by a random lag, exponentially distributed with mean `--lag` (a busy event loop).
Nothing here measures the bot's CPU or the database: `dispatcher.py` does, in real time.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
from collections import defaultdict
from typing import Any

from bot.outbox import OutboxItem
from bot.pacing import SendLimits, Throttle
from handlers import delivery

LIMITS = SendLimits(25.0, 1.0, 20, 60.0)  # the defaults: Telegram's limits
GROUPS = (-1001000000001, -1001000000002, -1001000000003, -1001000000004)


class JumpingLoop(asyncio.SelectorEventLoop):
    """An event loop on a simulated clock: when nothing is ready, time jumps to the next timer."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def _run_once(self) -> None:
        ready, scheduled = self._ready, self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled and scheduled[0].when() > self.now:
            self.now = scheduled[0].when()
        super()._run_once()  # type: ignore[misc]


@dataclasses.dataclass
class Row:
    id: int
    chat_id: int
    status: str = "pending"


class Outbox:
    """The outbox in memory, claimed as `storage.outbox.claim_due` claims it."""

    def __init__(self, chats: list[int], claim: float) -> None:
        self.rows = [Row(i + 1, chat) for i, chat in enumerate(chats)]
        self.claim_time = claim

    async def release_stale(self) -> int:
        return 0

    async def claim(self, limit: int, skip: set[int], per_chat: int | None = None) -> list[Any]:
        await asyncio.sleep(self.claim_time)
        blocked: set[int] = set()
        taken: dict[int, int] = defaultdict(int)
        out = []
        for row in self.rows:
            if row.status == "sent" or row.chat_id in skip or row.chat_id in blocked:
                continue
            if row.status == "sending":
                blocked.add(row.chat_id)
                continue
            row.status = "sending"
            out.append(OutboxItem(row.id, row.chat_id, "status", None, {}, 0))
            taken[row.chat_id] += 1
            if per_chat is not None and taken[row.chat_id] >= per_chat:
                blocked.add(row.chat_id)
            if len(out) >= limit:
                break
        return out

    async def unclaim(self, ids: list[int]) -> None:
        for row in self.rows:
            if row.id in ids:
                row.status = "pending"

    async def sent(self, item_id: int, message_id: int | None) -> None:
        self.rows[item_id - 1].status = "sent"

    async def seconds_to_next(self) -> float | None:
        return None


def workload(notices: int, rng: random.Random) -> list[int]:
    """The chats of `dispatcher.py`'s rows, in the order of their ids."""
    per_group = min(20 * (1 + int(notices / LIMITS.per_second // 60)) - 5, notices // 10 // 4)
    alerts = [group for _ in range(per_group) for group in GROUPS]
    people = [10**9 + rng.randrange(int(notices * 0.6)) for _ in range(notices - len(alerts))]
    every = max(1, len(people) // max(1, len(alerts)))
    chats: list[int] = []
    for i, person in enumerate(people):
        chats.append(person)
        if i % every == 0 and i // every < len(alerts):
            chats.append(alerts[i // every])
    return chats


async def drain(args: argparse.Namespace) -> list[tuple[float, int]]:
    loop = asyncio.get_running_loop()
    lags = random.Random(5)
    waited = delivery._wait

    async def late(event: asyncio.Event, seconds: float) -> bool:
        return await waited(event, seconds + (lags.expovariate(1 / args.lag) if args.lag else 0))

    delivery._wait = late  # type: ignore[assignment]
    outbox = Outbox(workload(args.notices, random.Random(1)), args.claim)
    sends: list[tuple[float, int]] = []

    async def deliver(item: OutboxItem) -> int:
        start = loop.time()
        await asyncio.sleep(args.latency)
        sends.append((start, item.chat_id))
        return 1

    dispatcher = delivery.Dispatcher(outbox, deliver, Throttle(LIMITS, loop.time))  # type: ignore[arg-type]
    await dispatcher.start()
    while any(row.status != "sent" for row in outbox.rows):  # noqa: ASYNC110 - simulated time
        await asyncio.sleep(1)
    await dispatcher.stop()
    return sorted(sends)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.01, help="seconds a send takes")
    parser.add_argument("--lag", type=float, default=0.03, help="mean lateness of a wake-up")
    parser.add_argument("--claim", type=float, default=0.02, help="seconds a claim takes")
    args = parser.parse_args()
    loop = JumpingLoop()
    try:
        sends = loop.run_until_complete(drain(args))
    finally:
        loop.close()
    at = [t for t, _ in sends]
    tenth = len(at) // 10
    rate = (len(at) - 1) / (at[-1] - at[0]) / LIMITS.per_second
    steady = (len(at) - 2 * tenth - 1) / (at[-tenth - 1] - at[tenth]) / LIMITS.per_second
    tail = [chat for t, chat in sends if t > at[-1] - (at[-1] - at[0]) / 10]
    groups = sum(chat < 0 for chat in tail)
    print(f"{len(at)} sends (latency {args.latency:g} s, lag {args.lag:g} s, claim "
          f"{args.claim:g} s): first to last {rate:.1%} of 25/s, middle 80% {steady:.1%}, "
          f"last tenth of the time {len(tail)} sends ({groups} to groups)")  # fmt: skip


if __name__ == "__main__":
    main()
