"""The real bot running in the test process against the Bot API stand-in, over real HTTP.

`BotRun` starts the stand-in (with the example deployment's staff groups), builds the services
and the PTB Application exactly as `petition-bot run` does — only the settings differ — and
polls. `restart()` throws the Application away and builds a new one on the same database file,
as a process restart would. Tests talk to the bot only through `tests.driver`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.app import (
    App,
    build_application,
    build_services,
    start_application,
    start_polling,
    stop_application,
)
from bot.sandbox.botapi import FakeBotApi
from bot.sandbox.runner import EXAMPLE, sandbox_settings, stand_in_for
from bot.services import Services
from bot.settings import Settings
from tests.driver import Sandbox


class BotRun:
    """A stand-in plus the real bot; use as an async context manager."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        config: Path = EXAMPLE,
        *,
        clock: Callable[[], datetime] | None = None,
        **settings: Any,
    ) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.config = config
        self.clock = clock
        # The outbox paces each chat at a tenth of Telegram's limits, so tests need not wait
        # a second between two notices to the same person; the pacing itself is tested in
        # test_delivery with limits of its own.
        # A driver answers faster than any person, so flood control is off unless a test (of it)
        # turns it on.
        self.overrides = {
            "chat_interval": 0.05,
            "group_period": 3.0,
            "flood_rate": 1000.0,
            "flood_burst": 1000,
            **settings,
        }
        self.api: FakeBotApi = stand_in_for(config)
        self.services: Services | None = None
        self.app: App | None = None
        self.sandbox: Sandbox | None = None

    def settings(self) -> Settings:
        settings = sandbox_settings(self.api.url, self.database_url, self.config)
        return settings.model_copy(update={"data_dir": self.data_dir, **self.overrides})

    async def __aenter__(self) -> BotRun:
        url = await self.api.start()
        self.sandbox = Sandbox(url, settle=0.2, busy=self.owes)
        await self.sandbox.__aenter__()
        await self.start_bot()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        if self.sandbox is not None:
            await self.sandbox.close()
        await self.api.stop()

    async def start_bot(self) -> None:
        self.services = await build_services(self.settings(), clock=self.clock)
        self.app = build_application(self.services)
        await start_application(self.app)
        await start_polling(self.app, long_poll=1)

    async def stop_bot(self) -> None:
        if self.app is not None:
            await stop_application(self.app)
            self.app = None
        if self.services is not None:
            await self.services.db.dispose()
            self.services = None

    async def owes(self) -> bool:
        """Whether the running bot's outbox has rows due to be sent (pending or sending)."""
        if self.services is None:
            return False
        counts = await self.services.delivery.counts()
        return counts["pending"] + counts["sending"] > 0

    async def drained(self, within: float = 10.0) -> None:
        """Wait until the outbox owes nothing that is due: every notice of the last action was
        sent (or failed for good, or waits for a later retry)."""
        assert self.services is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            counts = await self.services.delivery.counts()
            if counts["pending"] == 0 and counts["sending"] == 0:
                if self.sandbox is not None:
                    await self.sandbox.wait_idle()
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the outbox did not drain: {counts}")

    async def restart(self) -> None:
        """A new Application (and engine) on the same database, as after a process restart."""
        await self.stop_bot()
        await self.start_bot()
