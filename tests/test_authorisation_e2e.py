"""Nobody sees or changes what is not theirs (product §5, §7, §10), end to end over HTTP.

A citizen's petition about 成都市锦江区 is with 锦江区信访局 (张伟's office; 成都市's 李强 and
四川省's 王芳 are staff of its parent offices; 武侯区's 刘洋 is not). Each test presses buttons
as someone who may not act — often with forged callback data, which a modified client can send
for any message — and checks both what that person is told and that nothing changed: the case,
its history, the outbox, the inputs waiting for someone's words, the petitioner's chat.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.i18n import _, use_locale
from tests.botrun import BotRun
from tests.dialogs import APOLOGY
from tests.driver import Person, Sandbox
from tests.staffing import (
    CHENGDU,
    JINJIANG,
    SICHUAN,
    WUHOU,
    Clock,
    Office,
    alert_for,
    bot_texts,
    delivered,
    events_of,
    file_directly,
    footprint,
    member,
    running,
)

MISSING = "XF2026-999999"  # a number no case has
MISSING_ID = 999_999


@dataclass
class Scene:
    run: BotRun
    sandbox: Sandbox
    citizen: Person
    number: str
    case_id: int
    log: pytest.LogCaptureFixture


@pytest.fixture
async def scene(
    prepared_database_url: str, geo_cache: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Scene]:
    async with running(prepared_database_url, geo_cache, Clock()) as run:
        assert run.sandbox is not None
        citizen = await run.sandbox.user(first_name="Alice", language_code="en")
        number, case_id = await file_directly(run, citizen)
        await delivered(run)  # the receipt and 锦江区's alert
        yield Scene(run, run.sandbox, citizen, number, case_id, caplog)


def zh(message: str) -> str:
    """`message` as the staff groups (Chinese) show it."""
    with use_locale("zh_CN"):
        return _(message)


NOT_STAFF = "Only staff of the office handling this case may do this."
NOT_ACTIVE = "This button is no longer active."
SORRY = (  # the error handler's apology
    "Sorry, something went wrong on our side. Your answers so far are saved; please try again."
)


async def staff_in(sandbox: Sandbox, office: Office, *groups: Office) -> Person:
    """The office's staff member, a member of its own group and of `groups` too."""
    return await sandbox.user(
        id=office.member_id,
        first_name=office.member_name,
        language_code="zh-hans",
        groups=(office.group, *(g.group for g in groups)),
    )


def assert_refused(person: Person, text: str) -> None:
    answer = person.last_answer
    assert answer is not None and answer.get("show_alert"), answer
    assert answer.get("text") == text


async def assert_untouched(scene: Scene, before: object, told: list[str], *chats: int) -> None:
    """The case, its history, the outbox and the petitioner's chat are as they were, and the
    bot failed nowhere: no error logged, no apology in `chats`, no invalid Bot API call."""
    await delivered(scene.run)
    assert await footprint(scene.run, scene.case_id) == before
    assert await bot_texts(scene.sandbox, scene.citizen.chat_id) == told
    assert [r.getMessage() for r in scene.log.records if r.levelno >= logging.ERROR] == []
    for chat in (JINJIANG.group, scene.citizen.chat_id, *chats):
        texts = await bot_texts(scene.sandbox, chat)
        assert not any(APOLOGY in t or zh(SORRY) in t for t in texts), texts
    await scene.sandbox.assert_no_errors()


