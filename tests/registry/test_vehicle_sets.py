"""The two vehicle sets: Order 163's key vehicles and transport's 两客一危一货, never confused."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from trafficgov.errors import FieldError
from trafficgov.registry import vehicle_sets as module
from trafficgov.registry.codetables import CodeTableError
from trafficgov.registry.vehicle_sets import (
    VEHICLE_SETS_FILE,
    is_key_vehicle,
    key_vehicle_reasons,
    load_vehicle_sets,
    two_passenger_one_danger_one_freight,
    vehicle_sets,
)

CASES = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "registry" / "vehicle_sets.yaml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_vehicles(case):
    given = case["input"]
    expected = case["expected"]
    reasons = key_vehicle_reasons(
        given.get("vehicle_type"),
        given.get("use_nature"),
        given.get("max_total_mass_kg"),
        given.get("rated_passengers"),
    )
    assert reasons == expected["key_vehicle"]
    assert is_key_vehicle(
        given.get("vehicle_type"),
        given.get("use_nature"),
        given.get("max_total_mass_kg"),
        given.get("rated_passengers"),
    ) is bool(expected["key_vehicle"])
    member = two_passenger_one_danger_one_freight(
        given.get("vehicle_type"),
        given.get("use_nature"),
        given.get("max_total_mass_kg"),
        route_class=given.get("route_class"),
    )
    assert member == expected["tpodof"]


def test_the_two_sets_never_share_a_member_code():
    sets = vehicle_sets().sets
    key = {m.code for r in sets["key_vehicle"].rules for m in r.members}
    transport = {m.code for r in sets["two_passenger_one_danger_one_freight"].rules for m in r.members}
    assert key and transport and not key & transport


def test_both_sets_name_their_legal_basis():
    sets = vehicle_sets().sets
    key_rule = sets["key_vehicle"].rule_at(date(2024, 1, 1))
    assert "记分管理办法" in key_rule.legal_basis[0].document
    assert "第八条第（五）项" in key_rule.legal_basis[0].article
    transport_rule = sets["two_passenger_one_danger_one_freight"].rule_at(date(2024, 1, 1))
    assert "动态监督管理办法" in transport_rule.legal_basis[0].document
    assert transport_rule.unconfirmed


def test_the_12_tonne_threshold_is_marked_unconfirmed():
    rule = vehicle_sets().sets["two_passenger_one_danger_one_freight"].rule_at(None)
    heavy = next(m for m in rule.members if m.code == "heavy_freight")
    assert heavy.unconfirmed and "12" in (heavy.note or "")
    assert any(c.min_total_mass_kg == 12000 for c in heavy.any_of)


def test_labels_are_loaded_from_data():
    labels = module.VEHICLE_SET_LABELS_ZH
    assert labels["school_bus"] == "校车"
    assert labels["two_passenger_one_danger_one_freight"] == "两客一危一货"
    assert (
        labels["dangerous_articles"] == "危险物品运输车辆" and labels["dangerous_goods"] == "危险货物运输车辆"
    )


def test_key_vehicle_rules_start_with_order_163():
    assert key_vehicle_reasons("K11", "B", as_of=date(2022, 4, 1)) == ["medium_or_larger_passenger"]
    with pytest.raises(LookupError):
        key_vehicle_reasons("K11", "B", as_of=date(2022, 3, 31))


def test_unknown_codes_are_field_errors():
    with pytest.raises(FieldError) as error:
        key_vehicle_reasons("K99", "A")
    assert error.value.field == "vehicle_type"
    with pytest.raises(FieldError) as error:
        two_passenger_one_danger_one_freight("K11", "Y")
    assert error.value.field == "use_nature"


def test_negative_mass_is_refused():
    with pytest.raises(FieldError) as error:
        key_vehicle_reasons("H11", "F", -1)
    assert error.value.field == "max_total_mass_kg"


@pytest.fixture
def sets_copy(tmp_path: Path) -> Path:
    target = tmp_path / "vehicle_sets.yaml"
    shutil.copy(VEHICLE_SETS_FILE, target)
    return target


def _edit(path: Path, change) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def test_a_clean_copy_loads(sets_copy):
    assert load_vehicle_sets(sets_copy).labels_zh["heavy_freight"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sets"][1]["rules"][0]["members"][0].update(code="school_bus"), "two sets"),
        (
            lambda d: d["sets"][0]["rules"][0]["members"][0]["any_of"][0].update(use_natures=["Y"]),
            "use nature",
        ),
        (lambda d: d["sets"][0]["rules"][0]["members"][1]["any_of"][0].update(families=["bus"]), "family"),
        (lambda d: d["sets"][0]["rules"][0].pop("legal_basis"), "legal_basis"),
        (lambda d: d["sets"][0]["rules"].append(dict(d["sets"][0]["rules"][0], rule_id="again")), "overlap"),
        (
            lambda d: d["sets"][0]["rules"][0]["members"][0].update(any_of=[{"min_total_mass_kg": 1}]),
            "condition must name",
        ),
    ],
)
def test_an_invalid_vehicle_set_file_is_refused(sets_copy, change, message):
    _edit(sets_copy, change)
    with pytest.raises(CodeTableError) as error:
        load_vehicle_sets(sets_copy)
    assert message in str(error.value)
