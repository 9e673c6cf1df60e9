"""The statistical risk score on small hand-built credit data: decay, shrinkage, what was known when,
subjects without exposure, drivers across companies, schools by their graduates, reasons, monotonicity."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from trafficgov.credit.frames import CreditData
from trafficgov.credit.risk import OUTPUT_SCHEMA, decayed_events, features, fit_risk_model, score_risk
from trafficgov.credit.risk_params import RISK_FILE, parse_risk_params, risk_params
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char

AS_OF = datetime(2026, 6, 30, 16, tzinfo=UTC)  # the end of 2026-06-30 in China
PARAMS = risk_params(AS_OF.date())
CJK = re.compile(r"[\u4e00-\u9fff]")


def person(n: int) -> str:
    first17 = f"37010219800101{n:03d}"
    return first17 + id_check_digit(first17)


def company_code(n: int) -> str:
    first17 = f"91370100MA{n:07d}"
    return first17 + uscc_check_char(first17)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


@dataclass
class City:
    """Rows of a small city, added to by each test, then built into CreditData."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {k: [] for k in (
        "violations", "accident_parties", "inspections", "gps_alarms", "vehicles", "employments", "licences", "companies",
    )})
    serial: int = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:06d}"

    def company(self, n: int, kind: str = "freight_transport") -> str:
        uscc = company_code(n)
        self.rows["companies"].append({"uscc": uscc, "name": f"公司{n}", "kind": kind})
        return uscc

    def vehicle(self, n: int, company: str | None, *, registered_on: date = date(2020, 1, 1), owner: str | None = None) -> str:
        self.rows["vehicles"].append({
            "plate_number": f"鲁A{n:05d}", "plate_type": "01", "owner_id": owner or company, "operator_uscc": company,
            "use_nature": "F", "vehicle_type": "H11", "registered_on": registered_on, "key_vehicle": True,
            "two_passenger_one_danger": True,
        })
        return f"鲁A{n:05d}:01"

    def driver(self, n: int, *, first_issued: date = date(2010, 1, 1), school: str | None = None) -> str:
        id_number = person(n)
        self.rows["licences"].append({"id_number": id_number, "first_issued": first_issued, "school_uscc": school, "classes": "A2"})
        return id_number

    def employ(self, driver: str, company: str, start: date, end: date | None = None) -> None:
        self.rows["employments"].append({"id_number": driver, "uscc": company, "start": start, "end": end, "role": "driver"})

    def violation(self, vehicle: str, driver: str | None, days_ago: float, behavior: str = "speeding", *, known_days_ago: float | None = None) -> None:
        plate, plate_type = vehicle.split(":")
        occurred = ago(days_ago)
        known = ago(known_days_ago) if known_days_ago is not None else occurred
        self.rows["violations"].append({
            "violation_id": self.next_id("V"), "occurred_at": occurred, "known_at": known, "behavior": behavior,
            "plate_number": plate, "plate_type": plate_type, "driver_id": driver,
        })

    def crash(self, vehicle: str | None, driver: str | None, days_ago: float, *, severity: str = "injury", liability: str = "full") -> None:
        plate, plate_type = vehicle.split(":") if vehicle else (None, None)
        self.rows["accident_parties"].append({
            "accident_id": self.next_id("A"), "occurred_at": ago(days_ago), "severity": severity,
            "injuries": 1 if severity == "injury" else 0, "deaths": 1 if severity == "fatal" else 0,
            "plate_number": plate, "plate_type": plate_type, "driver_id": driver, "liability": liability,
            "vehicle_known": vehicle is not None,
        })

    def inspection(self, vehicle: str, days_ago: int, *, out_of_service: bool = False, defects: str | None = None) -> None:
        self.rows["inspections"].append({
            "inspection_id": self.next_id("I"), "date": (AS_OF - timedelta(days=days_ago)).date(), "kind": "roadside",
            "vehicle": vehicle, "out_of_service": out_of_service, "defects": defects,
        })

    def alarm(self, vehicle: str, days_ago: int, kind: str, count: int, minutes: int | None = None) -> None:
        self.rows["gps_alarms"].append({"date": (AS_OF - timedelta(days=days_ago)).date(), "vehicle": vehicle, "kind": kind, "count": count, "minutes": minutes})

    def data(self) -> CreditData:
        return CreditData.build(**{k: v or None for k, v in self.rows.items()})


