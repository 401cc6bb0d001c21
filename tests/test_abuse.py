"""Abuse limits: per-person flood control (slowed, told once, dropped past the limit, nothing
already answered lost) and the number of petitions one person may start in a day."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.directory import Directory
from bot.errors import DomainError
from bot.flood import FloodGate
from bot.intake import Limits
from storage.db import Database
from tests.botrun import BotRun
from tests.test_intake_usecases import Clock, Person, make_intake


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_updates_wait_their_turn_and_the_flood_is_told_once() -> None:
    ticks = Ticks()
    gate = FloodGate(rate=2.0, burst=3, max_wait=1.0, clock=ticks)

    first = [gate.admit(7) for _ in range(3)]
    slowed = [gate.admit(7) for _ in range(2)]
    dropped = [gate.admit(7) for _ in range(2)]

    assert [(a.wait, a.drop, a.warn) for a in first] == [(0.0, False, False)] * 3
    assert [(a.wait, a.drop) for a in slowed] == [(0.5, False), (1.0, False)]
    assert [a.warn for a in slowed] == [True, False]
    assert all(a.drop and not a.warn for a in dropped)
    assert gate.admit(8).wait == 0.0  # someone else is not held back


def test_a_full_bucket_ends_the_flood_and_the_next_one_is_told_again() -> None:
    ticks = Ticks()
    gate = FloodGate(rate=1.0, burst=2, max_wait=5.0, clock=ticks)
    for _ in range(3):
        gate.admit(7)
    ticks.now += 1.5  # back to one token: still the same flood
    assert not gate.admit(7).warn
    ticks.now += 10  # full again
    assert [gate.admit(7).warn for _ in range(3)] == [False, False, True]


def test_a_drop_before_any_wait_is_told() -> None:
    gate = FloodGate(rate=1.0, burst=1, max_wait=0.0, clock=Ticks())
    gate.admit(7)
    admission = gate.admit(7)
    assert admission.drop and admission.warn


async def test_a_person_may_start_only_so_many_petitions_a_day(
    db: Database, directory: Directory
) -> None:
    clock = Clock()
    intake = await make_intake(db, directory, clock, Limits(max_drafts_per_day=2))
    person = Person(401)

    await intake.start(person.next())
    await intake.start(person.next(), fresh=True)
    with pytest.raises(DomainError) as refused:
        await intake.start(person.next(), fresh=True)
    assert refused.value.code == "too_many_drafts"
    draft = await intake.current(person.user_id)
    assert draft is not None  # the one in progress is kept

    clock.now += timedelta(hours=24, minutes=1)
    await intake.start(person.next(), fresh=True)


async def test_a_flooding_citizen_is_slowed_told_once_and_others_are_not_held_back(
    prepared_database_url: str, geo_cache: Path
) -> None:
    async with BotRun(
        prepared_database_url, geo_cache.parent, flood_rate=2.0, flood_burst=3, flood_max_wait=1.0
    ) as run:
        sb = run.sandbox
        assert sb is not None
        flooder = await sb.user(first_name="Mallory", language_code="en")
        other = await sb.user(first_name="Alice", language_code="en")
        for n in range(15):  # all at once, without waiting for answers
            await sb.post(
                "/send", {"user_id": flooder.id, "chat_id": flooder.id, "text": f"hi {n}"}
            )
        replies = await other.say("/help")
        await sb.wait_idle()

        answers = [m for m in await flooder.messages() if m.from_bot]
        warnings = [m for m in answers if "sending messages very fast" in m.text]
        assert len(warnings) == 1
        assert 3 <= len(answers) - 1 < 15  # the burst and the slowed ones; the rest dropped
        assert replies and "Petition service" in replies[-1].text
        await sb.assert_no_errors()
