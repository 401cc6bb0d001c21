"""The petitioner's side of the lifecycle with a controlled clock, on SQLite and PostgreSQL.

The review window closes at 23:59 Beijing time on its last day; each opinion may be rated once;
follow-ups go to the office. After each action the test reads the case's history and the outbox
rows it wrote; after a refused one, nothing.
"""

from __future__ import annotations

from datetime import date

from bot.casework import Done, NeedText
from bot.directory import Directory
from storage.db import Database
from tests.desk import CHENGDU, JINJIANG, beijing, kinds, make_desk, refused
from tests.test_intake_usecases import Person

# --- the review window ------------------------------------------------------------------------


async def test_a_review_may_be_requested_until_23_59_beijing_time_on_the_last_day(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(407)
    case_id = await desk.answered(owner, beijing(3, 2), beijing(3, 10))
    assert (await desk.case(case_id)).due_on == date(2026, 4, 9)  # 10 March + 30

    desk.clock.now = beijing(4, 9, 23, 59)  # 15:59 UTC
    written = len(await desk.outbox())
    done = await desk.petitioner(owner, case_id, "request_review", text="处理意见认定事实不清。")

    assert isinstance(done, Done) and done.state == "review_requested"
    case = await desk.case(case_id)
    # 9 April + 30 = Saturday 9 May, an adjusted working day.
    assert (case.office_id, case.due_on) == ("cd", date(2026, 5, 9))
    event = (await desk.events(case_id))[-1]
    assert (event.actor_kind, event.actor_id, event.from_state, event.to_state) == (
        "petitioner",
        owner.user_id,
        "answered",
        "review_requested",
    )
    assert (event.office_id, event.public_text) == ("cd", "处理意见认定事实不清。")
    # The case went one level up: the office above gets a new alert, the one below a refresh.
    assert kinds((await desk.outbox())[written:]) == [
        ("status", owner.user_id),
        ("alert_refresh", JINJIANG.group),
        ("alert", CHENGDU.group),
    ]


async def test_a_review_requested_the_next_beijing_day_is_refused(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner, other = Person(408), Person(409)
    case_id = await desk.answered(owner, beijing(3, 2), beijing(3, 10))  # window to 9 April
    begun = await desk.answered(other, beijing(3, 2), beijing(3, 10))

    # The other petitioner begins a request at 23:58 on the last day.
    desk.clock.now = beijing(4, 9, 23, 58)
    assert isinstance(await desk.petitioner(other, begun, "request_review"), NeedText)

    desk.clock.now = beijing(4, 10, 0, 0)  # still 9 April in UTC
    await refused(desk, case_id, "window_closed", desk.petitioner(owner, case_id, "request_review"))
    # Its reason, sent after midnight, is refused as well.
    desk.clock.now = beijing(4, 10, 0, 1)
    text = desk.casework.petitioner_text(other.next(), "处理意见认定事实不清。")
    await refused(desk, begun, "window_closed", text)


# --- ratings and follow-ups -------------------------------------------------------------------


async def test_each_opinion_may_be_rated_once(db: Database, directory: Directory) -> None:
    desk = await make_desk(db, directory)
    owner = Person(412)
    case_id = await desk.answered(owner, beijing(3, 2), beijing(3, 10))

    written = len(await desk.outbox())
    done = await desk.petitioner(owner, case_id, "rate", "satisfied")
    assert isinstance(done, Done) and done.state == "answered"
    assert (await desk.case(case_id)).rating == "satisfied"
    event = (await desk.events(case_id))[-1]
    assert (event.action, event.detail, event.from_state, event.to_state) == (
        "rate",
        "satisfied",
        "answered",
        "answered",
    )
    # No state change, so nothing for the petitioner; the office is told.
    assert kinds((await desk.outbox())[written:]) == [
        ("alert_refresh", JINJIANG.group),
        ("staff_message", JINJIANG.group),
    ]
    await refused(
        desk, case_id, "already_rated", desk.petitioner(owner, case_id, "rate", "not_satisfied")
    )

    # The review's decision is a new opinion: it may be rated, once.
    await desk.petitioner(owner, case_id, "request_review", text="处理意见认定事实不清。")
    await desk.staff(CHENGDU, case_id, "decide_review", "upheld", "维持原处理意见。")
    asked = await desk.petitioner(owner, case_id, "rate", "not_satisfied")
    assert isinstance(asked, NeedText)
    await desk.casework.petitioner_text(owner.next(), "复查没有听取我的意见。")
    case = await desk.case(case_id)
    assert (case.rating, case.rated_seq, case.opinion_seq) == ("not_satisfied", 2, 2)
    await refused(
        desk, case_id, "already_rated", desk.petitioner(owner, case_id, "rate", "satisfied")
    )


async def test_a_follow_up_goes_to_the_office_and_not_back_to_the_petitioner(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(414)
    case_id = await desk.file(owner, beijing(3, 2))
    written = len(await desk.outbox())

    await desk.petitioner(owner, case_id, "follow_up", text="补充：村委会仍未答复。")

    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("alert_refresh", JINJIANG.group), ("staff_message", JINJIANG.group)]
    assert rows[1].payload["text"] == "补充：村委会仍未答复。"
