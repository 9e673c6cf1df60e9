"""记分周期 — the 12-month scoring cycle of a driving licence and what adding points does to it.

记分管理办法 (公安部令第163号) Art. 3: a cycle is twelve months, counted continuously from the day the
licence was first issued; the full score is 12. Art. 15: when a cycle ends under 12 points, its points are
cleared. Art. 17: reaching 12 points in a cycle leads to full-score education (满分教育). Points are
recorded when the penalty is decided (Art. 9), so they go into the cycle that holds the decision day.

Pure: no store, no web. Not modelled: Art. 15's carry-over of points whose fine is still unpaid at the
end of the cycle, and the education deductions of Art. 25.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

FULL_SCORE = 12


def anniversary(start: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def cycle_containing(first_issued: date, day: date) -> tuple[date, date]:
    """The cycle [start, end) that holds `day`: cycles run on from the first issue date (Art. 3)."""
    if day < first_issued:
        raise ValueError(f"{day} is before the licence was first issued ({first_issued})")
    years = day.year - first_issued.year
    start = anniversary(first_issued, years)
    if start > day:
        years -= 1
        start = anniversary(first_issued, years)
    return start, anniversary(first_issued, years + 1)


@dataclass(frozen=True)
class PointsChange:
    """What one decision does to a licence's points."""

    cycle_start: date
    cycle_end: date
    old_points: int
    new_points: int
    cleared: int  # points of an ended cycle cleared first (Art. 15)
    full: bool  # the cycle reached the full score (Art. 17: 满分教育)

    @property
    def reached_full(self) -> bool:
        return self.full and self.old_points - self.cleared < FULL_SCORE


def add_points(points: int, *, current: int | None, cycle_start: date | None, first_issued: date | None, day: date) -> PointsChange:
    """Add a decision's `points` on `day` to a licence holding `current` points in the cycle from `cycle_start`.

    The cycle comes from the first issue date when it is known, else from the stored cycle start rolled on
    by whole years (a licence with neither starts its cycle on `day`). An ended cycle under 12 points is
    cleared first; one that reached 12 keeps its points until the education is done.
    """
    if points < 0:
        raise ValueError("points must not be negative")
    old = current or 0
    anchor = first_issued or cycle_start or day
    if day < anchor:
        anchor = day
    start, end = cycle_containing(anchor, day)
    cleared = 0
    if cycle_start is not None and cycle_start < start and old < FULL_SCORE:
        cleared = old
    base = old - cleared
    new = base + points
    return PointsChange(cycle_start=start, cycle_end=end, old_points=old, new_points=new, cleared=cleared, full=new >= FULL_SCORE)
