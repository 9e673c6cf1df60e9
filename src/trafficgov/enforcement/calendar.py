"""工作日历 — a dated holiday calendar (调休 included) and counting of working and calendar days.

ProcReg Art. 81 and APL Art. 85 count their short periods (二日 … 十五日) in working days; longer ones
(三十日) in calendar days. Periods start on the day after the event (期间开始之日不计算在内).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path

import yaml

from trafficgov.errors import FieldError

HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays.yaml"


class CalendarNotCovered(FieldError):
    """日历未覆盖 — a working-day count ran into a year the holiday file does not cover."""


@dataclass(frozen=True)
class HolidayCalendar:
    """节假日安排 — the covered years, the days off and the 调休 working weekend days."""

    years: frozenset[int]
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            raise CalendarNotCovered(
                "calendar", f"节假日安排未覆盖{day.year}年，无法计算工作日", f"holiday calendar does not cover {day.year}"
            )
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def parse_calendar(raw: dict) -> HolidayCalendar:
    """Build a calendar from the file's structure; a day listed as both off and working is an error."""
    years: set[int] = set()
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year, entry in (raw.get("years") or {}).items():
        year = int(year)
        years.add(year)
        for key, target in (("holidays", holidays), ("workdays", workdays)):
            for day in entry.get(key) or []:
                if not isinstance(day, date) or day.year != year:
                    raise ValueError(f"holidays.yaml: {key} of {year} holds {day!r}, not a date of that year")
                target.add(day)
    both = holidays & workdays
    if both:
        raise ValueError(f"holidays.yaml: days both off and working: {sorted(both)}")
    bad = [d for d in workdays if d.weekday() < 5]
    if bad:
        raise ValueError(f"holidays.yaml: 调休 working days must be weekend days: {sorted(bad)}")
    return HolidayCalendar(frozenset(years), frozenset(holidays), frozenset(workdays))


@cache
def default_calendar() -> HolidayCalendar:
    return parse_calendar(yaml.safe_load(HOLIDAYS_FILE.read_text(encoding="utf-8")))


@lru_cache(maxsize=4096)  # pure (the calendar is frozen); each batch of captures asks for the same few days
def add_working_days(start: date, n: int, calendar: HolidayCalendar) -> date:
    """The n-th working day after `start` (start itself not counted); n >= 0."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    left = n
    while left:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return day


def add_days(start: date, n: int, *, working: bool, calendar: HolidayCalendar) -> date:
    """The last day of a period of n days after `start`: working days or calendar days."""
    return add_working_days(start, n, calendar) if working else start + timedelta(days=n)
