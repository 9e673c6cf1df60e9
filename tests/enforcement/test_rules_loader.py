"""The rule loader refuses broken files: overlapping dates, missing basis, unknown units or behaviours,
bad tier boundaries; and the shipped data loads with region layers applied."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from trafficgov.rules import DATA_DIR, Rulebook, RuleFileError, region_chain
from trafficgov.rules.loader import load_rows

BASIS = "{document: 测试, article: 第一条}"


def _book(tmp_path: Path, text: str, name: str = "bad.yaml") -> Rulebook:
    extra = tmp_path / "extra"
    extra.mkdir(exist_ok=True)
    (extra / name).write_text(text, encoding="utf-8")
    return Rulebook.load([DATA_DIR, extra])


def _row(rule_id: str, table: str, band: str, fine: int, extra: str = "", start: str = "2024-01-01", end: str = "null") -> str:
    return (
        f"  - {{rule_id: {rule_id}, table: {table}, behaviour: speeding, band: {band}, fine_yuan: {fine}, "
        f"effective_from: {start}, effective_to: {end}, legal_basis: {BASIS}, label_zh: 测试{extra}}}\n"
    )


def _band(low: float, low_in: bool, high: float | None = None, high_in: bool = False, unit: str = "percent_over_speed_limit") -> str:
    upper = "" if high is None else f", upper: {{value: {high}, inclusive: {str(high_in).lower()}}}"
    return f"{{unit: {unit}, lower: {{value: {low}, inclusive: {str(low_in).lower()}}}{upper}}}"


def test_shipped_rules_load_and_have_every_kind() -> None:
    book = Rulebook.load()
    kinds = {item.kind for item in book.rows()}
    assert kinds == {"behaviours", "statutory", "points", "discretion", "leniency"}


def test_issue_behaviours_are_all_in_the_catalogue() -> None:
    codes = {i.row.code for i in Rulebook.load().rows("behaviours")}
    wanted = {
        "speeding", "overload_passengers", "overload_freight", "red_light", "phone_use", "no_seatbelt", "fatigue_driving",
        "drink_driving", "drunk_driving", "no_plate_or_covered_plate", "fake_or_other_plate", "licence_class_mismatch",
        "driving_while_suspended", "overdue_inspection", "emergency_lane_expressway", "wrong_way_expressway",
        "illegal_stop_expressway", "improper_lane_expressway", "not_yielding_to_pedestrians",
        "enlarged_plate_number_missing", "load_dimension_exceeded", "illegal_parking", "not_carrying_licence",
    }
    assert wanted <= codes


def test_region_chain_falls_back_city_province_national() -> None:
    assert region_chain("370102") == ["370102", "370100", "370000", None]
    assert region_chain("370000") == ["370000", None]
    assert region_chain(None) == [None]


def test_rules_in_force_depend_on_the_date() -> None:
    book = Rulebook.load()
    assert not book.at(date(2022, 3, 31)).has("points")
    assert book.at(date(2022, 4, 1)).has("points")


def test_overlapping_dates_of_one_rule_id_are_refused(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.a", "t", _band(0, False), 10, start="2024-01-01", end="2024-12-31") + _row(
        "t.a", "t", _band(0, False), 20, start="2024-12-31"
    )
    with pytest.raises(RuleFileError, match="overlap"):
        _book(tmp_path, text)


def test_consecutive_versions_of_one_rule_id_load(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.a", "t", _band(0, False), 10, end="2024-12-31") + _row(
        "t.a", "t", _band(0, False), 20, start="2025-01-01"
    )
    _book(tmp_path, text)


def test_missing_legal_basis_is_refused(tmp_path: Path) -> None:
    text = 'region: null\ndiscretion:\n  - {rule_id: t.b, table: t, behaviour: red_light, fine_yuan: 10, effective_from: 2024-01-01, label_zh: x}\n'
    with pytest.raises(RuleFileError, match="legal_basis"):
        _book(tmp_path, text)


def test_unknown_unit_is_refused(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.c", "t", _band(0, False, unit="percent_of_mood"), 10)
    with pytest.raises(RuleFileError, match="unknown unit"):
        _book(tmp_path, text)


def test_unknown_behaviour_is_refused(tmp_path: Path) -> None:
    text = f'region: "990000"\ndiscretion:\n  - {{rule_id: t.d, table: t, behaviour: teleporting, fine_yuan: 10, effective_from: 2024-01-01, legal_basis: {BASIS}, label_zh: x}}\n'
    with pytest.raises(RuleFileError, match="unknown behaviour"):
        _book(tmp_path, text)


def test_unknown_behaviour_in_a_leniency_list_is_refused(tmp_path: Path) -> None:
    text = (
        f'region: "990000"\nleniency:\n  - {{rule_id: t.l, list_id: x, outcome: warning, conditions: {{}}, '
        f"items: [{{behaviour: teleporting}}], effective_from: 2024-01-01, legal_basis: {BASIS}, label_zh: x}}\n"
    )
    with pytest.raises(RuleFileError, match="unknown behaviour"):
        _book(tmp_path, text)


def test_tiers_that_both_include_a_boundary_are_refused(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.e1", "t", _band(0, False, 10, True), 10) + _row("t.e2", "t", _band(10, True), 20)
    with pytest.raises(RuleFileError, match="both include"):
        _book(tmp_path, text)


def test_an_undeclared_gap_is_refused(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.f1", "t", _band(0, False, 10, False), 10) + _row("t.f2", "t", _band(10, False), 20)
    with pytest.raises(RuleFileError, match="belongs to no tier"):
        _book(tmp_path, text)


def test_a_declared_gap_loads(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.g1", "t", _band(0, False, 10, False), 10) + _row(
        "t.g2", "t", _band(10, False), 20, extra=", gap_below: lighter"
    )
    _book(tmp_path, text)


def test_tiers_that_do_not_meet_are_refused(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.h1", "t", _band(0, False, 10, False), 10) + _row("t.h2", "t", _band(20, True), 20)
    with pytest.raises(RuleFileError, match="boundary mismatch"):
        _book(tmp_path, text)


def test_an_empty_band_is_refused(tmp_path: Path) -> None:
    text = 'region: "990000"\ndiscretion:\n' + _row("t.i", "t", _band(20, True, 10, False), 10)
    with pytest.raises(RuleFileError, match="empty band"):
        _book(tmp_path, text)


def test_a_bad_region_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="6-digit"):
        _book(tmp_path, "region: 37\ndiscretion: []\n")


def test_malformed_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="YAML"):
        _book(tmp_path, "region: [unclosed\n")


def test_a_csv_with_wrong_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="CSV columns"):
        _book(tmp_path, "rule_id,fine\nx,1\n", name="bad.csv")


def test_a_csv_boundary_error_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    csv_path = copy / "regions" / "370000-speeding.csv"
    text = csv_path.read_text(encoding="utf-8").replace("sd.speeding.10to30,sd.speeding,speeding,percent_over_speed_limit,10,false,30,false,lighter", "sd.speeding.10to30,sd.speeding,speeding,percent_over_speed_limit,10,false,30,false,")
    csv_path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError, match="belongs to no tier"):
        load_rows([copy])


def test_rules_marked_unconfirmed_are_the_ones_facts_md_flags() -> None:
    book = Rulebook.load()
    unconfirmed = {i.row.rule_id for i in book.rows() if i.row.unconfirmed}
    assert {"behaviour.drink_driving", "behaviour.drunk_driving", "qz.first_warning.2021", "jn.first_warning.demo"} <= unconfirmed
    assert "o163.red_light" not in unconfirmed


def test_a_csv_with_a_non_numeric_boundary_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    csv_path = copy / "regions" / "370000-speeding.csv"
    text = csv_path.read_text(encoding="utf-8").replace("percent_over_speed_limit,70,false,100", "percent_over_speed_limit,seventy,false,100")
    csv_path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError, match="row 6"):
        load_rows([copy])
