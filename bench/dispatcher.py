"""The outbox dispatcher draining a backlog of notices at Telegram's limits.

    python3 bench/dispatcher.py [--notices 2000]

Seeds cases (`seeding.py`), writes one status notice per case to its petitioner (a petitioner
with several cases gets several, so the 1-a-second spacing per chat matters) and, spread evenly
among them, alerts to the four office groups (as many as 20 a minute per group allows in the
run, so each group's window fills more than once), straight into the outbox. Then it starts the
bot (its own process, production settings: 25 sends/s overall, 1 s per chat, 20 a minute per
group) against the stand-in and waits until every notice has arrived.

The stand-in does not enforce Telegram's flood limits, so nothing here can receive a real 429;
instead the stand-in's call log is audited afterwards against Telegram's published limits (30
messages in any second, one a second per chat, 20 in any minute per group) and every call that
broke one is counted as a 429 Telegram would have answered. 10,000 notices take 400 s at 25/s:
the default is 2,000 (about 80 s).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import sqlite3
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import BotProcess, cpu_of, line, percentiles, stand_in
from seeding import create_schema, fast_engine, seed_cases
from sqlalchemy import insert

from bot.outbox import Delivery
from bot.sandbox.botapi import CallRecord
from storage.db import Database
from storage.models import Outbox

SEND_RATE, CHAT_INTERVAL, GROUP_RATE, GROUP_PERIOD = 25.0, 1.0, 20, 60.0  # the defaults
TELEGRAM = {"per_second": 30, "chat_interval": 1.0, "group_per_minute": 20}


def write_outbox(db: Path, notices: int, alerts: bool) -> tuple[list[int], dict[int, int]]:
    """Seed cases and queue `notices` rows; the petitioners' chats and the alerts per group."""
    seconds = notices / SEND_RATE
    per_group = GROUP_RATE * (1 + int(seconds // GROUP_PERIOD)) - 5
    with sqlite3.connect(db) as conn:
        groups = dict(conn.execute("SELECT id, group_chat_id FROM offices").fetchall())
    seed_cases(db, notices)
    with sqlite3.connect(db) as conn:
        cases = conn.execute("SELECT id, petitioner_id, office_id, state FROM cases").fetchall()
    by_office: dict[str, list[int]] = defaultdict(list)
    for case_id, _, office, _ in cases:
        by_office[office].append(case_id)
    now = datetime.now(UTC)
    row: dict[str, Any] = {"status": "pending", "attempts": 0, "next_attempt_at": now,
                           "created_at": now, "payload": {"locale": "zh_CN"}}  # fmt: skip
    # Each group's alerts spread over the whole run too: the groups take turns, so that no group
    # gets more than 20 a minute's worth of the rows (a first version queued one group's alerts
    # after another's, so that the last group's could not all go before the run's end).
    per_office = {office: ids[: min(per_group, notices // 10 // len(groups))]
                  for office, ids in by_office.items()}  # fmt: skip
    turns = sorted((turn, office, case_id) for office, ids in per_office.items()
                   for turn, case_id in enumerate(ids))  # fmt: skip
    to_groups = [
        {**row, "chat_id": groups[office], "kind": "alert", "case_id": case_id}
        for _, office, case_id in turns
        if alerts
    ]
    status = {"action": "accept", "due": "2026-12-31", "detail": None, "text": None, "days": None}
    to_people = [
        {**row, "chat_id": person, "kind": "status", "case_id": case_id,
         "payload": {**row["payload"], **status, "state": state, "office_id": office}}
        for case_id, person, office, state in cases[: notices - len(to_groups)]
    ]  # fmt: skip
    # The alerts spread evenly among the petitioners' notices, in the order of the rows' ids.
    rows: list[dict[str, Any]] = []
    every = max(1, len(to_people) // max(1, len(to_groups)))
    for i, notice in enumerate(to_people):
        rows.append(notice)
        if i % every == 0 and i // every < len(to_groups):
            rows.append(to_groups[i // every])
    engine = fast_engine(db)
    with engine.begin() as conn:
        conn.execute(insert(Outbox), rows)
    engine.dispose()
    counts: dict[int, int] = defaultdict(int)
    for r in to_groups:
        counts[r["chat_id"]] += 1
    return sorted({r["chat_id"] for r in to_people}), dict(counts)


def owed(db: Path) -> int:
    """Outbox rows not sent yet (nor given up)."""
    due = "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending', 'failed_temporary')"
    with sqlite3.connect(db) as conn:
        return int(conn.execute(due).fetchone()[0])


def spacing(sends: list[CallRecord]) -> list[float]:
    """Seconds between two notices in a row to the same petitioner."""
    last: dict[int, float] = {}
    gaps = []
    for call in sends:
        chat = call.chat_id or 0
        if chat > 0 and chat in last:
            gaps.append(call.at - last[chat])
        last[chat] = call.at
    return gaps


def refused(sends: list[CallRecord]) -> dict[str, int]:
    """Calls Telegram's limits would have answered with 429, limit by limit."""
    times = [c.at for c in sends]
    over = {"over 30 in a second": 0, "under 1 s after the chat's last": 0,
            "over 20 in a minute in a group": 0}  # fmt: skip
    last: dict[int, float] = {}
    per_group: dict[int, list[float]] = defaultdict(list)
    for i, call in enumerate(sends):
        chat = call.chat_id or 0
        if i - bisect.bisect_right(times, call.at - 1.0) + 1 > TELEGRAM["per_second"]:
            over["over 30 in a second"] += 1
        if chat > 0 and call.at - last.get(chat, -1e9) < TELEGRAM["chat_interval"]:
            over["under 1 s after the chat's last"] += 1
        last[chat] = call.at
        if chat < 0:
            window = per_group[chat]
            window.append(call.at)
            in_minute = len(window) - bisect.bisect_right(window, call.at - 60.0)
            if in_minute > TELEGRAM["group_per_minute"]:
                over["over 20 in a minute in a group"] += 1
    return over


async def claim_cost(db: Path, times: int = 10) -> float:
    """CPU milliseconds (this process, the SQL thread included) of one claim of a row, as the
    dispatcher's feeder makes it, with the whole outbox due; the row is put back."""
    database = Database(f"sqlite+aiosqlite:///{db}")
    delivery = Delivery(database)
    started = time.process_time()
    for _ in range(times):
        items = await delivery.claim(1, set(), 2)
        await delivery.unclaim([item.id for item in items])
    cost = (time.process_time() - started) / times * 1000
    await database.dispose()
    return cost


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--no-alerts", action="store_true", help="only petitioners' chats")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bot.db"
        await create_schema(db)
        people, groups = write_outbox(db, args.notices, alerts=not args.no_alerts)
        claim_ms = await claim_cost(db)
        api = await stand_in()
        for person in people:
            api.add_user(person, f"Citizen {person}", language_code="zh-hans")
        sends: list[CallRecord] = []
        try:
            started = time.time()
            async with BotProcess("petition", api.url, db) as bot:
                cpu = cpu_of(bot.pid)
                deadline = time.monotonic() + args.notices / SEND_RATE * 2 + 120
                # The bot is another process: the database is the only place to look.
                while owed(db) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
                cpu = cpu_of(bot.pid) - cpu
            sends = [c for c in api.calls if c.chat_id is not None and c.status == 200
                     and c.method.lower().startswith(("send", "edit"))]  # fmt: skip
            errors = [c for c in api.calls if c.status not in (200, None, 409)]
        finally:
            await api.stop()
        with sqlite3.connect(db) as conn:
            outbox = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
    span = sends[-1].at - sends[0].at
    rate = (len(sends) - 1) / span
    tenth = len(sends) // 10  # the steady state: leave out the first and the last tenth
    steady = (len(sends) - 2 * tenth - 1) / (sends[-tenth - 1].at - sends[tenth].at)
    limits = f"{SEND_RATE:g}/s overall, {CHAT_INTERVAL:g} s per chat, {GROUP_RATE} per minute"
    print(f"settings: {limits} per group (the defaults: Telegram's limits)")
    alerts = f"{sum(groups.values())} alerts to {len(groups)} groups {sorted(groups.values())}"
    print(f"{args.notices} notices: {len(people)} petitioners' chats, {alerts}")
    line("messages sent (notices, and any reminder)", f"{len(sends)} for {args.notices} notices")
    line("outbox rows by status", str(outbox))
    line("achieved rate, first to last send", f"{rate:.2f}/s ({rate / SEND_RATE:.1%})",
         "target ≥ 95% of 25/s")  # fmt: skip
    line("achieved rate, middle 80% of the sends", f"{steady:.2f}/s ({steady / SEND_RATE:.1%})")
    line("first to last send", f"{span:.1f} s", f"(at 25/s: {(len(sends) - 1) / SEND_RATE:.0f} s)")
    gaps = spacing(sends)
    if len(gaps) > 1:
        g50, _, g99 = percentiles(gaps)
        line(f"next notice to a chat ({len(gaps)}) p50/p99/max",
             f"{g50:.1f} / {g99:.1f} / {max(gaps):.1f} s", "(≥ 1 s by the limit)")  # fmt: skip
    line("total time (bot start to last send)", f"{sends[-1].at - started:.1f} s")
    line("bot CPU while draining", f"{cpu:.0f} s", f"({cpu / span:.0%} of one core)")
    line(f"one claim with {args.notices} rows due", f"{claim_ms:.1f} ms of CPU")
    tail = [c for c in sends if c.at > sends[-1].at - span / 10]
    to_groups = sum(1 for c in tail if (c.chat_id or 0) < 0)
    line("sends in the last tenth of the time", f"{len(tail)}, {to_groups} of them to groups",
         f"(even pace: {len(sends) // 10})")  # fmt: skip
    for limit, count in refused(sends).items():
        line(f"429s: {limit}", str(count), "target 0")
    line("calls the stand-in refused", str(len(errors)))


if __name__ == "__main__":
    asyncio.run(main())
