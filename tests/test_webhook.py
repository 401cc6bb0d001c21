"""Webhook mode end to end: the real bot's aiohttp server takes updates pushed by the Bot API
stand-in over HTTP (the stand-in plays Telegram's side of setWebhook), on 127.0.0.1 with a port
of its own, and serves /healthz and /metrics.

`WebhookBotRun` is `BotRun` with the Application built without an Updater and served by
`bot.web.WebhookServer`, exactly as `petition-bot run --webhook` does; the last tests run that
command itself in a child process and stop it with SIGTERM. Every test that runs the bot runs
once on SQLite and once on PostgreSQL (`backend` in conftest).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import DISPATCHER_KEY, build_application, build_services
from bot.cases import Cases
from bot.intake import Step
from bot.outbox import Delivery
from bot.sandbox.botapi import CallRecord
from bot.sandbox.runner import EXAMPLE, SANDBOX_TOKEN, stand_in_for
from bot.settings import Settings
from bot.web import SECRET_HEADER, WebhookServer, webhook_problems
from storage.db import Database
from storage.models import Outbox
from tests.botrun import BotRun
from tests.dialogs import CASE_NUMBER, cases_of, draft_button, file_petition
from tests.driver import Person, Sandbox

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test_Webhook-secret-0123456789"
PATH = "/telegram"
T = TypeVar("T")


class WebhookBotRun(BotRun):
    """The stand-in plus the real bot in webhook mode: the stand-in posts every update to the
    bot's own server, with the secret token."""

    def __init__(self, database_url: str, data_dir: Path, **settings: Any) -> None:
        super().__init__(
            database_url,
            data_dir,
            webhook_secret=SecretStr(SECRET),
            webhook_listen="127.0.0.1:0",
            webhook_path=PATH,
            **settings,
        )
        self.server: WebhookServer | None = None
        self.base = ""  # http://127.0.0.1:<port> of the bot's server

    async def start_bot(self) -> None:
        self.services = await build_services(self.settings(), clock=self.clock)
        self.app = build_application(self.services)
        self.server = WebhookServer(self.app, self.services)
        port = await self.server.start()
        self.base = f"http://127.0.0.1:{port}"
        await self.server.register(self.base + PATH)

    async def stop_bot(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = self.app = None
        if self.services is not None:
            await self.services.db.dispose()
            self.services = None


@pytest.fixture
async def hook(prepared_database_url: str, geo_cache: Path) -> AsyncIterator[Any]:
    run = WebhookBotRun(prepared_database_url, geo_cache.parent)
    async with run:
        yield run


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _until(probe: Callable[[], T | None], within: float = 15.0) -> T:
    """Poll `probe` until it returns something."""
    deadline = time.monotonic() + within
    while (found := probe()) is None or found is False:
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        await asyncio.sleep(0.02)
    return found


def _start_update(update_id: int, person: Person) -> dict[str, Any]:
    """`/start` from `person` in their private chat, as Telegram posts it."""
    user = {"id": person.id, "is_bot": False, "first_name": person.first_name}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": {**user, "language_code": "en"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def _calls_to(hook: WebhookBotRun, chat_id: int) -> list[CallRecord]:
    return [c for c in hook.api.calls if c.chat_id == chat_id]


async def _metrics(http: aiohttp.ClientSession, base: str) -> dict[tuple[str, str], float]:
    """Every sample of /metrics, by (name, the labels' values joined with commas)."""
    async with http.get(base + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, ",".join(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


# --- registration and a whole dialog -----------------------------------------------------------


async def test_the_bot_registers_its_webhook_with_the_secret_and_never_polls(hook: Any) -> None:
    info = hook.api.webhook.info()

    assert info["url"] == hook.base + PATH
    assert info["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert hook.api.webhook.secret == SECRET
    assert not [c for c in hook.api.calls if c.method.lower() in ("getupdates", "deletewebhook")]


async def test_a_citizen_files_a_petition_through_the_webhook_and_gets_the_receipt(
    hook: Any,
) -> None:
    citizen = await hook.sandbox.user(first_name="Alice", language_code="en")

    receipt = await file_petition(citizen)
    await hook.drained()

    assert receipt[-1].text.startswith("✅ Your petition has been submitted.")
    [number] = CASE_NUMBER.findall(receipt[-1].text)
    deliveries = hook.api.webhook.deliveries
    assert len(deliveries) >= 15
    assert {d.get("status") for d in deliveries} == {200}  # each update taken at the first try
    await hook.sandbox.assert_no_errors()
    async with hook.services.db.sessions() as session:
        rows = list(await session.scalars(select(Outbox).where(Outbox.chat_id == citizen.id)))
    assert [(r.kind, r.status) for r in rows] == [("receipt", "sent")]
    [case] = await cases_of(hook, citizen)
    assert case.number == number


# --- the webhook endpoint refuses what is not Telegram's -----------------------------------


async def test_a_post_without_the_right_secret_gets_403_and_is_not_processed(
    hook: Any, http: aiohttp.ClientSession
) -> None:
    citizen = await hook.sandbox.user(first_name="Mallory's target", language_code="en")
    url = hook.base + PATH
    update = _start_update(1, citizen)

    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET[:-1] + "X"}):
        async with http.post(url, json=update, headers=headers) as response:
            assert response.status == 403
    await asyncio.sleep(0.5)  # what would have been answered by now

    assert _calls_to(hook, citizen.id) == []
    samples = await _metrics(http, hook.base)
    assert samples[("petition_webhook_rejected_total", "secret")] == 3
    assert ("petition_updates_received_total", "message") not in samples

    # The same update with the secret is handled: the refusals were about the secret alone.
    async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response:
        assert response.status == 200
    await _until(lambda: _calls_to(hook, citizen.id))


async def test_a_body_that_is_not_a_json_object_gets_400(
    hook: Any, http: aiohttp.ClientSession
) -> None:
    url, headers = hook.base + PATH, {SECRET_HEADER: SECRET}

    for body in (b"not json", b"[1, 2]", b'"update"', b'{"message": {}}', b"\xff\xfe"):
        async with http.post(url, data=body, headers=headers) as response:
            assert response.status == 400, body

    samples = await _metrics(http, hook.base)
    assert samples[("petition_webhook_rejected_total", "malformed")] == 5
    async with http.get(url) as response:
        assert response.status == 405  # only POST


# --- health -----------------------------------------------------------------------------


async def test_healthz_is_200_when_the_database_answers_and_the_dispatcher_runs(
    hook: Any, http: aiohttp.ClientSession
) -> None:
    async with http.get(hook.base + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {
            "status": "ok",
            "database": "ok",
            "updates": "running",
            "outbox_dispatcher": "running",
        }


async def test_healthz_is_503_while_the_outbox_dispatcher_is_stopped(
    hook: Any, http: aiohttp.ClientSession
) -> None:
    await hook.app.bot_data[DISPATCHER_KEY].stop()

    async with http.get(hook.base + "/healthz") as response:
        assert response.status == 503
        assert await response.json() == {
            "status": "unavailable",
            "database": "ok",
            "updates": "running",
            "outbox_dispatcher": "stopped",
        }
    samples = await _metrics(http, hook.base)
    assert samples[("petition_outbox_dispatcher_up", "")] == 0


async def test_healthz_is_503_while_the_database_cannot_be_opened(
    hook: Any, http: aiohttp.ClientSession, backend: str, tmp_path: Path
) -> None:
    # The same bot's server, over a database that cannot be opened: a SQLite file whose
    # directory is gone, or a PostgreSQL database that does not exist on the server. (Disposing
    # of the running bot's engine would not do: the next check simply opens a new connection.)
    # /healthz names the error's class, which SQLAlchemy picks by driver.
    if backend == "sqlite":
        gone = tmp_path / "gone"
        broken = Database(f"sqlite+aiosqlite:///{gone}/bot.db")  # creates the directory
        gone.rmdir()
        error = "OperationalError"
    else:
        server_url, _name = hook.database_url.rsplit("/", 1)
        broken = Database(f"{server_url}/petition_test_missing")
        error = "DBAPIError"  # asyncpg's InvalidCatalogNameError, wrapped
    services = dataclasses.replace(
        hook.services,
        db=broken,
        cases=Cases(broken, hook.services.directory),
        delivery=Delivery(broken),
    )
    server = WebhookServer(hook.app, services)
    try:
        async with TestServer(server.web, host="127.0.0.1") as site:
            base = str(site.make_url("")).rstrip("/")
            async with http.get(base + "/healthz") as response:
                assert response.status == 503
                body = await response.json()
            samples = await _metrics(http, base)
            async with http.get(hook.base + "/healthz") as response:
                assert response.status == 200  # the bot's own server: its database answers
    finally:
        await broken.dispose()

    assert body == {
        "status": "unavailable",
        "database": error,
        "updates": "running",
        "outbox_dispatcher": "running",
    }
    assert samples[("petition_database_up", "")] == 0
    assert not [name for name, _ in samples if name in ("petition_cases", "petition_outbox_rows")]
    assert samples[("petition_outbox_dispatcher_up", "")] == 1


# --- metrics ------------------------------------------------------------------------------


async def test_metrics_count_updates_by_type_and_read_cases_and_outbox_from_the_database(
    hook: Any, http: aiohttp.ClientSession
) -> None:
    citizen = await hook.sandbox.user(first_name="Alice", language_code="en")
    await file_petition(citizen)
    await hook.drained()
    before = await _metrics(http, hook.base)

    await citizen.say("/help")
    after = await _metrics(http, hook.base)

    delivered = {d["update_id"] for d in hook.api.webhook.deliveries}
    received = {
        kind: after.get(("petition_updates_received_total", kind), 0)
        for kind in ("message", "callback_query")
    }
    assert sum(received.values()) == len(delivered)
    assert received["callback_query"] > 0
    assert received["message"] == before[("petition_updates_received_total", "message")] + 1
    for kind, count in received.items():
        assert after[("petition_update_handling_seconds_count", kind)] == count
    assert after[("petition_cases", "submitted")] == 1
    assert sum(v for (name, _), v in after.items() if name == "petition_cases") == 1
    counts = await hook.services.delivery.counts()
    assert counts["sent"] >= 2  # the receipt and the office's alert
    for status, count in counts.items():
        assert after[("petition_outbox_rows", status)] == count
    assert after[("petition_outbox_sends_total", "sent")] == counts["sent"]
    assert after[("petition_outbox_sends_total", "retry")] == 0
    assert after[("petition_telegram_429_total", "")] == 0
    assert after[("petition_database_up", "")] == 1
    assert after[("petition_outbox_dispatcher_up", "")] == 1


async def test_metrics_count_the_429s_the_outbox_received(
    hook: Any, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as PTB 23 will give it
    citizen = await hook.sandbox.user(first_name="Alice", language_code="en")
    await file_petition(citizen, upto=Step.REVIEW)
    # Submitting sends nothing itself to the citizen: the next sendMessage is the receipt, from
    # the outbox, which waits for Telegram's retry_after and sends it again.
    hook.api.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=citizen.id,
    )
    submit = draft_button(await citizen.messages(), "submit")
    await citizen.press(data=submit)

    async def settled() -> bool:
        counts = await hook.services.delivery.counts()
        return counts["pending"] + counts["sending"] + counts["failed_temporary"] == 0

    deadline = time.monotonic() + 15
    while not await settled():
        assert time.monotonic() < deadline, await hook.services.delivery.counts()
        await asyncio.sleep(0.05)
    samples = await _metrics(http, hook.base)
    assert samples[("petition_telegram_429_total", "")] == 1
    assert samples[("petition_outbox_sends_total", "retry")] == 1
    assert samples[("petition_outbox_sends_total", "sent")] == 2  # the receipt, the alert


# --- graceful shutdown --------------------------------------------------------------------


async def test_stopping_finishes_the_update_in_hand_and_the_sends_in_flight(hook: Any) -> None:
    api, sb = hook.api, hook.sandbox
    citizen = await sb.user(first_name="Alice", language_code="en")
    await file_petition(citizen, upto=Step.REVIEW)
    review = [m for m in await citizen.messages() if draft_button([m], "submit")][-1]
    api.delay = 0.5  # every bot call now takes half a second
    first = len(api.calls)

    await sb.post(
        "/press",
        {
            "user_id": citizen.id,
            "chat_id": citizen.chat_id,
            "message_id": review.message_id,
            "data": draft_button([review], "submit"),
        },
    )

    def receipt_on_its_way() -> CallRecord | None:
        return next(
            (
                c
                for c in api.calls[first:]
                if c.method == "sendMessage"
                and c.chat_id == citizen.chat_id
                and CASE_NUMBER.search(str(c.params.get("text", "")))
                and c.finished_at is None
            ),
            None,
        )

    receipt = await _until(receipt_on_its_way)
    await hook.stop_bot()

    assert receipt.status == 200
    made = [c for c in api.calls[first:] if c.method.lower() != "getupdates"]
    assert [c for c in made if c.finished_at is None or c.status != 200] == []
    [number] = CASE_NUMBER.findall(str(receipt.params["text"]))
    db = Database(hook.database_url)
    try:
        async with db.sessions() as session:
            rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "receipt")))
    finally:
        await db.dispose()
    assert [(r.status, r.message_id is not None) for r in rows] == [("sent", True)]
    shown = [m.text for m in await citizen.messages() if m.from_bot]
    assert any(number in text for text in shown)
    assert api.webhook.info()["url"] == hook.base + PATH  # not deleted: Telegram keeps updates


