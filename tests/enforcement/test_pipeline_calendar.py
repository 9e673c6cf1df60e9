"""Working days from the dated holiday calendar: the 2026 Spring Festival week and its 调休 Saturdays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trafficgov.enforcement.calendar import (
    CalendarNotCovered,
    add_days,
    add_working_days,
    default_calendar,
    parse_calendar,
)


def test_five_working_days_from_before_spring_festival_skip_the_holiday_week():
    cal = default_calendar()
    # Thu 12 Feb 2026: Fri 13 (1), Sat 14 is a 调休 working day (2), 15-23 off, Tue 24 (3), Wed 25 (4), Thu 26 (5)
    assert add_working_days(date(2026, 2, 12), 5, cal) == date(2026, 2, 26)


def test_working_saturday_after_the_holiday_counts():
    cal = default_calendar()
    assert cal.is_working_day(date(2026, 2, 28))  # Saturday, 调休上班
    assert not cal.is_working_day(date(2026, 2, 17))  # 正月初一
    assert not cal.is_working_day(date(2026, 2, 23))  # Monday inside the holiday
    # Wed 25 Feb + 3 working days: Thu 26, Fri 27, Sat 28 (working)
    assert add_working_days(date(2026, 2, 25), 3, cal) == date(2026, 2, 28)


def test_a_capture_on_a_holiday_starts_counting_on_the_next_working_day():
    cal = default_calendar()
    assert add_working_days(date(2026, 2, 17), 1, cal) == date(2026, 2, 24)


def test_ordinary_week_skips_the_weekend_and_zero_days_is_the_same_day():
    cal = default_calendar()
    assert add_working_days(date(2026, 6, 5), 1, cal) == date(2026, 6, 8)
    assert add_working_days(date(2026, 6, 5), 0, cal) == date(2026, 6, 5)


def test_calendar_days_are_not_working_days():
    assert add_days(date(2026, 2, 12), 30, working=False, calendar=default_calendar()) == date(2026, 3, 14)


def test_a_year_the_file_does_not_cover_is_an_error_not_a_guess():
    with pytest.raises(CalendarNotCovered):
        add_working_days(date(2030, 1, 1), 1, default_calendar())


def test_a_day_both_off_and_working_is_refused():
    with pytest.raises(ValueError):
        parse_calendar({"years": {2026: {"holidays": [date(2026, 2, 14)], "workdays": [date(2026, 2, 14)]}}})
    with pytest.raises(ValueError):
        parse_calendar({"years": {2026: {"workdays": [date(2026, 2, 16)]}}})  # a Monday cannot be 调休上班


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 11, 30)), st.integers(min_value=1, max_value=15))
def test_the_nth_working_day_is_a_working_day_with_n_working_days_up_to_it(start, n):
    cal = default_calendar()
    end = add_working_days(start, n, cal)
    assert cal.is_working_day(end)
    days = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert sum(cal.is_working_day(d) for d in days) == n
    assert add_working_days(start, n + 1, cal) > end
