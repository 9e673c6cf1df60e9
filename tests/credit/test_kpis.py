"""Earned-recognition KPIs (守信认定指标) of a company applying for the red list: the inputs read out of
CreditData (credit/kpis.py) on hand-built cities whose values are worked out by hand, then the service,
API and page on the small demo city, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import DEMO_AS_OF, bearer
from trafficgov.audit.store import AuditLogRow
from trafficgov.credit import jobs, scoring
from trafficgov.credit.frames import CreditData
from trafficgov.credit.kpis import kpi_inputs, period_start
from trafficgov.credit.plan import KpiInputs, earned_recognition_kpis
from trafficgov.demo.load import load_history
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char

AS_OF = date(2026, 6, 15)  # period 2025-06-16 .. 2026-06-15 (365 days); safety months 2025-06 .. 2026-05 known


def uscc(i: int) -> str:
    base = f"91370100MA3C{i:05d}"
    return base + uscc_check_char(base)


def person(i: int) -> str:
    base = f"3701021980{i:07d}"
    return base + id_check_digit(base)


def at(day: date, hour: int = 2) -> datetime:
    """10:00 China time of `day` (02:00 UTC)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


COMPANY, OTHER = uscc(1), uscc(2)


def vehicle(plate: str, company: str, registered: date = date(2020, 1, 1)) -> dict:
    return {"plate_number": plate, "plate_type": "01", "owner_id": company, "operator_uscc": company, "registered_on": registered}


def inspection(iid: str, day: date, plate: str, kind: str = "periodic", defects: str | None = None, oos: bool = False) -> dict:
    return {"inspection_id": iid, "date": day, "kind": kind, "plate_number": plate, "plate_type": "01", "driver_id": None,
            "uscc": None, "defects": defects, "out_of_service": oos}


def alarm(day: date, plate: str, kind: str, minutes: int | None, count: int = 1) -> dict:
    return {"date": day, "plate_number": plate, "plate_type": "01", "kind": kind, "count": count, "minutes": minutes}


def violation(vid: str, occurred: datetime, plate: str, outcome: str | None = "fine", points: int | None = 3,
              known: datetime | None = None) -> dict:
    row = {"violation_id": vid, "occurred_at": occurred, "behavior": None, "plate_number": plate, "plate_type": "01",
           "driver_id": None, "outcome": outcome, "fine_yuan": 200, "points": points, "known_at": known or occurred}
    return row


def employment(who: str, company: str, start: date, end: date | None = None, role: str = "driver") -> dict:
    return {"id_number": who, "uscc": company, "start": start, "end": end, "role": role}


