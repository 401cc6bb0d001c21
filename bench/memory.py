"""The bot's memory with 10,000 open drafts.

    python3 bench/memory.py [--drafts 10000] [--steps 3]

Starts the bot (its own process, SQLite file in a temp dir) against the stand-in, then has
`--drafts` citizens, 200 at a time, start a petition and answer its first `--steps` prompts
(1: /new only, the draft waits for consent; 3: consent given and type chosen, the draft waits
for the place; up to 9: the first fact of the facts step), leaving every draft open. The bot
process's resident set size (VmRSS in /proc/<pid>/status) is read after start-up and a warm-up
petition, after every fifth of the drafts, and at the end; its peak (VmHWM) too. Then two more
people reach the place step: one shares a location (the first look-up of the offline geocoder)
and one types a place with a typo, 武候 for 武侯 (Chinese that is no place's name, which the
search reads as pinyin), and the RSS is read after each. The per-person
flood gate is opened (`flood_rate` 1000/s): simulated citizens answer within milliseconds; and
so is the overall send rate (`send_rate` 1000/s): at Telegram's 25/s the bot's rate limiter would
stretch the run to most of an hour without changing what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from citizens import PLACES, petition
from harness import BotProcess, Citizen, Watch, draft_button, line, rss_mb, stand_in

FIRST_CITIZEN = 70_000_001
CONCURRENCY = 200
TARGET_MB = 200
# After the drafts: what two more people do at the place step, and the reply each waits for.
LATER: tuple[tuple[str, Callable[[Citizen], Awaitable[float]]], ...] = (
    (
        "after a shared location",
        lambda p: p.share_location(30.657, 104.081, draft_button("plc:yes")),
    ),
    ("after a typo in a place (武候)", lambda p: p.say("武候", draft_button("pl:510107"))),
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=3, choices=range(1, 10))
    args = parser.parse_args()
    api = await stand_in()
    watch = Watch(api)
    readings: list[tuple[int, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bot.db"
            opened = {"flood_rate": 1000.0, "flood_burst": 1000, "send_rate": 1000.0}
            async with BotProcess("petition", api.url, db, **opened) as bot:
                warm = Citizen(api, watch, FIRST_CITIZEN - 1, "en")
                for _, what, want in petition(*PLACES[0]):
                    await warm.do(what, want)
                await asyncio.sleep(1)
                readings.append((0, rss_mb(bot.pid)))
                queue: asyncio.Queue[int] = asyncio.Queue()
                for i in range(args.drafts):
                    queue.put_nowait(i)
                started = time.perf_counter()
                done = [0]

                async def worker() -> None:
                    while not queue.empty():
                        i = queue.get_nowait()
                        person = Citizen(api, watch, FIRST_CITIZEN + i, ("en", "zh-hans")[i % 2])
                        for _, what, want in petition(*PLACES[i % 2])[: args.steps]:
                            await person.do(what, want)
                        done[0] += 1
                        if done[0] % (args.drafts // 5) == 0:
                            readings.append((done[0], rss_mb(bot.pid)))

                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
                took = time.perf_counter() - started
                await asyncio.sleep(2)  # let the last sends and commits finish
                readings.append((args.drafts, rss_mb(bot.pid)))
                later: list[tuple[str, float]] = []
                for i, (label, last) in enumerate(LATER):
                    person = Citizen(api, watch, FIRST_CITIZEN - 2 - i, "en")
                    for _, what, want in petition(*PLACES[0])[:3]:
                        await person.do(what, want)
                    await last(person)
                    await asyncio.sleep(1)
                    later.append((label, rss_mb(bot.pid)))
                peak = rss_mb(bot.pid, "VmHWM")
            with sqlite3.connect(db) as conn:
                open_drafts = conn.execute("SELECT count(*) FROM drafts WHERE status = 'open'")
                drafts = int(open_drafts.fetchone()[0])
    finally:
        await api.stop()
    before, after = readings[0][1], readings[-1][1]
    print(f"{drafts} open drafts in the database ({args.steps} steps each, {took:.0f} s)")
    for count, mb in readings[:-1]:
        line(f"bot RSS with {count} drafts", f"{mb:.1f} MB")
    line(f"bot RSS with {args.drafts} drafts", f"{after:.1f} MB", f"target ≤ {TARGET_MB} MB")
    for label, mb in later:
        line(f"then, {label}", f"{mb:.1f} MB")
    line("peak RSS (VmHWM)", f"{peak:.1f} MB")
    line("growth per draft", f"{(after - before) * 1024 / args.drafts:.2f} KB")


if __name__ == "__main__":
    asyncio.run(main())
