"""What the benchmarks share: the bot in a process of its own, the stand-in, citizens, figures.

The bot runs as production runs it — its own process, polling a Bot API over HTTP — so its CPU
time and memory are its own: `BotProcess` starts `python3 bench/harness.py serve …` (the petition
bot built by `bot.app`, or a bare PTB echo bot) against the stand-in, which runs in the benchmark's
process. Citizens act on the stand-in's world directly, as its control API does (no HTTP and no
polling for the driver), and `Watch` wakes a citizen the moment the bot's message or edit reaches
their chat, by wrapping the world's `emit`. Nothing here asserts: the scripts print figures.
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import json
import os
import re
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.sandbox.botapi import FakeBotApi
from bot.sandbox.runner import EXAMPLE, sandbox_settings, stand_in_for
from bot.sandbox.user_input import hide_one_time_keyboard, message_content
from bot.sandbox.world import BOT_ID, CallbackQuery, JsonDict

HERE = Path(__file__).resolve()
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]  # as bot.app.run_polling
_query_ids = itertools.count(7_770_000_000_000_000_001)


# -- figures --------------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (inclusive method; needs at least two values)."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def line(label: str, value: str, target: str = "") -> None:
    """One figure, with its target beside it when there is one."""
    print(f"  {label:<44} {value:>16}   {target}".rstrip())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident set size (or `VmHWM`, its peak) of a process in MB, from /proc."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1]) / 1024
    raise LookupError(field)


# -- the bot, in a process of its own --------------------------------------------------------


class BotProcess:
    """`python3 bench/harness.py serve KIND …` as a child; `async with` starts and stops it."""

    def __init__(self, kind: str, api_url: str, database: Path, **settings: Any) -> None:
        self.args = [kind, api_url, str(database), json.dumps(settings)]
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> BotProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE),
            "serve",
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        ready = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if ready.strip() != b"READY":
            raise RuntimeError(f"the bot did not start: {ready!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the child's stdin: it stops the way `petition-bot run` does on SIGTERM."""
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 60)
            except TimeoutError:
                self.proc.kill()


async def _serve(kind: str, api_url: str, database: str, overrides: dict[str, Any]) -> None:
    """The child: run the bot until its stdin closes (so it never outlives the benchmark);
    print READY once it polls."""
    from telegram.ext import Application  # noqa: PLC0415 - the parent never needs PTB's Application

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def wait_for_eof() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    if kind == "echo":
        app = Application.builder().token("1:ECHO").base_url(api_url + "/bot")
        if "send_rate" in overrides:  # Telegram's limits, kept as the petition bot keeps them
            from telegram.ext import AIORateLimiter  # noqa: PLC0415

            from bot.pacing import REPLY_BURST  # noqa: PLC0415

            limiter = AIORateLimiter(  # the petition bot's `ReplyLimiter`, without the outbox
                overall_max_rate=overrides["send_rate"] * REPLY_BURST,
                overall_time_period=REPLY_BURST,
                group_max_rate=overrides["group_rate"],
                group_time_period=overrides["group_period"],
                max_retries=3,
            )
            app = app.rate_limiter(limiter)
        echo = app.concurrent_updates(256).build()
        echo.add_handlers(_echo_handlers())
        await echo.initialize()
        await echo.start()
        assert echo.updater is not None
        await echo.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        print("READY", flush=True)
        await stop.wait()
        await echo.updater.stop()
        await echo.stop()
        await echo.shutdown()
        return
    from bot.app import (  # noqa: PLC0415
        build_application,
        build_services,
        start_application,
        start_polling,
        stop_application,
    )

    settings = sandbox_settings(api_url, f"sqlite+aiosqlite:///{database}", EXAMPLE)
    data_dir = Path(overrides.pop("data_dir", Path(database).parent))  # the geocoder's cache
    settings = settings.model_copy(update={"data_dir": data_dir, **overrides})
    services = await build_services(settings, upgrade_any=True)
    bot = build_application(services)
    await start_application(bot)  # then poll as bot.app.run_polling does
    await start_polling(bot)
    print("READY", flush=True)
    await stop.wait()
    await stop_application(bot)
    await services.db.dispose()


def _echo_handlers() -> list[Any]:
    """One MessageHandler and one CallbackQueryHandler, each answering with one message."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: PLC0415
    from telegram.ext import CallbackQueryHandler, ContextTypes, MessageHandler, filters  # noqa: PLC0415

    again = InlineKeyboardMarkup([[InlineKeyboardButton("again", callback_data="echo")]])

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        text = update.effective_message.text if update.effective_message else None
        await context.bot.send_message(update.effective_chat.id, text or "echo", reply_markup=again)

    return [MessageHandler(filters.ALL, answer), CallbackQueryHandler(answer)]


# -- the stand-in and the citizens ----------------------------------------------------------


async def stand_in() -> FakeBotApi:
    """The stand-in with the example deployment's staff groups, listening on a free port."""
    api = stand_in_for(EXAMPLE)
    await api.start()
    return api


@dataclass
class _Chat:
    events: list[tuple[float, str, tuple[str, ...]]] = field(default_factory=list)
    signal: asyncio.Event = field(default_factory=asyncio.Event)