def city() -> CreditData:
    """A company of two vehicles (a third registered after as_of) and two drivers on as_of, with records
    inside, before and after the period; another company's records beside it."""
    return CreditData.build(
        companies=[{"uscc": COMPANY, "name": "甲运输公司", "kind": "freight_transport"},
                   {"uscc": OTHER, "name": "乙运输公司", "kind": "freight_transport"}],
        vehicles=[vehicle("鲁A00001", COMPANY), vehicle("鲁A00002", COMPANY), vehicle("鲁A00003", COMPANY, date(2026, 7, 1)),
                  vehicle("鲁A00009", OTHER)],
        inspections=[
            inspection("i1", date(2025, 9, 1), "鲁A00001"),  # passed first time
            inspection("i2", date(2026, 3, 1), "鲁A00001", defects="制动不合格"),  # defects: not a first pass
            inspection("i3", date(2025, 10, 1), "鲁A00002", defects=""),  # empty defects: passed
            inspection("i4", date(2025, 11, 1), "鲁A00002", oos=True),  # out of service: not a first pass
            inspection("i5", date(2025, 12, 1), "鲁A00002", kind="roadside"),  # not periodic
            inspection("i6", date(2025, 6, 10), "鲁A00001"),  # before the period
            inspection("i7", date(2026, 6, 16), "鲁A00001", defects="灯光"),  # after as_of
            inspection("i8", date(2026, 1, 1), "鲁A00009", defects="轮胎"),  # another company's vehicle
            inspection("i9", date(2026, 1, 1), "鲁A00003"),  # a vehicle registered after as_of
        ],
        gps_alarms=[
            alarm(date(2025, 8, 1), "鲁A00001", "offline", 600),
            alarm(date(2026, 1, 1), "鲁A00001", "offline", 1000),
            alarm(date(2026, 2, 1), "鲁A00001", "fatigue", 0),
            alarm(date(2025, 7, 1), "鲁A00002", "speeding", None),  # monitored, never offline
            alarm(date(2026, 6, 20), "鲁A00001", "offline", 99_999),  # after as_of
            alarm(date(2025, 6, 1), "鲁A00001", "offline", 7_000),  # before the period
            alarm(date(2026, 1, 1), "鲁A00009", "offline", 5_000),  # another company's vehicle
        ],
        employments=[
            employment(person(1), COMPANY, date(2020, 1, 1)),
            employment(person(2), COMPANY, date(2022, 1, 1)),
            employment(person(3), COMPANY, date(2020, 1, 1), end=date(2026, 1, 1)),  # left before as_of
            employment(person(4), COMPANY, date(2020, 1, 1), role="escort"),  # does not drive
            employment(person(5), COMPANY, date(2026, 7, 1)),  # starts after as_of
            employment(person(6), OTHER, date(2020, 1, 1)),
        ],
        safety_records=[
            {"uscc": COMPANY, "month": "2025-05", "training_hours": 50.0},  # before the period
            *({"uscc": COMPANY, "month": f"{y}-{m:02d}", "training_hours": 0.0 if (y, m) == (2025, 12) else 4.0}
              for y, m in [(2025, m) for m in range(7, 13)] + [(2026, m) for m in range(1, 5)]),
            {"uscc": COMPANY, "month": "2026-06", "training_hours": 4.0},  # the month is not over on as_of
            {"uscc": OTHER, "month": "2026-01", "training_hours": 99.0},
        ],
        violations=[
            violation("v1", at(date(2025, 8, 1)), "鲁A00001"),
            violation("v2", at(date(2025, 9, 1)), "鲁A00002", outcome="no_penalty", points=0),  # not penalised
            violation("v3", at(date(2025, 10, 1)), "鲁A00002", outcome=None, points=3),  # no outcome, points given
            violation("v4", at(date(2025, 10, 2)), "鲁A00002", outcome=None, points=None),  # undecided
            violation("v5", at(date(2026, 1, 1)), "鲁A00001", outcome="warning", points=0),  # 警告 is a penalty
            violation("v6", at(date(2026, 6, 10)), "鲁A00001", known=at(date(2026, 6, 20))),  # decided after as_of
            violation("v7", at(date(2026, 1, 1)), "鲁A00009"),  # another company's vehicle
            violation("v8", datetime(2025, 6, 15, 15, 0, tzinfo=UTC), "鲁A00001"),  # 23:00 on 06-15 China: before
            violation("v9", datetime(2025, 6, 15, 16, 30, tzinfo=UTC), "鲁A00001"),  # 00:30 on 06-16 China: inside
            violation("v10", at(date(2026, 1, 5)), "鲁A00003"),  # a vehicle registered after as_of
        ],
    )


def by_code(results) -> dict:
    return {r.code: r for r in results}


def test_the_period_is_the_twelve_months_up_to_as_of():
    assert period_start(AS_OF) == date(2025, 6, 16)
    assert period_start(date(2026, 6, 30)) == date(2025, 7, 1)


def test_inputs_of_a_company_worked_out_by_hand():
    inputs = kpi_inputs(city(), COMPANY, AS_OF)
    assert inputs == KpiInputs(
        vehicles=2,  # 鲁A00003 is registered after as_of
        periodic_inspections=4,  # i1-i4
        periodic_first_pass=2,  # i1 (no defects), i3 (empty defects); i2 had defects, i4 was put out of service
        gps_expected_minutes=2 * 365 * 1440,  # two vehicles seen by the monitoring platform, 365 days
        gps_offline_minutes=1600,  # 600 + 1000
        training_hours_required=2 * 2 * 10,  # 2 h per driver-month (grades.yaml) x 2 drivers x 10 months recorded
        training_hours_done=36,  # nine months of 4 h, one of 0 h
        violations=4,  # v1, v3, v5, v9
    )


