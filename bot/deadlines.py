"""Statutory time limits counted on the deployment's calendar (domain-rules §4, §4.1).

Calendar-day limits follow the civil-code default applied by analogy (民法典 Art 201–203): the
day of receipt is not counted, and a period whose last day is not a working day ends on the next
working day. Working days come from the `holidays` package's calendar for China, which includes
the State Council's adjusted working weekends (调休). Pure functions of dates; no I/O.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

REGISTRATION_DAYS = 15  # T1/T2/T3: register and answer acceptance (2022 Art 22, 23)
RETURN_WORKING_DAYS = 5  # T4: send a transferred matter back, with reasons (2022 Art 23 ¶3)
HANDLING_DAYS = 60  # T6: handle an accepted matter (2022 Art 34)
MAX_EXTENSION_DAYS = 30  # T7: one extension, reason told to the petitioner (2022 Art 34)
WINDOW_DAYS = 30  # T8/T10: ask for review / recheck (2022 Art 35, 36)
DECISION_DAYS = 30  # T9/T11: decide a review / recheck (2022 Art 35, 36)


@cache
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=(year - 1, year, year + 1))


def is_working_day(day: date) -> bool:
    """True on a working day in mainland China (weekends off unless adjusted, holidays off)."""
    return bool(_calendar(day.year).is_working_day(day))


def end_of_period(start: date, days: int) -> date:
    """The last day of a period of `days` calendar days that starts the day after `start`."""
    end = start + timedelta(days=days)
    while not is_working_day(end):
        end += timedelta(days=1)
    return end


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `moment` in the deployment's time zone."""
    return moment.astimezone(tz).date()


def registration_due(received_at: datetime, tz: ZoneInfo) -> date:
    """The date by which the office must register the petition and answer acceptance."""
    return end_of_period(local_date(received_at, tz), REGISTRATION_DAYS)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (T4's "5 个工作日")."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def extended(due: date, days: int) -> date:
    """The handling deadline after an extension of `days` counted from the end of the first."""
    return end_of_period(due, days)
