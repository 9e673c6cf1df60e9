"""记分周期 (记分管理办法 Arts. 3, 15, 17): golden cases of the cycle and of adding points."""

from __future__ import annotations

from datetime import date

import pytest

from trafficgov.registry.points import add_points, cycle_containing

CYCLES = [
    # first issued, day, cycle start, cycle end (exclusive)
    (date(2015, 3, 10), date(2026, 3, 9), date(2025, 3, 10), date(2026, 3, 10)),
    (date(2015, 3, 10), date(2026, 3, 10), date(2026, 3, 10), date(2027, 3, 10)),
    (date(2015, 3, 10), date(2015, 3, 10), date(2015, 3, 10), date(2016, 3, 10)),
    (date(2016, 2, 29), date(2026, 2, 28), date(2026, 2, 28), date(2027, 2, 28)),
    (date(2016, 2, 29), date(2028, 2, 29), date(2028, 2, 29), date(2029, 2, 28)),
    (date(2016, 2, 29), date(2026, 2, 27), date(2025, 2, 28), date(2026, 2, 28)),
]


@pytest.mark.parametrize(("first", "day", "start", "end"), CYCLES)
def test_cycle_runs_on_from_the_first_issue_date(first, day, start, end):
    assert cycle_containing(first, day) == (start, end)


def test_a_day_before_the_first_issue_has_no_cycle():
    with pytest.raises(ValueError):
        cycle_containing(date(2020, 5, 1), date(2020, 4, 30))


def test_points_add_within_the_cycle():
    change = add_points(6, current=3, cycle_start=date(2026, 3, 10), first_issued=date(2015, 3, 10), day=date(2026, 6, 1))
    assert (change.old_points, change.new_points, change.cleared, change.full) == (3, 9, 0, False)


def test_an_ended_cycle_under_twelve_is_cleared_first():
    change = add_points(3, current=9, cycle_start=date(2025, 3, 10), first_issued=date(2015, 3, 10), day=date(2026, 3, 10))
    assert (change.cycle_start, change.cleared, change.new_points) == (date(2026, 3, 10), 9, 3)


def test_an_ended_cycle_at_twelve_keeps_its_points_for_education():
    change = add_points(1, current=12, cycle_start=date(2025, 3, 10), first_issued=date(2015, 3, 10), day=date(2026, 4, 1))
    assert (change.cleared, change.new_points, change.full, change.reached_full) == (0, 13, True, False)


def test_reaching_twelve_is_reported_once():
    change = add_points(6, current=6, cycle_start=date(2026, 3, 10), first_issued=date(2015, 3, 10), day=date(2026, 6, 1))
    assert change.full and change.reached_full


def test_without_first_issue_date_the_stored_cycle_start_rolls_on():
    change = add_points(2, current=4, cycle_start=date(2024, 7, 1), first_issued=None, day=date(2026, 7, 2))
    assert (change.cycle_start, change.cleared, change.new_points) == (date(2026, 7, 1), 4, 2)
