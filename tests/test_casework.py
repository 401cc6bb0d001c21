"""The case lifecycle's office-side use cases with a controlled clock, on SQLite and PostgreSQL.

Acceptance and its 60 days, extension and its guard, transfer and the 5-working-day return,
internal notes, and who may act at all. Moments are Beijing time (`beijing`), stored in UTC, so
a deadline's last day ends at 23:59 Beijing time, 15:59 UTC. After each action the test reads
the case's history and the outbox rows the action wrote in its transaction; after a refused
one, nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.casework import Done, NeedChoice, NeedText
from bot.directory import Directory
from storage.db import Database
from tests.desk import CHENGDU, JINJIANG, WUHOU, beijing, kinds, make_desk, refused
from tests.test_intake_usecases import Person

# --- time zone --------------------------------------------------------------------------------


async def test_deadlines_count_from_the_beijing_date_not_the_utc_date(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    at = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Beijing
    early, late = await desk.file(Person(401), at), await desk.file(Person(402), at)
    assert (await desk.case(early)).registration_due == date(2026, 12, 16)

    # The same UTC day, two minutes apart: 23:59 on 3 December and 00:01 on 4 December.
    desk.clock.now = datetime(2026, 12, 3, 15, 59, tzinfo=UTC)
    await desk.staff(JINJIANG, early, "accept")
    desk.clock.now = datetime(2026, 12, 3, 16, 1, tzinfo=UTC)
    await desk.staff(JINJIANG, late, "accept")

    first, second = await desk.case(early), await desk.case(late)
    assert (first.accepted_on, first.handling_due) == (date(2026, 12, 3), date(2027, 2, 1))
    assert (second.accepted_on, second.handling_due) == (date(2026, 12, 4), date(2027, 2, 2))


# --- acceptance and extension -----------------------------------------------------------------


async def test_accepting_tells_the_petitioner_and_refreshes_the_alert(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(403)
    case_id = await desk.file(owner, beijing(3, 2))
    written = len(await desk.outbox())

    desk.clock.now = beijing(3, 5, 9, 30)
    done = await desk.staff(JINJIANG, case_id, "accept")

    assert done == Done(case_id, done.number, "accept", None, "accepted")
    case = await desk.case(case_id)
    # 5 March + 60 = 4 May, in the Labour Day holiday → Wednesday 6 May.
    assert (case.accepted_on, case.handling_due, case.due_on) == (
        date(2026, 3, 5),
        date(2026, 5, 6),
        date(2026, 5, 6),
    )
    event = (await desk.events(case_id))[-1]
    assert (event.action, event.actor_kind, event.actor_id, event.at) == (
        "accept",
        "staff",
        JINJIANG.user_id,
        desk.clock.now,
    )
    assert (event.from_state, event.to_state, event.office_id) == (
        "submitted",
        "accepted",
        "cd-jinjiang",
    )
    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("status", owner.user_id), ("alert_refresh", JINJIANG.group)]
    assert rows[0].payload["due"] == "2026-05-06" and rows[0].case_id == case_id


async def test_an_extension_is_granted_with_a_reason_until_the_handling_deadline(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(404)
    case_id = await desk.file(owner, beijing(3, 5))
    await desk.staff(JINJIANG, case_id, "accept")  # handling due Wednesday 6 May

    desk.clock.now = beijing(5, 6, 23, 59)
    asked = await desk.staff(JINJIANG, case_id, "extend")
    assert isinstance(asked, NeedChoice) and asked.choices == ("10", "20", "30")
    written = len(await desk.outbox())
    done = await desk.staff(JINJIANG, case_id, "extend", "30", "需要调取村委会账目。")

    assert isinstance(done, Done) and done.state == "extended"
    case = await desk.case(case_id)
    assert (case.handling_due, case.due_on, case.extension_days) == (
        date(2026, 6, 5),
        date(2026, 6, 5),
        30,
    )
    event = (await desk.events(case_id))[-1]
    assert (event.action, event.detail, event.public_text, event.internal_note) == (
        "extend",
        "30",
        "需要调取村委会账目。",
        None,
    )
    rows = (await desk.outbox())[written:]
    assert kinds(rows) == [("status", owner.user_id), ("alert_refresh", JINJIANG.group)]
    assert (rows[0].payload["days"], rows[0].payload["text"]) == (30, "需要调取村委会账目。")


async def test_an_extension_is_refused_once_the_handling_deadline_has_passed(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    case_id = await desk.file(Person(405), beijing(3, 5))
    await desk.staff(JINJIANG, case_id, "accept")  # handling due Wednesday 6 May

    desk.clock.now = beijing(5, 7, 0, 0)
    await refused(desk, case_id, "extension_late", desk.staff(JINJIANG, case_id, "extend", "30"))

    # Asked for on the last day, its reason sent after midnight: refused all the same.
    other = await desk.file(Person(406), beijing(3, 5))
    await desk.staff(JINJIANG, other, "accept")
    desk.clock.now = beijing(5, 6, 23, 58)
    assert isinstance(await desk.staff(JINJIANG, other, "extend", "30"), NeedText)
    desk.clock.now = beijing(5, 7, 0, 1)
    text = desk.casework.staff_text(JINJIANG.user_id, JINJIANG.group, "需要调取村委会账目。")
    await refused(desk, other, "extension_late", text)


# --- transfer, return, notes, who may act ------------------------------------------------------


async def test_a_transferred_case_is_returned_within_five_working_days_across_national_day(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(410)
    case_id = await desk.file(owner, beijing(9, 28))  # registration due Tuesday 13 October
    late_id = await desk.file(Person(411), beijing(9, 28))

    desk.clock.now = beijing(9, 29)
    asked = await desk.staff(JINJIANG, case_id, "transfer")
    assert isinstance(asked, NeedChoice) and "cd-wuhou" in asked.choices
    assert "cd-jinjiang" not in asked.choices
    await desk.staff(JINJIANG, late_id, "transfer", "cd-wuhou")
    written = len(await desk.outbox())
    await desk.staff(JINJIANG, case_id, "transfer", "cd-wuhou")

    case = await desk.case(case_id)
    # Five working days: 30 September, 8, 9, 10 (a worked Saturday) and 12 October.
    assert (case.state, case.office_id, case.previous_office_id, case.return_due) == (
        "transferred",
        "cd-wuhou",
        "cd-jinjiang",
        date(2026, 10, 12),
    )
    assert (case.registration_due, case.due_on) == (date(2026, 10, 14), date(2026, 10, 14))
    assert kinds((await desk.outbox())[written:]) == [
        ("status", owner.user_id),
        ("alert_refresh", JINJIANG.group),
        ("alert", WUHOU.group),
    ]

    desk.clock.now = beijing(10, 12, 23, 59)
    written = len(await desk.outbox())
    done = await desk.staff(WUHOU, case_id, "return", text="该事项不属于本区管辖。")
    assert isinstance(done, Done) and done.state == "submitted"
    case = await desk.case(case_id)
    assert (case.office_id, case.previous_office_id, case.return_due) == ("cd-jinjiang", None, None)
    assert (case.registration_due, case.due_on) == (date(2026, 10, 13), date(2026, 10, 13))
    event = (await desk.events(case_id))[-1]
    assert (event.actor_id, event.from_state, event.to_state, event.office_id) == (
        WUHOU.user_id,
        "transferred",
        "submitted",
        "cd-jinjiang",
    )
    assert kinds((await desk.outbox())[written:]) == [
        ("status", owner.user_id),
        ("alert_refresh", WUHOU.group),
        ("alert", JINJIANG.group),
    ]

    desk.clock.now = beijing(10, 13, 0, 0)
    await refused(desk, late_id, "return_late", desk.staff(WUHOU, late_id, "return"))


async def test_a_note_is_kept_internal_and_only_refreshes_the_alert(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    case_id = await desk.file(Person(413), beijing(3, 2))
    written = len(await desk.outbox())

    done = await desk.staff(JINJIANG, case_id, "note", text="已电话联系村委会。")

    assert isinstance(done, Done) and done.state == "submitted"
    event = (await desk.events(case_id))[-1]
    assert (event.action, event.public_text, event.internal_note) == (
        "note",
        None,
        "已电话联系村委会。",
    )
    assert kinds((await desk.outbox())[written:]) == [("alert_refresh", JINJIANG.group)]


async def test_an_action_from_the_wrong_person_or_state_changes_nothing(
    db: Database, directory: Directory
) -> None:
    desk = await make_desk(db, directory)
    owner = Person(415)
    case_id = await desk.file(owner, beijing(3, 2))

    await refused(desk, case_id, "not_authorised", desk.staff(WUHOU, case_id, "accept"))
    not_owner = desk.petitioner(Person(416), case_id, "withdraw")
    await refused(desk, case_id, "case_not_found", not_owner)
    wrong_state = desk.petitioner(owner, case_id, "request_review")
    await refused(desk, case_id, "action_unavailable", wrong_state)
    # Staff of the office above may act on it.
    assert isinstance(await desk.staff(CHENGDU, case_id, "accept"), Done)