def peer_fleet(city: City, companies: int = 12, fleet: int = 6, *, start: int = 100) -> None:
    """Ordinary freight companies: a few violations, inspections and an occasional crash each."""
    number = start * 100
    for c in range(companies):
        uscc = city.company(start + c)
        for v in range(fleet):
            number += 1
            vehicle = city.vehicle(number, uscc)
            driver = city.driver(number % 1000)
            city.employ(driver, uscc, date(2019, 1, 1))
            city.violation(vehicle, driver, 30 + 97 * ((c + v) % 9), "illegal_parking")
            city.inspection(vehicle, 60 + 40 * (v % 5))
            if (c * fleet + v) % 9 == 0:
                city.crash(vehicle, driver, 100 + 50 * (v % 6), severity="property")
            if (c * fleet + v) % 23 == 0:
                city.crash(vehicle, driver, 200 + 30 * (v % 4))


def by_id(scores: pl.DataFrame, kind: str, subject_id: str) -> dict[str, Any]:
    rows = scores.filter((pl.col("subject_kind") == kind) & (pl.col("subject_id") == subject_id)).to_dicts()
    assert len(rows) == 1, (kind, subject_id, rows)
    return rows[0]


def test_output_has_the_interface_columns():
    city = City()
    peer_fleet(city, companies=3, fleet=2)
    scores = score_risk(city.data(), AS_OF)
    assert scores.schema == pl.Schema(OUTPUT_SCHEMA)
    assert list(scores.columns[:9]) == [
        "subject_kind", "subject_id", "risk_score", "risk_low", "risk_high", "band", "data_sufficient", "exposure_years", "reasons",
    ]
    assert set(scores["subject_kind"]) == {"company", "driver", "vehicle"}
    assert set(scores["band"]) <= {"low", "medium", "high", "insufficient_data"}
    assert (scores["risk_low"] <= scores["risk_score"]).all() and (scores["risk_score"] <= scores["risk_high"]).all()
    # Far too few injury crashes to train on: the documented prior scores, and says so.
    assert set(scores["model"]) == {"prior"}


def test_an_event_weighs_half_at_the_half_life():
    city = City()
    company = city.company(1)
    fresh, old = city.vehicle(1, company), city.vehicle(2, company)
    city.violation(fresh, None, 10)
    city.violation(old, None, 10 + PARAMS.half_life_days)
    events = decayed_events(city.data(), PARAMS, AS_OF).filter(pl.col("feature") == "violations")
    weight = dict(zip(events["vehicle"], events["dw"], strict=True))
    assert weight[old] / weight[fresh] == pytest.approx(0.5)
    # Exposure decays the same way: a vehicle active over the whole look-back has the integral of the decay.
    vehicles = features(city.data(), AS_OF)["vehicle"]
    whole = (1 - 2 ** (-PARAMS.lookback_days / PARAMS.half_life_days)) * PARAMS.half_life_days / math.log(2) / 365.25
    assert vehicles["exposure_dec"].max() == pytest.approx(whole, rel=1e-3)


def test_events_older_than_the_look_back_are_ignored():
    city = City()
    company = city.company(1)
    vehicle = city.vehicle(1, company)
    city.violation(vehicle, None, PARAMS.lookback_days + 5)
    assert decayed_events(city.data(), PARAMS, AS_OF).height == 0


def test_shrinkage_pulls_a_one_vehicle_company_hard_and_a_hundred_vehicle_company_barely():
    city = City()
    peer_fleet(city, companies=20, fleet=8)
    small = city.company(1)
    vehicle = city.vehicle(1, small)
    city.crash(vehicle, None, 2)
    large = city.company(2)
    for n in range(100):
        vehicle = city.vehicle(1000 + n, large)
        city.crash(vehicle, None, 2)
    companies = features(city.data(), AS_OF)["company"].with_columns(raw=pl.col("crash_if") / pl.col("exposure_dec"))
    small_row = companies.filter(pl.col("company") == small).to_dicts()[0]
    large_row = companies.filter(pl.col("company") == large).to_dicts()[0]
    assert small_row["raw"] == pytest.approx(large_row["raw"], rel=1e-6)
    assert small_row["crash_if_rate"] < 0.5 * small_row["raw"]
    assert large_row["crash_if_rate"] > 0.9 * large_row["raw"]
    assert small_row["crash_if_rate"] > small_row["crash_if_mu"]  # pulled toward the peers, not past them


