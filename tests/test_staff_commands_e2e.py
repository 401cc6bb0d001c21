"""Staff commands and the petitioner's own cases, end to end over HTTP against the stand-in.

Staff ask for their office's open cases (`/queue`, nearest deadline first), the overdue ones
(`/overdue`, after the test's clock has moved past a deadline) and one case with its history
(`/case`); the petitioner pages through `My cases`, opens one, and adds a message and a photo
that reach the office's group; `/cancel` stops the bot waiting for someone's words. Petitions
are filed through the intake's use cases (the dialog itself is tested in test_intake_e2e) and
then read through the bot only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.i18n import _, use_locale
from tests.botrun import BotRun
from tests.dialogs import CASE_NUMBER
from tests.driver import BotMessage, Person, Sandbox
from tests.staffing import (
    CHENGDU,
    JINJIANG,
    WUHOU,
    Clock,
    bot_texts,
    delivered,
    events_of,
    file_directly,
    footprint,
    member,
    running,
)

WUHOU_PLACE = "510107"  # 成都市武侯区


@dataclass
class Scene:
    run: BotRun
    sandbox: Sandbox
    clock: Clock
    citizen: Person


@pytest.fixture
async def scene(prepared_database_url: str, geo_cache: Path) -> AsyncIterator[Scene]:
    clock = Clock()
    async with running(prepared_database_url, geo_cache, clock) as run:
        assert run.sandbox is not None
        citizen = await run.sandbox.user(first_name="Alice", language_code="en")
        yield Scene(run, run.sandbox, clock, citizen)


def zh(message: str) -> str:
    with use_locale("zh_CN"):
        return _(message)


async def file_days_apart(scene: Scene, *places: str) -> list[tuple[str, int]]:
    """One petition a day about each place (so their deadlines differ), then delivered."""
    filed = []
    for place in places:
        filed.append(await file_directly(scene.run, scene.citizen, place_code=place))
        scene.clock.advance(days=1)
    await delivered(scene.run)
    return filed


def numbers(replies: list[BotMessage]) -> list[str]:
    assert len(replies) == 1, [m.text for m in replies]
    return CASE_NUMBER.findall(replies[0].text)


async def due_on(scene: Scene, case_id: int) -> date:
    assert scene.run.services is not None
    case = await scene.run.services.cases.card(case_id)
    assert case is not None and case.due_on is not None
    return case.due_on


async def staff_of_chengdu_in_jinjiang(sandbox: Sandbox) -> Person:
    return await sandbox.user(
        id=CHENGDU.member_id,
        first_name=CHENGDU.member_name,
        language_code="zh-hans",
        groups=(CHENGDU.group, JINJIANG.group),
    )


async def test_queue_lists_open_cases_of_the_office_and_its_sub_offices_by_deadline(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    jinjiang = "510104"
    (a, a_id), (b, _b), (c, _c), (_d, d_id), (e, _e) = await file_days_apart(
        scene, jinjiang, WUHOU_PLACE, jinjiang, jinjiang, jinjiang
    )
    zhang = await member(sb, JINJIANG)
    await zhang.press(data=f"v1:s:{a_id}:accept", chat_id=JINJIANG.group)  # now due in 60 days
    await zhang.press(data=f"v1:s:{d_id}:not_accept", chat_id=JINJIANG.group)
    await zhang.say("已进入诉讼程序", chat_id=JINJIANG.group)  # closed: off the queue
    await delivered(scene.run)

    assert numbers(await zhang.say("/queue", chat_id=JINJIANG.group)) == [c, e, a]
    assert numbers(await zhang.say("/queue")) == [c, e, a]  # in private: their own office
    li = await member(sb, CHENGDU)
    assert numbers(await li.say("/queue", chat_id=CHENGDU.group)) == [b, c, e, a]
    liu = await member(sb, WUHOU)
    assert numbers(await liu.say("/queue", chat_id=WUHOU.group)) == [b]

    visitor = await sb.user(first_name="赵六", language_code="zh-hans", groups=(JINJIANG.group,))
    for command in ("/queue", "/overdue"):
        [refused] = await visitor.say(command, chat_id=JINJIANG.group)
        assert refused.text == zh("Only staff of this office may see its cases.")
    # Staff of a parent office in a sub-office's group speak for that group's office.
    other = await staff_of_chengdu_in_jinjiang(sb)
    assert numbers(await other.say("/queue", chat_id=JINJIANG.group)) == [c, e, a]
    await sb.assert_no_errors()


async def test_overdue_lists_only_the_cases_past_their_deadline(scene: Scene) -> None:
    sb = scene.sandbox
    (a, a_id), (c, c_id) = await file_days_apart(scene, "510104", "510104")
    zhang = await member(sb, JINJIANG)
    [none] = await zhang.say("/overdue", chat_id=JINJIANG.group)
    assert zh("No overdue cases.") in none.text

    a_due, c_due = await due_on(scene, a_id), await due_on(scene, c_id)
    assert a_due < c_due
    # 03:00 in Beijing on the day after A's last day: A is overdue, C is not yet.
    scene.clock.now = datetime(a_due.year, a_due.month, a_due.day, 19, 0, tzinfo=UTC)

    assert numbers(await zhang.say("/overdue", chat_id=JINJIANG.group)) == [a]
    assert numbers(await zhang.say("/queue", chat_id=JINJIANG.group)) == [a, c]
    li = await member(sb, CHENGDU)
    assert numbers(await li.say("/overdue", chat_id=CHENGDU.group)) == [a]
    await sb.assert_no_errors()


async def test_case_shows_the_whole_history_with_who_acted(scene: Scene) -> None:
    sb = scene.sandbox
    [(number, case_id)] = await file_days_apart(scene, "510104")
    zhang = await member(sb, JINJIANG)
    li = await staff_of_chengdu_in_jinjiang(sb)
    await zhang.press(data=f"v1:s:{case_id}:accept", chat_id=JINJIANG.group)
    await li.press(data=f"v1:s:{case_id}:note", chat_id=JINJIANG.group)
    await li.say("已电话联系物业公司", chat_id=JINJIANG.group)
    await delivered(scene.run)

    [shown] = await zhang.say(f"/case {number}")
    lines = shown.text.splitlines()
    assert number in lines[0]
    history = lines[lines.index(zh("<b>History</b>").replace("<b>", "").replace("</b>", "")) :]
    assert zh("the petitioner") in history[1]
    assert zh("Accepted") in history[2] and JINJIANG.member_name in history[2]
    assert zh("Internal note") in history[3] and CHENGDU.member_name in history[3]
    assert "已电话联系物业公司" in shown.text

    # The petitioner's own status shows neither the staff's names nor the internal note.
    [theirs] = await scene.citizen.say(number)
    assert number in theirs.text and "Accepted" in theirs.text
    assert "已电话联系物业公司" not in theirs.text
    assert all(m.member_name not in theirs.text for m in (JINJIANG, CHENGDU))
    [usage] = await zhang.say("/case")
    assert "/case XF2026-000042" in usage.text
    await sb.assert_no_errors()


async def test_my_cases_pages_through_the_petitioners_cases_and_opens_one(scene: Scene) -> None:
    citizen = scene.citizen
    filed = []
    for _n in range(7):
        filed.append(await file_directly(scene.run, citizen))
        scene.clock.advance(hours=1)
    await delivered(scene.run)
    newest_first = [number for number, _id in reversed(filed)]

    [first] = await citizen.say("/cases")
    assert "(7)" in first.text
    assert CASE_NUMBER.findall(first.text) == newest_first[:5]
    assert [label for label in first.labels if CASE_NUMBER.match(label)] == newest_first[:5]
    assert "v1:m:cases:1" in [d for row in first.buttons for _l, d in row]
    assert all(not (d or "").startswith("v1:m:cases:0") for row in first.buttons for _l, d in row)

    [second] = await citizen.press(data="v1:m:cases:1")
    assert CASE_NUMBER.findall(second.text) == newest_first[5:]
    nav = [d for row in second.buttons for _l, d in row if (d or "").startswith("v1:m:cases:")]
    assert nav == ["v1:m:cases:0"]
    # A page past the end (an old or forged button) shows the last page.
    [clamped] = await citizen.press(data="v1:m:cases:9", force=True)
    assert CASE_NUMBER.findall(clamped.text) == newest_first[5:]

    number, case_id = filed[0]
    [status] = await citizen.press(data=f"v1:c:{case_id}:show")
    assert status.text.splitlines()[0].endswith(number)
    data = {d for row in status.buttons for _l, d in row}
    assert data == {f"v1:c:{case_id}:withdraw", f"v1:c:{case_id}:follow_up"}
    await scene.sandbox.assert_no_errors()


async def test_a_follow_up_message_and_photo_reach_the_office_group(scene: Scene) -> None:
    sb = scene.sandbox
    citizen = scene.citizen
    [(number, case_id)] = await file_days_apart(scene, "510104")

    await citizen.press(data=f"v1:c:{case_id}:follow_up", force=True)
    [added] = await citizen.say("The lift broke down again today.")
    assert number in added.text and "Added" in added.text
    await delivered(scene.run)
    group = await bot_texts(sb, JINJIANG.group)
    assert any(number in t and "The lift broke down again today." in t for t in group)

    calls_before = len(await sb.calls())
    await citizen.press(data=f"v1:c:{case_id}:follow_up", force=True)
    await citizen.send_photo()
    assert citizen.sent is not None and citizen.sent.raw["file"] is not None
    photo_id = citizen.sent.raw["file"]["file_id"]
    await delivered(scene.run)
    sent = [
        call
        for call in await sb.calls(calls_before)
        if call["method"].lower() == "sendphoto" and call["chat_id"] == JINJIANG.group
    ]
    assert [call["params"].get("photo") for call in sent] == [photo_id]
    photos = [m for m in await sb.chat_messages(JINJIANG.group) if m.kind == "photo"]
    assert [m.raw["file"]["file_id"] for m in photos] == [photo_id]
    assert number in photos[0].text  # the caption says which case it belongs to

    follow_ups = [e for e in await events_of(scene.run, case_id) if e.action == "follow_up"]
    assert [e.detail for e in follow_ups] == [None, "file"]
    await sb.assert_no_errors()


async def test_cancel_stops_the_bot_waiting_for_words(scene: Scene) -> None:
    sb = scene.sandbox
    [(_number, case_id)] = await file_days_apart(scene, "510104")
    zhang = await member(sb, JINJIANG)
    before = await footprint(scene.run, case_id)

    await zhang.press(data=f"v1:s:{case_id}:not_accept", chat_id=JINJIANG.group)
    [stopped] = await zhang.say("/cancel", chat_id=JINJIANG.group)
    assert stopped.text == zh("Stopped. Nothing was changed.")
    assert await zhang.say("随便聊聊", chat_id=JINJIANG.group, expect_reply=False) == []
    [nothing] = await zhang.say("/cancel", chat_id=JINJIANG.group)
    assert nothing.text == zh("Nothing is waiting for you.")

    await scene.citizen.press(data=f"v1:c:{case_id}:follow_up", force=True)
    [stopped] = await scene.citizen.say("/cancel")
    assert stopped.text == "Stopped. Nothing was changed."
    await scene.citizen.say("This is not a follow-up.")  # goes to the intake now

    await delivered(scene.run)
    after = await footprint(scene.run, case_id)
    assert (after.state, after.events, after.pending) == ("submitted", before.events, 0)
    await sb.assert_no_errors()


async def test_words_for_a_case_closed_meanwhile_are_refused_once_then_forgotten(
    scene: Scene,
) -> None:
    citizen = scene.citizen
    [(number, case_id)] = await file_days_apart(scene, "510104")
    zhang = await member(scene.sandbox, JINJIANG)
    await citizen.press(data=f"v1:c:{case_id}:follow_up", force=True)
    await zhang.press(data=f"v1:s:{case_id}:not_accept", chat_id=JINJIANG.group)
    await zhang.say("不属于信访事项", chat_id=JINJIANG.group)
    await delivered(scene.run)
    before = await footprint(scene.run, case_id)

    replies = await citizen.say("One more thing about the lift.")
    assert any(number in m.text and "not possible any more" in m.text for m in replies)
    replies = await citizen.say("Hello?")  # the question is void: the intake answers now
    assert all(number not in m.text for m in replies)
    after = await footprint(scene.run, case_id)
    assert (after.state, after.events, after.pending) == ("not_accepted", before.events, 0)


async def test_the_cancel_under_a_choice_is_for_staff_only(scene: Scene) -> None:
    sb = scene.sandbox
    [(_number, case_id)] = await file_days_apart(scene, "510104")
    zhang = await member(sb, JINJIANG)
    visitor = await sb.user(first_name="赵六", language_code="zh-hans", groups=(JINJIANG.group,))
    [choice] = await zhang.press(data=f"v1:s:{case_id}:transfer", chat_id=JINJIANG.group)
    cancel = f"v1:s:{case_id}:dismiss"
    assert cancel in [d for row in choice.buttons for _l, d in row]
    before = await footprint(scene.run, case_id)

    await visitor.press(data=cancel, chat_id=JINJIANG.group)
    assert visitor.last_answer is not None and visitor.last_answer.get("show_alert")
    still = [m for m in await sb.chat_messages(JINJIANG.group) if m.message_id == choice.message_id]
    assert still[0].buttons == choice.buttons

    await zhang.press(data=cancel, chat_id=JINJIANG.group)
    gone = [m for m in await sb.chat_messages(JINJIANG.group) if m.message_id == choice.message_id]
    assert gone[0].buttons == []
    assert await footprint(scene.run, case_id) == before
    await sb.assert_no_errors()
