"""Deadline arithmetic (domain-rules §4, §4.1) and the clocks the lifecycle's actions start.

Calendar-day periods: the day of receipt is not counted and a last day that is not a working day
moves to the next working day; the State Council's adjusted working weekends (调休) count as
working. Working-day periods (T4) skip weekends and holidays but count 调休 days. Everything is
counted on local dates of the deployment's time zone. Expected dates are the real calendar's, as
the `holidays` package has it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.deadlines import (
    REGISTRATION_DAYS,
    add_working_days,
    end_of_period,
    extended,
    is_working_day,
    local_date,
    registration_due,
)
from bot.lifecycle import SUGGESTION, TRANSITIONS, Clock, Dates, clock_after

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


def test_a_case_received_after_16_00_utc_is_received_the_next_day_in_beijing() -> None:
    moment = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
    assert local_date(moment, SHANGHAI) == date(2026, 12, 1)
    # 1 December + 15 = Wednesday 16 December; counted from 30 November it would be the 15th.
    assert registration_due(moment, SHANGHAI) == date(2026, 12, 16)
    assert registration_due(moment - timedelta(minutes=31), SHANGHAI) == date(2026, 12, 15)


# --- working days (T4: return a transferred matter within 5 working days) --------------------


def test_working_days_skip_the_weekend() -> None:
    # Thursday 5 March: Fri 6, Mon 9, Tue 10, Wed 11, Thu 12.
    assert add_working_days(date(2026, 3, 5), 5) == date(2026, 3, 12)
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    assert add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # from a Saturday
    assert add_working_days(date(2026, 3, 5), 0) == date(2026, 3, 5)


def test_working_days_skip_national_day_2026_and_count_its_adjusted_saturday() -> None:
    weekend = [d for d in _days(date(2026, 9, 19), date(2026, 10, 11)) if d.weekday() >= 5]
    adjusted = [date(2026, 9, 20), date(2026, 10, 10)]  # Sunday and Saturday worked (调休)
    assert [d for d in weekend if is_working_day(d)] == adjusted
    # Tuesday 29 September: Wed 30, (1–7 October off), Thu 8, Fri 9, Sat 10 (调休), Mon 12.
    assert add_working_days(date(2026, 9, 29), 5) == date(2026, 10, 12)
    assert add_working_days(date(2026, 10, 1), 1) == date(2026, 10, 8)
    assert add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)
    # Thursday 17 September: Fri 18, Sun 20 (调休), Mon 21, Tue 22, Wed 23.
    assert add_working_days(date(2026, 9, 17), 5) == date(2026, 9, 23)


def test_working_days_skip_national_day_2027_as_the_calendar_has_it() -> None:
    # The package has no official 2027 schedule yet: 1–5 October off, no adjusted weekend.
    # When it gains one (the State Council publishes it late in 2026), re-derive these dates.
    off = [d for d in _days(date(2027, 9, 28), date(2027, 10, 12)) if not is_working_day(d)]
    assert off == [date(2027, 10, day) for day in (1, 2, 3, 4, 5, 9, 10)]
    # Wednesday 29 September: Thu 30, (1–5 October off), Wed 6, Thu 7, Fri 8, Mon 11.
    assert add_working_days(date(2027, 9, 29), 5) == date(2027, 10, 11)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# --- calendar-day periods, extensions ---------------------------------------------------------


def test_thirty_days_from_the_31st_of_january_end_on_the_2nd_of_march() -> None:
    assert end_of_period(date(2026, 1, 31), 30) == date(2026, 3, 2)  # February has 28 days
    assert end_of_period(date(2027, 1, 31), 30) == date(2027, 3, 2)


def test_a_period_ending_in_a_holiday_ends_on_the_next_working_day() -> None:
    # 1 September + 30 = 1 October, the National Day holiday → Thursday 8 October.
    assert end_of_period(date(2026, 9, 1), 30) == date(2026, 10, 8)
    # 3 April + 30 = Sunday 3 May, inside Labour Day (1–5 May) → Wednesday 6 May.
    assert end_of_period(date(2026, 4, 3), 30) == date(2026, 5, 6)
    # 10 September + 30 = Saturday 10 October, an adjusted working day: it stays.
    assert end_of_period(date(2026, 9, 10), 30) == date(2026, 10, 10)


def test_an_extension_adds_its_days_to_the_handling_deadline() -> None:
    assert extended(date(2026, 3, 2), 30) == date(2026, 4, 1)
    assert extended(date(2026, 5, 6), 30) == date(2026, 6, 5)
    # 6 May + 10 = Saturday 16 May → Monday 18 May.
    assert extended(date(2026, 5, 6), 10) == date(2026, 5, 18)
    # 7 September + 30 = 7 October (holiday) → 8 October.
    assert extended(date(2026, 9, 7), 30) == date(2026, 10, 8)


# --- the clock each action starts (bot.lifecycle.clock_after) ---------------------------------

# Submitted Monday 2 March 2026: registration due Tuesday 17 March; nothing else running.
SUBMITTED = Dates(date(2026, 3, 2), date(2026, 3, 17), None, date(2026, 3, 17))
ACCEPTED = Dates(date(2026, 3, 2), date(2026, 3, 17), date(2026, 5, 6), date(2026, 5, 6))


def after(action: str, dates: Dates, today: date, days: int | None = None) -> Dates:
    return clock_after(TRANSITIONS[action], dates, today, "appeal", days)


def test_every_kind_of_clock_is_tested_here() -> None:
    assert {t.clock for t in TRANSITIONS.values()} == set(Clock)


def test_accepting_starts_sixty_days_of_handling() -> None:
    # 5 March + 60 = Monday 4 May, in the Labour Day holiday → Wednesday 6 May.
    dates = after("accept", SUBMITTED, date(2026, 3, 5))
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 17), date(2026, 5, 6), date(2026, 5, 6))


def test_accepting_a_suggestion_starts_no_clock() -> None:
    dates = clock_after(TRANSITIONS["accept"], SUBMITTED, date(2026, 3, 5), SUGGESTION, None)
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 17), None, None)


def test_a_transfer_gives_the_receiving_office_fifteen_days() -> None:
    dates = after("transfer", SUBMITTED, date(2026, 3, 5))
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 20), None, date(2026, 3, 20))


def test_a_return_restores_the_registration_deadline_counted_from_submission() -> None:
    transferred = after("transfer", SUBMITTED, date(2026, 3, 5))
    dates = after("return", transferred, date(2026, 3, 10))
    assert dates == SUBMITTED


def test_an_extension_counts_from_the_handling_deadline() -> None:
    dates = after("extend", ACCEPTED, date(2026, 5, 1), days=30)
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 17), date(2026, 6, 5), date(2026, 6, 5))


@pytest.mark.parametrize("action", ["answer", "decide_review"])
def test_an_opinion_opens_a_thirty_day_window(action: str) -> None:
    # 10 March + 30 = Thursday 9 April; the handling deadline is kept for the record.
    dates = after(action, ACCEPTED, date(2026, 3, 10))
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 17), date(2026, 5, 6), date(2026, 4, 9))


@pytest.mark.parametrize("action", ["request_review", "request_recheck"])
def test_a_request_gives_the_office_above_thirty_days_to_decide(action: str) -> None:
    # 1 September + 30 = 1 October → 8 October.
    dates = after(action, ACCEPTED, date(2026, 9, 1))
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 17), date(2026, 5, 6), date(2026, 10, 8))


@pytest.mark.parametrize(
    "action", ["not_accept", "redirect", "reply", "decide_recheck", "withdraw", "lapse"]
)
def test_an_ending_stops_the_clock_and_keeps_the_dates_on_record(action: str) -> None:
    dates = after(action, ACCEPTED, date(2026, 3, 10))
    assert dates == Dates(date(2026, 3, 2), date(2026, 3, 17), date(2026, 5, 6), None)


@pytest.mark.parametrize("action", ["note", "follow_up", "rate"])
def test_a_note_a_follow_up_or_a_rating_keeps_every_date(action: str) -> None:
    assert after(action, ACCEPTED, date(2026, 3, 10)) == ACCEPTED
