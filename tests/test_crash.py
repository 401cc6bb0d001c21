"""Crash safety, shown: the bot is SIGKILLed while citizens file petitions, and nothing is lost.

The bot runs as separate `petition-bot run` processes (`tests.processes`) against the Bot API
stand-in, which runs in the test. Simulated citizens, each a different user, file complete
petitions through the stand-in's control API at the same time, each waiting for the bot's
answer before the next step, as a person would. Meanwhile a killer SIGKILLs a bot process at
random moments of the filing and starts it again: on SQLite the one process, on PostgreSQL one
of two processes that share the database, the other staying up. Citizens never resend: a
person waits for the answer across a restart, so an update the bot confirmed to Telegram and
then lost, or applied and then never answered, shows as a citizen who never gets an answer.

When every citizen is done and the outbox has drained, the test checks that
- every citizen got an answer to every step: every draft went on to its Submit across kills;
- every petition whose Submit was answered exists exactly once (one case per receipt, no case
  made twice, no draft left open);
- every owed notice was delivered at least once: each case's receipt is in its citizen's chat,
  its alert in its office's staff group, and no outbox row is left unsent;
- no process died on its own, and every one still stops cleanly on SIGTERM.

A citizen who gets no answer fails the test with what became of the unanswered update: still
with Telegram, applied but unanswered, or lost after the bot confirmed it. Random choices
(petitions, think times, kill moments, victims) come from one seed, printed and named in every
failure; `PETITION_CRASH_SEED=<seed>` replays a run's choices (not its timing).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.categories import load_categories
from bot.intake import PETITION_TYPES
from bot.sandbox.botapi import FakeBotApi
from bot.sandbox.runner import EXAMPLE, SANDBOX_TOKEN, stand_in_for
from storage.db import Database
from storage.models import Case, Draft, Office, Outbox, Petitioner
from tests.dialogs import CASE_NUMBER, ROUTED
from tests.driver import BotMessage, Sandbox
from tests.processes import BotProcess, bot_environment

SEED = int(os.environ.get("PETITION_CRASH_SEED") or random.SystemRandom().randrange(10**6))
CITIZENS = 6
PETITIONS_EACH = 3
KILLS = 5
MIN_KILLS = 3  # kills that must have landed while citizens were filing
LEASE_SECONDS = 2  # PETITION_LEASE_SECONDS: a killed process's work is taken over this soon
# The longest a citizen waits for an answer: a restart, a lease running out and the backlog of
# every citizen's updates fit in it many times over, on a loaded machine too.
PATIENCE = 45.0
SETTLE = 0.3  # an answer is complete once the chat has not changed for this long
POLL = 0.05
DRAIN = 30.0  # the longest the outbox may take to send what it owes once the citizens are done

PLACES = (("锦江", "510104"), ("武侯", "510107"))  # 成都市锦江区, 成都市武侯区
CATEGORIES = [(top.code, child.code) for top in load_categories() for child in top.children]


# --- citizens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Petition:
    petition_type: str
    place_query: str
    place_code: str
    category: tuple[str, str]
    request: str
    facts: tuple[str, ...]
    name: str
    phone: str
    address: str

    @property
    def turns(self) -> int:
        """How many actions filing it takes, each answered by the bot."""
        return 14 + len(self.facts) + (self.category[1] in ROUTED)


def petitions_for(rng: random.Random, index: int) -> list[Petition]:
    """`PETITIONS_EACH` petitions in different categories (so none is offered as a duplicate
    of the one before), at random places, with texts naming the citizen."""
    made = []
    for n, category in enumerate(rng.sample(CATEGORIES, PETITIONS_EACH), 1):
        query, code = rng.choice(PLACES)
        made.append(
            Petition(
                petition_type=rng.choice(PETITION_TYPES),
                place_query=query,
                place_code=code,
                category=category,
                request=f"Citizen {index}, petition {n}: please have the matter settled.",
                facts=tuple(
                    f"Fact {k} of petition {n} by citizen {index}: it began in March 2026."
                    for k in range(1, rng.randint(1, 3) + 1)
                ),
                name=f"Citizen {index} Li",
                phone=f"138001380{index:02d}",
                address=f"{index} Hongxing Road, Chengdu",
            )
        )
    return made


class Stuck(AssertionError):
    """A citizen got no answer within PATIENCE."""


Diagnose = Callable[["Citizen", int], Awaitable[str]]


@dataclass
class Citizen:
    """A person who files petitions step by step, waiting for each answer before going on."""

    index: int
    user_id: int
    sandbox: Sandbox
    rng: random.Random
    diagnose: Diagnose
    petitions: list[Petition]
    receipts: list[str] = field(default_factory=list)  # case numbers, one per Submit answered
    doing: str = "not started"
    turns: int = 0  # actions answered
    in_draft: bool = False  # between /new and the receipt
    kills_in_draft: int = 0
    done: bool = False
    failure: str | None = None
    _mark: int = 0  # the stand-in's event sequence just before the latest action
    _update: int = 0  # the update of the latest action

    @property
    def name(self) -> str:
        return f"citizen {self.index} (user {self.user_id})"

    async def run(self) -> None:
        try:
            for n, petition in enumerate(self.petitions, 1):
                self.in_draft = True
                self.receipts.append(await self.file(n, petition))
                self.in_draft = False
            self.done = True
        except Stuck as stuck:
            self.failure = str(stuck)

    async def file(self, n: int, p: Petition) -> str:
        """The whole intake dialog, from /new to the receipt; returns the case number."""
        await self.say(n, "/new")
        await self.press(n, "agree")
        await self.press(n, "type", p.petition_type)
        await self.say(n, p.place_query)
        await self.press(n, "pl", p.place_code)
        await self.press(n, "cg", p.category[0])
        await self.press(n, "cg", p.category[1])
        if p.category[1] in ROUTED:
            await self.press(n, "rt", "submit")
        await self.say(n, p.request)
        for fact in p.facts:
            await self.say(n, fact)
        await self.press(n, "fdone")
        await self.press(n, "done")  # no attachments
        for words in (p.name, p.phone, p.address):
            await self.say(n, words)
        return await self.submit(n)

    async def say(self, n: int, words: str) -> None:
        self.doing = f"petition {n}: saying {words[:24]!r}"
        await self._think()
        sent = await self.sandbox.post(
            "/send", {"user_id": self.user_id, "chat_id": self.user_id, "text": words}
        )
        self._mark, self._update = sent["message"]["seq"], sent["update_id"]
        await self._answer()

    async def press(self, n: int, action: str, arg: str | None = None) -> None:
        await self._press(n, action, arg)
        await self._answer()

    async def submit(self, n: int) -> str:
        """Press Submit and wait for the receipt: a case number not seen before."""
        await self._press(n, "submit")

        def receipt(messages: list[BotMessage]) -> str | None:
            for message in messages:
                for number in CASE_NUMBER.findall(message.text):
                    if number not in self.receipts:
                        return str(number)
            return None

        number: str = await self._until(receipt)
        self.turns += 1
        await self._settle()
        return number

    async def _press(self, n: int, action: str, arg: str | None = None) -> None:
        """Press the draft button `action`(:`arg`) once a message the bot sent or changed since
        the citizen's last action shows it (a person presses what they see)."""
        self.doing = f"petition {n}: pressing {action}" + (f":{arg}" if arg else "")
        pattern = re.compile(
            rf"v1:\d+:{re.escape(action)}" + (rf":{re.escape(arg)}" if arg else "") + "$"
        )

        def button(messages: list[BotMessage]) -> tuple[int, str] | None:
            for message in reversed(messages):
                for row in message.buttons:
                    for _label, data in row:
                        if data is not None and pattern.match(data):
                            return message.message_id, data
            return None

        message_id, data = await self._until(button)
        await self._think()
        self._mark = (await self.sandbox.state())["seq"]
        pressed = await self.sandbox.post(
            "/press",
            {
                "user_id": self.user_id,
                "chat_id": self.user_id,
                "message_id": message_id,
                "data": data,
            },
        )
        self._update = pressed["update_id"]

    async def _think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.0, 0.2))

    async def _answer(self) -> None:
        """Wait for the bot's answer to the action: a message it sent or changed in the chat,
        then until the chat has been quiet for SETTLE (an answer may be several messages)."""
        await self._until(lambda messages: messages or None)
        self.turns += 1
        await self._settle()

    async def _until(self, found: Callable[[list[BotMessage]], Any]) -> Any:
        """Poll the bot's messages sent or changed since the latest action until `found`
        returns something; Stuck after PATIENCE, saying what became of the latest update."""
        deadline = time.monotonic() + PATIENCE
        while True:
            messages = await self.sandbox.chat_messages(self.user_id, since=self._mark)
            messages.sort(key=lambda m: m.message_id)
            result = found([m for m in messages if m.from_bot and not m.deleted])
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise Stuck(
                    f"{self.name} got no answer within {PATIENCE:g} s: {self.doing}\n"
                    + await self.diagnose(self, self._update)
                )
            await asyncio.sleep(POLL)

    async def _settle(self) -> None:
        """Wait until nothing in the chat has changed for SETTLE."""
        newest, quiet_since = self._mark, time.monotonic()
        while time.monotonic() - quiet_since < SETTLE:
            changed = await self.sandbox.chat_messages(self.user_id, since=newest)
            if changed:
                newest, quiet_since = max(m.raw["seq"] for m in changed), time.monotonic()
            await asyncio.sleep(POLL)