def test_first_pass_rate_gps_online_rate_training_completion_and_violations_per_vehicle():
    kpis = by_code(earned_recognition_kpis(kpi_inputs(city(), COMPANY, AS_OF), AS_OF))
    assert kpis["periodic_first_pass_rate"].value == 0.5 and not kpis["periodic_first_pass_rate"].met
    assert kpis["gps_online_rate"].value == round(1 - 1600 / (2 * 365 * 1440), 4) and kpis["gps_online_rate"].met
    assert kpis["training_completion_rate"].value == 0.9 and not kpis["training_completion_rate"].met
    assert kpis["violations_per_vehicle"].value == 2.0 and not kpis["violations_per_vehicle"].met
    assert all(k.default and "默认值" in k.basis for k in kpis.values())


def test_a_clean_company_meets_every_kpi():
    data = CreditData.build(
        companies=[{"uscc": OTHER, "name": "乙运输公司", "kind": "freight_transport"}],
        vehicles=[vehicle("鲁A00009", OTHER)],
        inspections=[inspection("p1", date(2026, 1, 1), "鲁A00009")],
        gps_alarms=[alarm(date(2026, 1, 1), "鲁A00009", "offline", 30)],
        employments=[employment(person(6), OTHER, date(2020, 1, 1))],
        safety_records=[{"uscc": OTHER, "month": "2026-01", "training_hours": 2.5}],
    )
    inputs = kpi_inputs(data, OTHER, AS_OF)
    assert (inputs.vehicles, inputs.periodic_first_pass, inputs.violations) == (1, 1, 0)
    assert inputs.training_hours_required == 2 and inputs.training_hours_done == 2.5
    kpis = earned_recognition_kpis(inputs, AS_OF)
    assert all(k.met for k in kpis), kpis
    assert by_code(kpis)["training_completion_rate"].value == 1.0  # capped at 100%


def test_offline_minutes_are_capped_at_the_expected_minutes():
    data = CreditData.build(
        vehicles=[vehicle("鲁A00009", OTHER)],
        gps_alarms=[alarm(date(2026, 1, 1), "鲁A00009", "offline", 400 * 1440)],  # a bad feed: more than the period
    )
    inputs = kpi_inputs(data, OTHER, AS_OF)
    assert inputs.gps_offline_minutes == inputs.gps_expected_minutes == 365 * 1440
    assert by_code(earned_recognition_kpis(inputs, AS_OF))["gps_online_rate"].value == 0


def test_a_company_without_data_has_no_values_and_meets_nothing():
    inputs = kpi_inputs(city(), uscc(7), AS_OF)
    assert inputs == KpiInputs(0, 0, 0, 0, 0, 0, 0, 0)
    assert all(k.value is None and not k.met for k in earned_recognition_kpis(inputs, AS_OF))


def test_events_after_as_of_are_ignored():
    base = city()
    later = CreditData.build(
        companies=base.companies, vehicles=base.vehicles, employments=base.employments,
        inspections=base.inspections.vstack(CreditData.build(inspections=[
            inspection("late-1", date(2026, 6, 16), "鲁A00001", defects="制动"),
            inspection("late-2", date(2026, 8, 1), "鲁A00002", oos=True),
        ]).inspections),
        gps_alarms=base.gps_alarms.vstack(CreditData.build(gps_alarms=[alarm(date(2026, 6, 16), "鲁A00002", "offline", 50_000)]).gps_alarms),
        violations=base.violations.vstack(CreditData.build(violations=[
            violation("late-v", at(date(2026, 6, 16)), "鲁A00001"),
            violation("happened-before-known-after", at(date(2026, 6, 1)), "鲁A00002", known=at(date(2026, 7, 2))),
        ]).violations),
        safety_records=base.safety_records.vstack(CreditData.build(safety_records=[{"uscc": COMPANY, "month": "2026-07", "training_hours": 0.0}]).safety_records),
    )
    assert kpi_inputs(later, COMPANY, AS_OF) == kpi_inputs(base, COMPANY, AS_OF)
    # on a later day the same records count
    assert kpi_inputs(later, COMPANY, date(2026, 8, 31)).violations > kpi_inputs(base, COMPANY, date(2026, 8, 31)).violations


