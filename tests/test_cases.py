"""Case numbers (format and parsing), query codes, and the petitioner's read-only case views."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.cases import Cases, State, case_number, new_query_code, parse_case_number
from bot.directory import Directory
from storage.db import Database
from storage.models import Case
from tests.test_intake_usecases import WUHOU, Clock, Person, file_case, make_intake

# --- numbers ---------------------------------------------------------------------------------


def test_a_case_number_is_xf_the_year_and_six_digits() -> None:
    assert case_number(2026, 1) == "XF2026-000001"
    assert case_number(2026, 42) == "XF2026-000042"
    assert case_number(2027, 999_999) == "XF2027-999999"


@pytest.mark.parametrize(
    "typed",
    [
        "XF2026-000042",
        "xf2026-000042",
        "Xf2026-000042",
        "  XF2026-000042 \n",
        "\u3000XF2026-000042\u3000",  # ideographic spaces
        "ＸＦ２０２６－００００４２",  # full-width letters, digits and hyphen
        "ｘｆ２０２６－００００４２",
        "XF２０２６-０００042",
        "XF2026—000042",  # an em dash from an input method
    ],
)
def test_a_typed_case_number_is_read_in_its_canonical_form(typed: str) -> None:
    assert parse_case_number(typed) == "XF2026-000042"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "XF2026",
        "XF2026-42",
        "XF2026-00042",  # five digits
        "XF2026-0000042",  # seven digits
        "XF26-000042",
        "XA2026-000042",
        "2026-000042",
        "XF2026000042",
        "XF2026-000042 谢谢",  # not only a case number
        "我的案件 XF2026-000042",
        "XF2026-000042\nXF2026-000043",
        "XF٢٠٢٦-٠٠٠٠٤٢",  # Arabic-Indic digits are not a case number
        "XF２０２６-000042x",
        "X" * 10_000,
    ],
)
def test_anything_else_is_not_a_case_number(typed: str) -> None:
    assert parse_case_number(typed) is None


def test_parsing_a_number_gives_the_same_number_back() -> None:
    for year, seq in ((2026, 1), (2027, 123_456), (2099, 999_999)):
        number = case_number(year, seq)
        assert parse_case_number(number) == number
        assert parse_case_number(number.lower()) == number


def test_a_query_code_is_eight_unambiguous_characters() -> None:
    codes = {new_query_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8
        assert set(code) <= set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        assert not set(code) & set("01OI")


# --- reading one's own cases -----------------------------------------------------------------


async def test_status_shows_a_case_to_its_petitioner(db: Database, directory: Directory) -> None:
    clock = Clock()
    intake = await make_intake(db, directory, clock)
    owner = Person(301)
    receipt = await file_case(intake, owner)

    found = await Cases(db, directory).status(owner.user_id, receipt.number)

    assert found is not None and not found.as_staff
    summary = found.case
    assert (summary.number, summary.state, summary.office_id) == (
        receipt.number,
        "submitted",
        "cd-jinjiang",
    )
    assert summary.submitted_at == clock.now
    assert summary.registration_due == receipt.registration_due == summary.due_on
    assert (summary.place_code, summary.category_code) == ("510104", "0102")
    assert [(e.action, e.to_state, e.office_id) for e in summary.history] == [
        ("submit", "submitted", "cd-jinjiang")
    ]


async def test_status_of_someone_elses_case_is_none_exactly_as_for_a_missing_one(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    owner, stranger = Person(302), Person(303)
    receipt = await file_case(intake, owner)
    await file_case(intake, stranger, place=WUHOU)
    cases = Cases(db, directory)

    theirs = await cases.status(stranger.user_id, receipt.number)
    missing = await cases.status(stranger.user_id, "XF2026-000099")
    nobody = await cases.status(999_999, receipt.number)

    assert theirs is None and missing is None and nobody is None
    assert await cases.status(owner.user_id, "XF2026-000099") is None
    assert await cases.status(owner.user_id, receipt.number) is not None


async def test_a_closed_case_still_shows_its_state(db: Database, directory: Directory) -> None:
    intake = await make_intake(db, directory)
    owner = Person(304)
    receipt = await file_case(intake, owner)
    async with db.sessions.begin() as session:
        await session.execute(
            update(Case).where(Case.number == receipt.number).values(state=State.CLOSED.value)
        )

    found = await Cases(db, directory).status(owner.user_id, receipt.number)

    assert found is not None and found.case.state == "closed"


async def test_my_cases_lists_only_ones_own_newest_first_a_page_at_a_time(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    owner, stranger = Person(305), Person(306)
    matters = [
        ("请求补发耕地地力保护补贴", "2025年的耕地地力保护补贴至今没有发放。"),
        ("请求修缮村口道路", "村口道路多处塌陷，雨天无法通行，已有老人摔伤。"),
        ("请求公开村务账目", "村里的账目三年没有公开，村民多次要求未果。"),
    ]
    mine = []
    for request, facts in matters:
        receipt = await file_case(intake, owner, request=request, facts=facts)
        mine.append(receipt.number)
        await file_case(intake, stranger, request=request, facts=facts, place=WUHOU)
    cases = Cases(db)

    first = await cases.mine(owner.user_id, per_page=2)
    second = await cases.mine(owner.user_id, page=1, per_page=2)

    assert [c.number for c in first.items] == mine[:0:-1]
    assert [c.number for c in second.items] == mine[:1]
    assert (first.page, first.pages, first.total) == (0, 2, 3)
    assert (second.page, second.pages) == (1, 2)
    assert (await cases.mine(999_999)).items == []
    # A page past the end shows the last page.
    assert [c.number for c in (await cases.mine(owner.user_id, page=9, per_page=2)).items] == (
        mine[:1]
    )
