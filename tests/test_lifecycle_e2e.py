"""The case lifecycle end to end, over HTTP against the stand-in: staff act in their groups, the
petitioner is told every step, in English and in Chinese.

Each test files a petition as a citizen in 成都市锦江区, whose office (锦江区信访局) gets the
alert; its staff member acts with the alert's buttons; reviews go one level up (成都市), rechecks
another (四川省). After each step the test reads what the petitioner's chat and the groups were
sent. Every notice goes through the outbox and its dispatcher, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.i18n import format_date, use_locale
from handlers.casecard import state_label
from tests.botrun import BotRun
from tests.dialogs import CASE_NUMBER, CHINESE, ENGLISH, Petition, cases_of, file_petition
from tests.driver import Person
from tests.staffing import (
    CHENGDU,
    JINJIANG,
    SICHUAN,
    WUHOU,
    Clock,
    Office,
    act,
    alert_for,
    bot_texts,
    case_id_in,
    deployment_in,
    member,
    petitioner_act,
)


@dataclass
class Words:
    """The fragments each step must show, per language."""

    accepted: str
    extended: str
    answered: str
    support: str
    review_until: str
    reviewed: str
    upheld: str
    recheck_until: str
    rechecked: str
    final: str
    transferred: str
    not_accepted: str
    redirected: str
    withdrawn: str
    window_ended: str
    alert_state_accepted: str
    rated: str
    staff_withdrawn: str


WORDS = {
    "en": Words(
        accepted="was accepted by",
        extended="was extended by 30 days",
        answered="has been answered",
        support="Support",
        review_until="ask the office one level up for a review until",
        reviewed="The review of case",
        upheld="Upheld",
        recheck_until="ask for a recheck until",
        rechecked="The recheck of case",
        final="This decision is final",
        transferred="was transferred to",
        not_accepted="was not accepted",
        redirected="belongs to another procedure",
        withdrawn="is withdrawn",
        window_ended="cannot be asked for case",
        alert_state_accepted="Accepted — 张伟",
        rated="rated the answer",
        staff_withdrawn="The petitioner withdrew case",
    ),
    "zh_CN": Words(
        accepted="已由",
        extended="延长30日",
        answered="已作出答复",
        support="支持",
        review_until="可以在%s前向上一级机关申请复查",
        reviewed="复查意见",
        upheld="维持",
        recheck_until="复核",
        rechecked="复核意见",
        final="不再受理",
        transferred="已转送",
        not_accepted="不予受理",
        redirected="其他法定途径",
        withdrawn="已撤回",
        window_ended="申请期限已于",
        alert_state_accepted="已受理 — 张伟",
        rated="评价",
        staff_withdrawn="信访人已撤回",
    ),
}


@dataclass
class Scene:
    run: BotRun
    clock: Clock
    language: str
    citizen: Person
    words: Words
    petition: Petition


@pytest.fixture(params=["en", "zh_CN"])
async def scene(
    request: pytest.FixtureRequest, prepared_database_url: str, tmp_path: Path, geo_cache: Path
) -> AsyncIterator[Scene]:
    language = request.param
    clock = Clock(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # a Tuesday, 09:00 in Beijing
    run = BotRun(
        prepared_database_url,
        geo_cache.parent,
        deployment_in(language, tmp_path),
        clock=clock,
    )
    async with run:
        assert run.sandbox is not None
        code = "en" if language == "en" else "zh-hans"
        citizen = await run.sandbox.user(first_name="Alice", language_code=code)
        petition = ENGLISH if language == "en" else CHINESE
        yield Scene(run, clock, language, citizen, WORDS[language], petition)


async def _file(scene: Scene) -> tuple[str, int]:
    """File the petition; return its number and case id (from the office's alert)."""
    await file_petition(scene.citizen, petition=scene.petition)
    await scene.run.drained()
    texts = await bot_texts(scene.run.sandbox, scene.citizen.chat_id)  # type: ignore[arg-type]
    numbers = CASE_NUMBER.findall(texts[-1])
    assert numbers, texts[-1]
    alert = await alert_for(scene.run.sandbox, JINJIANG, numbers[0])  # type: ignore[arg-type]
    case_id = case_id_in(alert)
    assert case_id is not None
    return numbers[0], case_id


async def _told(scene: Scene) -> str:
    """The newest message the petitioner got, once every notice owed has been sent."""
    await scene.run.drained()
    texts = await bot_texts(scene.run.sandbox, scene.citizen.chat_id)  # type: ignore[arg-type]
    return texts[-1] if texts else ""


async def _alert_shows(scene: Scene, office: Office, number: str, state: str) -> None:
    """The office's alert about the case was edited to show `state` (in the group's language)."""
    await scene.run.drained()
    with use_locale(scene.language):
        label = state_label(state)
    alert = await alert_for(scene.run.sandbox, office, number)  # type: ignore[arg-type]
    assert label in alert.text, (state, alert.text)


async def test_a_case_goes_from_acceptance_through_review_and_recheck(scene: Scene) -> None:
    sb = scene.run.sandbox
    assert sb is not None
    w = scene.words
    number, case_id = await _file(scene)
    jinjiang = await member(sb, JINJIANG)

    # Accept: the petitioner is told, with the 60-day handling deadline; the alert shows it.
    await act(jinjiang, JINJIANG, case_id, "accept")
    told = await _told(scene)
    assert number in told and w.accepted in told
    with use_locale(scene.language):
        assert format_date(datetime(2027, 1, 25).date()) in told  # 2026-11-24 + 60 days
    alert = await alert_for(sb, JINJIANG, number)
    assert w.alert_state_accepted in alert.text

    # Extend by 30 days with a reason.
    await act(jinjiang, JINJIANG, case_id, "extend", "30", text="需要调取物业公司的维修记录")
    told = await _told(scene)
    assert w.extended in told and "需要调取物业公司的维修记录" in told
    await _alert_shows(scene, JINJIANG, number, "extended")

    # Answer: support, with the opinion's text; the petitioner may rate and ask for review.
    await act(jinjiang, JINJIANG, case_id, "answer", "support", text="责成物业公司<30日>内修复电梯")
    await scene.run.drained()
    messages = await scene.citizen.messages()
    told = messages[-1]
    assert w.answered in told.text and w.support in told.text
    assert "责成物业公司<30日>内修复电梯" in told.text  # escaped, shown as written
    data = {d for row in told.buttons for _l, d in row}
    assert {f"v1:c:{case_id}:rate", f"v1:c:{case_id}:request_review"} <= data
    await _alert_shows(scene, JINJIANG, number, "answered")

    # Rate: not satisfied needs a reason; the office hears of it.
    await petitioner_act(scene.citizen, case_id, "rate", "not_satisfied", text="电梯仍未修好")
    await scene.run.drained()
    group = await bot_texts(sb, JINJIANG.group)
    assert any(w.rated in t and "电梯仍未修好" in t for t in group)

    # Review: goes one level up, to 成都市; its group gets an alert.
    await petitioner_act(scene.citizen, case_id, "request_review", text="物业公司没有执行答复意见")
    chengdu_alert = await alert_for(sb, CHENGDU, number)
    await _alert_shows(scene, CHENGDU, number, "review_requested")
    await _alert_shows(scene, JINJIANG, number, "review_requested")  # the old alert follows
    li = await member(sb, CHENGDU)
    await act(li, CHENGDU, case_id, "decide_review", "upheld", text="维持原处理意见")
    told = await _told(scene)
    assert w.reviewed in told and w.upheld in told and w.recheck_until in told
    await _alert_shows(scene, CHENGDU, number, "reviewed")
    assert chengdu_alert.message_id  # the alert was posted

    # Recheck: one more level up, to 四川省; its decision is final.
    await petitioner_act(scene.citizen, case_id, "request_recheck", text="请省信访局复核")
    await alert_for(sb, SICHUAN, number)
    wang = await member(sb, SICHUAN)
    await act(wang, SICHUAN, case_id, "decide_recheck", "upheld", text="维持复查意见")
    told = await _told(scene)
    assert w.rechecked in told and w.final in told
    await _alert_shows(scene, SICHUAN, number, "rechecked")

    [case] = await cases_of(scene.run, scene.citizen)
    assert case.state == "rechecked" and case.office_id == "sc"
    await sb.assert_no_errors()


async def test_a_case_transferred_to_another_office_is_alerted_there_and_accepted(
    scene: Scene,
) -> None:
    sb = scene.run.sandbox
    assert sb is not None
    number, case_id = await _file(scene)
    jinjiang = await member(sb, JINJIANG)

    await act(jinjiang, JINJIANG, case_id, "transfer", WUHOU.id)

    told = await _told(scene)
    assert scene.words.transferred in told
    await _alert_shows(scene, WUHOU, number, "transferred")
    await _alert_shows(scene, JINJIANG, number, "transferred")
    # Jinjiang's alert now shows the transfer and offers no more actions to Jinjiang.
    old = await alert_for(sb, JINJIANG, number)
    assert all(not d.endswith(":accept") for row in old.buttons for _l, d in row)
    # Jinjiang's staff may no longer act; Wuhou's may.
    await jinjiang.press(data=f"v1:s:{case_id}:accept", chat_id=JINJIANG.group, force=True)
    assert jinjiang.last_answer is not None and jinjiang.last_answer.get("show_alert")
    liu = await member(sb, WUHOU)
    await act(liu, WUHOU, case_id, "accept")
    told = await _told(scene)
    assert scene.words.accepted in told
    [case] = await cases_of(scene.run, scene.citizen)
    assert (case.state, case.office_id) == ("accepted", "cd-wuhou")


@pytest.mark.parametrize("action", ["not_accept", "redirect"])
async def test_a_case_not_accepted_or_redirected_tells_the_petitioner_why(
    scene: Scene, action: str
) -> None:
    sb = scene.run.sandbox
    assert sb is not None
    number, case_id = await _file(scene)
    jinjiang = await member(sb, JINJIANG)

    await act(
        jinjiang, JINJIANG, case_id, action, text="该事项已进入诉讼程序，请向锦江区人民法院咨询"
    )

    told = await _told(scene)
    expected = scene.words.not_accepted if action == "not_accept" else scene.words.redirected
    assert number in told and expected in told and "锦江区人民法院" in told
    [case] = await cases_of(scene.run, scene.citizen)
    assert case.state == ("not_accepted" if action == "not_accept" else "redirected")
    await _alert_shows(scene, JINJIANG, number, case.state)


async def test_the_petitioner_withdraws_and_the_office_is_told(scene: Scene) -> None:
    sb = scene.run.sandbox
    assert sb is not None
    number, case_id = await _file(scene)

    await scene.citizen.say(number)  # the status, with its buttons
    await petitioner_act(scene.citizen, case_id, "withdraw")

    await scene.run.drained()
    told = await bot_texts(sb, scene.citizen.chat_id)
    assert any(scene.words.withdrawn in t for t in told[-2:])
    [case] = await cases_of(scene.run, scene.citizen)
    assert case.state == "withdrawn"
    await _alert_shows(scene, JINJIANG, number, "withdrawn")
    group = await bot_texts(sb, JINJIANG.group)
    assert any(number in t and scene.words.staff_withdrawn in t for t in group)
    alert = await alert_for(sb, JINJIANG, number)
    assert all(not d.endswith(":accept") for row in alert.buttons for _l, d in row)


async def test_a_review_asked_after_its_window_is_refused(scene: Scene) -> None:
    sb = scene.run.sandbox
    assert sb is not None
    _number, case_id = await _file(scene)
    jinjiang = await member(sb, JINJIANG)
    await act(jinjiang, JINJIANG, case_id, "accept")
    await act(jinjiang, JINJIANG, case_id, "answer", "not_support", text="缺乏法律依据")
    [case] = await cases_of(scene.run, scene.citizen)
    assert case.due_on is not None

    # The day after the last day of the window (Beijing time).
    last_day = case.due_on
    scene.clock.now = datetime(last_day.year, last_day.month, last_day.day, 17, 0, tzinfo=UTC)
    await petitioner_act(scene.citizen, case_id, "request_review")

    told = await _told(scene)
    assert scene.words.window_ended in told
    [case] = await cases_of(scene.run, scene.citizen)
    assert case.state == "answered"
