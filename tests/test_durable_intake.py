"""Durable intake: every update is stored before Telegram is told it arrived, and handled once.

Through the real bot polling the stand-in (and, for the webhook, the bot's own server): an
update Telegram delivers again is not handled again; updates a process stored but did not get
to handle (it was killed) are handled by the next start; a webhook POST is answered 200 only
once its update is stored, and 503 when it cannot be (Telegram then sends it again). The
crash tests (tests/test_crash.py) show the same with real processes and SIGKILL.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.inbox import Inbox
from bot.web import SECRET_HEADER, WebhookServer
from storage.db import Database
from storage.models import InboundUpdate
from tests.test_webhook import PATH, SECRET, _start_update, hook, http

__all__ = ["hook", "http"]  # fixtures of the webhook tests, used here too


async def stored(db: Database) -> dict[int, InboundUpdate]:
    async with db.sessions() as session:
        rows = (await session.execute(select(InboundUpdate))).scalars()
        return {row.update_id: row for row in rows}


async def test_an_update_telegram_delivers_again_is_handled_once(bot: Any) -> None:
    citizen = await bot.sandbox.user(first_name="Alice")
    replies = await citizen.say("/help")
    assert replies, "the bot answered /help"
    rows = await stored(bot.services.db)
    [(update_id, row)] = [(i, r) for i, r in rows.items() if "message" in r.body]
    assert row.status == "done" and row.attempts == 1

    again = await bot.sandbox.raw_update(row.body, chat_id=citizen.chat_id)

    assert again == []
    assert (await stored(bot.services.db))[update_id].status == "done"
    assert len(await citizen.messages()) == len(replies) + 1  # /help and its answer only


async def test_updates_stored_by_a_process_that_died_are_handled_by_the_next(bot: Any) -> None:
    citizen = await bot.sandbox.user(first_name="Alice")
    await citizen.say("/help")
    [template] = [r.body for r in (await stored(bot.services.db)).values() if "message" in r.body]
    await bot.stop_bot()

    # A process stored two updates (and told Telegram): it died handling the first and before
    # it got to the second.
    def later(update_id: int, text: str) -> tuple[int, str, dict[str, Any]]:
        body = copy.deepcopy(template)
        body["update_id"] = update_id
        body["message"].update(message_id=update_id, text=text)
        body["message"]["entities"][0]["length"] = len(text)
        return update_id, f"{citizen.chat_id}:{citizen.id}", body

    database = Database(bot.database_url)
    dead = Inbox(database, "dead", lease_seconds=0.01)
    try:
        await dead.store([later(9001, "/help"), later(9002, "/cases")])
        assert [s.update_id for s in await dead.claim(1)] == [9001]
    finally:
        await database.dispose()
    before = len(await citizen.messages())

    await bot.start_bot()
    await bot.sandbox.wait_idle()

    rows = await stored(bot.services.db)
    assert (rows[9001].status, rows[9001].attempts) == ("done", 2)
    assert (rows[9002].status, rows[9002].attempts) == ("done", 1)
    answers = [m for m in (await citizen.messages())[before:] if m.from_bot]
    assert len(answers) == 2, [m.text for m in answers]  # /help, then /cases, in that order
    assert "/new" in answers[0].text


async def test_a_webhook_post_is_answered_200_only_once_its_update_is_stored(
    hook: Any, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    citizen = await hook.sandbox.user(first_name="Alice")
    url, headers = hook.base + PATH, {SECRET_HEADER: SECRET}
    async with http.post(url, json=_start_update(7001, citizen), headers=headers) as response:
        assert response.status == 200
    assert 7001 in await stored(hook.services.db)  # stored before the answer

    # The same server over a database that cannot be written: 503, so Telegram sends it again.
    gone = tmp_path / "gone"
    broken = Database(f"sqlite+aiosqlite:///{gone}/bot.db")
    gone.rmdir()
    services = dataclasses.replace(hook.services, inbox=Inbox(broken, "x", lease_seconds=15))
    server = WebhookServer(hook.app, services)
    try:
        async with TestServer(server.web, host="127.0.0.1") as site:
            target = str(site.make_url(PATH))
            async with http.post(target, json=_start_update(7002, citizen), headers=headers) as r:
                assert r.status == 503
    finally:
        await broken.dispose()
    assert 7002 not in await stored(hook.services.db)
