"""Red and black lists, their due process and the inspection plan: golden tables under tests/cases/credit/
(lists.yaml: each criterion on both sides; transitions.yaml: each step allowed and refused; plan.yaml:
intervals), earned-recognition KPIs, and the loaders refusing bad data."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from trafficgov.credit import lists as ls
from trafficgov.credit import plan as pl
from trafficgov.credit.grade import Accident, GradeTableError, Offence
from trafficgov.errors import FieldError

CASES_DIR = Path(__file__).parents[1] / "cases" / "credit"
DATA = Path(ls.__file__).parent / "data"
RAW_LISTS = yaml.safe_load((DATA / "lists.yaml").read_text(encoding="utf-8"))
RAW_PLAN = yaml.safe_load((DATA / "inspection_plan.yaml").read_text(encoding="utf-8"))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _cases(name: str) -> list[Any]:
    doc = yaml.safe_load((CASES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    defaults = doc.get("defaults", {})
    out = []
    for case in doc["cases"]:
        merged = {
            "as_of": case.get("as_of", defaults.get("as_of")),
            "input": {**copy.deepcopy(defaults.get("input", {})), **copy.deepcopy(case.get("input", {}))},
            "expected": case["expected"],
        }
        out.append(pytest.param(merged, id=f"{name}::{case['name']}"))
    return out


# ---------------------------------------------------------------- list criteria


def _facts(inp: dict[str, Any]) -> ls.SubjectFacts:
    return ls.SubjectFacts(
        inp["subject_kind"], inp["subject_id"], inp.get("grade"), inp.get("band"),
        tuple(ls.VetoEvent(v["code"], _day(v["day"])) for v in inp.get("vetoes", [])),
        tuple(Offence(_day(o["day"]), o.get("behavior"), o.get("points")) for o in inp.get("offences", [])),
        tuple(Accident(_day(a["day"]), a["severity"], a["liability"], a.get("deaths", 0)) for a in inp.get("accidents", [])),
        tuple(inp.get("lists_in_force", [])),
    )


@pytest.mark.parametrize("case", _cases("lists"))
def test_golden_list_criteria(case: dict[str, Any]) -> None:
    expected, as_of = dict(case["expected"]), _day(case["as_of"])
    if "error" in expected:
        with pytest.raises(FieldError) as info:
            ls.evaluate_lists(_facts(case["input"]), as_of, case["input"].get("version"))
        assert info.value.field == expected["error"]
        return
    proposals = ls.evaluate_lists(_facts(case["input"]), as_of)
    assert {p.list_name: [c.code for c in p.criteria] for p in proposals} == expected["lists"]
    for name, codes in expected.get("measures", {}).items():
        assert [m.code for p in proposals if p.list_name == name for m in p.measures] == codes
    for p in proposals:
        assert p.proposed_on == as_of and p.table_version == "lists.2022-04-01"
        assert all(c.basis for c in p.criteria) and all(m.basis for m in p.measures)
        if "duration_days" in expected:
            assert p.duration_days == expected["duration_days"]
        if "configurable_default" in expected:
            assert p.configurable_default is expected["configurable_default"]


def test_statutory_criterion_cites_its_article() -> None:
    facts = ls.SubjectFacts("company", "c", "AA", "medium", accidents=(
        Accident(date(2025, 1, 1), "fatal", "main", 3), Accident(date(2025, 3, 1), "fatal", "full", 5)))
    (black,) = ls.evaluate_lists(facts, date(2025, 6, 30))
    (criterion,) = black.criteria
    assert criterion.basis == "《道路交通事故处理程序规定》第八十三条" and criterion.default is False
    hazards = next(m for m in black.measures if m.code == "eliminate_hazards")
    assert hazards.basis == "《道路交通安全法》第一百零二条"


# ---------------------------------------------------------------- due process


def _entry(inp: dict[str, Any]) -> ls.ListEntry:
    return ls.ListEntry(inp["list"], inp["subject_kind"], "subject-1", "", _day(inp["steps"][0][2]))


@pytest.mark.parametrize("case", _cases("transitions"))
def test_golden_transitions(case: dict[str, Any]) -> None:
    expected = case["expected"]
    entry = _entry(case["input"])
    for index, step in enumerate(case["input"]["steps"]):
        action, role, on, *rest = step
        reason = rest[0] if len(rest) > 0 else None
        subject = len(rest) > 1 and rest[1] == "subject"
        remediation = rest[2] if len(rest) > 2 else None
        if expected.get("refused_at") == index:
            with pytest.raises(FieldError) as info:
                ls.transition(entry, action, role, on=_day(on), reason=reason, actor_is_subject=subject, remediation=remediation)
            assert info.value.field == expected["error"], info.value
            assert info.value.zh
            return
        entry = ls.transition(entry, action, role, on=_day(on), reason=reason, actor_is_subject=subject, remediation=remediation)
    assert "refused_at" not in expected, "a refused step was allowed"
    assert entry.state == expected["state"]
    for key in ("published_on", "ends_on"):
        if key in expected:
            assert getattr(entry, key) == _day(expected[key])
    if "in_force" in expected:
        assert entry.in_force is expected["in_force"]
    if "history" in expected:
        assert [s.to_state for s in entry.history] == expected["history"]
    assert len(entry.history) == len(case["input"]["steps"])


def test_proposal_opens_an_entry_and_the_entry_stays_in_force_until_its_end() -> None:
    (proposal,) = ls.evaluate_lists(ls.SubjectFacts("driver", "d", "B", "high"), date(2025, 6, 30))
    entry = ls.new_entry(proposal)
    assert entry.criteria == ("black_grade_b",)
    for action, role, day in (("propose", "officer", 1), ("approve", "supervisor", 2), ("publish", "supervisor", 3)):
        entry = ls.transition(entry, action, role, on=date(2025, 7, day))
    assert ls.effective_lists([entry], date(2026, 7, 2)) == ["black"]
    assert ls.effective_lists([entry], date(2026, 7, 3)) == []
    assert ls.remediation_required("black", "driver", date(2025, 7, 3))[0].at_least == 18


# ---------------------------------------------------------------- inspection plan and KPIs


@pytest.mark.parametrize("case", _cases("plan"))
def test_golden_inspection_plan(case: dict[str, Any]) -> None:
    inp, expected, as_of = case["input"], case["expected"], _day(case["as_of"])
    if "error" in expected:
        with pytest.raises(FieldError) as info:
            pl.inspection_plan(inp["band"], inp["list"], inp["grade"], as_of=as_of)
        assert info.value.field == expected["error"]
        return
    decision = pl.inspection_plan(inp["band"], inp["list"], inp["grade"], as_of=as_of)
    assert decision.interval_days == expected["interval_days"]
    assert pl.inspection_interval_days(inp["band"], inp["list"], inp["grade"], as_of=as_of) == expected["interval_days"]
    if "mode" in expected:
        assert decision.mode == expected["mode"]
    if "text_contains" in expected:
        assert expected["text_contains"] in decision.text_zh
    assert decision.basis and decision.table_version == "plan.2022-04-01"


KPI_OK = pl.KpiInputs(vehicles=20, periodic_inspections=20, periodic_first_pass=19, gps_expected_minutes=100_000,
                      gps_offline_minutes=5_000, training_hours_required=480, training_hours_done=480, violations=10)


def _kpis(**changes: Any) -> dict[str, pl.KpiResult]:
    inputs = pl.KpiInputs(**{**KPI_OK.__dict__, **changes})
    return {k.code: k for k in pl.earned_recognition_kpis(inputs, date(2025, 6, 30))}


def test_kpis_met_exactly_at_their_thresholds() -> None:
    kpis = _kpis()
    assert {c: k.met for c, k in kpis.items()} == dict.fromkeys(pl.KPI_CODES, True)
    assert kpis["periodic_first_pass_rate"].value == 0.95
    assert kpis["gps_online_rate"].value == 0.95
    assert kpis["violations_per_vehicle"].value == 0.5 and kpis["violations_per_vehicle"].comparison == "at_most"


def test_kpis_not_met_just_past_their_thresholds() -> None:
    assert _kpis(periodic_first_pass=18)["periodic_first_pass_rate"].met is False
    assert _kpis(gps_offline_minutes=5_001)["gps_online_rate"].met is False
    assert _kpis(training_hours_done=479)["training_completion_rate"].met is False
    assert _kpis(violations=11)["violations_per_vehicle"].met is False


def test_kpis_without_data_are_not_met() -> None:
    kpis = _kpis(periodic_inspections=0, periodic_first_pass=0)
    assert kpis["periodic_first_pass_rate"].value is None and kpis["periodic_first_pass_rate"].met is False


@pytest.mark.parametrize(("changes", "field"), [
    ({"periodic_first_pass": 21}, "periodic_first_pass"),
    ({"gps_offline_minutes": 100_001}, "gps_offline_minutes"),
    ({"violations": -1}, "violations"),
])
def test_kpi_inputs_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as info:
        _kpis(**changes)
    assert info.value.field == field


# ---------------------------------------------------------------- loaders refuse bad data


def _broken(raw: dict[str, Any], edit: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    edit(out["versions"][0])
    return out


def test_shipped_lists_and_plan_load() -> None:
    assert ls.list_rules().at(date(2025, 1, 1)).version_id == "lists.2022-04-01"
    assert pl.plan_rules().at(date(2025, 1, 1)).version_id == "plan.2022-04-01"


def test_lists_loader_refuses_an_unknown_behaviour() -> None:
    raw = _broken(RAW_LISTS, lambda v: v["serious_behaviours"].append({"behaviour": "flying_car", "default": True}))
    with pytest.raises(GradeTableError, match="unknown behaviour 'flying_car'"):
        ls.parse_lists(raw)


def test_lists_loader_refuses_a_criterion_without_basis() -> None:
    raw = _broken(RAW_LISTS, lambda v: v["lists"]["black"]["criteria"][0].update(default=False))
    with pytest.raises(GradeTableError, match="missing legal_basis"):
        ls.parse_lists(raw)


def test_lists_loader_refuses_overlapping_versions() -> None:
    raw = copy.deepcopy(RAW_LISTS)
    second = copy.deepcopy(raw["versions"][0])
    second.update(version_id="lists.2024", effective_from=date(2024, 1, 1))
    raw["versions"].append(second)
    with pytest.raises(GradeTableError, match="overlap"):
        ls.parse_lists(raw)


def test_lists_loader_refuses_an_unknown_role_or_state() -> None:
    raw = _broken(RAW_LISTS, lambda v: v["transitions"][0].update(roles=["janitor"]))
    with pytest.raises(GradeTableError, match="unknown role"):
        ls.parse_lists(raw)
    raw = _broken(RAW_LISTS, lambda v: v["transitions"][0].update(to="limbo"))
    with pytest.raises(GradeTableError, match="unknown state"):
        ls.parse_lists(raw)


def test_lists_loader_refuses_a_criterion_missing_its_arguments() -> None:
    raw = _broken(RAW_LISTS, lambda v: v["lists"]["black"]["criteria"][2].pop("count"))
    with pytest.raises(GradeTableError, match="needs count"):
        ls.parse_lists(raw)


def test_plan_loader_refuses_scheduled_visits_for_the_red_list() -> None:
    raw = _broken(RAW_PLAN, lambda v: v["by_list"]["red"].update(interval_days=365, mode="on_site"))
    with pytest.raises(GradeTableError, match="remote monitoring only"):
        pl.parse_plan(raw)


def test_plan_loader_refuses_a_missing_band() -> None:
    raw = _broken(RAW_PLAN, lambda v: v["by_band"].pop("insufficient_data"))
    with pytest.raises(GradeTableError, match="every band"):
        pl.parse_plan(raw)


def test_plan_loader_refuses_a_row_without_basis() -> None:
    raw = _broken(RAW_PLAN, lambda v: v["by_band"]["high"].update(default=False))
    with pytest.raises(GradeTableError, match="missing legal_basis"):
        pl.parse_plan(raw)