# --- the killer ------------------------------------------------------------------------------


@dataclass
class Killer:
    """SIGKILLs a bot process at up to KILLS random moments of the filing, starting it again
    each time, and stops once no citizen is in a draft.

    A moment is a random number of actions answered since the victim of the previous kill was
    back, up to a share of the actions left that leaves room for the kills still to come (so
    kills are spread over the filing however fast the machine is and however much it does
    during a restart), plus a random fraction of a second, so that the kill lands anywhere in
    the handling of an update.
    """

    processes: list[BotProcess]
    citizens: list[Citizen]
    rng: random.Random
    log: list[str] = field(default_factory=list)

    def answered(self) -> int:
        return sum(c.turns for c in self.citizens)

    async def run(self) -> None:
        total = sum(p.turns for c in self.citizens for p in c.petitions)
        for kill in range(1, KILLS + 1):
            remaining = total - self.answered()
            moment = self.answered() + self.rng.randint(1, max(1, remaining // (KILLS - kill + 2)))
            while self.answered() < moment and not all(c.done for c in self.citizens):
                if any(c.failure for c in self.citizens):
                    return  # a citizen is stuck: the test fails whatever comes next
                await asyncio.sleep(POLL / 5)
            await asyncio.sleep(self.rng.uniform(0.0, 0.5))
            in_draft = [c for c in self.citizens if c.in_draft]
            if not in_draft:
                return
            for citizen in in_draft:
                citizen.kills_in_draft += 1
            victim = self.rng.choice(self.processes)
            killed_at = time.monotonic()
            await victim.kill()
            await asyncio.sleep(self.rng.uniform(0.1, 1.0))
            await victim.start()
            await victim.ready(within=PATIENCE)
            self.log.append(
                f"kill {kill} (after {moment} of {total} actions): {victim.name}, back after "
                f"{time.monotonic() - killed_at:.1f} s; {len(in_draft)} citizens in a draft: "
                + ", ".join(f"{c.index} ({c.doing})" for c in in_draft)
            )


async def _diagnosis(
    db: Database, api: FakeBotApi, processes: list[BotProcess], citizen: Citizen, update_id: int
) -> str:
    """What became of the citizen's unanswered update: still with Telegram, applied, or lost."""
    pending = update_id in api.state()["pending_update_ids"]
    lines = [
        f"  seed {SEED}; bot processes: {processes}",
        f"  update {update_id}: "
        + ("still pending at the stand-in" if pending else "confirmed to the stand-in"),
    ]
    async with db.sessions() as session:
        applied = await session.scalar(
            select(Petitioner.last_update_id).where(Petitioner.user_id == citizen.user_id)
        )
    async with db.sessions() as session:
        try:
            stored = await session.execute(
                text("SELECT * FROM inbound_updates WHERE update_id = :u"), {"u": update_id}
            )
            row = stored.mappings().first()
            shown = None if row is None else {k: v for k, v in row.items() if k != "body"}
            lines.append(f"  stored in inbound_updates: {shown}")
        except Exception as exc:  # no such table: the bot does not store updates
            lines.append(f"  inbound_updates: {type(exc).__name__}")
    if applied is not None and applied >= update_id:
        lines.append(f"  APPLIED (the petitioner's last update is {applied}) but never answered")
    elif not pending:
        lines.append(f"  LOST: confirmed but never applied (the last applied is {applied})")
    return "\n".join(lines)


# --- the test --------------------------------------------------------------------------------


async def test_sigkilled_bots_lose_no_petition_draft_or_notice(
    backend: str, db: Database, tmp_path: Path, geo_cache: Path
) -> None:
    """SQLite: one bot process, killed and restarted. PostgreSQL: two processes on one
    database, one of them killed and restarted each time, the other staying up."""
    rng = random.Random(f"{SEED}-{backend}")
    print(f"\ncrash test seed {SEED} (PETITION_CRASH_SEED={SEED} replays its choices)")
    api = stand_in_for(EXAMPLE)
    url = await api.start()
    env = bot_environment(
        bot_token=SANDBOX_TOKEN,
        bot_api_url=url,
        database_url=db.url,  # at head, with the reference data: as `db upgrade` leaves it
        config=str(EXAMPLE),
        data_dir=str(geo_cache.parent),
        lease_seconds=str(LEASE_SECONDS),
        # As tests.botrun.BotRun: pacing at a tenth of Telegram's limits, flood control off.
        chat_interval="0.05",
        group_period="3",
        flood_rate="1000",
        flood_burst="1000",
    )
    count = 1 if backend == "sqlite" else 2
    processes = [BotProcess(f"bot{i}", env, tmp_path / f"bot{i}") for i in range(1, count + 1)]
    try:
        await asyncio.gather(*(p.start() for p in processes))
        await asyncio.gather(*(p.ready(within=PATIENCE) for p in processes))
        async with Sandbox(url) as sb:

            async def diagnose(citizen: Citizen, update_id: int) -> str:
                return await _diagnosis(db, api, processes, citizen, update_id)

            citizens = []
            for index in range(1, CITIZENS + 1):
                user = await sb.user(first_name=f"Citizen{index}", language_code="en")
                petitions = petitions_for(rng, index)
                citizens.append(
                    Citizen(index, user.id, sb, random.Random(rng.random()), diagnose, petitions)
                )
            killer = Killer(processes, citizens, random.Random(rng.random()))
            started = time.monotonic()
            async with asyncio.TaskGroup() as filing:  # a test bug ends every task
                filing.create_task(killer.run())
                for citizen in citizens:
                    filing.create_task(citizen.run())
            filed = time.monotonic() - started

            problems = [c.failure for c in citizens if c.failure]
            if not problems:  # else the outbox may owe the stuck citizens' receipts
                problems += await _undelivered(db)
            problems += await _cases_and_notices(db, sb, citizens)
            problems += [f"{p.name} exited on its own" for p in processes if not p.running]
            report = "\n".join(
                [
                    f"seed {SEED}, {backend}, {count} process(es), filing took {filed:.1f} s",
                    *killer.log,
                    *(
                        f"{c.name}: receipts {c.receipts}, {c.kills_in_draft} kills in a draft"
                        for c in citizens
                    ),
                ]
            )
            print(report)
            if problems:
                tails = "\n".join(p.tail() for p in processes)
                raise AssertionError(
                    f"{len(problems)} problem(s):\n"
                    + "\n".join(problems)
                    + f"\n\n{report}\n{tails}"
                )
            assert len(killer.log) >= MIN_KILLS, f"too few kills landed in the filing\n{report}"
        for process in processes:
            assert await process.stop() == 0, process.tail()
    finally:
        for process in processes:
            if process.running:
                await process.kill()
        await api.stop()


async def _undelivered(db: Database) -> list[str]:
    """Wait for the outbox to send what it owes; the rows it did not send."""
    deadline = time.monotonic() + DRAIN
    while True:
        async with db.sessions() as session:
            rows = list(await session.scalars(select(Outbox).where(Outbox.status != "sent")))
        if not rows:
            return []
        if time.monotonic() > deadline:
            return [
                f"outbox row {r.id} ({r.kind} to {r.chat_id}) left {r.status} after "
                f"{r.attempts} attempts: {r.last_error}"
                for r in rows
            ]
        await asyncio.sleep(0.2)


async def _cases_and_notices(db: Database, sb: Sandbox, citizens: list[Citizen]) -> list[str]:
    """One case per receipt a citizen saw, none made twice; each case's receipt in the
    citizen's chat and its alert in its office's group; no draft of a citizen who finished
    left open."""
    async with db.sessions() as session:  # read, then let go (a SQLite session holds the lock)
        groups = dict((await session.execute(select(Office.id, Office.group_chat_id))).all())
        cases = list(await session.scalars(select(Case).order_by(Case.id)))
        open_drafts = dict(
            (
                await session.execute(
                    select(Draft.petitioner_id, func.count())
                    .where(Draft.status == "open")
                    .group_by(Draft.petitioner_id)
                )
            ).all()
        )
    problems = []
    for citizen in citizens:
        theirs = [case for case in cases if case.petitioner_id == citizen.user_id]
        numbers = [case.number for case in theirs]
        if sorted(numbers) != sorted(citizen.receipts):
            problems.append(
                f"{citizen.name}: cases {numbers} in the database, receipts {citizen.receipts}"
            )
        if citizen.done and open_drafts.get(citizen.user_id):
            problems.append(f"{citizen.name}: {open_drafts[citizen.user_id]} draft(s) left open")
        shown = "\n".join(m.text for m in await sb.chat_messages(citizen.user_id) if m.from_bot)
        for case in theirs:
            if case.number not in shown:
                problems.append(f"{citizen.name}: the receipt of {case.number} never came")
            group = groups[case.office_id]
            alerts = "\n".join(m.text for m in await sb.chat_messages(group) if m.from_bot)
            if case.number not in alerts:
                problems.append(f"{case.number}: no alert in {case.office_id}'s group {group}")
    return problems
