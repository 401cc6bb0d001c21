"""The daily job (`Reminders.run_if_due`) with a controlled clock, on SQLite and PostgreSQL.

It runs once per Beijing day, from 08:00 Beijing time (00:00 UTC): it closes the answered cases
whose review window ended before today, then writes one reminder per office group listing the
office's cases due within three days or overdue. Whether today's run happened is a row in the
database, so a run missed while the bot was down is caught up by the next call, and a second
process on the same database finds the day already claimed.
"""

from __future__ import annotations

import asyncio
from datetime import date

from bot.casework import Casework
from bot.directory import Directory
from bot.reminders import DailyReport, Reminders
from storage import jobs
from storage.db import Database
from tests.desk import JINJIANG, WUHOU, Desk, beijing, kinds, make_desk
from tests.test_intake_usecases import TZ, Person
from tests.test_intake_usecases import WUHOU as WUHOU_PLACE


def daily(desk: Desk) -> Reminders:
    return Reminders(desk.db, desk.casework, TZ, hour=8, days=3, clock=desk.clock)


async def last_run(db: Database) -> date | None:
    async with db.sessions() as session:
        return await jobs.last_day(session, "daily")


async def test_the_job_waits_for_eight_o_clock_beijing_time_and_runs_once_a_day(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    job = daily(desk)

    desk.clock.now = beijing(3, 16, 7, 59)  # 23:59 UTC on 15 March
    assert await job.run_if_due() is None
    assert await last_run(db) is None

    desk.clock.now = beijing(3, 16, 8, 0)
    assert await job.run_if_due() == DailyReport(date(2026, 3, 16), [], [])
    desk.clock.now = beijing(3, 16, 23, 59)
    assert await job.run_if_due() is None
    desk.clock.now = beijing(3, 17, 7, 59)
    assert await job.run_if_due() is None
    assert await last_run(db) == date(2026, 3, 16)

    desk.clock.now = beijing(3, 17, 8, 0)
    report = await job.run_if_due()
    assert report is not None and report.day == date(2026, 3, 17)
    assert await last_run(db) == date(2026, 3, 17)


async def test_each_office_is_reminded_of_its_cases_due_within_three_days_or_overdue(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    # Registration deadlines (15 days, next working day) seen on Monday 16 March:
    overdue = await desk.file(Person(501), beijing(2, 24))  # Wednesday 11 March
    today = await desk.file(Person(502), beijing(2, 27))  # Saturday 14 March → Monday 16
    in_three_days = await desk.file(Person(503), beijing(3, 4))  # Thursday 19 March
    await desk.file(Person(504), beijing(3, 5))  # Friday 20 March: not yet
    wuhou = await desk.file(Person(505), beijing(2, 25), place=WUHOU_PLACE)  # Thursday 12 March
    written = len(await desk.outbox())

    desk.clock.now = beijing(3, 16, 8, 0)
    report = await daily(desk).run_if_due()

    assert report == DailyReport(date(2026, 3, 16), ["cd-jinjiang", "cd-wuhou"], [])
    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("reminder", JINJIANG.group), ("reminder", WUHOU.group)]
    assert all(row.case_id is None for row in rows)

    async def item(case_id: int, due: str) -> list[str]:
        return [(await desk.case(case_id)).number, "submitted", due]

    assert rows[0].payload == {
        "locale": "zh_CN",
        "today": "2026-03-16",
        "days": 3,
        "more": 0,
        "items": [
            await item(overdue, "2026-03-11"),
            await item(today, "2026-03-16"),
            await item(in_three_days, "2026-03-19"),
        ],
    }
    assert rows[1].payload["items"] == [await item(wuhou, "2026-03-12")]


async def test_a_review_window_that_ended_yesterday_closes_the_case(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(506)
    ended = await desk.answered(owner, beijing(3, 2), beijing(3, 16))  # window to 15 April
    still_open = await desk.answered(Person(507), beijing(3, 2), beijing(3, 17))  # to 16 April
    open_before = await desk.trail(still_open)
    written = len(await desk.outbox())

    desk.clock.now = beijing(4, 16, 8, 0)
    report = await daily(desk).run_if_due()

    number = (await desk.case(ended)).number
    assert report == DailyReport(date(2026, 4, 16), [], [number])
    case = await desk.case(ended)
    assert (case.state, case.due_on) == ("closed", None)
    event = (await desk.events(ended))[-1]
    assert (event.action, event.actor_kind, event.actor_id, event.at) == (
        "lapse",
        "system",
        None,
        desk.clock.now,
    )
    assert (event.from_state, event.to_state) == ("answered", "closed")
    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("lapsed", owner.user_id), ("alert_refresh", JINJIANG.group)]
    assert rows[0].case_id == ended
    assert (await desk.trail(still_open))[:2] == open_before[:2]  # its row and its history


async def test_after_days_of_downtime_one_call_catches_up_on_everything_missed(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    # Answered on 15–18 March: windows end on Tuesday 14 to Friday 17 April.
    windows = [
        await desk.answered(Person(510 + day), beijing(3, 2), beijing(3, day))
        for day in (15, 16, 17, 18)
    ]
    numbers = [(await desk.case(case_id)).number for case_id in windows]
    job = daily(desk)
    desk.clock.now = beijing(4, 14, 9, 0)
    assert await job.run_if_due() == DailyReport(date(2026, 4, 14), [], [])

    # Down from then until Friday 17 April, 10:00: not a single call in between.
    desk.clock.now = beijing(4, 17, 10, 0)
    report = await job.run_if_due()

    assert report == DailyReport(date(2026, 4, 17), [], numbers[:3])
    states = [(await desk.case(case_id)).state for case_id in windows]
    assert states == ["closed", "closed", "closed", "answered"]
    assert await last_run(db) == date(2026, 4, 17)
    assert await job.run_if_due() is None


async def test_a_second_process_on_the_same_database_finds_the_day_claimed(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    other_db = Database(db.url)
    try:
        other_directory = Directory(other_db, directory.root)
        await other_directory.load()
        other_casework = Casework(other_db, other_directory, TZ, clock=desk.clock)
        other = Reminders(other_db, other_casework, TZ, hour=8, days=3, clock=desk.clock)

        # The first run ever: both ask at the same moment, exactly one of them runs.
        desk.clock.now = beijing(3, 16, 8, 0)
        reports = await asyncio.gather(daily(desk).run_if_due(), other.run_if_due())
        assert sorted(report is None for report in reports) == [False, True]
        desk.clock.now = beijing(3, 16, 12, 0)
        assert await other.run_if_due() is None

        # The next day the other process comes first.
        desk.clock.now = beijing(3, 17, 8, 0)
        assert await other.run_if_due() is not None
        assert await daily(desk).run_if_due() is None
    finally:
        await other_db.dispose()