class Watch:
    """The bot's messages and edits in watched chats, time-stamped as the stand-in stores them."""

    def __init__(self, api: FakeBotApi) -> None:
        self.chats: dict[int, _Chat] = {}
        emit = api.world.emit

        def watched_emit(kind: str, chat_id: int | None, **payload: Any) -> int:
            seq = emit(kind, chat_id, **payload)
            chat = self.chats.get(chat_id or 0)
            view = payload.get("message")
            if chat is not None and kind in ("message", "edit") and view["from"]["is_bot"]:
                buttons = tuple(b.get("callback_data", "") for row in view["buttons"] for b in row)
                chat.events.append((time.perf_counter(), kind, buttons))
                chat.signal.set()
            return seq

        api.world.emit = watched_emit  # type: ignore[method-assign]

    def chat(self, chat_id: int) -> _Chat:
        return self.chats.setdefault(chat_id, _Chat())


# What a citizen waits for after acting: a new bot message ("new"), any bot message or edit
# ("any"), or a bot message or edit carrying a button whose data matches the pattern.
Want = str | re.Pattern[str]


def draft_button(action: str) -> re.Pattern[str]:
    return re.compile(rf"^v1:\d+:{action}$")


def _wanted(want: Want, kind: str, buttons: tuple[str, ...]) -> bool:
    if want == "new":
        return kind == "message"
    if want == "any":
        return True
    assert isinstance(want, re.Pattern)
    return any(want.match(data) for data in buttons)


class Citizen:
    """One person in a private chat with the bot, acting through the stand-in's world."""

    def __init__(self, api: FakeBotApi, watch: Watch, user_id: int, language: str) -> None:
        self.api, self.id = api, user_id
        api.add_user(user_id, f"Citizen {user_id}", language_code=language)
        self.chat = watch.chat(user_id)
        self.latencies: list[float] = []

    async def do(self, what: str | re.Pattern[str], want: Want) -> float:
        """Say `what` (a text) or press the button matching it (a pattern); the latency."""
        if isinstance(what, str):
            return await self.say(what, want)
        return await self.press(what, want)

    async def say(self, text: str, want: Want, within: float = 600) -> float:
        return await self.send({"text": text}, want, within)

    async def share_location(self, latitude: float, longitude: float, want: Want) -> float:
        return await self.send({"location": {"latitude": latitude, "longitude": longitude}}, want)

    async def send(self, body: JsonDict, want: Want, within: float = 600) -> float:
        """Send a message as the stand-in's control API builds it from `body`."""
        world = self.api.world
        chat = world.chats[self.id]
        kind, fields = message_content(world, body)
        message = world.add_message(chat, self.id, kind, **fields)
        hide_one_time_keyboard(world, chat, message)
        return await self._turn(lambda: {"message": world.message_json(message)}, want, within)

    async def press(self, data: re.Pattern[str], want: Want, within: float = 600) -> float:
        """Press the newest button whose callback data matches."""
        world = self.api.world
        for message in reversed(world.chats[self.id].messages.values()):
            if message.sender_id != BOT_ID or message.deleted or not message.reply_markup:
                continue
            rows = message.reply_markup.get("inline_keyboard", [])
            datas = [button.get("callback_data", "") for row in rows for button in row]
            found = next((d for d in datas if data.match(d)), None)
            if found is not None:
                break
        else:
            raise LookupError(f"citizen {self.id}: no button {data.pattern}")
        query_id = str(next(_query_ids))
        world.queries[query_id] = CallbackQuery(
            query_id, self.id, self.id, message.message_id, found, time.monotonic()
        )
        body: JsonDict = {
            "id": query_id,
            "from": world.users[self.id].to_json(),
            "chat_instance": str(self.id * 7919 % 10**19),
            "data": found,
        }
        return await self._turn(
            lambda: {"callback_query": {**body, "message": world.message_json(message)}},
            want,
            within,
        )

    async def _turn(self, update: Callable[[], JsonDict], want: Want, within: float) -> float:
        """Inject the update; the seconds until the reply wanted reached the stand-in."""
        seen = len(self.chat.events)
        started = time.perf_counter()
        self.api.inject(update())
        at = await self.wait(want, seen, within)
        self.latencies.append(at - started)
        return at - started

    async def wait(self, want: Want, seen: int, within: float = 600) -> float:
        """When the first bot event after the first `seen` events that is `want` arrived."""
        deadline = time.perf_counter() + within
        while True:
            for at, kind, buttons in self.chat.events[seen:]:
                if _wanted(want, kind, buttons):
                    return at
            seen = len(self.chat.events)
            self.chat.signal.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"citizen {self.id}: no reply {want!r} in {within:.0f} s")
            try:
                await asyncio.wait_for(self.chat.signal.wait(), left)
            except TimeoutError:
                continue


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    _kind, _url, _db, _overrides = sys.argv[2:6]
    # BENCH_PROFILE=PATH: the bot's event-loop thread under cProfile, saved as PATH.<kind>.
    _profile = os.environ.get("BENCH_PROFILE")
    _profiler = cProfile.Profile() if _profile else None
    if _profiler is not None:
        _profiler.enable()
    asyncio.run(_serve(_kind, _url, _db, json.loads(_overrides)))
    if _profiler is not None:
        _profiler.disable()
        _profiler.dump_stats(f"{_profile}.{_kind}")