# --- settings and the command line --------------------------------------------------------


def test_the_webhook_path_is_the_urls_unless_set_and_listen_is_host_and_port() -> None:
    settings = Settings(webhook_url="https://bot.example.org/telegram")

    assert settings.webhook_route == "/telegram"
    assert settings.webhook_address == ("0.0.0.0", 8443)
    assert Settings(webhook_path="/hook", webhook_url="https://x.org/t").webhook_route == "/hook"
    assert Settings(webhook_listen="[::1]:8443").webhook_address == ("::1", 8443)
    for bad in ("8443", "host:", "host:http", "host:70000"):
        with pytest.raises(ValueError, match="host:port"):
            Settings(webhook_listen=bad)
    with pytest.raises(ValueError, match="must start with /"):
        Settings(webhook_path="telegram")


def test_webhook_mode_needs_a_url_and_a_well_formed_secret_which_is_never_quoted() -> None:
    assert (
        webhook_problems(
            Settings(
                webhook_url="https://bot.example.org/telegram", webhook_secret=SecretStr("a-1_B")
            )
        )
        == []
    )
    assert webhook_problems(Settings()) == [
        "PETITION_WEBHOOK_URL is not set: the public https URL Telegram posts to",
        "PETITION_WEBHOOK_SECRET is not set",
    ]
    problems = webhook_problems(
        Settings(webhook_url="bot.example.org", webhook_secret=SecretStr("my secret!"))
    )
    assert len(problems) == 2
    assert "my secret!" not in " ".join(problems)
    clash = Settings(webhook_url="https://x.org/metrics", webhook_secret=SecretStr("s"))
    assert webhook_problems(clash) == ["the webhook path /metrics is taken by the server itself"]


