"""The registration deadline (domain-rules §4 T1/T2, §4.1): 15 calendar days after the day of
receipt, counted in the deployment's time zone; a last day that is not a working day moves to
the next working day, and the State Council's adjusted working weekends (调休) count as working.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.deadlines import (
    REGISTRATION_DAYS,
    end_of_period,
    is_working_day,
    local_date,
    registration_due,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def received(day: date, hour: int = 10) -> datetime:
    """A petition received on `day` at `hour` o'clock in Shanghai, as the UTC moment it is."""
    return datetime.combine(day, time(hour), SHANGHAI).astimezone(UTC)


def test_the_period_is_fifteen_days() -> None:
    assert REGISTRATION_DAYS == 15


def test_the_day_of_receipt_is_not_counted() -> None:
    # Monday 2 March 2026 + 15 days = Tuesday 17 March, a working day.
    assert registration_due(received(date(2026, 3, 2)), SHANGHAI) == date(2026, 3, 17)
    # The first minute and the last minute of a day give the same date.
    start = datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
    end = datetime(2026, 3, 2, 23, 59, 59, tzinfo=SHANGHAI)
    assert registration_due(start, SHANGHAI) == registration_due(end, SHANGHAI) == date(2026, 3, 17)


def test_the_day_of_receipt_is_the_day_in_the_deployments_time_zone() -> None:
    moment = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 March in Shanghai
    assert local_date(moment, SHANGHAI) == date(2026, 3, 2)
    assert registration_due(moment, SHANGHAI) == date(2026, 3, 17)
    # The same moment counted in UTC would start a day earlier.
    assert registration_due(moment, ZoneInfo("UTC")) == date(2026, 3, 16)
    # A moment in any zone means the same instant.
    assert registration_due(moment.astimezone(ZoneInfo("America/New_York")), SHANGHAI) == date(
        2026, 3, 17
    )


def test_a_last_day_on_a_saturday_moves_to_monday() -> None:
    # Friday 6 March + 15 = Saturday 21 March → Monday 23 March.
    assert registration_due(received(date(2026, 3, 6)), SHANGHAI) == date(2026, 3, 23)
    # Saturday 7 March + 15 = Sunday 22 March → Monday 23 March.
    assert registration_due(received(date(2026, 3, 7)), SHANGHAI) == date(2026, 3, 23)


@pytest.mark.parametrize("day", [16, 17, 18, 19, 20, 21, 22])
def test_a_last_day_in_the_national_day_holiday_moves_to_the_8th_of_october(day: int) -> None:
    # 1–7 October 2026 are the National Day holiday (Sunday 4 October included).
    last_day = date(2026, 9, day) + timedelta(days=15)
    assert date(2026, 10, 1) <= last_day <= date(2026, 10, 7)
    assert registration_due(received(date(2026, 9, day)), SHANGHAI) == date(2026, 10, 8)


def test_a_last_day_on_an_adjusted_working_sunday_is_not_moved() -> None:
    assert date(2026, 9, 20).weekday() == 6 and is_working_day(date(2026, 9, 20))
    assert registration_due(received(date(2026, 9, 5)), SHANGHAI) == date(2026, 9, 20)


def test_a_last_day_on_an_adjusted_working_saturday_is_not_moved() -> None:
    assert date(2026, 10, 10).weekday() == 5 and is_working_day(date(2026, 10, 10))
    assert registration_due(received(date(2026, 9, 25)), SHANGHAI) == date(2026, 10, 10)
    # Saturday 28 February 2026 is a working day after the Spring Festival.
    assert registration_due(received(date(2026, 2, 13)), SHANGHAI) == date(2026, 2, 28)


def test_a_last_day_in_the_spring_festival_moves_past_the_whole_holiday() -> None:
    # 1 February + 15 = Monday 16 February (New Year's Eve); off until Monday 23 February.
    assert registration_due(received(date(2026, 2, 1)), SHANGHAI) == date(2026, 2, 24)


def test_a_period_runs_across_the_end_of_a_month() -> None:
    # 20 January + 15 = Wednesday 4 February.
    assert registration_due(received(date(2026, 1, 20)), SHANGHAI) == date(2026, 2, 4)
    # 14 February (a working Saturday) + 15 = Sunday 1 March → Monday 2 March.
    assert registration_due(received(date(2026, 2, 14)), SHANGHAI) == date(2026, 3, 2)
    # 30 April + 15 = Friday 15 May.
    assert registration_due(received(date(2026, 4, 30)), SHANGHAI) == date(2026, 5, 15)


def test_a_period_runs_across_the_end_of_a_year() -> None:
    # 17 December 2025 + 15 = 1 January 2026 (New Year, off with 2 and 3 January);
    # Sunday 4 January 2026 is an adjusted working day.
    assert registration_due(received(date(2025, 12, 17)), SHANGHAI) == date(2026, 1, 4)
    # 20 December 2026 + 15 = Monday 4 January 2027.
    assert registration_due(received(date(2026, 12, 20)), SHANGHAI) == date(2027, 1, 4)
    # 31 December 2026 at 23:30 in Shanghai is still 2026: + 15 = Friday 15 January 2027.
    late = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    assert registration_due(late, SHANGHAI) == date(2027, 1, 15)
    # Half an hour later it is 1 January 2027: + 15 = Saturday 16 January → Monday 18 January.
    assert registration_due(late + timedelta(hours=1), SHANGHAI) == date(2027, 1, 18)


def test_end_of_period_counts_calendar_days_from_the_day_after_the_start() -> None:
    assert end_of_period(date(2026, 3, 2), 1) == date(2026, 3, 3)
    assert end_of_period(date(2026, 3, 2), 15) == date(2026, 3, 17)
    assert end_of_period(date(2026, 3, 2), 30) == date(2026, 4, 1)
    assert end_of_period(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_working_days_follow_the_official_2026_calendar() -> None:
    assert is_working_day(date(2026, 3, 2))  # Monday
    assert not is_working_day(date(2026, 3, 7))  # Saturday
    assert not is_working_day(date(2026, 3, 8))  # Sunday
    assert not is_working_day(date(2026, 5, 1))  # Labour Day
    assert not is_working_day(date(2026, 5, 5))  # Labour Day holiday, a Tuesday
    assert is_working_day(date(2026, 5, 9))  # adjusted working Saturday
    assert not is_working_day(date(2026, 10, 1))
    assert not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 8))
    assert is_working_day(date(2026, 1, 4))  # adjusted working Sunday
