"""Deadline clocks across weekends, bank holidays, Christmas, half-term and clock changes."""

from datetime import UTC, date, datetime, time

import pytest

from streams.routing import LONDON, Calendar, DateRange

HALF_TERM = DateRange(date(2026, 10, 26), date(2026, 10, 30))
CHRISTMAS = DateRange(date(2026, 12, 21), date(2027, 1, 1))
CAL = Calendar(school_holidays=(HALF_TERM, CHRISTMAS))


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_friday_1700_school_deadline_is_monday_0830() -> None:
    assert CAL.next_school_day_start(london(2026, 11, 20, 17, 0)) == london(2026, 11, 23, 8, 30)


def test_friday_1700_one_working_day_is_monday_end_of_day() -> None:
    assert CAL.working_days(london(2026, 11, 20, 17, 0), 1) == london(2026, 11, 23, 17, 0)


def test_saturday_night() -> None:
    start = london(2026, 11, 21, 23, 30)
    assert CAL.next_school_day_start(start) == london(2026, 11, 23, 8, 30)
    assert CAL.working_days(start, 1) == london(2026, 11, 23, 17, 0)
    assert CAL.working_days(start, 3) == london(2026, 11, 25, 17, 0)
    assert CAL.hours(start, 24) == london(2026, 11, 22, 23, 30)


def test_early_morning_on_a_school_day_is_due_the_same_morning() -> None:
    assert CAL.next_school_day_start(london(2026, 11, 24, 2, 15)) == london(2026, 11, 24, 8, 30)
    assert CAL.next_school_day_start(london(2026, 11, 24, 8, 30)) == london(2026, 11, 25, 8, 30)


def test_bank_holiday_monday_rolls_forward() -> None:
    # Spring bank holiday: Monday 25 May 2026.
    friday = london(2026, 5, 22, 18, 0)
    assert CAL.next_school_day_start(friday) == london(2026, 5, 26, 8, 30)
    assert CAL.working_days(friday, 1) == london(2026, 5, 26, 17, 0)
    assert not CAL.is_working_day(date(2026, 5, 25))


def test_christmas_rolls_past_the_holidays_and_observed_boxing_day() -> None:
    # Christmas Day is a Friday; Boxing Day (Saturday) is observed on Monday 28 December.
    eve = london(2026, 12, 24, 20, 0)
    assert CAL.working_days(eve, 1) == london(2026, 12, 29, 17, 0)
    assert CAL.next_school_day_start(eve) == london(2027, 1, 4, 8, 30)


def test_half_term_is_not_a_school_day_but_is_a_working_day() -> None:
    friday_before = london(2026, 10, 23, 16, 0)
    assert CAL.next_school_day_start(friday_before) == london(2026, 11, 2, 8, 30)
    assert CAL.working_days(friday_before, 1) == london(2026, 10, 26, 17, 0)


def test_a_deployments_closure_day_is_not_a_working_day() -> None:
    closed = Calendar(closure_days=frozenset({date(2026, 11, 23)}))
    assert closed.working_days(london(2026, 11, 20, 12, 0), 1) == london(2026, 11, 24, 17, 0)


def test_spring_forward_night_keeps_elapsed_hours_and_local_school_time() -> None:
    # Clocks go forward at 01:00 UTC on Sunday 29 March 2026.
    start = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # 23:00 GMT Saturday
    due = CAL.hours(start, 4)
    assert due == datetime(2026, 3, 29, 3, 0, tzinfo=UTC)
    assert due.astimezone(LONDON).hour == 4  # 03:00 UTC is 04:00 BST
    monday = CAL.next_school_day_start(start)
    assert monday == london(2026, 3, 30, 8, 30)
    assert monday == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # 08:30 BST


def test_fall_back_night_keeps_elapsed_hours() -> None:
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026.
    start = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)  # 00:30 BST Sunday
    due = CAL.hours(start, 2)
    assert due == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert due.astimezone(LONDON).strftime("%H:%M %Z") == "01:30 GMT"
    assert CAL.working_days(start, 1) == datetime(2026, 10, 26, 17, 0, tzinfo=UTC)  # 17:00 GMT


def test_office_hours() -> None:
    assert CAL.is_office_hours(london(2026, 11, 24, 10, 0))
    assert not CAL.is_office_hours(london(2026, 11, 24, 17, 0))
    assert not CAL.is_office_hours(london(2026, 11, 22, 10, 0))  # Sunday


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.hours(datetime(2026, 11, 24, 10, 0), 1)


def test_school_day_start_is_configurable() -> None:
    early = Calendar(school_day_start=time(8, 0))
    assert early.next_school_day_start(london(2026, 11, 24, 7, 0)) == london(2026, 11, 24, 8, 0)
