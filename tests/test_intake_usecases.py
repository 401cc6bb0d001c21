"""The intake use cases without Telegram: a draft walked step by step into a case.

Every test runs on SQLite and on PostgreSQL (`db`) with the example deployment: root 四川省,
510104 锦江区 → office cd-jinjiang, 510107 武侯区 → cd-wuhou. The clock is a `Clock` the test
moves; each `Person.next()` is a new Telegram update of that person (increasing update ids).
Category 0102 (惠农补贴) has no legal route, 0101 (土地承包经营) has one (arbitration).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.cases import State
from bot.deadlines import registration_due
from bot.directory import Directory
from bot.errors import DomainError, DuplicateUpdate, StaleAction
from bot.intake import (
    EDITABLE,
    PREVIOUS,
    AttachmentIn,
    DraftView,
    Expired,
    FollowUp,
    Intake,
    Limits,
    PossibleDuplicate,
    Receipt,
    Step,
)
from bot.petitioners import Actor
from storage.db import Database
from storage.models import Attachment, Case, CaseCounter, CaseEvent, Draft, Petitioner

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 2 March 2026, 10:00 in Shanghai
QUERY_ALPHABET = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

JINJIANG, WUHOU = "510104", "510107"
SUBSIDY, LAND_CONTRACT, VILLAGE = "0102", "0101", "0103"  # 0101 has a legal route

REQUEST = "请求补发2025年耕地地力保护补贴"
FACTS = (
    "我家在锦江区三圣街道承包耕地五亩，2025年的耕地地力保护补贴至今没有发放，多次询问村委会无果。"
)


class Clock:
    """The use cases' `now`: fixed until the test moves it."""

    def __init__(self, now: datetime = MONDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Person:
    """A Telegram user in a private chat; `next()` is each new update they cause."""

    def __init__(self, user_id: int, language_code: str | None = "zh-hans") -> None:
        self.user_id = user_id
        self.language_code = language_code
        self.update_id = 1000

    def next(self) -> Actor:
        self.update_id += 1
        return self.again()

    def again(self) -> Actor:
        """The last update once more, as Telegram redelivers it."""
        return Actor(self.user_id, self.user_id, self.update_id, self.language_code)


async def make_intake(
    db: Database, directory: Directory, clock: Clock | None = None, limits: Limits | None = None
) -> Intake:
    await directory.load()
    return Intake(db, directory, TZ, limits or Limits(), clock=clock or Clock())


def photo(n: int = 1) -> AttachmentIn:
    return AttachmentIn("photo", f"file-{n}", f"unique-{n}", None, "image/jpeg", 50_000)


async def fill(
    intake: Intake,
    person: Person,
    *,
    place: str = JINJIANG,
    category: str = SUBSIDY,
    request: str = REQUEST,
    facts: str = FACTS,
    attachments: int = 0,
) -> DraftView:
    """A new draft answered up to the review screen."""
    draft, _ = await intake.start(person.next())
    await intake.consent(person.next(), draft.id)
    await intake.choose_type(person.next(), draft.id, "appeal")
    await intake.choose_place(person.next(), draft.id, place)
    view = await intake.choose_category(person.next(), draft.id, category)
    if view.step == Step.ROUTE:
        await intake.submit_anyway(person.next(), draft.id)
    await intake.set_request(person.next(), draft.id, request)
    await intake.add_facts(person.next(), draft.id, facts)
    await intake.facts_done(person.next(), draft.id)
    for n in range(attachments):
        await intake.add_attachment(person.next(), draft.id, photo(n))
    await intake.attachments_done(person.next(), draft.id)
    await intake.set_name(person.next(), draft.id, "张三")
    await intake.set_phone(person.next(), draft.id, "138 0013 8000")
    view = await intake.set_address(person.next(), draft.id, "四川省成都市锦江区红星路一段1号")
    assert view.step == Step.REVIEW
    return view


async def file_case(intake: Intake, person: Person, **answers: str) -> Receipt:
    draft = await fill(intake, person, **answers)  # type: ignore[arg-type]
    receipt = await intake.submit(person.next(), draft.id)
    assert isinstance(receipt, Receipt)
    return receipt


async def count(db: Database, model: type, *where: object) -> int:
    async with db.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int((await session.execute(stmt)).scalar_one())


async def case_row(db: Database, number: str) -> Case:
    async with db.sessions() as session:
        return (await session.execute(select(Case).where(Case.number == number))).scalar_one()


async def draft_row(db: Database, draft_id: int) -> Draft:
    async with db.sessions() as session:
        draft = await session.get(Draft, draft_id)
        assert draft is not None
        return draft


# --- the whole way --------------------------------------------------------------------------


async def test_a_draft_walked_through_every_step_becomes_the_first_case_of_the_year(
    db: Database, directory: Directory
) -> None:
    clock = Clock()
    intake = await make_intake(db, directory, clock)
    person = Person(101)

    draft, resumed = await intake.start(person.next())
    assert (draft.step, resumed, draft.back_to_review) == (Step.CONSENT, False, False)
    assert (await intake.consent(person.next(), draft.id)).step == Step.TYPE
    assert (await intake.choose_type(person.next(), draft.id, "appeal")).step == Step.PLACE
    view = await intake.propose_place(person.next(), draft.id, WUHOU)
    assert (view.step, view.place_candidate) == (Step.PLACE_CONFIRM, WUHOU)
    view = await intake.reject_place(person.next(), draft.id)
    assert (view.step, view.place_candidate) == (Step.PLACE, None)
    view = await intake.propose_place(person.next(), draft.id, JINJIANG)
    view = await intake.choose_place(person.next(), draft.id, JINJIANG)
    assert (view.step, view.place_code, view.place_candidate) == (Step.CATEGORY, JINJIANG, None)
    view = await intake.choose_category(person.next(), draft.id, LAND_CONTRACT)
    assert view.step == Step.ROUTE
    view = await intake.other_category(person.next(), draft.id)
    assert (view.step, view.category_code) == (Step.CATEGORY, None)
    view = await intake.choose_category(person.next(), draft.id, SUBSIDY)
    assert (view.step, view.category_code, view.route_acknowledged) == (
        Step.REQUEST,
        SUBSIDY,
        False,
    )
    view = await intake.set_request(person.next(), draft.id, f"  {REQUEST}\u202e ")
    assert (view.step, view.request_text) == (Step.FACTS, REQUEST)
    view = await intake.add_facts(person.next(), draft.id, FACTS)
    view = await intake.add_facts(person.next(), draft.id, "村委会说补贴已经发放。")
    assert view.step == Step.FACTS
    assert view.facts_text == f"{FACTS}\n\n村委会说补贴已经发放。"
    assert (await intake.facts_done(person.next(), draft.id)).step == Step.ATTACHMENTS
    await intake.add_attachment(person.next(), draft.id, photo(1))
    view = await intake.add_attachment(person.next(), draft.id, photo(2))
    assert (view.step, view.attachments) == (Step.ATTACHMENTS, 2)
    assert (await intake.attachments_done(person.next(), draft.id)).step == Step.NAME
    view = await intake.set_name(person.next(), draft.id, " 张三 ")
    assert (view.step, view.name) == (Step.PHONE, "张三")
    view = await intake.set_phone(person.next(), draft.id, "138 0013 8000")
    assert (view.step, view.phone) == (Step.ADDRESS, "+8613800138000")
    view = await intake.set_address(person.next(), draft.id, "四川省成都市锦江区红星路一段1号")
    assert (view.step, view.address) == (Step.REVIEW, "四川省成都市锦江区红星路一段1号")
    assert view.petition_type == "appeal"
    assert await intake.current(person.user_id) == view

    receipt = await intake.submit(person.next(), draft.id)

    assert isinstance(receipt, Receipt)
    assert receipt.number == "XF2026-000001"
    assert len(receipt.query_code) == 8 and set(receipt.query_code) <= QUERY_ALPHABET
    assert receipt.office.id == "cd-jinjiang"
    assert receipt.registration_due == date(2026, 3, 17)  # 2 March + 15 days, a Tuesday
    assert receipt.registration_due == registration_due(clock.now, TZ)
    assert receipt.submitted_at == clock.now
    assert receipt.again is False
    assert await intake.current(person.user_id) is None

    case = await case_row(db, receipt.number)
    assert (case.year, case.seq, case.state, case.office_id) == (
        2026,
        1,
        "submitted",
        "cd-jinjiang",
    )
    assert (case.place_code, case.category_code, case.petition_type) == (
        JINJIANG,
        SUBSIDY,
        "appeal",
    )
    assert (case.request_text, case.name, case.phone) == (REQUEST, "张三", "+8613800138000")
    assert case.facts_text == view.facts_text and case.language == "zh_CN"
    assert case.query_code == receipt.query_code and case.draft_id == draft.id
    assert (await draft_row(db, draft.id)).status == "submitted"
    async with db.sessions() as session:
        events = (await session.execute(select(CaseEvent))).scalars().all()
        files = (await session.execute(select(Attachment))).scalars().all()
        counter = await session.get(CaseCounter, 2026)
    assert [(e.case_id, e.action, e.from_state, e.to_state) for e in events] == [
        (case.id, "submit", None, "submitted")
    ]
    assert [(f.file_id, f.case_id) for f in files] == [("file-1", case.id), ("file-2", case.id)]
    assert counter is not None and counter.last == 1


async def test_a_route_acknowledged_at_the_route_step_is_kept_on_the_case(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(102)
    draft = await fill(intake, person, category=LAND_CONTRACT)
    assert (draft.category_code, draft.route_acknowledged) == (LAND_CONTRACT, True)

    receipt = await intake.submit(person.next(), draft.id)

    assert isinstance(receipt, Receipt)
    assert (await case_row(db, receipt.number)).route_acknowledged is True


async def test_a_place_outside_the_root_or_above_county_level_is_refused(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(103)
    draft, _ = await intake.start(person.next())
    await intake.consent(person.next(), draft.id)
    await intake.choose_type(person.next(), draft.id, "suggestion")

    for code, error in (("110108", "place_outside"), ("510100", "place_not_county")):
        with pytest.raises(DomainError) as refused:
            await intake.choose_place(person.next(), draft.id, code)
        assert refused.value.code == error
    with pytest.raises(DomainError) as unknown:
        await intake.propose_place(person.next(), draft.id, None)
    assert unknown.value.code == "location_unknown"
    with pytest.raises(StaleAction):
        await intake.choose_type(person.next(), draft.id, "complaint")  # not a petition type
    view = await intake.current(person.user_id)
    assert view is not None and (view.step, view.place_code) == (Step.PLACE, None)
    assert (await intake.choose_place(person.next(), draft.id, JINJIANG)).step == Step.CATEGORY


# --- answers that do not belong to the draft's step -------------------------------------------

Answer = Callable[[Intake, Actor, int], Awaitable[object]]

# One answer of each step; each is refused (StaleAction) when the draft is at another step.
ANSWERS: dict[Step, Answer] = {
    Step.CONSENT: lambda i, a, d: i.consent(a, d),
    Step.TYPE: lambda i, a, d: i.choose_type(a, d, "appeal"),
    Step.PLACE: lambda i, a, d: i.propose_place(a, d, JINJIANG),
    Step.PLACE_CONFIRM: lambda i, a, d: i.reject_place(a, d),
    Step.CATEGORY: lambda i, a, d: i.choose_category(a, d, SUBSIDY),
    Step.ROUTE: lambda i, a, d: i.submit_anyway(a, d),
    Step.REQUEST: lambda i, a, d: i.set_request(a, d, REQUEST),
    Step.FACTS: lambda i, a, d: i.add_facts(a, d, FACTS),
    Step.ATTACHMENTS: lambda i, a, d: i.add_attachment(a, d, photo()),
    Step.NAME: lambda i, a, d: i.set_name(a, d, "李四"),
    Step.PHONE: lambda i, a, d: i.set_phone(a, d, "13900139000"),
    Step.ADDRESS: lambda i, a, d: i.set_address(a, d, "成都市武侯区某某路2号"),
    Step.REVIEW: lambda i, a, d: i.submit(a, d),
    Step.DUPLICATE: lambda i, a, d: i.follow_up(a, d),
}
# Answers that are also taken at a neighbouring step.
ALSO_AT = {Step.PLACE: {Step.PLACE_CONFIRM}}


async def assert_only_its_own_step_answers(intake: Intake, person: Person, draft_id: int) -> None:
    before = await intake.current(person.user_id)
    assert before is not None
    for step, answer in ANSWERS.items():
        if step == before.step or before.step in ALSO_AT.get(step, ()):
            continue
        with pytest.raises(StaleAction):
            await answer(intake, person.next(), draft_id)
    for step in PREVIOUS:  # the Back button of another step
        if step != before.step:
            with pytest.raises(StaleAction):
                await intake.back(person.next(), draft_id, step)
    if before.step != Step.REVIEW:  # Edit is a button of the review only
        with pytest.raises(StaleAction):
            await intake.edit(person.next(), draft_id, "name")
    assert await intake.current(person.user_id) == before


async def test_each_step_refuses_the_answers_of_every_other_step(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(104)
    draft, _ = await intake.start(person.next())
    d = draft.id

    await assert_only_its_own_step_answers(intake, person, d)  # consent
    await intake.consent(person.next(), d)
    await assert_only_its_own_step_answers(intake, person, d)  # type
    await intake.choose_type(person.next(), d, "accusation")
    await assert_only_its_own_step_answers(intake, person, d)  # place
    await intake.propose_place(person.next(), d, JINJIANG)
    await assert_only_its_own_step_answers(intake, person, d)  # place_confirm
    await intake.choose_place(person.next(), d, JINJIANG)
    await assert_only_its_own_step_answers(intake, person, d)  # category
    await intake.choose_category(person.next(), d, LAND_CONTRACT)
    await assert_only_its_own_step_answers(intake, person, d)  # route
    await intake.submit_anyway(person.next(), d)
    await assert_only_its_own_step_answers(intake, person, d)  # request
    await intake.set_request(person.next(), d, REQUEST)
    await assert_only_its_own_step_answers(intake, person, d)  # facts
    await intake.add_facts(person.next(), d, FACTS)
    await intake.facts_done(person.next(), d)
    await assert_only_its_own_step_answers(intake, person, d)  # attachments
    await intake.attachments_done(person.next(), d)
    await assert_only_its_own_step_answers(intake, person, d)  # name
    await intake.set_name(person.next(), d, "张三")
    await assert_only_its_own_step_answers(intake, person, d)  # phone
    await intake.set_phone(person.next(), d, "13800138000")
    await assert_only_its_own_step_answers(intake, person, d)  # address
    await intake.set_address(person.next(), d, "四川省成都市锦江区红星路一段1号")
    await assert_only_its_own_step_answers(intake, person, d)  # review
    assert (await intake.current(person.user_id)).step == Step.REVIEW  # type: ignore[union-attr]
    assert await count(db, Case) == 0


async def test_a_button_of_an_earlier_draft_or_of_someone_else_is_refused(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person, stranger = Person(105), Person(106)
    old, _ = await intake.start(person.next())
    new, resumed = await intake.start(person.next(), fresh=True)
    assert not resumed and new.id != old.id

    with pytest.raises(StaleAction):
        await intake.consent(person.next(), old.id)  # same step, earlier draft
    with pytest.raises(StaleAction):
        await intake.consent(stranger.next(), new.id)  # someone else's draft
    with pytest.raises(StaleAction):
        await intake.submit(stranger.next(), new.id)
    assert (await intake.current(person.user_id)) == new

    await intake.consent(person.next(), new.id)
    assert (await intake.current(person.user_id)).step == Step.TYPE  # type: ignore[union-attr]


# --- redelivered updates ------------------------------------------------------------------


async def test_a_redelivered_update_raises_duplicate_update_and_changes_nothing(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(107)
    draft, _ = await intake.start(person.next())
    with pytest.raises(DuplicateUpdate):
        await intake.start(person.again(), fresh=True)
    await intake.consent(person.next(), draft.id)
    await intake.choose_type(person.next(), draft.id, "appeal")
    await intake.choose_place(person.next(), draft.id, JINJIANG)
    await intake.choose_category(person.next(), draft.id, SUBSIDY)
    await intake.set_request(person.next(), draft.id, REQUEST)
    facts = await intake.add_facts(person.next(), draft.id, FACTS)

    with pytest.raises(DuplicateUpdate):
        await intake.add_facts(person.again(), draft.id, FACTS)
    consent_update = Actor(person.user_id, person.user_id, person.update_id - 5, "zh-hans")
    with pytest.raises(DuplicateUpdate):
        await intake.back(consent_update, draft.id, Step.FACTS)  # an older update, late
    await intake.facts_done(person.next(), draft.id)
    files = await intake.add_attachment(person.next(), draft.id, photo())
    with pytest.raises(DuplicateUpdate):
        await intake.add_attachment(person.again(), draft.id, photo())
    with pytest.raises(DuplicateUpdate):
        await intake.cancel(person.again())

    after = await intake.current(person.user_id)
    assert after is not None and after.id == draft.id
    assert after.facts_text == facts.facts_text == FACTS
    assert after.attachments == files.attachments == 1
    assert after.step == Step.ATTACHMENTS
    assert await count(db, Draft) == 1
    async with db.sessions() as session:
        row = await session.get(Petitioner, person.user_id)
    assert row is not None and row.last_update_id == person.update_id


# --- starting, going back, editing ------------------------------------------------------------


async def test_start_resumes_the_open_draft_and_fresh_cancels_it_for_a_new_one(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(108)
    first, resumed = await intake.start(person.next())
    assert not resumed
    await intake.consent(person.next(), first.id)
    await intake.choose_type(person.next(), first.id, "suggestion")

    again, resumed = await intake.start(person.next())
    assert resumed and again.id == first.id
    assert (again.step, again.petition_type) == (Step.PLACE, "suggestion")

    fresh, resumed = await intake.start(person.next(), fresh=True)
    assert not resumed and fresh.id != first.id
    assert (fresh.step, fresh.petition_type) == (Step.CONSENT, None)
    assert (await draft_row(db, first.id)).status == "cancelled"
    assert await count(db, Draft, Draft.status == "open") == 1

    assert await intake.cancel(person.next()) is True
    assert await intake.cancel(person.next()) is False
    assert await intake.current(person.user_id) is None


async def test_back_from_each_step_goes_to_the_step_before_it(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(109)
    draft, _ = await intake.start(person.next())
    d = draft.id
    seen: set[Step] = set()

    async def back_and_return(forward: Answer) -> None:
        view = await intake.current(person.user_id)
        assert view is not None
        back = await intake.back(person.next(), d, view.step)
        assert back.step == PREVIOUS[view.step], view.step
        assert not back.back_to_review
        seen.add(view.step)
        assert (await forward(intake, person.next(), d)).step == view.step  # type: ignore[attr-defined]

    with pytest.raises(StaleAction):
        await intake.back(person.next(), d, Step.CONSENT)  # nothing before consent
    await intake.consent(person.next(), d)
    await back_and_return(ANSWERS[Step.CONSENT])
    await intake.choose_type(person.next(), d, "appeal")
    await back_and_return(ANSWERS[Step.TYPE])
    await intake.propose_place(person.next(), d, JINJIANG)
    await back_and_return(lambda i, a, d: i.propose_place(a, d, JINJIANG))
    await intake.choose_place(person.next(), d, JINJIANG)
    await back_and_return(lambda i, a, d: i.choose_place(a, d, JINJIANG))
    await intake.choose_category(person.next(), d, LAND_CONTRACT)
    await back_and_return(lambda i, a, d: i.choose_category(a, d, LAND_CONTRACT))
    await intake.submit_anyway(person.next(), d)
    await back_and_return(lambda i, a, d: i.choose_category(a, d, SUBSIDY))
    await intake.set_request(person.next(), d, REQUEST)
    await back_and_return(ANSWERS[Step.REQUEST])
    await intake.add_facts(person.next(), d, FACTS)
    await intake.facts_done(person.next(), d)
    await back_and_return(lambda i, a, d: i.facts_done(a, d))
    await intake.attachments_done(person.next(), d)
    await back_and_return(lambda i, a, d: i.attachments_done(a, d))
    await intake.set_name(person.next(), d, "张三")
    await back_and_return(ANSWERS[Step.NAME])
    await intake.set_phone(person.next(), d, "13800138000")
    await back_and_return(ANSWERS[Step.PHONE])
    await intake.set_address(person.next(), d, "四川省成都市锦江区红星路一段1号")
    await back_and_return(ANSWERS[Step.ADDRESS])

    # A Back button of a step the draft has left is refused.
    with pytest.raises(StaleAction):
        await intake.back(person.next(), d, Step.FACTS)

    # The offer of a follow-up: Back returns to the review.
    assert isinstance(await intake.submit(person.next(), d), Receipt)
    second = await fill(intake, person)
    offer = await intake.submit(person.next(), second.id)
    assert isinstance(offer, PossibleDuplicate) and offer.draft.step == Step.DUPLICATE
    back = await intake.back(person.next(), second.id, Step.DUPLICATE)
    assert back.step == Step.REVIEW
    seen.add(Step.DUPLICATE)

    assert seen == set(PREVIOUS)


async def test_back_while_editing_from_the_review_returns_to_the_review(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(112)
    draft = await fill(intake, person, attachments=1)

    for field, step in EDITABLE.items():
        editing = await intake.edit(person.next(), draft.id, field)
        assert (editing.step, editing.back_to_review) == (step, True)
        back = await intake.back(person.next(), draft.id, step)
        assert (back.step, back.back_to_review) == (Step.REVIEW, False)
        assert back == draft, field  # nothing lost

    with pytest.raises(StaleAction):
        await intake.edit(person.next(), draft.id, "consent")  # not an editable field


async def test_an_edited_answer_returns_to_the_review(db: Database, directory: Directory) -> None:
    intake = await make_intake(db, directory)
    person = Person(113)
    d = (await fill(intake, person)).id

    async def edit(field: str) -> DraftView:
        view = await intake.edit(person.next(), d, field)
        assert view.step == EDITABLE[field] and view.back_to_review
        return view

    await edit("type")
    view = await intake.choose_type(person.next(), d, "suggestion")
    assert (view.step, view.petition_type, view.back_to_review) == (
        Step.REVIEW,
        "suggestion",
        False,
    )
    await edit("place")
    view = await intake.propose_place(person.next(), d, WUHOU)
    assert view.step == Step.PLACE_CONFIRM
    view = await intake.choose_place(person.next(), d, WUHOU)
    assert (view.step, view.place_code) == (Step.REVIEW, WUHOU)
    await edit("category")
    view = await intake.choose_category(person.next(), d, LAND_CONTRACT)
    assert view.step == Step.ROUTE  # a legal route is shown before returning
    view = await intake.submit_anyway(person.next(), d)
    assert (view.step, view.category_code, view.route_acknowledged) == (
        Step.REVIEW,
        LAND_CONTRACT,
        True,
    )
    await edit("category")
    view = await intake.choose_category(person.next(), d, VILLAGE)
    assert (view.step, view.category_code, view.route_acknowledged) == (
        Step.REVIEW,
        VILLAGE,
        False,
    )
    await edit("request")
    view = await intake.set_request(person.next(), d, "请求调查村务公开问题")
    assert (view.step, view.request_text) == (Step.REVIEW, "请求调查村务公开问题")
    view = await edit("facts")
    assert view.replacing_facts  # the next message replaces the facts; until then they stay
    assert view.facts_text
    view = await intake.add_facts(person.next(), d, "村里的账目三年没有公开。")
    assert (view.step, view.replacing_facts) == (Step.FACTS, False)
    view = await intake.facts_done(person.next(), d)
    assert (view.step, view.facts_text) == (Step.REVIEW, "村里的账目三年没有公开。")
    await edit("attachments")
    await intake.add_attachment(person.next(), d, photo(7))
    view = await intake.attachments_done(person.next(), d)
    assert (view.step, view.attachments) == (Step.REVIEW, 1)
    await edit("name")
    view = await intake.set_name(person.next(), d, "李四")
    assert (view.step, view.name) == (Step.REVIEW, "李四")
    await edit("phone")
    view = await intake.set_contact(person.next(), d, "8613900139000", person.user_id)
    assert (view.step, view.phone) == (Step.REVIEW, "+8613900139000")
    await edit("address")
    view = await intake.set_address(person.next(), d, "成都市武侯区人民南路四段9号")
    assert (view.step, view.address) == (Step.REVIEW, "成都市武侯区人民南路四段9号")

    receipt = await intake.submit(person.next(), d)
    assert isinstance(receipt, Receipt) and receipt.office.id == "cd-wuhou"
    case = await case_row(db, receipt.number)
    assert (case.petition_type, case.category_code, case.name) == ("suggestion", VILLAGE, "李四")


async def test_a_shared_contact_must_be_the_senders_own(db: Database, directory: Directory) -> None:
    intake = await make_intake(db, directory)
    person = Person(114)
    d = (await fill(intake, person)).id
    await intake.edit(person.next(), d, "phone")

    with pytest.raises(DomainError) as refused:
        await intake.set_contact(person.next(), d, "8613900139000", 999)
    assert refused.value.code == "contact_not_own"
    with pytest.raises(DomainError) as invalid:
        await intake.set_phone(person.next(), d, "12345")
    assert invalid.value.code == "phone_invalid"
    assert (await intake.current(person.user_id)).step == Step.PHONE  # type: ignore[union-attr]


async def test_a_submit_without_every_required_answer_is_refused(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(115)
    d = (await fill(intake, person)).id
    async with db.sessions.begin() as session:  # e.g. a draft left by an older version
        await session.execute(update(Draft).where(Draft.id == d).values(phone=None, name=""))

    with pytest.raises(DomainError) as refused:
        await intake.submit(person.next(), d)
    assert refused.value.code == "incomplete"
    assert refused.value.params == {"fields": ["name", "phone"]}
    assert await count(db, Case) == 0
    assert (await intake.current(person.user_id)).step == Step.REVIEW  # type: ignore[union-attr]


async def test_the_limits_on_facts_and_attachments_are_enforced(
    db: Database, directory: Directory
) -> None:
    limits = Limits(max_facts_chars=40, max_attachments=2, max_attachment_bytes=2**20)
    intake = await make_intake(db, directory, limits=limits)
    person = Person(136)
    draft, _ = await intake.start(person.next())
    d = draft.id
    await intake.consent(person.next(), d)
    await intake.choose_type(person.next(), d, "appeal")
    await intake.choose_place(person.next(), d, JINJIANG)
    await intake.choose_category(person.next(), d, SUBSIDY)
    await intake.set_request(person.next(), d, REQUEST)

    with pytest.raises(DomainError) as empty:
        await intake.add_facts(person.next(), d, " \n\u202e ")
    assert empty.value.code == "empty"
    with pytest.raises(DomainError) as too_long:
        await intake.add_facts(person.next(), d, "事" * 41)
    assert (too_long.value.code, too_long.value.params) == (
        "facts_too_long",
        {"maximum": 40, "left": 40},
    )
    await intake.add_facts(person.next(), d, "补贴没有发放")
    with pytest.raises(DomainError) as missing:
        await intake.facts_done(person.next(), d)  # 6 characters: too short
    assert missing.value.code == "facts_missing"
    view = await intake.add_facts(person.next(), d, "事" * 22)
    assert len(view.facts_text or "") == 30
    with pytest.raises(DomainError) as full:
        await intake.add_facts(person.next(), d, "事" * 9)
    assert full.value.params == {"maximum": 40, "left": 8}
    view = await intake.add_facts(person.next(), d, "事" * 8)
    assert len(view.facts_text or "") == 40
    await intake.facts_done(person.next(), d)

    for kind, size, code in (
        ("sticker", 10, "attachment_kind"),
        ("document", 2**20 + 1, "attachment_too_large"),
    ):
        with pytest.raises(DomainError) as refused:
            await intake.add_attachment(
                person.next(), d, AttachmentIn(kind, "f", "u", "a.pdf", None, size)
            )
        assert refused.value.code == code
    await intake.add_attachment(person.next(), d, photo(1))
    name = "报告\u202e\n" + "很长" * 200 + ".pdf"
    view = await intake.add_attachment(
        person.next(), d, AttachmentIn("document", "f2", "u2", name, "application/pdf", None)
    )
    assert view.attachments == 2
    with pytest.raises(DomainError) as full_files:
        await intake.add_attachment(person.next(), d, photo(3))
    assert full_files.value.code == "attachments_full"
    async with db.sessions() as session:
        stored = (await session.execute(select(Attachment.file_name))).scalars().all()
    assert stored[1] is not None and len(stored[1]) == 256 and "\u202e" not in stored[1]
    view = await intake.clear_attachments(person.next(), d)
    assert view.attachments == 0 and await count(db, Attachment) == 0


async def test_the_saved_details_of_a_first_petition_can_be_reused(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(116)
    draft, _ = await intake.start(person.next())
    assert (draft.saved_name, draft.saved_phone, draft.saved_address) == (None, None, None)
    await intake.cancel(person.next())
    await file_case(intake, person)

    d = (await intake.start(person.next()))[0].id
    await intake.consent(person.next(), d)
    await intake.choose_type(person.next(), d, "appeal")
    await intake.choose_place(person.next(), d, JINJIANG)
    await intake.choose_category(person.next(), d, VILLAGE)
    await intake.set_request(person.next(), d, "请求公开村务账目")
    await intake.add_facts(person.next(), d, "村里的账目三年没有公开，村民多次要求未果。")
    await intake.facts_done(person.next(), d)
    view = await intake.attachments_done(person.next(), d)
    assert (view.step, view.name) == (Step.NAME, None)
    assert view.saved("name") == "张三"
    assert view.saved("phone") == "+8613800138000"
    assert view.saved("address") == "四川省成都市锦江区红星路一段1号"

    with pytest.raises(StaleAction):
        await intake.use_saved(person.next(), d, "phone")  # the phone step is not reached
    with pytest.raises(StaleAction):
        await intake.use_saved(person.next(), d, "petition_type")
    view = await intake.use_saved(person.next(), d, "name")
    assert (view.step, view.name) == (Step.PHONE, "张三")
    view = await intake.use_saved(person.next(), d, "phone")
    assert (view.step, view.phone) == (Step.ADDRESS, "+8613800138000")
    view = await intake.use_saved(person.next(), d, "address")
    assert (view.step, view.address) == (Step.REVIEW, "四川省成都市锦江区红星路一段1号")


async def test_nothing_is_saved_to_reuse_before_a_first_petition(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(117)
    d = (await fill(intake, person)).id
    await intake.edit(person.next(), d, "name")

    with pytest.raises(StaleAction):
        await intake.use_saved(person.next(), d, "name")
    assert (await intake.current(person.user_id)).name == "张三"  # type: ignore[union-attr]


async def test_taking_the_legal_route_ends_the_draft_without_a_case(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(118)
    draft, _ = await intake.start(person.next())
    await intake.consent(person.next(), draft.id)
    await intake.choose_type(person.next(), draft.id, "appeal")
    await intake.choose_place(person.next(), draft.id, JINJIANG)
    view = await intake.choose_category(person.next(), draft.id, LAND_CONTRACT)
    assert view.step == Step.ROUTE

    category = await intake.take_route(person.next(), draft.id)

    assert (category.code, category.route) == (LAND_CONTRACT, "arbitration")
    assert category.route_text("zh_CN") and category.limit_text("en")
    assert (await draft_row(db, draft.id)).status == "diverted"
    assert await intake.current(person.user_id) is None
    assert await count(db, Case) == 0
    with pytest.raises(StaleAction):
        await intake.submit_anyway(person.next(), draft.id)
    _, resumed = await intake.start(person.next())
    assert not resumed


async def test_drafts_idle_longer_than_the_timeout_expire_and_their_owners_are_named(
    db: Database, directory: Directory
) -> None:
    clock = Clock()
    intake = await make_intake(db, directory, clock)
    idle_en, idle_zh, recent, exact = (
        Person(119, "en"),
        Person(120, "zh-hans"),
        Person(121),
        Person(122),
    )
    await intake.start(idle_en.next())
    await intake.start(idle_zh.next())
    clock.advance(hours=1)
    await intake.start(exact.next())
    clock.advance(hours=5)
    d = (await intake.start(recent.next()))[0].id
    done = Person(123)
    await file_case(intake, done)

    clock.advance(hours=19)  # idle 25 h, 25 h, 24 h exactly, 19 h
    await intake.consent(recent.next(), d)
    expired = await intake.expire_stale()

    assert sorted(expired, key=lambda e: e.chat_id) == [
        Expired(idle_en.user_id, "en"),
        Expired(idle_zh.user_id, "zh_CN"),
    ]
    assert await intake.current(idle_en.user_id) is None
    assert await intake.current(idle_zh.user_id) is None
    assert await intake.current(exact.user_id) is not None  # not longer than the timeout
    assert await intake.current(recent.user_id) is not None
    assert await count(db, Draft, Draft.status == "expired") == 2
    assert await intake.expire_stale() == []
    clock.advance(seconds=1)
    assert await intake.expire_stale() == [Expired(exact.user_id, "zh_CN")]


# --- submitting exactly once ------------------------------------------------------------------


async def test_two_concurrent_submits_of_one_draft_make_one_case_and_the_same_receipt(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    # Each person presses Submit twice at once; the presses start in either order, so the
    # earlier update may run first or lose the race to the later one.
    for n, later_first in enumerate((False, True), start=1):
        person = Person(124 + n)
        d = (await fill(intake, person, attachments=1)).id
        earlier, later = person.next(), person.next()
        presses = (later, earlier) if later_first else (earlier, later)

        results = await asyncio.gather(*(intake.submit(actor, d) for actor in presses))

        assert all(isinstance(r, Receipt) for r in results), results
        made, again = sorted(results, key=lambda r: r.again)  # type: ignore[union-attr]
        assert isinstance(made, Receipt) and isinstance(again, Receipt)
        assert (made.again, again.again) == (False, True)
        assert made.number == f"XF2026-{n:06d}"
        assert again == dataclasses.replace(made, again=True)
        assert await count(db, Case, Case.draft_id == d) == 1
    assert await count(db, Case) == 2
    assert await count(db, CaseEvent) == 2
    assert await count(db, Attachment, Attachment.case_id.is_(None)) == 0
    async with db.sessions() as session:
        counter = await session.get(CaseCounter, 2026)
    assert counter is not None and counter.last == 2


async def test_the_first_two_updates_of_a_new_person_at_once_make_one_petitioner_and_draft(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(137)

    results = await asyncio.gather(
        intake.start(person.next()), intake.start(person.next()), return_exceptions=True
    )

    # Either both run (the second resumes the first's draft), or the later update is applied
    # first and the earlier one is then refused as already seen; never a key collision.
    started = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, DuplicateUpdate) for r in refused), results
    assert [resumed for _, resumed in started] in ([False], [False, True], [True, False])
    assert len({view.id for view, _ in started}) == 1
    assert await count(db, Petitioner) == 1
    assert await count(db, Draft) == 1


async def test_a_submit_that_loses_the_race_to_a_later_update_gets_the_receipt_again(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(127)
    d = (await fill(intake, person)).id
    earlier, later = person.next(), person.next()

    made = await intake.submit(later, d)
    late = await intake.submit(earlier, d)  # the earlier press, applied second
    redelivered = await intake.submit(later, d)  # Telegram sends the press once more
    pressed_again = await intake.submit(person.next(), d)

    assert isinstance(made, Receipt) and not made.again
    assert isinstance(late, Receipt) and late.again and late.number == made.number
    assert isinstance(redelivered, Receipt) and redelivered.again
    assert isinstance(pressed_again, Receipt) and pressed_again.again
    assert pressed_again.query_code == made.query_code
    assert await count(db, Case) == 1
    # Only the petitioner of the case gets its receipt; a stranger's press is stale.
    with pytest.raises(StaleAction):
        await intake.submit(Person(128).next(), d)


async def test_twenty_concurrent_submits_get_distinct_gapless_numbers(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    people = [Person(2000 + n) for n in range(20)]
    drafts = [
        await fill(intake, p, request=f"请求第{n}号事项得到处理") for n, p in enumerate(people)
    ]

    results = await asyncio.gather(
        *(intake.submit(p.next(), d.id) for p, d in zip(people, drafts, strict=True))
    )

    assert all(isinstance(r, Receipt) and not r.again for r in results)
    numbers = sorted(r.number for r in results)
    assert numbers == [f"XF2026-{n:06d}" for n in range(1, 21)]
    async with db.sessions() as session:
        rows = (await session.execute(select(Case.seq, Case.draft_id))).all()
        counter = await session.get(CaseCounter, 2026)
    assert sorted(seq for seq, _ in rows) == list(range(1, 21))
    assert {draft_id for _, draft_id in rows} == {d.id for d in drafts}
    assert counter is not None and counter.last == 20


async def test_the_case_year_is_the_year_in_the_deployments_time_zone(
    db: Database, directory: Directory
) -> None:
    clock = Clock(datetime(2026, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai
    intake = await make_intake(db, directory, clock)
    last_of_2026 = await file_case(intake, Person(127))
    clock.now = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January in Shanghai
    first_of_2027 = await file_case(intake, Person(128))
    second_of_2027 = await file_case(intake, Person(129))

    assert last_of_2026.number == "XF2026-000001"
    assert (first_of_2027.number, second_of_2027.number) == ("XF2027-000001", "XF2027-000002")
    assert first_of_2027.registration_due == registration_due(clock.now, TZ)
    assert first_of_2027.registration_due > date(2027, 1, 16)  # 1 January + 15 days, a Saturday
    case = await case_row(db, first_of_2027.number)
    assert (case.year, case.seq) == (2027, 1)


# --- duplicates -----------------------------------------------------------------------------


async def offer_duplicate(
    intake: Intake, person: Person, **answers: str
) -> tuple[Receipt, PossibleDuplicate]:
    first = await file_case(intake, person)
    draft = await fill(intake, person, attachments=2, **answers)
    offer = await intake.submit(person.next(), draft.id)
    assert isinstance(offer, PossibleDuplicate), offer
    return first, offer


async def test_a_similar_petition_about_the_same_matter_is_offered_as_a_follow_up(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(130)
    first, offer = await offer_duplicate(
        intake, person, request="再次请求补发2025年耕地地力保护补贴", facts=FACTS + "至今仍未解决。"
    )

    assert (offer.number, offer.submitted_at) == (first.number, first.submitted_at)
    assert (offer.draft.step, offer.draft.duplicate_of) == (Step.DUPLICATE, first.number)
    assert await intake.current(person.user_id) == offer.draft
    with pytest.raises(StaleAction):
        await intake.submit(person.next(), offer.draft.id)  # only "as new" at this step
    with pytest.raises(StaleAction):
        await intake.set_name(person.next(), offer.draft.id, "张三")

    done = await intake.follow_up(person.next(), offer.draft.id)

    assert done == FollowUp(first.number)
    case = await case_row(db, first.number)
    async with db.sessions() as session:
        events = (await session.execute(select(CaseEvent).order_by(CaseEvent.id))).scalars().all()
        files = (await session.execute(select(Attachment))).scalars().all()
    assert [(e.case_id, e.action) for e in events] == [(case.id, "submit"), (case.id, "follow_up")]
    follow = events[1]
    assert (follow.actor_kind, follow.actor_id) == ("petitioner", person.user_id)
    assert (follow.from_state, follow.to_state) == ("submitted", "submitted")
    assert follow.public_text is not None and "再次请求补发" in follow.public_text
    assert "至今仍未解决" in follow.public_text
    assert [f.case_id for f in files] == [case.id, case.id]
    assert (await draft_row(db, offer.draft.id)).status == "merged"
    assert await intake.current(person.user_id) is None
    assert await count(db, Case) == 1


async def test_a_possible_duplicate_can_still_be_submitted_as_a_new_case(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(131)
    first, offer = await offer_duplicate(intake, person)

    receipt = await intake.submit(person.next(), offer.draft.id, as_new=True)

    assert isinstance(receipt, Receipt) and not receipt.again
    assert (first.number, receipt.number) == ("XF2026-000001", "XF2026-000002")
    assert await count(db, Case) == 2
    case = await case_row(db, receipt.number)
    assert await count(db, Attachment, Attachment.case_id == case.id) == 2
    with pytest.raises(StaleAction):
        await intake.follow_up(person.next(), offer.draft.id)
    again = await intake.submit(person.next(), offer.draft.id, as_new=True)
    assert isinstance(again, Receipt) and again.again and again.number == receipt.number


async def test_no_follow_up_is_offered_for_another_category_place_text_or_petitioner(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(132)
    first = await file_case(intake, person)
    variants: list[dict[str, str]] = [
        {"category": VILLAGE},
        {"place": WUHOU},
        {
            "request": "请求修缮村里的道路",
            "facts": "村口道路多处塌陷，雨天无法通行，已有老人摔伤。",
        },
    ]
    numbers = [first.number]
    for answers in variants:
        receipt = await file_case(intake, person, **answers)
        numbers.append(receipt.number)
    numbers.append((await file_case(intake, Person(133))).number)  # the same text, someone else

    assert numbers == [f"XF2026-{n:06d}" for n in range(1, 6)]


async def test_no_follow_up_is_offered_for_a_case_in_a_terminal_state(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(134)
    first = await file_case(intake, person)
    async with db.sessions.begin() as session:
        await session.execute(
            update(Case).where(Case.number == first.number).values(state=State.CLOSED.value)
        )

    second = await file_case(intake, person)

    assert second.number == "XF2026-000002"


async def test_a_follow_up_to_a_case_closed_meanwhile_is_refused(
    db: Database, directory: Directory
) -> None:
    intake = await make_intake(db, directory)
    person = Person(135)
    first, offer = await offer_duplicate(intake, person)
    async with db.sessions.begin() as session:
        await session.execute(
            update(Case).where(Case.number == first.number).values(state=State.WITHDRAWN.value)
        )

    with pytest.raises(StaleAction):
        await intake.follow_up(person.next(), offer.draft.id)
    assert await count(db, CaseEvent, CaseEvent.action == "follow_up") == 0
    receipt = await intake.submit(person.next(), offer.draft.id, as_new=True)
    assert isinstance(receipt, Receipt) and receipt.number == "XF2026-000002"
