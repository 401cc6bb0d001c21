"""The staff side of the end-to-end tests: the example's offices, their groups and members.

Staff act the way a person does in the sandbox: they press the buttons under an alert (by
callback data, `v1:s:<case>:<action>[:<arg>]`, so the walk is the same in every language), pick
a choice from the message the bot posts, and answer the bot's request for words in their group.
`LifecycleRun` is a `BotRun` whose deployment writes every group in the language under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.sandbox.runner import EXAMPLE
from tests.driver import BotMessage, Person, Sandbox


@dataclass(frozen=True)
class Office:
    id: str
    group: int
    member_id: int
    member_name: str


SICHUAN = Office("sc", -1001000000001, 900001, "王芳")
CHENGDU = Office("cd", -1001000000002, 900002, "李强")
JINJIANG = Office("cd-jinjiang", -1001000000003, 900003, "张伟")
WUHOU = Office("cd-wuhou", -1001000000004, 900004, "刘洋")

_ALERT_DATA = re.compile(r"^v1:s:(\d+):")


def deployment_in(language: str, tmp_path: Path) -> Path:
    """The example deployment with every office's group written in `language`."""
    if language == "zh_CN":
        return EXAMPLE
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "[[offices]]\n", f'[[offices]]\nlanguage = "{language}"\n'
    )
    path = tmp_path / "deployment.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def member(sandbox: Sandbox, office: Office, language_code: str = "zh-hans") -> Person:
    return await sandbox.user(
        id=office.member_id,
        first_name=office.member_name,
        language_code=language_code,
        groups=(office.group,),
    )


def case_id_in(message: BotMessage) -> int | None:
    for row in message.buttons:
        for _label, data in row:
            found = _ALERT_DATA.match(data or "")
            if found:
                return int(found.group(1))
    return None


async def alert_for(sandbox: Sandbox, office: Office, number: str) -> BotMessage:
    """The newest alert about case `number` in the office's group."""
    messages = await sandbox.chat_messages(office.group)
    for message in sorted(messages, key=lambda m: m.message_id, reverse=True):
        if message.from_bot and number in message.text and case_id_in(message) is not None:
            return message
    raise AssertionError(f"no alert for {number} in {office.id}: {[m.text for m in messages]}")


async def act(
    staff: Person,
    office: Office,
    case_id: int,
    action: str,
    arg: str | None = None,
    *,
    text: str | None = None,
) -> list[BotMessage]:
    """Press `action` on the case's alert, then the choice `arg`, then send `text` if asked."""
    replies = await staff.press(data=f"v1:s:{case_id}:{action}", chat_id=office.group)
    if arg is not None:
        replies = await staff.press(data=f"v1:s:{case_id}:{action}:{arg}", chat_id=office.group)
    if text is not None:
        replies = await staff.say(text, chat_id=office.group)
    return replies


async def petitioner_act(
    person: Person, case_id: int, action: str, arg: str | None = None, *, text: str | None = None
) -> list[BotMessage]:
    """The petitioner presses one of their case buttons, picks `arg`, writes `text`."""
    replies = await person.press(data=f"v1:c:{case_id}:{action}")
    if arg is not None:
        replies = await person.press(data=f"v1:c:{case_id}:{action}:{arg}")
    if text is not None:
        replies = await person.say(text)
    return replies


async def bot_texts(sandbox: Sandbox, chat_id: int, since: int = 0) -> list[str]:
    """The texts of the bot's live messages in a chat, oldest first (edits included)."""
    messages = await sandbox.chat_messages(chat_id, since=since)
    return [m.text for m in sorted(messages, key=lambda m: m.message_id) if m.from_bot]