def test_events_known_only_after_as_of_are_ignored():
    city = City()
    peer_fleet(city, companies=4, fleet=3)
    company = city.company(1)
    vehicle = city.vehicle(1, company)
    driver = city.driver(1)
    before = score_risk(city.data(), AS_OF)
    # Happened before as_of, decided after it: not yet known on as_of.
    city.violation(vehicle, driver, 5, "drunk_driving", known_days_ago=-3)
    after = score_risk(city.data(), AS_OF)
    assert_frame_equal(after, before, check_exact=False, rel_tol=1e-9)
    # Known on as_of itself, it counts.
    city.violation(vehicle, driver, 5, "drunk_driving", known_days_ago=0)
    known = score_risk(city.data(), AS_OF)
    assert by_id(known, "driver", driver)["risk_score"] > by_id(before, "driver", driver)["risk_score"]


def test_subjects_without_exposure_are_insufficient_and_unknown_vehicles_never_a_crash():
    city = City()
    peer_fleet(city, companies=4, fleet=3)
    empty = city.company(1)  # a company without vehicles
    future = city.vehicle(1, empty, registered_on=date(2027, 1, 1))  # registered after as_of
    before = score_risk(city.data(), AS_OF)
    city.crash("鲁Z99999:01", None, 3)  # an accident naming a vehicle nobody registered
    scores = score_risk(city.data(), AS_OF)
    row = by_id(scores, "company", empty)
    assert row["band"] == "insufficient_data" and not row["data_sufficient"] and row["exposure_years"] == 0
    assert row["reasons"][0]["code"] == "insufficient_exposure"
    assert future not in scores["subject_id"].to_list()
    assert "鲁Z99999:01" not in scores["subject_id"].to_list()
    assert_frame_equal(scores.filter(pl.col("subject_kind") != "vehicle"), before.filter(pl.col("subject_kind") != "vehicle"), check_exact=False, rel_tol=1e-9)


def test_driver_risk_follows_the_driver_across_companies():
    city = City()
    peer_fleet(city, companies=6, fleet=3)
    old_employer, new_employer, twin = city.company(1), city.company(2), city.company(3)
    old_vehicle = city.vehicle(1, old_employer)
    city.vehicle(2, new_employer)
    city.vehicle(3, twin)
    risky, careful = city.driver(1), city.driver(2)
    city.employ(risky, old_employer, date(2020, 1, 1), date(2025, 12, 31))
    city.employ(risky, new_employer, date(2026, 1, 1))
    city.employ(careful, twin, date(2020, 1, 1))
    for days in (400, 300, 250, 200):
        city.violation(old_vehicle, risky, days, "fatigue_driving")
    city.crash(old_vehicle, risky, 220)
    scores = score_risk(city.data(), AS_OF)
    assert by_id(scores, "driver", risky)["risk_score"] > 1.5 * by_id(scores, "driver", careful)["risk_score"]
    # The new employer carries the driver's risk (employment on the day), the identical twin company does not.
    assert by_id(scores, "company", new_employer)["risk_score"] > by_id(scores, "company", twin)["risk_score"]
    reasons = [r["code"] for r in by_id(scores, "company", new_employer)["reasons"]]
    assert "driver_risk" in reasons


def test_a_school_is_graded_by_its_graduates_first_two_years():
    city = City()
    peer_fleet(city, companies=4, fleet=3)
    good, bad = city.company(1, "driving_school"), city.company(2, "driving_school")
    owner_company = city.company(3, "other")
    for n in range(20):
        for school, base in ((good, 300), (bad, 400)):
            graduate = city.driver(base + n, first_issued=date(2025, 1, 1), school=school)
            vehicle = city.vehicle(base * 10 + n, owner_company)
            if school == bad:
                city.violation(vehicle, graduate, 200, "red_light")
                city.violation(vehicle, graduate, 150, "speeding")
                if n % 4 == 0:
                    city.crash(vehicle, graduate, 120)
    scores = score_risk(city.data(), AS_OF)
    assert by_id(scores, "school", bad)["risk_score"] > 1.5 * by_id(scores, "school", good)["risk_score"]
    assert by_id(scores, "school", bad)["data_sufficient"]
    # A graduate's record after the first two years is not the school's doing.
    late = city.driver(999, first_issued=date(2022, 1, 1), school=good)
    vehicle = city.vehicle(99_999, owner_company)
    for days in (100, 80, 60):
        city.crash(vehicle, late, days)
    later = score_risk(city.data(), AS_OF)
    assert by_id(later, "school", good)["risk_score"] == pytest.approx(by_id(scores, "school", good)["risk_score"], rel=0.05)