# ---------------------------------------------------------------- the demo city: service, API, page


@pytest.fixture
def history(loaded, demo_dir: Path, admin_actor):
    """The demo city's master data and its three years of violations, accidents, inspections, safety records and GPS alarms."""
    for kind, summary in load_history(loaded, demo_dir / "manifest.json", admin_actor).items():
        assert summary.quarantined == 0 and summary.inserted > 0, (kind, summary)
    return loaded


def log_in(client, account: dict) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:300]


def test_kpis_api_for_the_company_and_for_an_officer(history, client, tokens, accounts):
    own = accounts["company"]["uscc"]
    company = bearer(tokens["company"])
    mine = client.get("/api/v1/credit/kpis", params={"as_of": DEMO_AS_OF.isoformat()}, headers=company)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["uscc"] == own and body["as_of"] == DEMO_AS_OF.isoformat() and body["period_start"] == "2025-07-01"
    assert [k["code"] for k in body["kpis"]] == ["periodic_first_pass_rate", "gps_online_rate", "training_completion_rate", "violations_per_vehicle"]
    assert body["all_met"] == all(k["met"] for k in body["kpis"])
    assert "默认值" in body["notice_zh"] and body["inputs"]["vehicles"] > 0
    # the same figures as the pure function over the store's data (upheld disputes dropped)
    expected = kpi_inputs(scoring.load_data(history), own, DEMO_AS_OF)
    assert body["inputs"] == {k: getattr(expected, k) for k in body["inputs"]}

    other = next(u for u in scoring.load_data(history).companies["uscc"].to_list() if u != own)
    assert client.get(f"/api/v1/credit/kpis/{other}", headers=company).status_code == 403
    assert client.get(f"/api/v1/credit/kpis/{own}", headers=company).status_code == 403  # staff route

    officer = bearer(tokens["officer"])
    seen = client.get(f"/api/v1/credit/kpis/{own}", params={"as_of": DEMO_AS_OF.isoformat()}, headers=officer)
    assert seen.status_code == 200 and seen.json() == body
    assert client.get("/api/v1/credit/kpis", headers=officer).status_code == 403
    assert client.get(f"/api/v1/credit/kpis/{uscc(99)}", headers=officer).status_code == 404
    assert client.get("/api/v1/credit/kpis", params={"as_of": "2999-01-01"}, headers=company).status_code == 422
    assert client.get(f"/api/v1/credit/kpis/{own}", headers=bearer(tokens["citizen"])).status_code == 403
    with history.transaction() as session:
        reads = session.scalar(select(func.count()).select_from(AuditLogRow).where(AuditLogRow.entity == "credit_kpis", AuditLogRow.record_key == f"company:{own}"))
    assert reads == 1  # the officer's read; a company reading its own is not a staff read


def test_kpis_page_for_the_company_and_staff(history, client, accounts, admin_actor):
    own = accounts["company"]["uscc"]
    jobs.daily(history, admin_actor, DEMO_AS_OF)
    log_in(client, accounts["company"])
    assert 'href="/credit/kpis"' in client.get("/credit/mine").text  # linked from the company's credit page
    page = client.get("/credit/kpis")
    assert page.status_code == 200, page.text[:300]
    assert "守信激励申请指标" in page.text and "车辆定期检验一次合格率" in page.text and "默认值" in page.text
    assert ("可申请列入红名单" in page.text) or ("暂不符合" in page.text)
    assert "审核" in page.text and own in page.text
    log_in(client, accounts["officer"])
    empty = client.get("/credit/kpis")
    assert empty.status_code == 200 and 'name="uscc"' in empty.text
    staff = client.get("/credit/kpis", params={"uscc": own})
    assert staff.status_code == 200 and "卫星定位装置在线率" in staff.text
    assert f'href="/credit/kpis?uscc={own}"' in client.get(f"/credit/companies/{own}").text
