"""Notices through the real bot's outbox when Telegram misbehaves: a petitioner who blocked the
bot, a 429 with retry_after, server errors. Every notice is delivered exactly once, except to the
blocked person, whose rows are marked failed and who is flagged unreachable.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Outbox, Petitioner
from tests.botrun import BotRun
from tests.dialogs import CASE_NUMBER, Step, answer, file_petition
from tests.driver import Person
from tests.staffing import JINJIANG, Clock, act, alert_for, bot_texts, case_id_in, member


async def _filed(bot: Any, citizen: Person) -> tuple[str, int]:
    await file_petition(citizen)
    await bot.drained()
    [number] = CASE_NUMBER.findall((await bot_texts(bot.sandbox, citizen.chat_id))[-1])
    case_id = case_id_in(await alert_for(bot.sandbox, JINJIANG, number))
    assert case_id is not None
    return number, case_id


async def _rows(bot: Any) -> list[Outbox]:
    async with bot.services.db.sessions() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def test_a_petitioner_who_blocked_the_bot_is_flagged_and_the_office_still_sees_the_change(
    bot: Any,
) -> None:
    sb = bot.sandbox
    citizen = await sb.user(first_name="Alice", language_code="en")
    number, case_id = await _filed(bot, citizen)
    bot.api.world.users[citizen.id].blocked_bot = True
    sb.strict = False  # the 403 is the point: it must not fail the turn
    staff = await member(sb, JINJIANG)

    await act(staff, JINJIANG, case_id, "accept")
    await sb.wait_idle()

    rows = await _rows(bot)
    to_citizen = [r for r in rows if r.chat_id == citizen.chat_id]
    assert [(r.kind, r.status) for r in to_citizen] == [
        ("receipt", "sent"),
        ("status", "failed_permanent"),
    ]
    assert "Forbidden" in (to_citizen[-1].last_error or "")
    async with bot.services.db.sessions() as session:
        person = await session.get(Petitioner, citizen.id)
    assert person is not None and person.unreachable_at is not None
    assert all(r.status == "sent" for r in rows if r.chat_id == JINJIANG.group)
    assert "已受理" in (await alert_for(sb, JINJIANG, number)).text  # the group writes Chinese


async def test_a_429_and_server_errors_delay_notices_but_each_arrives_once(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22 warns when it builds RetryAfter otherwise
    sb = bot.sandbox
    citizen = await sb.user(first_name="Alice", language_code="en")
    _number, case_id = await _filed(bot, citizen)
    staff = await member(sb, JINJIANG)
    sb.strict = False  # the injected failures are the point
    await sb.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=citizen.chat_id,
    )
    await sb.fail_next("editMessageText", status=500, description="Internal Server Error", times=2)

    await act(staff, JINJIANG, case_id, "accept")
    for _ in range(60):  # the 429 asks for a second; the 500s back off 1 s then 2 s
        rows = await _rows(bot)
        if all(r.status == "sent" for r in rows):
            break
        await asyncio.sleep(0.25)
    rows = await _rows(bot)
    assert all(r.status == "sent" for r in rows), [(r.kind, r.status, r.last_error) for r in rows]

    told = await bot_texts(sb, citizen.chat_id)
    assert sum("was accepted by" in t for t in told) == 1
    refresh = [r for r in rows if r.kind == "alert_refresh"]
    assert refresh and refresh[-1].attempts == 3
    [status] = [r for r in rows if r.kind == "status"]
    assert status.attempts == 2  # refused once with 429, then sent
    injected = Counter(c.method for c in bot.api.calls if c.injected)
    assert injected == {"sendMessage": 1, "editMessageText": 2}


async def test_the_daily_reminder_missed_while_the_bot_was_down_is_sent_at_the_next_start(
    prepared_database_url: str, geo_cache: Path
) -> None:
    clock = Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # Tuesday 09:00 in Beijing
    async with BotRun(prepared_database_url, geo_cache.parent, clock=clock) as run:
        sb = run.sandbox
        assert sb is not None
        citizen = await sb.user(first_name="Alice", language_code="en")
        number, _case_id = await _filed(run, citizen)
        await run.drained()
        assert not any("⏰" in t for t in await bot_texts(sb, JINJIANG.group))

        # Down for 13 days; back on Monday 7 December at 09:00: the registration deadline
        # (9 December) is within three days.
        await run.stop_bot()
        clock.now += timedelta(days=13)
        await run.start_bot()
        for _ in range(50):  # the daily job's first check comes a second after the start
            reminders = [t for t in await bot_texts(sb, JINJIANG.group) if "⏰" in t]
            if reminders:
                break
            await asyncio.sleep(0.1)
        assert len(reminders) == 1 and number in reminders[0]
        await run.restart()  # the same day again: no second reminder
        await asyncio.sleep(1.5)
        await run.drained()
        assert sum("⏰" in t for t in await bot_texts(sb, JINJIANG.group)) == 1


async def test_the_outbox_spends_only_what_the_replies_leave_of_a_chats_budget(
    prepared_database_url: str, geo_cache: Path
) -> None:
    """Replies and notices are one send budget: the receipt (a notice, from the outbox) keeps the
    chat's spacing after the bot's direct reply to Submit, instead of following it at once."""
    async with BotRun(prepared_database_url, geo_cache.parent, chat_interval=1.0) as run:
        sb = run.sandbox
        assert sb is not None
        citizen = await sb.user(first_name="Alice", language_code="en")
        await file_petition(citizen)
        await run.drained()
        calls = [
            c
            for c in run.api.calls
            if c.chat_id == citizen.chat_id and c.method != "answerCallbackQuery"
        ]
        [receipt] = [
            i for i, c in enumerate(calls) if CASE_NUMBER.search(str(c.params.get("text", "")))
        ]
        reply = calls[receipt - 1]  # the Submit button taken off
        assert reply.method == "editMessageReplyMarkup"
        assert reply.finished_at is not None
        assert calls[receipt].at - reply.finished_at >= 0.99


async def test_a_429_on_a_reply_pauses_the_outbox_too(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram's "retry after" is the whole bot's: told it on the reply to Submit, the bot holds
    the receipt (a notice) back as long as the reply, then sends both."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    sb = bot.sandbox
    citizen = await sb.user(first_name="Alice", language_code="en")
    await file_petition(citizen, upto=Step.REVIEW)
    sb.strict = False  # the injected failure is the point
    await sb.fail_next(
        "editMessageReplyMarkup",
        status=429,
        description="Too Many Requests: retry after 2",
        retry_after=2,
        chat_id=citizen.chat_id,
    )
    await answer(citizen, Step.REVIEW)
    await bot.drained()
    calls = [c for c in bot.api.calls if c.chat_id == citizen.chat_id]
    [refused] = [c for c in calls if c.status == 429]
    [receipt] = [c for c in calls if CASE_NUMBER.search(str(c.params.get("text", "")))]
    assert refused.finished_at is not None
    assert receipt.at - refused.finished_at >= 1.99
    retried = [c for c in calls if c.method == "editMessageReplyMarkup" and c.at > refused.at]
    assert [c.status for c in retried] == [200]
