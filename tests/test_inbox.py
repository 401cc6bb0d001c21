"""Stored updates, leases and outbox claims shared by several processes, on SQLite and PostgreSQL.

Two `Inbox` objects with different owners are two processes on one database. An update is
stored once whatever Telegram redelivers; a chat's updates go to one process at a time, in
order; a process that stops renewing loses its updates to another once its lease has passed;
an update whose handling was cut off too often is given up. A lease is held by one process at
a time, and a `Role` starts and stops its work with it. Two dispatchers claiming the outbox at
once never claim the same row, and a dispatcher taking over puts back only the other
processes' rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.inbox import MAX_ATTEMPTS, Inbox
from bot.leases import Leases, Role
from bot.outbox import Delivery
from storage import outbox
from storage.db import Database


def message(update_id: int, chat: int, text: str = "hi") -> tuple[int, str, dict[str, Any]]:
    body = {
        "update_id": update_id,
        "message": {"message_id": update_id, "chat": {"id": chat}, "text": text},
    }
    return update_id, f"{chat}:{chat}", body


async def test_an_update_is_stored_once_however_often_it_is_delivered(db: Database) -> None:
    inbox = Inbox(db, "a", lease_seconds=15)

    assert await inbox.store([message(1, 10), message(2, 10)]) == 2
    assert await inbox.store([message(2, 10), message(3, 11)]) == 1  # 2 came again

    claimed = await inbox.claim(10)
    assert [stored.update_id for stored in claimed] == [1, 2, 3]
    assert claimed[0].body["message"]["text"] == "hi"
    await inbox.finish([1, 2, 3])
    assert await inbox.store([message(3, 11)]) == 0  # handled, and still known
    assert await inbox.claim(10) == []
    assert (await inbox.counts())["done"] == 3


async def test_a_chat_is_handled_by_one_process_at_a_time_and_in_order(db: Database) -> None:
    first, second = Inbox(db, "a", lease_seconds=15), Inbox(db, "b", lease_seconds=15)
    await first.store([message(1, 10), message(2, 11)])

    assert [s.update_id for s in await first.claim(1)] == [1]  # chat 10 is now first's
    await second.store([message(3, 10), message(4, 11)])

    # Chat 10 waits for `first`; chat 11 is nobody's, so `second` takes it, both in order.
    assert [s.update_id for s in await second.claim(10)] == [2, 4]
    # `first` may go on with its own chat (its lock keeps the order), not with `second`'s.
    assert [s.update_id for s in await first.claim(10)] == [3]
    await first.finish([1, 3])
    await second.store([message(5, 10)])
    assert [s.update_id for s in await second.claim(10)] == [5]  # chat 10 is free again


async def test_a_stopped_process_loses_its_updates_once_its_lease_passed(db: Database) -> None:
    dead, alive = Inbox(db, "dead", lease_seconds=0.3), Inbox(db, "alive", lease_seconds=15)
    await dead.store([message(1, 10), message(2, 10)])
    assert [s.update_id for s in await dead.claim(1)] == [1]

    assert await alive.claim(10) == []  # chat 10's first update is in the dead one's hands
    await asyncio.sleep(0.4)
    assert [s.update_id for s in await alive.claim(10)] == [1, 2]  # again, from the first


async def test_a_process_keeps_its_updates_while_it_renews(db: Database) -> None:
    slow, other = Inbox(db, "slow", lease_seconds=0.5), Inbox(db, "other", lease_seconds=15)
    await slow.store([message(1, 10)])
    assert len(await slow.claim(10)) == 1
    for _ in range(3):
        await asyncio.sleep(0.2)
        await slow.renew()
        assert await other.claim(10) == []
    assert await slow.claim(10) == []  # its own update in hand is not handed out twice


async def test_an_update_that_keeps_crashing_its_process_is_given_up(db: Database) -> None:
    await Inbox(db, "p0", lease_seconds=0.05).store([message(1, 10), message(2, 11)])
    for attempt in range(MAX_ATTEMPTS):
        crashing = Inbox(db, f"p{attempt}", lease_seconds=0.05)
        claimed = await crashing.claim(10)
        assert [s.update_id for s in claimed] == ([1, 2] if attempt == 0 else [1])
        if attempt == 0:
            await crashing.finish([2])
        await asyncio.sleep(0.1)  # it died handling update 1
    assert await Inbox(db, "last", lease_seconds=15).claim(10) == []
    counts = await Inbox(db, "last", lease_seconds=15).counts()
    assert counts["failed"] == 1 and counts["done"] == 1


async def test_claimed_updates_not_started_are_pending_again_as_they_were(db: Database) -> None:
    first, second = Inbox(db, "a", lease_seconds=15), Inbox(db, "b", lease_seconds=15)
    await first.store([message(1, 10)])
    await first.claim(10)
    await first.release([1])
    assert [s.update_id for s in await second.claim(10)] == [1]


async def test_one_process_holds_a_lease_until_it_drops_it_or_it_expires(db: Database) -> None:
    first, second = Leases(db, "a", 0.3), Leases(db, "b", 0.3)
    assert await first.hold("poller")
    assert not await second.hold("poller")
    assert await first.hold("poller")  # renewed
    assert await second.hold("dispatcher")  # another role
    assert await first.holder("poller") == "a"

    await first.drop("poller")
    assert await second.hold("poller")
    await asyncio.sleep(0.4)  # `second` stopped renewing
    assert await first.holder("poller") is None
    assert await first.hold("poller")


async def test_a_role_runs_in_one_process_and_moves_when_that_one_stops(db: Database) -> None:
    events: list[str] = []

    def role(owner: str) -> Role:
        async def begin() -> None:
            events.append(f"{owner} begins")

        async def end() -> None:
            events.append(f"{owner} ends")

        return Role("poller", Leases(db, owner, 0.6), begin, end)

    first, second = role("a"), role("b")
    await first.start()
    await second.start()
    assert (first.active, second.active) == (True, False)
    assert first.alive and second.alive  # `second` stands by

    await first.stop()
    for _ in range(50):  # `second` looks every 0.2 s
        if second.active:
            break
        await asyncio.sleep(0.05)
    await second.stop()
    assert events == ["a begins", "a ends", "b begins", "b ends"]


async def test_two_dispatchers_never_claim_the_same_outbox_row(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.sessions.begin() as session:
        for n in range(120):
            await outbox.add(
                session, chat_id=1000 + n % 40, kind="status", payload={}, case_id=None, now=now
            )
    first, second = Delivery(db, owner="a"), Delivery(db, owner="b")

    claimed: dict[str, list[int]] = {"a": [], "b": []}
    while True:  # both at once, until neither finds anything
        found = await asyncio.gather(*(d.claim(7, set(), per_chat=1) for d in (first, second)))
        for delivery, items in zip((first, second), found, strict=True):
            claimed[delivery.owner] += [item.id for item in items]
        if not any(found):
            break
    ids = claimed["a"] + claimed["b"]
    assert len(ids) == len(set(ids)) == 40  # every chat's first row, each once

    # `b` takes over sending from `a`: only `a`'s rows in flight are due again.
    assert await second.release_stale() == len(claimed["a"])
    assert (await second.counts())["sending"] == len(claimed["b"])
