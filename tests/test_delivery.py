"""The outbox dispatcher against the Bot API stand-in over real HTTP, with a real PTB `Bot` and
real databases: every row is delivered once and in order, within the send limits (checked on
the stand-in's own arrival times), retried after 429s, 5xx and timeouts, and given up on chats
Telegram will not deliver to. The limits are scaled down so the file runs in seconds; the
throttle and the error classification are also tested alone, on a fake clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import telegram
from sqlalchemy import event, select
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.outbox import Delivery, OutboxItem
from bot.pacing import BUSY_POLL, SendLimits, Throttle, Window
from bot.sandbox.botapi import CallRecord, FakeBotApi
from handlers.delivery import Deliver, Dispatcher, judge
from storage import outbox, petitioners
from storage.db import Database
from storage.models import Outbox, Petitioner

TOKEN = "123456:TEST-token"
GROUP = -1001000000003
PRIVATE = (10001, 10002, 10003, 10004, 10005, 10006)
A, B, C = PRIVATE[:3]
BLOCKED = 10099
UNKNOWN_CHAT = 424242  # not in the stand-in: "chat not found"
LIMITS = SendLimits(per_second=10, chat_interval=0.2, group_per_window=5, group_window=1.0)
# The throttle runs on time.monotonic(), the stand-in stamps arrivals with time.time(): allow for
# the two clocks drifting apart by a few milliseconds over a test.
CLOCKS = 0.005


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi(groups={GROUP: "staff"})
    await api.start()
    for user_id in (*PRIVATE, BLOCKED):
        api.add_user(user_id, f"user {user_id}", groups=(GROUP,))
    api.world.users[BLOCKED].blocked_bot = True
    yield api
    await api.stop()


def make_bot(api: FakeBotApi, read_timeout: float = 5.0) -> telegram.Bot:
    # A pool large enough for one connection per chat: PTB's default for a bare Bot is 1.
    request = HTTPXRequest(connection_pool_size=16, read_timeout=read_timeout)
    return telegram.Bot(
        TOKEN, base_url=api.url + "/bot", base_file_url=api.url + "/file/bot", request=request
    )


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    async with make_bot(api) as bot:
        yield bot


def sender(bot: telegram.Bot) -> Deliver:
    async def deliver(item: OutboxItem) -> int | None:
        message = await bot.send_message(item.chat_id, item.payload["text"])
        return message.message_id

    return deliver


async def write(db: Database, rows: Iterable[tuple[int, str]]) -> list[int]:
    """Outbox rows in one transaction, as a use case writes them; their ids."""
    async with db.sessions.begin() as session:
        now = datetime.now(UTC)
        added = [
            await outbox.add(
                session, chat_id=chat, kind="test", payload={"text": text}, case_id=None, now=now
            )
            for chat, text in rows
        ]
        return [row.id for row in added]


async def all_rows(db: Database) -> dict[int, Outbox]:
    async with db.sessions() as session:
        rows = (await session.execute(select(Outbox).order_by(Outbox.id))).scalars()
        return {row.id: row for row in rows}


async def settled(delivery: Delivery) -> dict[str, int]:
    """Wait until every row is sent or given up; the counts per status."""
    async with asyncio.timeout(20):
        while True:
            counts = await delivery.counts()
            if counts["pending"] == counts["sending"] == counts["failed_temporary"] == 0:
                return counts
            await asyncio.sleep(0.05)


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the stand-in has no event to wait on
            await asyncio.sleep(0.02)


@asynccontextmanager
async def dispatching(
    db: Database, deliver: Deliver, delivery: Delivery | None = None
) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(delivery or Delivery(db), deliver, Throttle(LIMITS), backoff=0.05)
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


def texts(api: FakeBotApi, chat_id: int) -> list[str]:
    return [message.text or "" for message in api.world.chats[chat_id].messages.values()]


def sends(api: FakeBotApi, chat_id: int | None = None) -> list[CallRecord]:
    """sendMessage calls as the stand-in received them, in order of arrival."""
    calls = [c for c in api.calls if c.method == "sendMessage"]
    calls = [c for c in calls if chat_id is None or c.chat_id == chat_id]
    return sorted(calls, key=lambda c: c.at)


def assert_within_limits(api: FakeBotApi) -> None:
    every = [c.at for c in sends(api)]
    overall = int(LIMITS.per_second)
    for first, last in zip(every, every[overall:], strict=False):
        assert last - first >= 1.0 - CLOCKS, "more than per_second sends in one second"
    group = [c.at for c in sends(api, GROUP)]
    for first, last in zip(group, group[LIMITS.group_per_window :], strict=False):
        assert last - first >= LIMITS.group_window - CLOCKS, "group window exceeded"
    for chat in {c.chat_id for c in sends(api)}:
        at = [c.at for c in sends(api, chat)]
        for before, after in itertools.pairwise(at):
            assert after - before >= LIMITS.chat_interval - CLOCKS, f"chat {chat} too fast"


async def add_petitioner(db: Database, user_id: int) -> None:
    now = datetime.now(UTC)
    async with db.sessions.begin() as session:
        await petitioners.add(
            session, Petitioner(user_id=user_id, chat_id=user_id, created_at=now, updated_at=now)
        )


async def unreachable_at(db: Database, user_id: int) -> datetime | None:
    async with db.sessions() as session:
        row = await petitioners.get(session, user_id)
        assert row is not None
        return row.unreachable_at


# -- end to end ------------------------------------------------------------------------------


async def test_every_row_is_delivered_once_in_order_within_every_limit(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    chats = [*PRIVATE, GROUP]
    first = [(chat, f"{chat} #{n}") for n in range(2) for chat in chats]
    later = [(chat, f"{chat} #{n}") for n in range(2, 3) for chat in PRIVATE]
    later += [(GROUP, f"{GROUP} #{n}") for n in range(2, 8)]
    await write(db, first)

    async with dispatching(db, sender(bot)) as dispatcher:
        await write(db, later)
        dispatcher.wake()
        counts = await settled(Delivery(db))

    assert counts["sent"] == len(first) + len(later)
    expected = {chat: [text for c, text in first + later if c == chat] for chat in chats}
    for chat in chats:
        assert texts(api, chat) == expected[chat]
    for row in (await all_rows(db)).values():
        assert row.status == outbox.SENT and row.attempts == 1 and row.sent_at is not None
        message = api.world.chats[row.chat_id].messages[row.message_id or 0]
        assert message.text == row.payload["text"]
    assert api.errors == []
    assert_within_limits(api)


async def test_a_backlog_is_claimed_a_second_s_worth_at_a_time_not_after_every_send(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    # A claim reads every due row: made after each send, it cost a long backlog more CPU than
    # the sends themselves (docs/performance.md). 300 rows at 50/s take about 6 s.
    people = range(20001, 20301)
    for user_id in people:
        api.add_user(user_id, f"user {user_id}")
    await write(db, [(person, f"to {person}") for person in people])
    claims: list[int] = []  # how many rows each claim turned `sending`

    def count(_c: object, _k: object, statement: str, params: Any, _x: object, many: bool) -> None:
        if not statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            return
        # The claim's own UPDATE sets status first (releasing rows matches on `sending`).
        rows = params if many else [params]
        if claimed := sum(1 for row in rows if tuple(row)[:1] == ("sending",)):
            claims.append(claimed)

    fast = SendLimits(per_second=50, chat_interval=0.2, group_per_window=5, group_window=1.0)
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        dispatcher = Dispatcher(Delivery(db), sender(bot), Throttle(fast))
        await dispatcher.start()
        try:
            counts = await settled(Delivery(db))
        finally:
            await dispatcher.stop()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    assert counts["sent"] == len(people) == sum(claims)
    # 150 rows in hand (3 s at 50/s), then a claim each time 50 are free: the old feeder claimed
    # whatever was free after every send, in 40 to 60 claims of a few rows.
    assert len(claims) <= 1 + (len(people) - 150) // 50 + 1, claims


async def test_a_429_pauses_every_send_and_the_row_goes_after_retry_after(
    db: Database, api: FakeBotApi, bot: telegram.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    api.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=A,
    )
    ids = await write(db, [(chat, f"{chat} #{n}") for n in range(3) for chat in (A, B)])

    async with dispatching(db, sender(bot)):
        await settled(Delivery(db))

    assert texts(api, A) == [f"{A} #{n}" for n in range(3)]
    assert texts(api, B) == [f"{B} #{n}" for n in range(3)]
    (refused,) = [c for c in sends(api) if c.status == 429]
    resumed = refused.finished_at or 0
    assert sends(api, A)[1].at >= resumed + 1.0 - CLOCKS
    # Sends already started when the 429 came back may still arrive just after it.
    paused = [c for c in sends(api) if resumed + 0.1 <= c.at < resumed + 1.0 - CLOCKS]
    assert paused == []
    row = (await all_rows(db))[ids[0]]
    assert (row.status, row.attempts) == (outbox.SENT, 2)
    assert_within_limits(api)


async def test_server_errors_are_retried_and_the_chat_keeps_its_order(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    api.fail_next(
        "sendMessage", status=500, description="Internal Server Error", times=2, chat_id=A
    )
    ids = await write(db, [(A, "one"), (B, "other"), (A, "two"), (A, "three")])

    async with dispatching(db, sender(bot)):
        await settled(Delivery(db))

    assert texts(api, A) == ["one", "two", "three"]
    assert texts(api, B) == ["other"]
    rows = await all_rows(db)
    assert (rows[ids[0]].status, rows[ids[0]].attempts) == (outbox.SENT, 3)
    assert [rows[i].attempts for i in ids[1:]] == [1, 1, 1]
    assert [c.status for c in sends(api, A)] == [500, 500, 200, 200, 200]


async def test_a_call_that_times_out_is_retried_and_delivered_once(
    db: Database, api: FakeBotApi
) -> None:
    # The stand-in answers after the bot gave up waiting, and stores nothing: a timeout of a
    # call Telegram did not carry out (one it did would be delivered twice, at least once).
    api.fail_next(
        "sendMessage", status=500, description="Internal Server Error", delay=0.8, chat_id=A
    )
    (row_id,) = await write(db, [(A, "slow")])

    async with make_bot(api, read_timeout=0.3) as bot, dispatching(db, sender(bot)):
        await settled(Delivery(db))

    assert texts(api, A) == ["slow"]
    row = (await all_rows(db))[row_id]
    assert (row.status, row.attempts) == (outbox.SENT, 2)
    await until(lambda: sends(api, A)[0].finished_at is not None)  # the slow answer ends


async def test_a_blocked_user_is_flagged_and_every_other_chat_still_gets_its_rows(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    await add_petitioner(db, BLOCKED)
    await add_petitioner(db, A)
    rows = [(BLOCKED, "b1"), (A, "a1"), (GROUP, "g1"), (BLOCKED, "b2"), (A, "a2"), (B, "c1")]
    ids = await write(db, rows)

    async with dispatching(db, sender(bot)):
        counts = await settled(Delivery(db))

    assert (counts["sent"], counts["failed_permanent"]) == (4, 2)
    stored = await all_rows(db)
    for row_id, (chat, _) in zip(ids, rows, strict=True):
        if chat == BLOCKED:
            assert stored[row_id].status == outbox.FAILED_PERMANENT
            assert stored[row_id].last_error == "Forbidden: bot was blocked by the user"
            assert stored[row_id].message_id is None
    assert await unreachable_at(db, BLOCKED) is not None
    assert await unreachable_at(db, A) is None
    assert (texts(api, A), texts(api, GROUP), texts(api, B)) == (["a1", "a2"], ["g1"], ["c1"])
    assert texts(api, BLOCKED) == []


async def test_a_chat_that_does_not_exist_fails_for_good(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    await add_petitioner(db, UNKNOWN_CHAT)
    (missing, present) = await write(db, [(UNKNOWN_CHAT, "lost"), (A, "found")])

    async with dispatching(db, sender(bot)):
        await settled(Delivery(db))

    rows = await all_rows(db)
    assert rows[missing].status == outbox.FAILED_PERMANENT
    assert rows[missing].last_error == "BadRequest: Chat not found"
    assert await unreachable_at(db, UNKNOWN_CHAT) is not None
    assert rows[present].status == outbox.SENT
    assert texts(api, A) == ["found"]


async def test_rows_left_sending_by_a_crash_are_sent_at_the_next_start(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    ids = await write(db, [(A, "one"), (A, "two"), (B, "three")])
    claimed = await Delivery(db).claim(10, set())  # the process died after claiming
    assert [item.id for item in claimed] == ids
    assert (await Delivery(db).counts())["sending"] == 3

    async with dispatching(db, sender(bot)):
        await settled(Delivery(db))

    assert (texts(api, A), texts(api, B)) == (["one", "two"], ["three"])
    assert {row.status for row in (await all_rows(db)).values()} == {outbox.SENT}


async def test_stop_lets_the_send_in_flight_finish_and_puts_the_rest_back(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    api.delay = 0.5
    ids = await write(db, [(A, "one"), (A, "two"), (A, "three")])
    dispatcher = Dispatcher(Delivery(db), sender(bot), Throttle(LIMITS))
    await dispatcher.start()
    await until(lambda: bool(sends(api)))

    await dispatcher.stop()

    rows = await all_rows(db)
    assert [rows[i].status for i in ids] == [outbox.SENT, outbox.PENDING, outbox.PENDING]
    assert [rows[i].attempts for i in ids] == [1, 0, 0]
    assert texts(api, A) == ["one"]


async def test_refusals_that_are_bugs_fail_the_row_and_not_modified_counts_as_sent(
    db: Database, api: FakeBotApi, bot: telegram.Bot
) -> None:
    api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: can't parse entities: unsupported start tag",
        chat_id=A,
    )
    api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: message is not modified: specified new message content and "
        "reply markup are exactly the same",
        chat_id=B,
    )
    ids = await write(db, [(A, "bad"), (A, "next"), (B, "same")])

    async with dispatching(db, sender(bot)):
        await settled(Delivery(db))

    rows = await all_rows(db)
    assert rows[ids[0]].status == outbox.FAILED_PERMANENT
    assert (rows[ids[0]].last_error or "").startswith("BadRequest: Can't parse entities")
    assert rows[ids[1]].status == outbox.SENT
    assert (rows[ids[2]].status, rows[ids[2]].message_id) == (outbox.SENT, None)
    assert texts(api, A) == ["next"]


async def test_a_row_is_given_up_after_max_attempts_and_the_next_one_goes(
    db: Database, api: FakeBotApi, bot: telegram.Bot, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("sendMessage", status=502, description="Bad Gateway", times=2, chat_id=A)
    async with db.sessions.begin() as session:  # a payload deliver cannot use: a bug, retried
        await outbox.add(
            session, chat_id=B, kind="test", payload={}, case_id=None, now=datetime.now(UTC)
        )
    ids = await write(db, [(A, "doomed"), (A, "after")])

    with caplog.at_level(logging.ERROR, "handlers.delivery"):
        async with dispatching(db, sender(bot), Delivery(db, max_attempts=2)):
            await settled(Delivery(db))

    rows = await all_rows(db)
    broken = next(row for row in rows.values() if row.chat_id == B)
    assert (broken.status, broken.attempts, broken.last_error) == (
        outbox.FAILED_PERMANENT,
        2,
        "gave up: KeyError",
    )
    assert any(record.exc_info for record in caplog.records)  # logged with its traceback
    assert rows[ids[0]].status == outbox.FAILED_PERMANENT
    assert rows[ids[0]].last_error == "gave up: NetworkError: Bad Gateway"
    assert rows[ids[1]].status == outbox.SENT
    assert texts(api, A) == ["after"]


# -- claiming ---------------------------------------------------------------------------------


async def test_a_backlog_behind_a_retry_does_not_hold_up_other_chats(db: Database) -> None:
    delivery = Delivery(db)
    await write(db, [(A, f"a{n}") for n in range(30)] + [(B, "b"), (C, "c")])
    (first,) = await delivery.claim(1, set())
    await delivery.retry(first.id, 300, "NetworkError: Bad Gateway")

    claimed = await delivery.claim(2, set())

    assert [(item.chat_id, item.payload["text"]) for item in claimed] == [(B, "b"), (C, "c")]


async def test_a_claim_takes_a_chat_s_rows_in_order_and_at_most_per_chat(db: Database) -> None:
    delivery = Delivery(db)
    ids = await write(db, [(A, "a1"), (A, "a2"), (A, "a3"), (B, "b1"), (C, "c1"), (C, "c2")])

    claimed = await delivery.claim(10, {C}, per_chat=2)

    assert [item.id for item in claimed] == [ids[0], ids[1], ids[3]]
    # a3 waits behind A's rows in flight; C is no longer skipped.
    assert [item.payload["text"] for item in await delivery.claim(10, set())] == ["c1", "c2"]


# -- the throttle and the classification, alone ----------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_window_counts_sends_in_flight_and_until_a_period_after_they_end() -> None:
    window = Window(2, 1.0)
    window.begin()
    window.begin()
    assert window.wait(0.0) == BUSY_POLL  # both slots are sends still in flight
    window.end(0.5)
    window.end(0.7)
    assert window.wait(1.0) == pytest.approx(0.5)
    assert window.wait(1.5) == 0.0
    window.begin()
    assert window.wait(1.6) == pytest.approx(0.1)
    assert not window.idle(1.6)


def test_the_throttle_spaces_a_chat_and_windows_a_group() -> None:
    clock = FakeClock()
    limits = SendLimits(per_second=100, chat_interval=0.25, group_per_window=5, group_window=2.0)
    throttle = Throttle(limits, clock)
    for _ in range(limits.group_per_window):
        assert throttle.wait(GROUP) == 0.0
        throttle.begin(GROUP)
        throttle.end(GROUP)
        assert throttle.wait(GROUP) >= limits.chat_interval
        assert throttle.wait(A) == 0.0  # another chat is not held up
        clock.now += limits.chat_interval
    # Five sends, at 100.0 … 101.0: the sixth waits until the first is a window old.
    assert throttle.wait(GROUP) == 0.75
    assert throttle.wait(A) == 0.0  # private chats have no window
    clock.now += 0.75
    assert throttle.wait(GROUP) == 0.0


def test_the_throttle_limits_every_chat_together_and_pauses_them_all() -> None:
    clock = FakeClock()
    throttle = Throttle(LIMITS, clock)
    for chat in range(1, 11):
        assert throttle.wait(chat) == 0.0
        throttle.begin(chat)
        throttle.end(chat)
    assert throttle.wait(11) == pytest.approx(1.0)  # ten sends in this second already
    clock.now += 1.0
    assert throttle.wait(11) == 0.0
    throttle.pause(3.0)
    assert throttle.wait(11) == pytest.approx(3.0)
    throttle.prune()
    clock.now += 3.0
    assert throttle.wait(11) == 0.0


def test_a_fractional_rate_sends_one_message_per_slice() -> None:
    clock = FakeClock()
    throttle = Throttle(SendLimits(per_second=0.5, chat_interval=0.1), clock)
    throttle.begin(A)
    throttle.end(A)
    assert throttle.wait(B) == pytest.approx(2.0)


def test_errors_are_judged_by_what_they_mean_for_the_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    assert judge(RetryAfter(timedelta(seconds=7))).retry_after == 7.0
    assert judge(Forbidden("Forbidden: bot was kicked from the group chat")).unreachable
    assert judge(BadRequest("Bad Request: chat not found")).unreachable
    assert judge(BadRequest("Bad Request: message is not modified")).action == "sent"
    refused = judge(BadRequest("Bad Request: message text is empty"))
    assert (refused.action, refused.unreachable) == ("failed", False)
    assert judge(ChatMigrated(-1001234)).action == "failed"
    timed_out = judge(TimedOut())
    assert (timed_out.action, timed_out.retry_after, timed_out.error) == (
        "retry",
        None,
        "TimedOut: Timed out",
    )
    assert judge(KeyError("text")) == judge(KeyError("other"))  # no detail of the payload
    assert judge(KeyError("text")).error == "KeyError"


def test_send_limits_come_from_the_settings() -> None:
    from bot.settings import Settings

    settings = Settings(send_rate=12, chat_interval=2, group_rate=3, group_period=30)
    assert SendLimits.from_settings(settings) == SendLimits(12, 2, 3, 30)