async def test_a_group_member_who_is_not_staff_is_refused_and_nothing_changes(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    visitor = await sb.user(first_name="赵六", language_code="zh-hans", groups=(JINJIANG.group,))
    before = await footprint(scene.run, scene.case_id)
    told = await bot_texts(sb, scene.citizen.chat_id)
    group = await bot_texts(sb, JINJIANG.group)

    for action in ("accept", "not_accept", "full", "history"):
        await visitor.press(data=f"v1:s:{scene.case_id}:{action}", chat_id=JINJIANG.group)
        assert_refused(visitor, zh(NOT_STAFF))

    # A forged Cancel of a choice, pressed on the alert, does not take the alert's buttons away.
    alert = await alert_for(sb, JINJIANG, scene.number)
    await visitor.press(data=f"v1:s:{scene.case_id}:dismiss", chat_id=JINJIANG.group, force=True)
    assert (await alert_for(sb, JINJIANG, scene.number)).buttons == alert.buttons

    await assert_untouched(scene, before, told)
    assert await bot_texts(sb, JINJIANG.group) == group  # no prompt, no facts, no history


async def test_staff_of_another_office_are_refused_in_a_group_and_in_private(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    liu = await staff_in(sb, WUHOU, JINJIANG)  # 武侯区: a sibling office, not a parent
    before = await footprint(scene.run, scene.case_id)
    told = await bot_texts(sb, scene.citizen.chat_id)

    await liu.press(data=f"v1:s:{scene.case_id}:accept", chat_id=JINJIANG.group)
    assert_refused(liu, zh(NOT_STAFF))
    # Forged: take the case over for their own office, from their private chat.
    await liu.say("/help")
    for data in (f"v1:s:{scene.case_id}:accept", f"v1:s:{scene.case_id}:transfer:{WUHOU.id}"):
        await liu.press(data=data, force=True)
        assert_refused(liu, zh(NOT_STAFF))

    await assert_untouched(scene, before, told, liu.chat_id)


async def test_staff_of_a_parent_office_may_act_on_a_sub_offices_case(scene: Scene) -> None:
    sb = scene.sandbox
    li = await staff_in(sb, CHENGDU, JINJIANG)

    await li.press(data=f"v1:s:{scene.case_id}:accept", chat_id=JINJIANG.group)

    assert li.last_answer is not None and not li.last_answer.get("show_alert")
    await delivered(scene.run)
    state = await footprint(scene.run, scene.case_id)
    assert (state.state, state.office_id) == ("accepted", JINJIANG.id)
    last = (await events_of(scene.run, scene.case_id))[-1]
    assert (last.action, last.actor_kind, last.actor_id) == ("accept", "staff", CHENGDU.member_id)
    told = await bot_texts(sb, scene.citizen.chat_id)
    assert scene.number in told[-1] and "accepted" in told[-1]


async def test_staff_act_only_in_a_group_of_the_cases_office_or_a_parent_office(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    zhang = await member(sb, JINJIANG)
    li = await staff_in(sb, CHENGDU, WUHOU)
    await li.say("/queue", chat_id=WUHOU.group)  # a message of the bot's there, to press on
    await zhang.say("/help")
    before = await footprint(scene.run, scene.case_id)
    told = await bot_texts(sb, scene.citizen.chat_id)

    # 李强 may act on the case, but not in 武侯区's group, where its members would see it;
    # 张伟 not from his private chat, where his words would go to the petitioner's side.
    for person, chat in ((li, WUHOU.group), (zhang, zhang.chat_id)):
        for action in ("accept", "not_accept"):
            await person.press(data=f"v1:s:{scene.case_id}:{action}", chat_id=chat, force=True)
            assert_refused(person, zh(NOT_STAFF))
    await assert_untouched(scene, before, told, zhang.chat_id)


async def test_forged_and_replayed_staff_buttons_are_refused_and_change_nothing(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    zhang = await member(sb, JINJIANG)
    case = scene.case_id
    forged = {
        f"v1:s:{case}:destroy": NOT_ACTIVE,  # no such action
        f"v1:s:{case}:withdraw": NOT_ACTIVE,  # the petitioner's action, from a staff button
        f"v1:s:{case}:transfer:nowhere": NOT_ACTIVE,  # an office that does not exist
        f"v1:s:{case}:transfer:{JINJIANG.id}": NOT_ACTIVE,  # not offered: its own office
        f"v1:s:{MISSING_ID}:accept": NOT_STAFF,  # no such case: told as if not theirs
        "v1:s:abc": NOT_ACTIVE,
        f"v1:s:{case}": NOT_ACTIVE,
        f"v1:s:{case}:": NOT_ACTIVE,
    }
    before = await footprint(scene.run, case)
    told = await bot_texts(sb, scene.citizen.chat_id)
    for data, refusal in forged.items():
        await zhang.press(data=data, chat_id=JINJIANG.group, force=True)
        assert_refused(zhang, zh(refusal))
    await assert_untouched(scene, before, told)

    # Accepted; then the same Accept pressed again (a replayed button), and choices not offered.
    await zhang.press(data=f"v1:s:{case}:accept", chat_id=JINJIANG.group, force=True)
    await delivered(scene.run)
    before = await footprint(scene.run, case)
    assert before.state == "accepted"
    told = await bot_texts(sb, scene.citizen.chat_id)
    await zhang.press(data=f"v1:s:{case}:accept", chat_id=JINJIANG.group, force=True)
    with use_locale("zh_CN"):
        now = _("Accepted")
    assert_refused(
        zhang,
        zh("This is not possible any more: case %(number)s is now “%(state)s”.")
        % {"number": scene.number, "state": now},
    )
    for data in (f"v1:s:{case}:answer:whatever", f"v1:s:{case}:extend:99"):
        await zhang.press(data=data, chat_id=JINJIANG.group, force=True)
        assert_refused(zhang, zh(NOT_ACTIVE))
    await assert_untouched(scene, before, told)


async def test_only_the_member_who_pressed_gives_the_words(scene: Scene) -> None:
    sb = scene.sandbox
    zhang = await member(sb, JINJIANG)
    li = await staff_in(sb, CHENGDU, JINJIANG)  # may act on the case, but was not asked

    asked = await zhang.press(data=f"v1:s:{scene.case_id}:not_accept", chat_id=JINJIANG.group)
    assert any(JINJIANG.member_name in m.text and "/cancel" in m.text for m in asked)
    before = await footprint(scene.run, scene.case_id)
    assert (before.state, before.pending) == ("submitted", 1)

    await li.say("这个我来看看", chat_id=JINJIANG.group, expect_reply=False)
    assert await footprint(scene.run, scene.case_id) == before
    # Words too long are refused, and the question stays open for shorter ones.
    [too_long] = await zhang.say("理" * 3001, chat_id=JINJIANG.group)
    assert "3001" in too_long.text
    assert await footprint(scene.run, scene.case_id) == before

    await zhang.say("该事项已进入诉讼程序", chat_id=JINJIANG.group)
    await delivered(scene.run)
    after = await footprint(scene.run, scene.case_id)
    assert (after.state, after.pending) == ("not_accepted", 0)
    last = (await events_of(scene.run, scene.case_id))[-1]
    assert (last.actor_id, last.public_text) == (JINJIANG.member_id, "该事项已进入诉讼程序")


async def test_words_asked_for_a_case_that_moved_on_are_refused_once_then_forgotten(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    zhang = await member(sb, JINJIANG)
    li = await staff_in(sb, CHENGDU, JINJIANG)
    await zhang.press(data=f"v1:s:{scene.case_id}:not_accept", chat_id=JINJIANG.group)
    await li.press(data=f"v1:s:{scene.case_id}:accept", chat_id=JINJIANG.group)
    await delivered(scene.run)
    before = await footprint(scene.run, scene.case_id)

    replies = await zhang.say("不予受理", chat_id=JINJIANG.group)
    assert any(scene.number in m.text for m in replies)  # told the case moved on
    # Nothing waits for 张伟's words any more: the group's talk is the staff's own again.
    assert await zhang.say("好的", chat_id=JINJIANG.group, expect_reply=False) == []
    after = await footprint(scene.run, scene.case_id)
    assert (after.state, after.events, after.pending) == ("accepted", before.events, 0)


async def test_a_petitioner_pressing_on_anothers_case_is_told_it_does_not_exist(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    bob = await sb.user(first_name="Bob", language_code="en")
    await bob.say("/help")
    before = await footprint(scene.run, scene.case_id)
    told = await bot_texts(sb, scene.citizen.chat_id)

    for action in ("withdraw", "follow_up", "request_review", "show"):
        theirs = await bob.press(data=f"v1:c:{scene.case_id}:{action}", force=True)
        missing = await bob.press(data=f"v1:c:{MISSING_ID}:{action}", force=True)
        assert [m.text for m in theirs] == [m.text for m in missing]
        assert "No such case" in theirs[-1].text

    await assert_untouched(scene, before, told, bob.chat_id)


async def test_a_stranger_asking_for_a_case_number_gets_the_answer_for_a_missing_one(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    bob = await sb.user(first_name="Bob", language_code="en")
    visitor = await sb.user(first_name="赵六", language_code="zh-hans", groups=(JINJIANG.group,))

    async def answers(person: Person, text: str, chat_id: int | None = None) -> list[str]:
        replies = await person.say(text, chat_id=chat_id)
        return [m.text.replace(scene.number, "N").replace(MISSING, "N") for m in replies]

    for ask in (str, "/status {}".format, str.lower):  # as sent, as a command, in lower case
        theirs = await answers(bob, ask(scene.number))
        assert theirs == await answers(bob, ask(MISSING)), theirs
    theirs = await answers(visitor, f"/status {scene.number}", JINJIANG.group)
    assert theirs == await answers(visitor, f"/status {MISSING}", JINJIANG.group)
    assert theirs and "N" in theirs[0]


async def test_staff_see_the_cases_of_their_office_and_its_sub_offices_only(
    scene: Scene,
) -> None:
    sb = scene.sandbox
    zhang = await member(sb, JINJIANG)
    li = await staff_in(sb, CHENGDU, WUHOU)
    liu = await member(sb, WUHOU)
    wang = await member(sb, SICHUAN)
    n = scene.number
    not_found = zh("No case %(number)s was found among your cases.") % {"number": n}

    async def answer(person: Person, command: str, chat_id: int | None = None) -> str:
        replies = await person.say(f"{command} {n}", chat_id=chat_id)
        assert len(replies) == 1, [m.text for m in replies]
        return replies[0].text

    may_see = [
        (zhang, "/status", JINJIANG.group),
        (zhang, "/case", None),
        (li, "/case", CHENGDU.group),  # a parent office's group
        (li, "/case", None),
        (wang, "/case", SICHUAN.group),
    ]
    for person, command, chat in may_see:
        shown = await answer(person, command, chat)
        assert n in shown and zh("State") in shown and zh("the petitioner") in shown, shown
    may_not = [
        (liu, "/case", WUHOU.group),
        (liu, "/case", None),
        (li, "/case", WUHOU.group),  # 李强 may see it, but not in a sibling office's group
    ]
    for person, command, chat in may_not:
        assert await answer(person, command, chat) == not_found

    # Nor do the alert's detail buttons show it there.
    before = await footprint(scene.run, scene.case_id)
    wuhou = await bot_texts(sb, WUHOU.group)
    for action in ("full", "history", "files"):
        await li.press(data=f"v1:s:{scene.case_id}:{action}", chat_id=WUHOU.group, force=True)
        assert_refused(li, zh(NOT_STAFF))
    await delivered(scene.run)
    assert await footprint(scene.run, scene.case_id) == before
    assert await bot_texts(sb, WUHOU.group) == wuhou
