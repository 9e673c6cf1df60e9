"""From CreditData to grades, veto events and list facts (credit/grade_inputs.py): hand-built cities whose
grades are known from grades.yaml, and the small demo city graded whole."""

from __future__ import annotations

from datetime import UTC, date, datetime

from conftest import DEMO_AS_OF
from trafficgov.credit import frames
from trafficgov.credit.frames import CreditData
from trafficgov.credit.grade_inputs import grade_all, lists_facts, veto_events
from trafficgov.credit.lists import VetoEvent, evaluate_lists
from trafficgov.imports.service import import_file, ingest_file
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char

AS_OF = date(2026, 6, 15)  # company/school period 2025-06-16 .. 2026-06-15; whole months 2025-07 .. 2026-05


def uscc(i: int) -> str:
    base = f"91370100MA3C{i:05d}"
    return base + uscc_check_char(base)


def person(i: int) -> str:
    base = f"3701021980{i:07d}"
    return base + id_check_digit(base)


def at(day: date, hour: int = 2) -> datetime:
    """10:00 China time of `day` (02:00 UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


COMPANY, OWNER, OTHER, SCHOOL = uscc(1), uscc(2), uscc(3), uscc(4)
DRIVER, SECOND, STUDENT = person(1), person(2), person(3)


def safety(company: str, drivers: int = 1) -> list[dict]:
    """Complete safety records, every month from 2024-01 to 2026-06."""
    months = [f"{y}-{m:02d}" for y in (2024, 2025, 2026) for m in range(1, 13) if f"{y}-{m:02d}" <= "2026-06"]
    return [{"uscc": company, "month": mo, "training_hours": 2.0 * drivers, "self_inspections": 1, "monitoring_staff": 1} for mo in months]


def vehicle(plate: str, *, operator: str | None = None, owner: str | None = None) -> dict:
    return {"plate_number": plate, "plate_type": "01", "owner_id": owner or operator, "operator_uscc": operator,
            "registered_on": date(2020, 1, 1)}


def violation(vid: str, day: date, plate: str, behavior: str, points: int, driver: str | None = None, *,
              outcome: str | None = "fine", known: datetime | None = None) -> dict:
    row = {"violation_id": vid, "occurred_at": at(day), "behavior": behavior, "plate_number": plate, "plate_type": "01",
           "driver_id": driver, "outcome": outcome, "points": points}
    if known is not None:
        row["known_at"] = known
    return row


def city(**extra) -> CreditData:
    """A transport company of two vehicles and one driver, complete safety records, nothing else."""
    rows = {
        "companies": [{"uscc": COMPANY, "name": "甲运输公司", "kind": "freight_transport"}],
        "vehicles": [vehicle("鲁A10001", operator=COMPANY), vehicle("鲁A10002", operator=COMPANY)],
        "employments": [{"id_number": DRIVER, "uscc": COMPANY, "start": date(2019, 8, 1), "end": None, "role": "driver"}],
        "licences": [{"id_number": DRIVER, "first_issued": date(2010, 3, 1), "points": 0, "cycle_start": date(2026, 3, 1)}],
        "safety_records": safety(COMPANY),
    }
    for name, value in extra.items():
        rows[name] = rows.get(name, []) + value
    return CreditData.build(**rows)


def fatal(day: date, liability: str = "main", *, known: datetime | None = None) -> dict:
    row = {"accident_id": f"A{day.isoformat()}", "occurred_at": at(day), "severity": "fatal", "injuries": 0, "deaths": 1,
           "plate_number": "鲁A10001", "plate_type": "01", "driver_id": DRIVER, "liability": liability}
    if known is not None:
        row["known_at"] = known
    return row


def test_a_clean_transport_company_with_complete_safety_records_is_aaa_at_1000():
    grades = grade_all(city(), AS_OF)
    result = grades[("company", COMPANY)]
    assert (result.grade, result.score, result.deductions, result.veto_items) == ("AAA", 1000.0, (), ())
    assert result.period_start == date(2025, 6, 16) and result.configurable_default
    assert grades[("driver", DRIVER)].grade == "AAA"
    assert set(grades) == {("company", COMPANY), ("driver", DRIVER)}
    assert grade_all(city(), AS_OF, subjects={"driver"}).keys() == {("driver", DRIVER)}


def test_a_responsible_fatal_accident_makes_the_company_and_its_driver_b_with_the_veto():
    data = city(accident_parties=[fatal(date(2026, 2, 3))])
    grades = grade_all(data, AS_OF)
    company = grades[("company", COMPANY)]
    assert company.grade == "B" and [v.code for v in company.veto_items] == ["veto_responsible_fatal_accident"]
    assert {d.code: d.count for d in company.deductions} == {"accident_fatal_responsible": 1}
    assert company.score == 700.0  # 1000 − 300: the score alone would be AA
    driver = grades[("driver", DRIVER)]
    assert driver.grade == "B" and "veto_responsible_fatal_accident" in [v.code for v in driver.veto_items]
    events = veto_events(data, AS_OF)
    assert events[("company", COMPANY)] == [VetoEvent("veto_responsible_fatal_accident", date(2026, 2, 3))]
    assert events[("driver", DRIVER)] == [VetoEvent("veto_responsible_fatal_accident", date(2026, 2, 3))]
    # a minor share of the same crash is a deduction, not a veto
    minor = grade_all(city(accident_parties=[fatal(date(2026, 2, 3), "minor")]), AS_OF)[("company", COMPANY)]
    assert minor.grade == "AAA" and {d.code: d.points for d in minor.deductions} == {"accident_fatal_minor": 60.0}
    assert ("company", COMPANY) not in veto_events(city(accident_parties=[fatal(date(2026, 2, 3), "minor")]), AS_OF)


def test_a_vehicles_violation_counts_for_the_company_operating_it_not_the_owner():
    data = city(
        companies=[{"uscc": OWNER, "name": "乙租赁公司", "kind": "freight_transport"}],
        vehicles=[vehicle("鲁A20001", owner=OWNER, operator=COMPANY), vehicle("鲁A20002", owner=OWNER)],
        safety_records=safety(OWNER),
        violations=[violation("V1", date(2026, 1, 5), "鲁A20001", "red_light", 6)],
    )
    grades = grade_all(data, AS_OF)
    operator = grades[("company", COMPANY)]
    # three vehicles: one general violation (tier 5) per vehicle = 1/3 × 50 points
    assert {d.code: (d.count, d.points) for d in operator.deductions} == {"violation_general": (1, 16.7)}
    assert operator.score == 983.3
    owner = grades[("company", OWNER)]
    assert (owner.score, owner.deductions) == (1000.0, ())


def test_a_drivers_offences_follow_the_driver_across_companies():
    data = city(
        companies=[{"uscc": OTHER, "name": "丙客运公司", "kind": "passenger_transport"}],
        vehicles=[vehicle("鲁A30001", operator=OTHER)],
        safety_records=safety(OTHER),
        employments=[
            {"id_number": SECOND, "uscc": OTHER, "start": date(2019, 8, 1), "end": date(2025, 12, 31), "role": "driver"},
            {"id_number": SECOND, "uscc": COMPANY, "start": date(2026, 1, 1), "end": None, "role": "driver"},
            {"id_number": person(9), "uscc": COMPANY, "start": date(2018, 1, 1), "end": None, "role": "safety_manager"},
        ],
        licences=[{"id_number": SECOND, "first_issued": date(2012, 5, 1), "points": 6, "cycle_start": date(2026, 5, 1)}],
        violations=[
            violation("V1", date(2025, 9, 10), "鲁A30001", "red_light", 6, SECOND),  # at the old company
            violation("V2", date(2026, 3, 10), "鲁A10001", "phone_use", 3, SECOND),  # at the new one
            violation("V3", date(2026, 4, 1), "鲁A10001", "speeding", 3, SECOND, outcome=None) | {"points": None},  # not decided
            violation("V4", date(2026, 4, 2), "鲁A10001", "phone_use", 3, SECOND, outcome="no_penalty"),
        ],
    )
    grades = grade_all(data, AS_OF)
    driver = grades[("driver", SECOND)]
    # certificate proxy: the first driving employment (2019-08-01) -> cycle 2025-08-01 .. 2026-07-31
    assert (driver.period_start, driver.period_end) == (date(2025, 8, 1), date(2026, 7, 31))
    assert driver.score == 8.0 and driver.grade == "AA"  # red_light 5 + phone_use 3
    assert {d.code for d in driver.deductions} == {"offence.red_light", "offence.phone_use"}
    assert ("driver", person(9)) not in grades  # a safety manager is not an operating driver
    # each violation counts for the company whose vehicle it was
    assert {d.code: d.count for d in grades[("company", OTHER)].deductions} == {"violation_general": 1}
    assert {d.code: d.count for d in grades[("company", COMPANY)].deductions}["violation_general"] == 1


def test_a_school_is_graded_by_its_graduates_first_two_years_only():
    recent, older, oldest = person(11), person(12), person(13)
    data = city(
        companies=[{"uscc": SCHOOL, "name": "丁驾校", "kind": "driving_school"}],
        vehicles=[vehicle("鲁A40001", operator=SCHOOL)],
        licences=[
            {"id_number": recent, "school_uscc": SCHOOL, "first_issued": date(2025, 3, 1)},
            {"id_number": older, "school_uscc": SCHOOL, "first_issued": date(2023, 9, 1)},  # novice until 2025-09-01
            {"id_number": oldest, "school_uscc": SCHOOL, "first_issued": date(2023, 1, 10)},  # novice until 2025-01-10
            {"id_number": person(14), "school_uscc": SCHOOL, "first_issued": date(2026, 6, 20)},  # after as_of
        ],
        violations=[
            violation("G1", date(2026, 2, 1), "鲁B00001", "red_light", 6, recent),
            violation("G2", date(2025, 8, 1), "鲁B00002", "red_light", 6, older),  # second year, in the period
            violation("G3", date(2026, 3, 1), "鲁B00002", "red_light", 6, older),  # third year: not counted
            violation("G4", date(2026, 1, 15), "鲁B00003", "red_light", 6, oldest),  # fourth year: not counted
            violation("S1", date(2026, 4, 1), "鲁A40001", "no_seatbelt", 1),  # the school's own coach car
        ],
    )
    school = grade_all(data, AS_OF)[("school", SCHOOL)]
    counts = {d.code: (d.count, d.value) for d in school.deductions}
    # two graduates in their first two years during the period; two of their violations
    assert counts == {"graduate_violation_general": (2, 100.0), "own_violation": (1, 1.0)}
    assert school.score == 1000 - 150 - 10 and school.grade == "AA"
    assert ("driver", recent) not in grade_all(data, AS_OF)  # a graduate is not an operating driver


def test_events_known_after_as_of_are_not_used():
    late_crash = fatal(date(2026, 6, 10), known=datetime(2026, 6, 20, 3, tzinfo=UTC))
    late_decision = violation("V1", date(2026, 6, 1), "鲁A10001", "drunk_driving", 0, DRIVER, known=datetime(2026, 6, 16, 1, tzinfo=UTC))
    later_crash = fatal(date(2026, 6, 25))
    data = city(accident_parties=[late_crash, later_crash], violations=[late_decision])
    before = grade_all(data, AS_OF)
    assert before[("company", COMPANY)].grade == "AAA" and before[("driver", DRIVER)].grade == "AAA"
    assert veto_events(data, AS_OF) == {}
    after = grade_all(data, date(2026, 6, 21))
    assert {v.code for v in after[("company", COMPANY)].veto_items} == {"veto_responsible_fatal_accident", "veto_drunk_driving"}
    assert {v.code for v in after[("driver", DRIVER)].veto_items} == {"veto_responsible_fatal_accident", "veto_drink_driving"}


def test_a_driver_reaching_12_points_in_a_licence_cycle_is_a_dated_veto():
    # licence first issued 2010-03-01: the cycle 2026-03-01 .. 2027-02-28 holds both decisions
    decided = [datetime(2026, 3, 20, 2, tzinfo=UTC), datetime(2026, 5, 6, 2, tzinfo=UTC)]
    data = city(violations=[
        violation("V1", date(2026, 3, 18), "鲁A10001", "speeding", 6, DRIVER, known=decided[0]),
        violation("V2", date(2026, 5, 4), "鲁A10001", "speeding", 6, DRIVER, known=decided[1]),
        violation("V0", date(2026, 2, 20), "鲁A10001", "speeding", 6, DRIVER),  # the previous licence cycle
    ])
    driver = grade_all(data, AS_OF)[("driver", DRIVER)]
    assert driver.grade == "B" and [v.code for v in driver.veto_items] == ["veto_full_score"]
    assert veto_events(data, AS_OF)[("driver", DRIVER)] == [VetoEvent("veto_full_score", date(2026, 5, 6))]
    # the company's grade counts the violations (serious? no: 6 points is tier 5, general) but has no veto
    assert grade_all(data, AS_OF)[("company", COMPANY)].veto_items == ()


def test_list_facts_carry_grade_band_vetoes_and_recent_records_for_the_black_list():
    data = city(accident_parties=[fatal(date(2026, 2, 3))],
                violations=[violation("V1", date(2024, 1, 5), "鲁A10001", "red_light", 6, DRIVER)])
    grades = grade_all(data, AS_OF)
    facts = {(f.subject_kind, f.subject_id): f for f in lists_facts(data, AS_OF, grades, {("company", COMPANY): "high", ("vehicle", "鲁A10001:01"): "high"})}
    assert set(facts) == {("company", COMPANY), ("driver", DRIVER)}  # lists do not apply to vehicles
    company = facts[("company", COMPANY)]
    assert (company.grade, company.band) == ("B", "high")
    assert company.vetoes == (VetoEvent("veto_responsible_fatal_accident", date(2026, 2, 3)),)
    assert company.offences == () and len(company.accidents) == 1  # the 2024 violation is outside the lists' 365 days
    assert facts[("driver", DRIVER)].band is None
    proposals = evaluate_lists(company, AS_OF)
    assert [p.list_name for p in proposals] == ["black"]
    assert {c.code for c in proposals[0].criteria} >= {"black_veto_12m", "black_grade_b"}


def test_every_transport_company_and_school_of_the_demo_city_gets_a_grade(loaded, demo_dir, admin_actor):
    for kind, name in (("violations", "violations.csv"), ("inspections", "inspections.csv"),
                       ("safety_records", "safety_records.csv"), ("gps_alarms", "gps_alarms.csv")):
        assert import_file(loaded, kind, demo_dir / name, admin_actor).quarantined == 0
    assert ingest_file(loaded, "accidents", demo_dir / "accidents.jsonl", admin_actor).quarantined == 0
    data = frames.load(loaded)
    grades = grade_all(data, DEMO_AS_OF)
    kinds = dict(zip(data.companies["uscc"].to_list(), data.companies["kind"].to_list(), strict=True))
    fleets = set(data.vehicles["company"].drop_nulls().to_list())
    transport = {u for u, k in kinds.items() if k in ("passenger_transport", "freight_transport", "dangerous_goods", "bus") and u in fleets}
    schools = {u for u, k in kinds.items() if k == "driving_school"}
    assert transport and schools
    assert {u for kind, u in grades if kind == "company"} == transport
    assert {u for kind, u in grades if kind == "school"} == schools
    assert any(kind == "driver" for kind, _ in grades)
    assert {r.grade for r in grades.values()} <= {"AAA", "AA", "A", "B"}
    assert all(r.configurable_default for r in grades.values())
    events = veto_events(data, DEMO_AS_OF)
    assert all(e.on <= DEMO_AS_OF for evs in events.values() for e in evs)
    facts = lists_facts(data, DEMO_AS_OF, grades, {})
    assert len(facts) == len(grades)
    for f in facts[:200]:
        evaluate_lists(f, DEMO_AS_OF)  # the facts are valid list inputs
