"""/status with a million cases: seed a SQLite database, then time the status look-up.

    python3 bench/status.py seed --cases 1000000 --db /tmp/status.db
    python3 bench/status.py run --db /tmp/status.db [--queries 2000] [--round-trips 300]

`seed` builds the schema as the bot does and bulk-inserts cases with their petitioners, drafts,
histories and attachments (`seeding.py`), printing how long it took. `run` times the use case
`Cases.status(user_id, number)` — one at a time, for the petitioner's own cases picked at random,
plus numbers that do not exist and other people's cases — and prints the query plan of every
statement it makes (`EXPLAIN QUERY PLAN`), then the full round trip of `/status NUMBER` sent by
the petitioner through the stand-in to the bot (in a process of its own) and back, ten a second
(faster, they would queue in the bot's rate limiter, 25 messages a second).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import BotProcess, Citizen, Watch, line, ms, percentiles, stand_in
from seeding import create_schema, seed_cases, settings_for
from sqlalchemy import event

from bot.app import build_services

TARGET_P99 = 0.020


def seed(db: Path, cases: int) -> None:
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    asyncio.run(create_schema(db))
    schema = time.perf_counter() - started
    written = seed_cases(db, cases)
    took = time.perf_counter() - started
    print(f"seeded {db} in {took:.0f} s (schema and reference data {schema:.1f} s)")
    for table, rows in written.items():
        print(f"  {table:<14} {rows:>10,}")
    print(f"  file size      {db.stat().st_size / 2**20:>10,.0f} MB")
    print(f"  rows/s         {sum(written.values()) / (took - schema):>10,.0f}")


def sample(db: Path, n: int) -> list[tuple[int, str]]:
    """(petitioner, number) of `n` cases picked at random."""
    with sqlite3.connect(db) as conn:
        top = conn.execute("SELECT max(id) FROM cases").fetchone()[0]
        ids = random.Random(7).sample(range(1, top + 1), min(n, top))
        marks = ",".join("?" * len(ids))
        rows = conn.execute(f"SELECT petitioner_id, number FROM cases WHERE id IN ({marks})", ids)
        found = [(int(p), str(number)) for p, number in rows]
    random.Random(8).shuffle(found)
    return found


async def use_case(db: Path, queries: int) -> None:
    services = await build_services(settings_for(db))
    statements: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        statements.append((sql, params))

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", capture)
    cases = services.cases
    own = sample(db, queries + 100)
    for user, number in own[:100]:  # warm up: connections, compiled statements, page cache
        await cases.status(user, number)
    timings: dict[str, list[float]] = {"own case": [], "no such number": [], "someone else's": []}
    for i, (user, number) in enumerate(own[100:]):
        asks = [("own case", user, number)]
        if i % 10 == 0:
            asks += [("no such number", user, f"XF2019-{i % 999_999 + 1:06d}"),
                     ("someone else's", user + 1, number)]  # fmt: skip
        for label, who, what in asks:
            started = time.perf_counter()
            found = await cases.status(who, what)
            timings[label].append(time.perf_counter() - started)
            assert (found is not None) == (label == "own case"), (label, who, what)
    print(f"Cases.status(user_id, number), one at a time, {services.db.url.rsplit('/', 1)[1]}")
    for label, values in timings.items():
        p50, p95, p99 = percentiles(values)
        target = f"target p99 ≤ {ms(TARGET_P99)}" if label == "own case" else ""
        line(f"{label} ({len(values)}) p50 / p95 / p99", f"{ms(p50)} / {ms(p95)} / {ms(p99)}",
             target)  # fmt: skip
    statements.clear()
    await cases.status(*own[0])
    await services.db.dispose()
    print("\nEXPLAIN QUERY PLAN of each statement Cases.status made:")
    with sqlite3.connect(db) as conn:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            print("  " + " ".join(sql.split())[:150])
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params):
                print(f"      {row[-1]}")


async def round_trip(db: Path, trips: int) -> None:
    # A fresh stand-in numbers its updates from the same first id every run, and the bot keeps
    # the updates it handled (three days) and takes an id it has stored for a repeat: forget
    # those of an earlier run, or a second run's updates are confirmed and never answered.
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM inbound_updates")
    api = await stand_in()
    watch = Watch(api)
    latencies: list[float] = []
    try:
        async with BotProcess("petition", api.url, db, flood_rate=1000.0, flood_burst=1000):
            for user, number in sample(db, trips + 20):  # the first 20 warm the bot up
                person = Citizen(api, watch, user, "zh-hans")
                latencies.append(await person.say(f"/status {number}", "new"))
                # Ten a second, as people send them: the bot's replies keep to `send_rate` (25)
                # a second after a burst, so back to back they would soon time the limiter.
                await asyncio.sleep(0.1)
    finally:
        await api.stop()
    p50, p95, p99 = percentiles(latencies[20:])
    print(f"\n/status NUMBER through the stand-in and the bot, ten a second ({trips})")
    line("round trip p50 / p95 / p99", f"{ms(p50)} / {ms(p95)} / {ms(p99)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    seeding = sub.add_parser("seed", help="create a database with many cases")
    seeding.add_argument("--cases", type=int, default=1_000_000)
    seeding.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "status.db")
    running = sub.add_parser("run", help="time the status look-up")
    running.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "status.db")
    running.add_argument("--queries", type=int, default=2000)
    running.add_argument("--round-trips", type=int, default=300, help="0: skip the bot")
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.db, args.cases)
        return
    asyncio.run(use_case(args.db, args.queries))
    if args.round_trips:
        asyncio.run(round_trip(args.db, args.round_trips))


if __name__ == "__main__":
    main()
