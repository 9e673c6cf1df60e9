"""SMS 式对照基准 — the SMS-like yardstick: its data file, weights, measures, event groups, percentiles, alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
import yaml

from trafficgov.credit.frames import CreditData
from trafficgov.credit.rows import catalogue
from trafficgov.credit.sms import DATA_FILE, SmsFileError, load_rules, months_before, parse_rules, score_sms

AS_OF = date(2025, 6, 30)
MOMENT = datetime(2025, 6, 30, 16, tzinfo=UTC)


def _uscc(i: int) -> str:
    return f"91370100MA{i:08d}"


def _vehicles(company: int, count: int, *, vehicle_type: str = "H11", registered_on: date = date(2020, 1, 1)) -> list[dict]:
    return [{"plate_number": f"鲁A{company:02d}{i:03d}", "plate_type": "01", "operator_uscc": _uscc(company),
             "vehicle_type": vehicle_type, "registered_on": registered_on} for i in range(count)]


def _violation(n: int, company: int, when: datetime, behavior: str = "speeding", vehicle: int = 0, driver: str | None = "D1", **extra) -> dict:
    return {"violation_id": f"V{company}-{n}", "occurred_at": when, "behavior": behavior,
            "plate_number": f"鲁A{company:02d}{vehicle:03d}", "plate_type": "01", "driver_id": driver, **extra}


def _company(subjects: pl.DataFrame, i: int) -> dict:
    return subjects.filter((pl.col("subject_kind") == "company") & (pl.col("subject_id") == _uscc(i))).row(0, named=True)


def _basic(row: dict, code: str) -> dict:
    return next(b for b in row["sms_basics"] if b["basic"] == code)


def _companies(*kinds: str) -> list[dict]:
    return [{"uscc": _uscc(i), "name": f"公司{i}", "kind": k} for i, k in enumerate(kinds)]


# --- data file ----------------------------------------------------------------------------------------

def _doc() -> dict:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def test_shipped_file_weighs_every_catalogue_behaviour_once():
    rules = load_rules()
    assert {s.behaviour for s in rules.severities} == set(catalogue()[0])
    assert all(1 <= s.severity <= 10 for s in rules.severities if s.basic != "none")


def test_loader_refuses_a_behaviour_the_catalogue_does_not_know():
    doc = _doc()
    doc["severities"].append({**doc["severities"][0], "rule_id": "sms.severity.x", "behaviour": "flying"})
    with pytest.raises(SmsFileError, match="flying"):
        parse_rules(doc, "sms.yaml", catalogue()[0])


def test_loader_refuses_a_catalogue_behaviour_without_a_weight():
    doc = _doc()
    doc["severities"] = [s for s in doc["severities"] if s["behaviour"] != "phone_use"]
    with pytest.raises(SmsFileError, match="phone_use"):
        parse_rules(doc, "sms.yaml", catalogue()[0])


@pytest.mark.parametrize("change", [{"severity": 11}, {"severity": 0}, {"basic": "none"}, {"basic": "parking"}])
def test_loader_refuses_a_weight_outside_one_to_ten_or_a_wrong_group(change):
    doc = _doc()
    doc["severities"][0] = {**doc["severities"][0], **change}
    with pytest.raises(SmsFileError):
        parse_rules(doc, "sms.yaml", catalogue()[0])


def test_loader_refuses_overlapping_dates_of_one_rule():
    doc = _doc()
    doc["severities"].append({**doc["severities"][0], "effective_from": date(2024, 1, 1), "severity": 4})
    with pytest.raises(SmsFileError, match="overlapping"):
        parse_rules(doc, "sms.yaml", catalogue()[0])


# --- weights and measures -----------------------------------------------------------------------------

def test_months_before_clamps_to_the_last_day_of_the_month():
    assert months_before(datetime(2025, 8, 31, tzinfo=UTC), 6) == datetime(2025, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2025, 6, 30, tzinfo=UTC), -12) == datetime(2026, 6, 30, tzinfo=UTC)


def test_time_weights_are_three_two_one_and_nothing_after_24_months():
    # one speeding (SW 7) in each age band on a one-vehicle company: 7 x (3 + 2 + 1 + 0) = 42
    when = [datetime(2025, 3, 1, tzinfo=UTC), datetime(2024, 10, 1, tzinfo=UTC), datetime(2023, 10, 1, tzinfo=UTC),
            datetime(2023, 5, 1, tzinfo=UTC)]
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=_vehicles(0, 1),
                            violations=[_violation(i, 0, w) for i, w in enumerate(when)])
    row = _company(score_sms(data, AS_OF), 0)
    assert row["sms_measure"] == pytest.approx(42.0)


def test_company_measure_divides_by_average_power_units_of_now_6_and_18_months_ago():
    # 3 vehicles since 2020, 3 more registered 2024-06-01 (after 18 months ago, before 6 months ago):
    # AvgPU = (6 + 6 + 3) / 3 = 5. Four speedings (SW 7) and one phone use (SW 10), all within 6 months:
    # UD = (4 x 7 + 10) x 3 / 5 = 22.8
    vehicles = _vehicles(0, 3) + [{**v, "plate_number": f"鲁B00{i:03d}", "registered_on": date(2024, 6, 1)}
                                  for i, v in enumerate(_vehicles(0, 3))]
    when = datetime(2025, 5, 1, tzinfo=UTC)
    violations = [_violation(i, 0, when) for i in range(4)] + [_violation(9, 0, when, "phone_use")]
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=vehicles, violations=violations)
    row = _company(score_sms(data, AS_OF), 0)
    assert _basic(row, "unsafe_driving")["measure"] == pytest.approx(22.8)


def test_out_of_service_adds_two_and_vehicle_maintenance_is_per_relevant_inspection():
    # two inspections within 6 months: one clean, one OOS with defects (4 + 2 = 6); VM = 6 x 3 / (3 + 3) = 3
    inspections = [
        {"inspection_id": "I1", "date": date(2025, 5, 1), "kind": "roadside", "plate_number": "鲁A00000", "plate_type": "01",
         "defects": "制动失效", "out_of_service": True},
        {"inspection_id": "I2", "date": date(2025, 5, 2), "kind": "roadside", "plate_number": "鲁A00000", "plate_type": "01",
         "defects": None, "out_of_service": False},
    ]
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=_vehicles(0, 2), inspections=inspections)
    row = _company(score_sms(data, AS_OF), 0)
    assert _basic(row, "vehicle_maintenance")["measure"] == pytest.approx(3.0)


def test_crashes_weigh_one_for_property_two_for_injury_and_skip_parties_without_liability():
    when = datetime(2025, 5, 1, tzinfo=UTC)
    party = {"occurred_at": when, "plate_number": "鲁A00000", "plate_type": "01", "liability": "full"}
    parties = [{**party, "accident_id": "P", "severity": "property"}, {**party, "accident_id": "I", "severity": "injury"},
               {**party, "accident_id": "F", "severity": "fatal", "liability": "none"}]
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=_vehicles(0, 1), accident_parties=parties)
    row = _company(score_sms(data, AS_OF), 0)
    assert _basic(row, "crash")["measure"] == pytest.approx((1 + 2) * 3)


def test_events_not_known_at_as_of_do_not_count():
    late = _violation(1, 0, datetime(2025, 6, 1, tzinfo=UTC), decided_at=None)
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=_vehicles(0, 1),
                            violations=[{**late, "known_at": datetime(2025, 7, 15, tzinfo=UTC)}])
    assert _company(score_sms(data, AS_OF), 0)["sms_measure"] == 0.0


def test_driver_measure_is_per_time_weighted_stop():
    when = datetime(2025, 5, 1, tzinfo=UTC)
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=_vehicles(0, 1),
                            violations=[_violation(1, 0, when), _violation(2, 0, when, "phone_use")])
    out = score_sms(data, AS_OF)
    driver = out.filter((pl.col("subject_kind") == "driver") & (pl.col("subject_id") == "D1")).row(0, named=True)
    assert driver["sms_measure"] == pytest.approx((7 + 10) * 3 / (3 + 3))


# --- sufficiency, event groups, percentiles, alerts ---------------------------------------------------

def _ud_city(counts: list[int], kinds: list[str] | None = None) -> CreditData:
    """One one-vehicle company per entry, with that many speedings within 6 months."""
    kinds = kinds or ["freight_transport"] * len(counts)
    when = datetime(2025, 5, 1, tzinfo=UTC)
    vehicles, violations = [], []
    for c, n in enumerate(counts):
        vehicles += _vehicles(c, 1)
        violations += [_violation(i, c, when) for i in range(n)]
    return CreditData.build(companies=_companies(*kinds), vehicles=vehicles, violations=violations)


def test_no_percentile_below_the_sufficiency_minimum():
    out = score_sms(_ud_city([2, 3]), AS_OF)
    assert _company(out, 0)["sms_percentile"] is None and _company(out, 0)["sms_measure"] > 0
    assert _company(out, 1)["sms_percentile"] == 0.0  # alone in its event group


def test_percentile_is_the_share_of_peers_in_the_event_group_with_a_lower_measure():
    # counts 3..8 sit in the first straight UD event group (3-10); 12 sits in the next (11-20) alone.
    out = score_sms(_ud_city([3, 4, 5, 6, 7, 8, 12]), AS_OF)
    percentiles = [_company(out, c)["sms_percentile"] for c in range(7)]
    assert percentiles[:6] == pytest.approx([0, 100 / 6, 200 / 6, 300 / 6, 400 / 6, 500 / 6])
    assert percentiles[6] == 0.0


def test_alert_at_65_for_general_carriers_and_50_for_passenger_carriers():
    out = score_sms(_ud_city([3, 4, 5, 6, 7, 8], ["freight_transport"] * 3 + ["passenger_transport"] + ["freight_transport"] * 2), AS_OF)
    alerts = [_company(out, c)["sms_alert"] for c in range(6)]
    # percentiles 0, 16.7, 33.3, 50 (passenger: alert), 66.7 (alert), 83.3 (alert)
    assert alerts == [False, False, False, True, True, True]


def test_no_percentile_without_a_violation_in_the_last_twelve_months():
    when = datetime(2024, 3, 1, tzinfo=UTC)
    data = CreditData.build(companies=_companies("freight_transport"), vehicles=_vehicles(0, 1),
                            violations=[_violation(i, 0, when) for i in range(5)])
    row = _company(score_sms(data, AS_OF), 0)
    assert row["sms_percentile"] is None and row["sms_measure"] == pytest.approx(5 * 7 * 1)


def test_every_company_vehicle_and_driver_gets_a_row_and_a_company_without_vehicles_no_measure():
    data = CreditData.build(companies=_companies("freight_transport", "bus"), vehicles=_vehicles(0, 2),
                            licences=[{"id_number": "D9"}])
    out = score_sms(data, AS_OF)
    assert out.group_by("subject_kind").len().sort("subject_kind").rows() == [("company", 2), ("driver", 1), ("vehicle", 2)]
    assert _company(out, 1)["sms_measure"] is None and _company(out, 0)["sms_measure"] == 0.0
    assert not out["sms_alert"].any()


def test_a_company_only_named_by_its_vehicles_is_scored_and_a_driving_school_is_not():
    when = datetime(2025, 5, 1, tzinfo=UTC)
    data = CreditData.build(companies=_companies("driving_school"), vehicles=_vehicles(0, 1) + _vehicles(1, 2),
                            violations=[_violation(i, 1, when) for i in range(3)])
    companies = score_sms(data, AS_OF).filter(pl.col("subject_kind") == "company")
    assert companies["subject_id"].to_list() == [_uscc(1)]
    assert companies["sms_measure"][0] == pytest.approx(3 * 7 * 3 / 2)


def test_the_subject_percentile_is_its_worst_category_and_names_it():
    # Company 0 of a pair: the lower unsafe-driving measure (percentile 0) but the higher crash measure
    # (percentile 50; 4 and 3 crashes share the straight event group 3-4).
    when = datetime(2025, 5, 1, tzinfo=UTC)
    party = {"occurred_at": when, "plate_type": "01", "liability": "full", "severity": "injury"}
    parties = [{**party, "accident_id": f"C{c}-{i}", "plate_number": f"鲁A{c:02d}000"} for c, n in ((0, 4), (1, 3)) for i in range(n)]
    data = _ud_city([3, 4])
    data = CreditData.build(companies=_companies("freight_transport", "freight_transport"), vehicles=data.vehicles,
                            violations=data.violations, accident_parties=parties)
    row = _company(score_sms(data, AS_OF), 0)
    assert _basic(row, "unsafe_driving")["percentile"] == 0.0 and _basic(row, "crash")["percentile"] == 50.0
    assert row["sms_percentile"] == 50.0 and row["sms_basic"] == "crash"