def test_reasons_are_chinese_and_at_most_three():
    city = City()
    peer_fleet(city, companies=8, fleet=4)
    company = city.company(1)
    driver = city.driver(1)
    city.employ(driver, company, date(2020, 1, 1))
    for n in range(4):
        vehicle = city.vehicle(1 + n, company)
        for days in (20, 60, 90, 150):
            city.violation(vehicle, driver, days, "speeding")
            city.alarm(vehicle, days, "fatigue", 6)
            city.alarm(vehicle, days, "offline", 1, 600)
            city.inspection(vehicle, days, out_of_service=True, defects="brakes tyres")
        city.crash(vehicle, driver, 30 + n)
    scores = score_risk(city.data(), AS_OF)
    assert scores["reasons"].list.len().max() <= 3
    for reasons in scores["reasons"].to_list():
        for reason in reasons:
            assert reason["code"] and re.fullmatch(r"[a-z_]+", reason["code"])
            assert CJK.search(reason["text_zh"]), reason
    risky = by_id(scores, "company", company)
    assert risky["band"] == "high"
    assert len(risky["reasons"]) == 3
    assert "倍" in risky["reasons"][0]["text_zh"]


def test_the_risk_file_is_validated():
    text = RISK_FILE.read_text(encoding="utf-8")
    parse_risk_params(text)
    with pytest.raises(ValidationError):
        parse_risk_params(text.replace("high_at_or_above: 1.5", "high_at_or_above: 0.5"))
    with pytest.raises(ValidationError):
        parse_risk_params(text.replace("behaviours: [phone_use, objects_in_cab]", "behaviours: [phone_use, speeding]"))
    with pytest.raises(ValidationError):
        parse_risk_params(text.replace("none: 0.0}", "none: 0.5}"))


# ---------------------------------------------------------------------------------------- monotonicity

MONO_CITY = City()
peer_fleet(MONO_CITY, companies=10, fleet=4)
MONO_DATA = MONO_CITY.data()
MONO_MODEL = fit_risk_model(MONO_DATA, AS_OF)
MONO_SCORES = score_risk(MONO_DATA, AS_OF, model=MONO_MODEL)
MONO_VEHICLES = MONO_DATA.vehicles.join(MONO_DATA.employments.select("id_number", pl.col("uscc").alias("company")), on="company").unique("vehicle", keep="first").sort("vehicle")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=MONO_VEHICLES.height - 1),
    days=st.floats(min_value=0.0, max_value=1000.0),
    severity=st.sampled_from(["injury", "fatal"]),
    liability=st.sampled_from(["full", "main", "equal", "minor"]),
)
def test_a_responsible_injury_crash_never_lowers_a_score(index, days, severity, liability):
    row = MONO_VEHICLES.row(index, named=True)
    plate, plate_type = row["vehicle"].split(":")
    crash = pl.DataFrame([{
        "accident_id": "A-NEW", "occurred_at": AS_OF - timedelta(days=days), "known_at": AS_OF - timedelta(days=days),
        "severity": severity, "injuries": int(severity == "injury"), "deaths": int(severity == "fatal"),
        "plate_number": plate, "plate_type": plate_type, "vehicle": row["vehicle"], "driver_id": row["id_number"],
        "liability": liability, "vehicle_known": True,
    }]).cast(MONO_DATA.accident_parties.schema)  # type: ignore[arg-type]
    data = CreditData(**{**MONO_DATA.__dict__, "accident_parties": pl.concat([MONO_DATA.accident_parties, crash])})
    scores = score_risk(data, AS_OF, model=MONO_MODEL)
    for kind, subject in (("vehicle", row["vehicle"]), ("driver", row["id_number"]), ("company", row["company"])):
        assert by_id(scores, kind, subject)["risk_score"] >= by_id(MONO_SCORES, kind, subject)["risk_score"] * (1 - 1e-12), kind


def test_scoring_with_the_fitted_model_is_scoring_afresh():
    assert_frame_equal(score_risk(MONO_DATA, AS_OF), MONO_SCORES, check_exact=False, rel_tol=1e-9)
