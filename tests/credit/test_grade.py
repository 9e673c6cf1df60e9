"""Credit grades (质量信誉考核, 培训质量考核, 驾驶员诚信考核): golden tables under tests/cases/credit/grade_*.yaml
(both sides of every band boundary, each veto item, refused input), properties, and the loader refusing
bad tables (unknown behaviour code, overlapping versions, missing basis, bands with gaps)."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from trafficgov.credit import grade as g
from trafficgov.errors import FieldError

CASES_DIR = Path(__file__).parents[1] / "cases" / "credit"
RAW = yaml.safe_load((Path(g.__file__).parent / "data" / "grades.yaml").read_text(encoding="utf-8"))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _golden(kind_prefix: str) -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob(f"{kind_prefix}*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults = doc.get("defaults", {})
        for case in doc["cases"]:
            merged = {
                "kind": doc["kind"],
                "as_of": _day(case.get("as_of", defaults.get("as_of"))),
                "input": {**copy.deepcopy(defaults.get("input", {})), **copy.deepcopy(case.get("input", {}))},
                "expected": case["expected"],
            }
            params.append(pytest.param(merged, id=f"{path.stem}::{case['name']}"))
    return params


def _offences(rows: list[dict[str, Any]] | None) -> tuple[g.Offence, ...]:
    return tuple(g.Offence(_day(r["day"]), r.get("behavior"), r.get("points")) for r in rows or [])


def _accidents(rows: list[dict[str, Any]] | None) -> tuple[g.Accident, ...]:
    return tuple(g.Accident(_day(r["day"]), r["severity"], r["liability"], r.get("deaths", 0)) for r in rows or [])


def _safety(inp: dict[str, Any], as_of: date) -> tuple[g.SafetyMonth, ...]:
    if inp.get("safety") != "compliant":
        return ()
    overrides = inp.get("safety_overrides", {})
    months, day = [], date(as_of.year, as_of.month, 1)
    for _ in range(25):
        key = f"{day.year:04d}-{day.month:02d}"
        row = overrides.get(key, {"training_hours": 1000, "self_inspections": 5, "monitoring_staff": 10})
        months.append(g.SafetyMonth(key, row["training_hours"], row["self_inspections"], row["monitoring_staff"]))
        day = (day - timedelta(days=1)).replace(day=1)
    return tuple(months)


def _run(case: dict[str, Any]) -> g.GradeResult:
    inp, as_of, kind = case["input"], case["as_of"], case["kind"]
    version = inp.get("version")
    start = _day(inp["period_start"]) if inp.get("period_start") else None
    if kind == "company":
        inputs = g.CompanyGradeInputs(
            inp["subject_id"], inp["vehicles"], inp["drivers"], _accidents(inp.get("accidents")), _offences(inp.get("violations")),
            tuple(g.Inspection(_day(r["day"]), r["out_of_service"]) for r in inp.get("inspections", [])),
            _safety(inp, as_of),
            tuple(g.GpsDay(_day(r["day"]), r["vehicle"], r["offline_minutes"]) for r in inp.get("gps_days", [])),
            start,
        )
        return g.grade_company(inputs, as_of, version)
    if kind == "school":
        inputs_s = g.SchoolGradeInputs(
            inp["subject_id"], inp["graduates"], _offences(inp.get("graduate_violations")), _accidents(inp.get("graduate_accidents")),
            inp.get("exam_first_pass_rate"), _offences(inp.get("own_violations")), (),
            tuple((_day(d), code) for d, code in inp.get("misconduct", [])), start,
        )
        return g.grade_school(inputs_s, as_of, version)
    inputs_d = g.DriverGradeInputs(
        inp["subject_id"], _day(inp["certificate_first_issued"]), _offences(inp.get("offences")), _accidents(inp.get("accidents")),
        inp.get("order163_cycle_points", 0),
    )
    return g.grade_driver(inputs_d, as_of, version)


GOLDEN = _golden("grade_")


def test_golden_tables_cover_every_kind() -> None:
    kinds = {p.values[0]["kind"] for p in GOLDEN}
    assert kinds == {"company", "school", "driver"}
    assert len(GOLDEN) > 70


@pytest.mark.parametrize("case", GOLDEN)
def test_golden_grade(case: dict[str, Any]) -> None:
    expected = dict(case["expected"])
    if "error" in expected:
        with pytest.raises(FieldError) as info:
            _run(case)
        assert info.value.field == expected["error"], info.value
        assert info.value.zh and info.value.en
        return
    result = _run(case)
    deductions = expected.pop("deductions", None)
    if deductions is not None:
        assert {d.code: d.points for d in result.deductions} == deductions, result.deductions
    vetoes = expected.pop("veto_items", None)
    if vetoes is not None:
        assert [v.code for v in result.veto_items] == vetoes
        assert all(v.basis and v.text_zh for v in result.veto_items)
    if "improve_contains" in expected:
        assert expected.pop("improve_contains") in result.improve_zh, result.improve_zh
    if "notes_contains" in expected:
        assert any(expected.pop("notes_contains") in n for n in result.notes_zh), result.notes_zh
    for key in ("period_start", "period_end"):
        if key in expected:
            assert getattr(result, key) == _day(expected.pop(key))
    for key, value in expected.items():
        assert getattr(result, key) == value, f"{key}: {getattr(result, key)!r} != {value!r}"
    assert result.improve_zh and result.grade_basis
    assert result.score_kind == ("points" if case["kind"] == "driver" else "score")


def test_every_deduction_item_names_its_basis_and_count() -> None:
    inputs = g.CompanyGradeInputs("c", vehicles=5, drivers=5, violations=(g.Offence(date(2025, 5, 1), "red_light"),))
    result = g.grade_company(inputs, date(2025, 6, 30))
    items = {d.code: d for d in result.deductions}
    assert items["violation_general"].count == 1
    assert items["violation_general"].value == 0.2
    assert "本局可配置默认值" in items["violation_general"].basis
    assert result.configurable_default is True
    assert result.as_dict()["period_end"] == "2025-06-30"


def test_driver_cycle_runs_from_the_certificate_issue_day() -> None:
    assert g.driver_cycle(date(2020, 3, 15), date(2025, 3, 14)) == (date(2024, 3, 15), date(2025, 3, 14))
    assert g.driver_cycle(date(2020, 3, 15), date(2025, 3, 15)) == (date(2025, 3, 15), date(2026, 3, 14))
    assert g.driver_cycle(date(2020, 3, 15), date(2020, 3, 15)) == (date(2020, 3, 15), date(2021, 3, 14))
    # A certificate issued on 29 February: the anniversary falls on 28 February in common years.
    assert g.driver_cycle(date(2020, 2, 29), date(2025, 2, 28)) == (date(2025, 2, 28), date(2026, 2, 27))


# ---------------------------------------------------------------- properties

BEHAVIOURS = sorted(row["behaviour"] for row in RAW["versions"][0]["behaviour_tiers"])
offence_strategy = st.builds(
    g.Offence, st.dates(date(2025, 3, 15), date(2025, 6, 30)), st.sampled_from(BEHAVIOURS), st.none(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(offence_strategy, max_size=8), offence_strategy)
def test_another_offence_never_improves_a_driver_grade(offences: list[g.Offence], extra: g.Offence) -> None:
    base = g.DriverGradeInputs("d", date(2020, 3, 15), tuple(offences))
    more = g.DriverGradeInputs("d", date(2020, 3, 15), (*offences, extra))
    a, b = g.grade_driver(base, date(2025, 6, 30)), g.grade_driver(more, date(2025, 6, 30))
    assert b.score >= a.score
    assert g.GRADE_RANK[b.grade] >= g.GRADE_RANK[a.grade]


@settings(max_examples=60, deadline=None)
@given(st.lists(offence_strategy, max_size=12), st.integers(0, 6), st.integers(1, 60))
def test_company_grade_is_monotone_in_events(offences: list[g.Offence], injuries: int, vehicles: int) -> None:
    crashes = tuple(g.Accident(date(2025, 1, 1) + timedelta(days=i), "injury", "main") for i in range(injuries))
    fewer = g.grade_company(g.CompanyGradeInputs("c", vehicles, 1, crashes[:-1] if crashes else (), tuple(offences[:-1])), date(2025, 6, 30))
    more = g.grade_company(g.CompanyGradeInputs("c", vehicles, 1, crashes, tuple(offences)), date(2025, 6, 30))
    assert more.score <= fewer.score
    assert g.GRADE_RANK[more.grade] >= g.GRADE_RANK[fewer.grade]
    assert all(d.points > 0 for d in more.deductions)


# ---------------------------------------------------------------- the loader refuses bad tables


def _broken(edit: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    edit(raw["versions"][0])
    return raw


def test_shipped_tables_load() -> None:
    tables = g.grade_tables()
    assert tables.at(date(2025, 1, 1)).version_id == "grades.2022-04-01"


def test_loader_refuses_an_unknown_behaviour_code() -> None:
    raw = _broken(lambda v: v["behaviour_tiers"].append({"behaviour": "flying_car", "points": 20, "default": True}))
    with pytest.raises(g.GradeTableError, match="unknown behaviour 'flying_car'"):
        g.parse_grades(raw)


def test_loader_refuses_an_unknown_behaviour_in_a_veto() -> None:
    raw = _broken(lambda v: v["driver"]["vetoes"][2].update(behaviours=["fake_plate"]))
    with pytest.raises(g.GradeTableError, match="unknown behaviour 'fake_plate'"):
        g.parse_grades(raw)


def test_loader_refuses_a_behaviour_given_two_tiers() -> None:
    raw = _broken(lambda v: v["behaviour_tiers"].append({"behaviour": "red_light", "points": 3, "default": True}))
    with pytest.raises(g.GradeTableError, match="two tiers"):
        g.parse_grades(raw)


def test_loader_refuses_overlapping_versions() -> None:
    raw = copy.deepcopy(RAW)
    second = copy.deepcopy(raw["versions"][0])
    second.update(version_id="grades.2025-01-01", effective_from=date(2025, 1, 1))
    raw["versions"].append(second)
    with pytest.raises(g.GradeTableError, match="overlap"):
        g.parse_grades(raw)
    raw["versions"][0]["effective_to"] = date(2024, 12, 31)
    tables = g.parse_grades(raw)
    assert tables.at(date(2024, 12, 31)).version_id == "grades.2022-04-01"
    assert tables.at(date(2025, 1, 1)).version_id == "grades.2025-01-01"


def test_loader_refuses_a_row_without_basis() -> None:
    def edit(v: dict[str, Any]) -> None:
        row = v["company"]["deductions"][0]
        row.pop("legal_basis", None)
        row["default"] = False

    with pytest.raises(g.GradeTableError, match="missing legal_basis"):
        g.parse_grades(_broken(edit))


def test_loader_refuses_bands_with_a_gap() -> None:
    raw = _broken(lambda v: v["company"]["bands"][1].update({"from": 710}))
    with pytest.raises(g.GradeTableError, match="gap"):
        g.parse_grades(raw)


def test_loader_refuses_overlapping_bands() -> None:
    raw = _broken(lambda v: v["driver"]["bands"][1].update({"below": 12}))
    with pytest.raises(g.GradeTableError, match="gap or overlap"):
        g.parse_grades(raw)


def test_loader_refuses_driver_bands_not_starting_at_zero() -> None:
    raw = _broken(lambda v: v["driver"]["bands"][0].update({"from": -5}))
    with pytest.raises(g.GradeTableError, match="start at 0"):
        g.parse_grades(raw)


def test_loader_refuses_a_missing_grade() -> None:
    raw = _broken(lambda v: v["school"]["bands"].pop())
    with pytest.raises(g.GradeTableError, match="once each"):
        g.parse_grades(raw)


def test_loader_refuses_an_unknown_measure() -> None:
    raw = _broken(lambda v: v["company"]["deductions"][0].update(measure="horoscope"))
    with pytest.raises(g.GradeTableError, match="unknown measure"):
        g.parse_grades(raw)


def test_loader_refuses_an_incomplete_order163_map() -> None:
    raw = _broken(lambda v: v["by_order163_points"].pop())
    with pytest.raises(g.GradeTableError, match="12, 9, 6, 3, 1 and 0"):
        g.parse_grades(raw)


def test_loader_refuses_a_malformed_row() -> None:
    raw = _broken(lambda v: v["behaviour_tiers"][0].update(points=7))
    with pytest.raises(g.GradeTableError, match="versions\\[0\\]"):
        g.parse_grades(raw)
