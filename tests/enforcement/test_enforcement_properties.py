"""Properties of the engine: fines never fall as the excess rises; every fine stays in its legal range."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from trafficgov.enforcement.decide import decide
from trafficgov.enforcement.model import CATEGORIES
from trafficgov.rules import default_rulebook

AS_OF = date(2025, 6, 30)
REGIONS = [None, "370000", "370102", "110105", "150102", "330802", "440300"]
ROAD_TYPES = ["expressway", "urban_expressway", "ordinary"]


def _speeding(region, category, road_type, limit, speed):
    return {
        "case_id": "p",
        "occurred_at": "2024-06-01T10:00:00+08:00",
        "region": region,
        "behavior": "speeding",
        "vehicle": {"category": category},
        "road": {"type": road_type, "speed_limit_kmh": limit},
        "measured": {"speed_kmh": speed},
    }


@settings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    category=st.sampled_from(CATEGORIES),
    road_type=st.sampled_from(ROAD_TYPES),
    limit=st.integers(min_value=20, max_value=120),
    excess=st.lists(st.floats(min_value=0.01, max_value=150, allow_nan=False), min_size=2, max_size=6),
)
def test_fine_and_points_never_fall_as_the_excess_speed_rises(region, category, road_type, limit, excess):
    fines, points = [], []
    for extra in sorted(excess):
        decision = decide(_speeding(region, category, road_type, limit, round(limit + extra, 2)), AS_OF)
        fines.append(decision.fine_yuan or 0)
        points.append(decision.points)
    assert fines == sorted(fines)
    assert points == sorted(points)


@settings(max_examples=300, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    category=st.sampled_from(CATEGORIES),
    road_type=st.sampled_from(ROAD_TYPES),
    limit=st.integers(min_value=20, max_value=120),
    excess=st.floats(min_value=0.01, max_value=200, allow_nan=False),
)
def test_every_speeding_fine_stays_within_its_statutory_range(region, category, road_type, limit, excess):
    decision = decide(_speeding(region, category, road_type, limit, round(limit + excess, 2)), AS_OF)
    if decision.outcome in {"fine", "fine_and_licence"} and decision.fine_range_yuan is not None:
        low, high = decision.fine_range_yuan
        assert low <= decision.fine_yuan <= high
    else:
        assert decision.fine_yuan == 0 and decision.points == 0


def test_every_benchmark_amount_fits_every_statutory_row_of_its_behaviour():
    """Each discretion amount lies inside the statutory range of some row of the same behaviour."""
    book = default_rulebook()
    statutory = [i.row for i in book.rows("statutory")]
    for item in book.rows("discretion"):
        row = item.row
        if row.outcome != "fine":
            continue
        ranges = [(s.fine_min, s.fine_max) for s in statutory if s.behaviour == row.behaviour and s.fine_min is not None]
        assert any(low <= row.fine_yuan <= high for low, high in ranges), row.rule_id


@settings(max_examples=200, deadline=None)
@given(
    region=st.sampled_from(REGIONS),
    behaviour=st.sampled_from(
        ["red_light", "phone_use", "no_seatbelt", "illegal_parking", "not_carrying_licence", "emergency_lane_expressway",
         "enlarged_plate_number_missing", "doors_not_closed", "fake_or_other_plate", "driving_while_suspended"]
    ),
    on_site=st.booleans(),
    corrected=st.booleans(),
)
def test_warnings_and_no_penalty_never_carry_points_or_fines(region, behaviour, on_site, corrected):
    decision = decide(
        {
            "case_id": "w",
            "occurred_at": "2024-06-01T10:00:00+08:00",
            "region": region,
            "behavior": behaviour,
            "vehicle": {"category": "truck_heavy"},
            "circumstances": {"on_site": on_site, "corrected": corrected},
        },
        AS_OF,
    )
    if decision.outcome in {"warning", "no_penalty"}:
        assert decision.points == 0 and decision.fine_yuan == 0
    else:
        low, high = decision.fine_range_yuan or (decision.fine_yuan, decision.fine_yuan)
        assert low <= decision.fine_yuan <= high
