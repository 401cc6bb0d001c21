"""The daily job: remind each office of deadlines, and close cases whose review window lapsed.

It runs once per local day, at or after `hour` in the deployment's time zone. Whether today's
run happened is a row in `job_runs`, claimed in the same transaction as the work, so a run
missed while the bot was down is caught up at the next start and two processes never both run
it. Reminders and closing notices are outbox rows, sent by the dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from bot.casework import Casework
from bot.lifecycle import WITH_OFFICE
from storage import cases, jobs
from storage.db import Database

log = logging.getLogger(__name__)

JOB = "daily"
MAX_ITEMS = 30  # one message: the nearest deadlines first


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    reminded_offices: list[str]
    closed: list[str]


class Reminders:
    def __init__(
        self,
        db: Database,
        casework: Casework,
        tz: ZoneInfo,
        *,
        hour: int = 8,
        days: int = 3,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = db
        self._casework = casework
        self._tz = tz
        self.hour = hour
        self.days = days
        self._now = clock or (lambda: datetime.now(UTC))

    async def run_if_due(self) -> DailyReport | None:
        """Today's run, unless it happened already or it is too early in the day."""
        now = self._now()
        local = now.astimezone(self._tz)
        if local.hour < self.hour:
            return None
        today = local.date()
        async with self._db.sessions.begin() as session:
            if not await jobs.claim_day(session, JOB, today, now):
                return None
            closed = await self._casework.lapse_windows(session, today)
            due = await cases.due_by(session, WITH_OFFICE, today + timedelta(days=self.days))
            reminded = []
            for office_id, items in groupby(due, key=lambda c: c.office_id):
                ordered = sorted(items, key=lambda c: (c.due_on or today, c.id))
                notices = self._casework.notices
                if await notices.reminder(
                    session,
                    office_id,
                    today=today,
                    items=ordered[:MAX_ITEMS],
                    more=len(ordered) - MAX_ITEMS,
                    days=self.days,
                    now=now,
                ):
                    reminded.append(office_id)
        log.info(
            "daily run %s: %d offices reminded, %d cases closed", today, len(reminded), len(closed)
        )
        return DailyReport(today, reminded, closed)
