"""`petition-bot sandbox`: the stand-in Telegram, its web page and the real bot, in one process.

A composition root. It starts the stand-in on the given port (the page is at its `/`), then runs
the unmodified bot with settings that point `PETITION_BOT_API_URL` at the stand-in, use the
example deployment and a SQLite file of its own. The bot cannot tell it is not talking to
Telegram. The example's staff groups and staff members exist in the stand-in.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from pydantic import SecretStr

from bot.app import build_application, build_services, run_polling
from bot.deployment import load_deployment
from bot.sandbox.botapi import FakeBotApi
from bot.settings import Settings

log = logging.getLogger(__name__)

PROJECT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = PROJECT / "examples" / "deployment.toml"
SANDBOX_DB = "sqlite+aiosqlite:///var/sandbox.db"
SANDBOX_TOKEN = "123456:SANDBOX-not-a-real-token"  # noqa: S105 - the stand-in accepts any token


def stand_in_for(config: Path) -> FakeBotApi:
    """A stand-in with the deployment's staff groups and staff members in them."""
    deployment = load_deployment(config)
    offices = {office.id: office for office in deployment.config.offices}
    groups = {
        office.group_chat_id: f"{office.name_zh} · staff"
        for office in offices.values()
        if office.group_chat_id is not None
    }
    api = FakeBotApi(groups=groups)
    for member in deployment.config.staff:
        chat = offices[member.office].group_chat_id
        api.add_user(
            member.user_id,
            member.name,
            language_code="zh-hans",
            groups=(chat,) if chat is not None else (),
        )
    return api


def sandbox_settings(
    api_url: str, database_url: str = SANDBOX_DB, config: Path = EXAMPLE
) -> Settings:
    return Settings(
        bot_token=SecretStr(SANDBOX_TOKEN),
        bot_api_url=api_url,
        database_url=database_url,
        config=config,
    )


async def run_sandbox(host: str = "127.0.0.1", port: int = 8080) -> int:
    """Run until Ctrl-C."""
    api = stand_in_for(EXAMPLE)
    url = await api.start(host, port)
    services = await build_services(sandbox_settings(url), upgrade_any=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"Sandbox running: open {url}/ in a browser (Ctrl-C stops it).", flush=True)  # noqa: T201
    try:
        await run_polling(build_application(services), stop)
    finally:
        await services.db.dispose()
        await api.stop()
    return 0