async def test_the_server_refuses_to_exist_without_a_secret(hook: Any) -> None:
    services = dataclasses.replace(
        hook.services,
        settings=hook.services.settings.model_copy(update={"webhook_secret": SecretStr("")}),
    )

    with pytest.raises(ValueError, match="PETITION_WEBHOOK_SECRET is required"):
        WebhookServer(hook.app, services)


def _environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PETITION_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update({f"PETITION_{name.upper()}": value for name, value in values.items()})
    return env


async def test_run_webhook_without_its_settings_exits_2_naming_them(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--webhook",
        cwd=tmp_path,
        env=_environment(bot_token=SANDBOX_TOKEN, webhook_secret="not allowed!"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()

    assert process.returncode == 2
    text = err.decode()
    assert "PETITION_WEBHOOK_URL is not set" in text
    assert "PETITION_WEBHOOK_SECRET must be 1 to 256 characters" in text
    assert "not allowed!" not in text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_petition_bot_run_webhook_serves_until_sigterm_then_exits_0(
    prepared_database_url: str, tmp_path: Path, geo_cache: Path
) -> None:
    api = stand_in_for(EXAMPLE)
    api_url = await api.start()
    port = _free_port()
    log_path = tmp_path / "bot.log"
    try:
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--webhook",
                cwd=tmp_path,
                env=_environment(
                    bot_token=SANDBOX_TOKEN,
                    bot_api_url=api_url,
                    database_url=prepared_database_url,
                    config=str(EXAMPLE),
                    data_dir=str(geo_cache.parent),
                    webhook_url=f"http://127.0.0.1:{port}{PATH}",
                    webhook_secret=SECRET,
                    webhook_listen=f"127.0.0.1:{port}",
                    log_level="DEBUG",  # even then: no token, no secret
                ),
                stdout=log,
                stderr=log,
            )
        try:
            await _until(lambda: api.webhook.url or process.returncode is not None, within=60)
            assert process.returncode is None, log_path.read_text()
            async with Sandbox(api_url, settle=0.2) as sb:
                citizen = await sb.user(first_name="Alice", language_code="en")
                replies = await citizen.say("/start")
            assert replies, "the bot did not answer"
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    finally:
        await api.stop()

    output = log_path.read_text()
    assert code == 0, output
    assert "webhook registered: http://127.0.0.1" in output
    assert SANDBOX_TOKEN not in output and SANDBOX_TOKEN.split(":")[1] not in output
    assert SECRET not in output
    assert api.webhook.url == f"http://127.0.0.1:{port}{PATH}"
