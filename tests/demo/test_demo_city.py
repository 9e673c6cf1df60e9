"""The demo city generator: deterministic, valid identifiers, whole references, planted risk."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from trafficgov.demo.city import CATEGORIES, SIZES, build_city, load_manifest
from trafficgov.registry.identifiers import parse_id_number, validate_uscc, validate_vin

AS_OF = date(2026, 6, 30)
HISTORY_START = date(2023, 7, 1)
ROLES = {
    "citizen",
    "company",
    "clerk",
    "officer",
    "legal_reviewer",
    "supervisor",
    "partner",
    "command",
    "admin",
}
BEHAVIOURS = {
    "speeding",
    "red_light",
    "phone_use",
    "no_seatbelt",
    "fatigue_driving",
    "overload_passengers",
    "overload_freight",
    "illegal_parking",
    "improper_lane_expressway",
    "not_yielding_to_pedestrians",
    "drink_driving",
    "overdue_inspection",
}


def read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_accidents(folder: Path) -> list[dict]:
    with (folder / "accidents.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    build_city(1, "small", AS_OF, out)
    return out


def test_same_seed_builds_byte_identical_files(tmp_path: Path, city: Path) -> None:
    build_city(1, "small", AS_OF, tmp_path)
    names = sorted(p.name for p in city.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (city / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_another_seed_builds_another_city(tmp_path: Path, city: Path) -> None:
    build_city(2, "small", AS_OF, tmp_path)
    assert (city / "people.csv").read_bytes() != (tmp_path / "people.csv").read_bytes()


def test_small_city_has_the_small_size(tmp_path: Path) -> None:
    manifest = build_city(7, "small", AS_OF, tmp_path)
    assert manifest.counts["people"] == SIZES["small"]["people"]


def test_manifest_lists_files_counts_and_reads_back(city: Path) -> None:
    manifest = load_manifest(city)
    assert (manifest.seed, manifest.size, manifest.as_of) == (1, "small", AS_OF)
    for key, path in manifest.files.items():
        assert path.is_file(), key
    assert manifest.counts["people"] == len(read(city, "people.csv"))
    assert manifest.counts["violations"] == len(read(city, "violations.csv"))
    assert manifest.counts["accidents"] == len(read_accidents(city))


def test_every_id_number_uscc_and_vin_is_valid(city: Path) -> None:
    people = read(city, "people.csv")
    mainland = [p for p in people if not p["doc_type"]]
    for person in mainland:
        parse_id_number(person["id_number"])
    others = Counter(p["doc_type"] for p in people if p["doc_type"])
    assert set(others) == {"hk_macau_permit", "taiwan_permit", "foreign_passport"}
    assert any(not p["id_number"].startswith("37") for p in mainland), "some people come from other provinces"
    for company in read(city, "companies.csv"):
        assert validate_uscc(company["uscc"]) == company["uscc"]
        assert company["uscc"].startswith("91370100")
    for vehicle in read(city, "vehicles.csv"):
        assert validate_vin(vehicle["vin"]) == vehicle["vin"]
    for org in read(city, "organisations.csv"):
        if len(org["code"]) == 18:  # partner departments are keyed by their credit code
            validate_uscc(org["code"])


def test_id_numbers_carry_the_birth_date_and_sex_of_a_plausible_adult(city: Path) -> None:
    for person in read(city, "people.csv"):
        if person["doc_type"]:
            continue
        resident = parse_id_number(person["id_number"])
        age = (AS_OF - resident.birth_date).days / 365.25
        assert 18 <= age <= 82


def test_keys_are_unique(city: Path) -> None:
    def unique(rows: list[dict[str, str]], *fields: str) -> None:
        keys = [tuple(row[f] for f in fields) for row in rows]
        assert len(keys) == len(set(keys)), fields

    unique(read(city, "people.csv"), "id_number")
    unique(read(city, "companies.csv"), "uscc")
    unique(read(city, "companies.csv"), "name")
    unique(read(city, "licences.csv"), "id_number")
    vehicles = read(city, "vehicles.csv")
    unique(vehicles, "plate_number", "plate_type")
    unique(vehicles, "plate_number")
    unique(vehicles, "vin")
    unique(read(city, "organisations.csv"), "code")
    unique(read(city, "cameras.csv"), "camera_id")
    unique(read(city, "violations.csv"), "violation_id")
    unique(read(city, "inspections.csv"), "inspection_id")
    unique(read(city, "gps_alarms.csv"), "date", "plate_number", "plate_type", "kind")
    unique(read(city, "safety_records.csv"), "uscc", "month")
    accident_ids = [a["accident_id"] for a in read_accidents(city)]
    assert len(accident_ids) == len(set(accident_ids))


def test_every_reference_resolves(city: Path) -> None:
    people = {p["id_number"] for p in read(city, "people.csv")}
    companies = {c["uscc"]: c for c in read(city, "companies.csv")}
    vehicles = {(v["plate_number"], v["plate_type"]) for v in read(city, "vehicles.csv")}
    cameras = {c["camera_id"] for c in read(city, "cameras.csv")}
    orgs = {o["code"]: o for o in read(city, "organisations.csv")}
    for vehicle in read(city, "vehicles.csv"):
        assert vehicle["owner_id"] in people or vehicle["owner_id"] in companies
        if vehicle["operator_uscc"]:
            assert vehicle["operator_uscc"] in companies
            assert vehicle["owner_id"] in people, "挂靠: a person's vehicle operated under a company"
    for job in read(city, "employments.csv"):
        assert job["id_number"] in people and job["uscc"] in companies
        assert job["to"] == "" or job["from"] <= job["to"]
    for licence in read(city, "licences.csv"):
        assert licence["id_number"] in people
        if licence["school_uscc"]:
            assert companies[licence["school_uscc"]]["kind"] == "driving_school"
            assert licence["first_issued"] >= HISTORY_START.isoformat()
    for violation in read(city, "violations.csv"):
        assert (violation["plate_number"], violation["plate_type"]) in vehicles
        assert violation["driver_id"] == "" or violation["driver_id"] in people
        assert violation["camera_id"] == "" or violation["camera_id"] in cameras
    for accident in read_accidents(city):
        for party in accident["parties"]:
            assert (party["plate_number"], party["plate_type"]) in vehicles
            assert party["driver_id"] == "" or party["driver_id"] in people
    for inspection in read(city, "inspections.csv"):
        assert inspection["uscc"] in companies
        if inspection["plate_number"]:
            assert (inspection["plate_number"], inspection["plate_type"]) in vehicles
    for record in read(city, "safety_records.csv"):
        assert record["uscc"] in companies
    for org in orgs.values():
        assert org["parent_code"] == "" or org["parent_code"] in orgs


def test_every_licence_holder_driving_commercially_holds_the_class_the_vehicle_needs(city: Path) -> None:
    classes = {lic["id_number"]: set(lic["classes"].split()) for lic in read(city, "licences.csv")}
    drivers = [j for j in read(city, "employments.csv") if j["role"] in ("driver", "instructor")]
    assert drivers
    for job in drivers:
        assert classes.get(job["id_number"]), job


def test_master_rows_pass_the_registry_import_checks(city: Path) -> None:
    from trafficgov.registry import rows
    from trafficgov.registry.codetables import code_tables

    tables = code_tables()
    for name, parse in (
        ("people", rows.parse_person),
        ("companies", rows.parse_company),
        ("licences", rows.parse_licence),
        ("vehicles", rows.parse_vehicle),
        ("employments", rows.parse_employment),
    ):
        for row in read(city, f"{name}.csv"):
            parse(row, tables)


def test_the_fleet_has_every_kind_of_vehicle(city: Path) -> None:
    vehicles = read(city, "vehicles.csv")
    assert {"01", "02", "07", "15", "16", "51", "52"} <= {v["plate_type"] for v in vehicles}
    natures = {v["use_nature"] for v in vehicles}
    assert {"A", "B", "C", "E", "F", "N", "R"} <= natures and natures & {"O", "P", "Q", "S"}
    types = {v["vehicle_type"] for v in vehicles}
    assert {"K11", "K33", "Q11", "H14", "M21"} <= types and any(t.startswith("B1") for t in types)
    for vehicle in vehicles:
        if vehicle["plate_type"] == "52":
            assert len(vehicle["plate_number"]) == 8 and vehicle["plate_number"][2] in "DF"
        elif vehicle["plate_type"] == "51":
            assert len(vehicle["plate_number"]) == 8 and vehicle["plate_number"][-1] in "DF"
        elif vehicle["plate_type"] == "15":
            assert vehicle["plate_number"].endswith("挂")
        elif vehicle["plate_type"] == "16":
            assert vehicle["plate_number"].endswith("学")
        else:
            serial = vehicle["plate_number"][2:]
            assert len(serial) == 5 and sum(c.isalpha() for c in serial) <= 2
        assert "I" not in vehicle["plate_number"] and "O" not in vehicle["plate_number"]
    overdue_inspection = [v for v in vehicles if v["inspection_due"] < AS_OF.isoformat()]
    lapsed_insurance = [v for v in vehicles if v["insurance_expiry"] <= AS_OF.isoformat()]
    assert overdue_inspection and lapsed_insurance
    assert len(overdue_inspection) < len(vehicles) / 10


def test_some_drivers_change_company_during_the_history(city: Path) -> None:
    companies_of = defaultdict(set)
    for job in read(city, "employments.csv"):
        if job["role"] == "driver":
            companies_of[job["id_number"]].add(job["uscc"])
    assert any(len(c) > 1 for c in companies_of.values())


def test_small_companies_are_included(city: Path) -> None:
    truth = json.loads((city / "truth.json").read_text(encoding="utf-8"))
    assert any(c["small"] and c["vehicles"] > 0 for c in truth["companies"].values())


def test_history_rows_have_the_agreed_formats(city: Path) -> None:
    violations = read(city, "violations.csv")
    assert violations
    for v in violations:
        occurred = datetime.fromisoformat(v["occurred_at"])
        assert occurred.utcoffset().total_seconds() == 8 * 3600
        assert HISTORY_START <= occurred.date() <= AS_OF
        assert v["behavior"] in BEHAVIOURS
        assert v["outcome"] in ("fine", "warning", "no_penalty", "")
        if v["decided_at"]:
            assert datetime.fromisoformat(v["decided_at"]) >= occurred
            assert datetime.fromisoformat(v["decided_at"]).date() <= AS_OF
        else:
            assert v["outcome"] == ""
        assert len(v["plate_type"]) == 2 and len(v["region"]) == 6
    unidentified = sum(1 for v in violations if not v["driver_id"]) / len(violations)
    assert 0.15 < unidentified < 0.45
    for a in read_accidents(city):
        assert a["severity"] in ("property", "injury", "fatal")
        assert (a["severity"] == "fatal") == (a["deaths"] > 0)
        assert datetime.fromisoformat(a["reported_at"]) >= datetime.fromisoformat(a["occurred_at"])
        assert 116.7 < a["lon"] < 117.4 and 36.4 < a["lat"] < 36.9
        assert all(p["liability"] in ("full", "main", "equal", "minor", "none") for p in a["parties"])
    assert {i["kind"] for i in read(city, "inspections.csv")} == {"roadside", "periodic", "company_audit"}
    assert {g["kind"] for g in read(city, "gps_alarms.csv")} == {"fatigue", "speeding", "offline"}
    roads = json.loads((city / "roads.json").read_text(encoding="utf-8"))
    for node in roads["nodes"]:
        assert 116.8 <= node["lon"] <= 117.3 and 36.5 <= node["lat"] <= 36.8
    assert {e["road_class"] for e in roads["edges"]} == {"expressway", "urban_arterial", "ordinary"}
    edges = {e["id"] for e in roads["edges"]}
    cameras = read(city, "cameras.csv")
    assert {c["kind"] for c in cameras} == {"speed", "red_light", "checkpoint", "video_patrol"}
    assert all(c["edge_id"] in edges for c in cameras)


def test_licence_points_are_the_decided_points_of_the_current_cycle(city: Path) -> None:
    expected: Counter[str] = Counter()
    cycles = {lic["id_number"]: lic["cycle_start"] for lic in read(city, "licences.csv")}
    for v in read(city, "violations.csv"):
        if v["driver_id"] and v["decided_at"] and v["decided_at"][:10] >= cycles[v["driver_id"]]:
            expected[v["driver_id"]] += int(v["points"])
    for lic in read(city, "licences.csv"):
        assert int(lic["points"]) == expected[lic["id_number"]], lic["id_number"]
        cycle = date.fromisoformat(lic["cycle_start"])
        first = date.fromisoformat(lic["first_issued"])
        assert (cycle.month, cycle.day) == (first.month, first.day) or (first.month, first.day) == (2, 29)
        assert (
            cycle
            <= AS_OF
            < date(cycle.year + 1, cycle.month, min(cycle.day, 28) if cycle.month == 2 else cycle.day)
        )


def test_accounts_cover_every_role_and_point_at_real_records(city: Path) -> None:
    manifest = load_manifest(city)
    assert set(manifest.accounts) == ROLES
    orgs = {o["code"]: o for o in read(city, "organisations.csv")}
    for role, account in manifest.accounts.items():
        assert account["username"] and account["password"].startswith("demo-") and account["display_name"]
        if role not in ("citizen", "company"):
            assert account["org_code"] in orgs, role
    assert orgs[manifest.accounts["clerk"]["org_code"]]["kind"] == "vehicle_admin"
    assert orgs[manifest.accounts["officer"]["org_code"]]["kind"] == "brigade"
    assert orgs[manifest.accounts["command"]["org_code"]]["kind"] == "command_centre"
    assert orgs[manifest.accounts["partner"]["org_code"]]["kind"] == "transport"
    assert orgs[manifest.accounts["admin"]["org_code"]]["kind"] == "detachment"

    citizen = manifest.accounts["citizen"]["id_number"]
    vehicles = read(city, "vehicles.csv")
    assert sum(1 for v in vehicles if v["owner_id"] == citizen) >= 2
    assert citizen in {lic["id_number"] for lic in read(city, "licences.csv")}

    company = manifest.accounts["company"]["uscc"]
    kinds = {c["uscc"]: c["kind"] for c in read(city, "companies.csv")}
    assert kinds[company] in ("freight_transport", "passenger_transport")
    assert any(company in (v["owner_id"], v["operator_uscc"]) for v in vehicles)
    assert any(j["uscc"] == company and j["role"] == "driver" for j in read(city, "employments.csv"))


def crash_rates(folder: Path) -> dict[str, float]:
    """At-fault crashes (liability full or main) per vehicle-year of exposure, per company."""
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    start = date.fromisoformat(truth["history_start"])
    company_of: dict[tuple[str, str], str] = {}
    exposure: Counter[str] = Counter()
    for v in read(folder, "vehicles.csv"):
        company = v["operator_uscc"] or v["owner_id"]
        if company not in truth["companies"] or v["plate_type"] == "15":
            continue
        company_of[(v["plate_number"], v["plate_type"])] = company
        exposure[company] += (AS_OF - max(start, date.fromisoformat(v["registered_on"]))).days / 365.25
    crashes: Counter[str] = Counter()
    for accident in read_accidents(folder):
        for party in accident["parties"]:
            company = company_of.get((party["plate_number"], party["plate_type"]))
            if company and party["liability"] in ("full", "main"):
                crashes[company] += 1
    groups = {"high": truth["high_risk_companies"], "low": truth["low_risk_companies"]}
    return {
        g: sum(crashes[c] for c in members) / sum(exposure[c] for c in members)
        for g, members in groups.items()
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_high_risk_companies_crash_more_than_low_risk_ones(tmp_path: Path, seed: int) -> None:
    build_city(seed, "small", AS_OF, tmp_path)
    rates = crash_rates(tmp_path)
    assert rates["high"] > 3 * rates["low"], rates


def test_planted_high_risk_companies_also_break_more_rules(city: Path) -> None:
    truth = json.loads((city / "truth.json").read_text(encoding="utf-8"))
    company_of = {}
    for v in read(city, "vehicles.csv"):
        company_of[(v["plate_number"], v["plate_type"])] = v["operator_uscc"] or v["owner_id"]
    count: Counter[str] = Counter(
        company_of.get((v["plate_number"], v["plate_type"])) for v in read(city, "violations.csv")
    )
    vehicles = Counter(company_of.values())
    high = sum(count[c] for c in truth["high_risk_companies"]) / sum(
        vehicles[c] for c in truth["high_risk_companies"]
    )
    low = sum(count[c] for c in truth["low_risk_companies"]) / sum(
        vehicles[c] for c in truth["low_risk_companies"]
    )
    assert high > 3 * low


def test_truth_holds_a_latent_risk_for_every_company_and_licence_holder(city: Path) -> None:
    truth = json.loads((city / "truth.json").read_text(encoding="utf-8"))
    assert set(truth["companies"]) == {c["uscc"] for c in read(city, "companies.csv")}
    assert set(truth["drivers"]) == {lic["id_number"] for lic in read(city, "licences.csv")}
    assert truth["risky_school"] in truth["companies"]
    assert all(v > 0 for v in truth["drivers"].values())
    assert set(truth["model"]["base_rates_per_vehicle_year"]) <= set(CATEGORIES)
