"""Proactive warnings (主动预警): golden cases of every kind on both sides of its threshold (pure), then
raising them idempotently, a company seeing only its own, the state machine, the API's roles and the page
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from scipy.stats import poisson
from sqlalchemy import func, select, update

from conftest import DEMO_AS_OF, bearer
from trafficgov.accounts.model import Actor, Role
from trafficgov.audit.store import AuditLogRow
from trafficgov.credit import warnings_service as service
from trafficgov.credit.frames import CreditData
from trafficgov.credit.store import CreditGpsAlarmRow, CreditWarningRow
from trafficgov.credit.warnings import WarningRulesError, detect, parse_rules, warning_rules
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char
from trafficgov.registry.store import VehicleRow

AS_OF = date(2026, 6, 30)
RULES = warning_rules().at(AS_OF)
COMPANY = "91370100MA3C00001" + uscc_check_char("91370100MA3C00001")
OTHER = "91370100MA3C00002" + uscc_check_char("91370100MA3C00002")
DRIVER = "37010219800101123" + id_check_digit("37010219800101123")
PLATE, TYPE = "鲁A12345", "01"
VEHICLE = f"{PLATE}:{TYPE}"


def vehicle(plate: str = PLATE, company: str | None = COMPANY, **extra) -> dict:
    return {"plate_number": plate, "plate_type": TYPE, "owner_id": company, "operator_uscc": company, "registered_on": date(2018, 1, 1), **extra}


def kinds(found, kind: str, subject_kind: str | None = None) -> list:
    return [w for w in found if w.kind == kind and (subject_kind is None or w.subject_kind == subject_kind)]


# ---------------------------------------------------------------- driver points (记分管理办法 Arts. 3, 15, 17)


def driver_data(points: int | None, cycle_start: date | None, *, role: str = "driver", end: date | None = None, violations=()) -> CreditData:
    return CreditData.build(
        employments=[{"id_number": DRIVER, "uscc": COMPANY, "start": date(2020, 1, 1), "end": end, "role": role}],
        licences=[{"id_number": DRIVER, "first_issued": date(2015, 3, 1), "points": points, "cycle_start": cycle_start, "classes": "A2"}],
        violations=[
            {"violation_id": f"V{i}", "occurred_at": at, "behavior": "speeding", "plate_number": PLATE, "plate_type": TYPE, "driver_id": DRIVER, "points": p}
            for i, (at, p) in enumerate(violations)
        ] or None,
    )


CYCLE = date(2026, 3, 1)  # the licence was first issued on 1 March 2015: the cycle of AS_OF starts 1 March 2026


@pytest.mark.parametrize(
    ("name", "points", "cycle_start", "changes", "expected"),
    [
        ("8 points: below the warning line", 8, CYCLE, {}, None),
        ("9 points: warned, 3 to go", 9, CYCLE, {}, (9, False)),
        ("11 points", 11, CYCLE, {}, (11, False)),
        ("12 points: the full score", 12, CYCLE, {}, (12, True)),
        ("10 points of the ended cycle are cleared (Art. 15)", 10, date(2025, 3, 1), {}, None),
        ("12 points of the ended cycle stay until education (Art. 17)", 12, date(2025, 3, 1), {}, (12, True)),
        ("employment ended before as_of: no longer an operating driver", 10, CYCLE, {"end": date(2026, 6, 1)}, None),
        ("employment ends on as_of: still employed", 10, CYCLE, {"end": AS_OF}, (10, False)),
        ("an escort does not drive", 10, CYCLE, {"role": "escort"}, None),
    ],
)
def test_driver_points_golden(name, points, cycle_start, changes, expected):
    found = kinds(detect(driver_data(points, cycle_start, **changes), None, AS_OF), "driver_points")
    if expected is None:
        assert found == [], name
        return
    (w,) = found
    assert (w.detail["points"], w.detail["full"]) == expected, name
    assert (w.subject_kind, w.subject_id, w.company_uscc) == ("driver", DRIVER, COMPANY)
    assert DRIVER not in w.reason_zh and "第十七条" in w.reason_zh  # the ID is masked in the reason
    assert w.dedupe_key == f"driver_points:driver:{DRIVER}:{COMPANY}:{w.detail['cycle_start']}"


def test_decided_points_count_when_the_registry_lags_and_only_in_the_current_cycle():
    in_cycle = datetime(2026, 4, 1, 2, tzinfo=UTC)
    before_cycle = datetime(2026, 2, 20, 2, tzinfo=UTC)
    data = driver_data(3, CYCLE, violations=[(in_cycle, 6), (in_cycle + timedelta(days=10), 3)])
    (w,) = kinds(detect(data, None, AS_OF), "driver_points")
    assert (w.detail["points"], w.detail["registry_points"], w.detail["violation_points"]) == (9, 3, 9)
    earlier = driver_data(3, CYCLE, violations=[(before_cycle, 6), (in_cycle, 2)])
    assert kinds(detect(earlier, None, AS_OF), "driver_points") == []
    future = driver_data(3, CYCLE, violations=[(in_cycle, 6), (datetime(2026, 7, 2, tzinfo=UTC), 3)])
    assert kinds(detect(future, None, AS_OF), "driver_points") == []  # not known on as_of


# ---------------------------------------------------------------- inspection and insurance due dates


def dates_frame(**by_plate) -> pl.DataFrame:
    rows = [{"vehicle": f"{plate}:{TYPE}", **values} for plate, values in by_plate.items()]
    return pl.DataFrame(rows, schema={"vehicle": pl.String, "inspection_due": pl.Date, "insurance_expiry": pl.Date, "status": pl.String})


@pytest.mark.parametrize(
    ("due", "status", "company", "expected"),
    [
        (AS_OF - timedelta(days=1), "A", COMPANY, ("inspection_overdue", "days_overdue", 1)),
        (AS_OF - timedelta(days=200), None, COMPANY, ("inspection_overdue", "days_overdue", 200)),
        (AS_OF, "A", COMPANY, ("inspection_due_soon", "days_left", 0)),
        (AS_OF + timedelta(days=30), "A", COMPANY, ("inspection_due_soon", "days_left", 30)),
        (AS_OF + timedelta(days=31), "A", COMPANY, None),
        (AS_OF - timedelta(days=5), "E", COMPANY, None),  # 注销: no longer on the road
        (AS_OF - timedelta(days=5), "A", None, None),  # a private car is not a company's
    ],
)
def test_inspection_due_golden(due, status, company, expected):
    data = CreditData.build(vehicles=[vehicle(company=company, owner_id=company or DRIVER)])
    found = [w for w in detect(data, dates_frame(**{PLATE: {"inspection_due": due, "insurance_expiry": None, "status": status}}), AS_OF) if w.kind.startswith("inspection")]
    if expected is None:
        assert found == []
        return
    (w,) = found
    kind, field, days = expected
    assert (w.kind, w.detail[field], w.company_uscc, w.subject_id) == (kind, days, COMPANY, VEHICLE)
    assert w.dedupe_key == f"{kind}:vehicle:{VEHICLE}:{due.isoformat()}" and PLATE in w.reason_zh


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [(AS_OF - timedelta(days=1), "insurance_overdue"), (AS_OF + timedelta(days=30), "insurance_due_soon"), (AS_OF + timedelta(days=31), None)],
)
def test_insurance_due_golden(expiry, expected):
    data = CreditData.build(vehicles=[vehicle()])
    found = [w.kind for w in detect(data, dates_frame(**{PLATE: {"inspection_due": None, "insurance_expiry": expiry, "status": "A"}}), AS_OF)]
    assert found == ([expected] if expected else [])


# ---------------------------------------------------------------- GPS terminal offline


def offline(*days_minutes) -> list[dict]:
    return [{"date": day, "plate_number": PLATE, "plate_type": TYPE, "kind": "offline", "count": 1, "minutes": m} for day, m in days_minutes]


@pytest.mark.parametrize(
    ("name", "rows", "warned"),
    [
        ("3 of the last 7 days over 60 minutes", [(AS_OF, 61), (AS_OF - timedelta(days=3), 300), (AS_OF - timedelta(days=6), 90)], True),
        ("exactly 60 minutes is not over", [(AS_OF, 60), (AS_OF - timedelta(days=3), 300), (AS_OF - timedelta(days=6), 90)], False),
        ("only 2 days", [(AS_OF, 61), (AS_OF - timedelta(days=3), 300)], False),
        ("the third day is outside the 7-day window", [(AS_OF, 61), (AS_OF - timedelta(days=3), 300), (AS_OF - timedelta(days=7), 90)], False),
        ("a day after as_of is not known yet", [(AS_OF, 61), (AS_OF - timedelta(days=3), 300), (AS_OF + timedelta(days=1), 90)], False),
    ],
)
def test_gps_offline_golden(name, rows, warned):
    data = CreditData.build(vehicles=[vehicle()], gps_alarms=offline(*rows))
    found = kinds(detect(data, None, AS_OF), "gps_offline")
    assert bool(found) == warned, name
    if warned:
        assert found[0].detail["offline_days"] == 3 and found[0].company_uscc == COMPANY
        assert found[0].dedupe_key == f"gps_offline:vehicle:{VEHICLE}:2026-06"


# ---------------------------------------------------------------- fatigue alarms rising


def fatigue(plate: str, baseline: int, recent: int) -> list[dict]:
    """`baseline` alarms spread over the 90 days before the last 30, `recent` over the last 30."""
    rows = []
    for i in range(baseline):
        rows.append({"date": AS_OF - timedelta(days=31 + (i * 7) % 89), "plate_number": plate, "plate_type": TYPE, "kind": "fatigue", "count": 1, "minutes": 10})
    for i in range(recent):
        rows.append({"date": AS_OF - timedelta(days=(i * 3) % 30), "plate_number": plate, "plate_type": TYPE, "kind": "fatigue", "count": 1, "minutes": 10})
    return rows


@pytest.mark.parametrize(
    ("name", "baseline", "recent", "warned"),
    [
        ("1 -> 2 alarms is no warning", 3, 2, False),
        ("doubled to 6 (3 a month before)", 9, 6, True),
        ("5 is below the minimum count, whatever the ratio", 0, 5, False),
        ("6 from a quiet history", 0, 6, True),
        ("19 against 10 a month: below twice", 30, 19, False),
        ("20 against 10 a month: twice", 30, 20, True),
    ],
)
def test_fatigue_rising_golden(name, baseline, recent, warned):
    data = CreditData.build(vehicles=[vehicle()], gps_alarms=fatigue(PLATE, baseline, recent))
    found = kinds(detect(data, None, AS_OF), "fatigue_rising", "vehicle")
    assert bool(found) == warned, name
    if warned:
        assert (found[0].detail["recent_count"], found[0].detail["baseline_count"]) == (recent, baseline)


def test_fatigue_rising_of_a_company_adds_up_its_vehicles():
    alarms = fatigue("鲁A11111", 0, 3) + fatigue("鲁A22222", 0, 3)
    data = CreditData.build(vehicles=[vehicle("鲁A11111"), vehicle("鲁A22222")], gps_alarms=alarms)
    found = detect(data, None, AS_OF)
    assert kinds(found, "fatigue_rising", "vehicle") == []
    (w,) = kinds(found, "fatigue_rising", "company")
    assert (w.subject_id, w.company_uscc, w.detail["recent_count"]) == (COMPANY, COMPANY, 6)


def test_fatigue_poisson_method_when_the_data_says_so():
    rules = RULES.model_copy(update={"fatigue_rising": RULES.fatigue_rising.model_copy(update={"method": "poisson", "p_value": 0.01})})
    # 12 a quarter = 4 a month expected; P(X >= 10 | 4) ~ 0.008 < 0.01, P(X >= 9 | 4) ~ 0.021.
    assert poisson.sf(9, 4.0) < 0.01 < poisson.sf(8, 4.0)
    warned = CreditData.build(vehicles=[vehicle()], gps_alarms=fatigue(PLATE, 12, 10))
    quiet = CreditData.build(vehicles=[vehicle()], gps_alarms=fatigue(PLATE, 12, 9))
    assert kinds(detect(warned, None, AS_OF, rules), "fatigue_rising", "vehicle")
    assert not kinds(detect(quiet, None, AS_OF, rules), "fatigue_rising", "vehicle")


# ---------------------------------------------------------------- accident rate jump


def crashes(baseline: int, recent: int, *, liability: str = "main", plates=(PLATE,)) -> list[dict]:
    rows = []
    for n, (count, offset) in enumerate(((baseline, 100), (recent, 0))):
        for i in range(count):
            at = datetime.combine(AS_OF - timedelta(days=offset + (i * 11) % 80), datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
            for plate in plates:
                rows.append({"accident_id": f"A{n}-{i}", "occurred_at": at, "severity": "injury" if i % 2 else "property", "injuries": i % 2,
                             "deaths": 0, "plate_number": plate, "plate_type": TYPE, "liability": liability, "vehicle_known": True})
    return rows


@pytest.mark.parametrize(
    ("name", "baseline", "recent", "liability", "warned"),
    [
        ("3 in 90 days after none in a year", 0, 3, "main", True),
        ("2 is below the minimum count", 0, 2, "main", False),
        ("3 in 90 days is usual for 12 a year", 12, 3, "main", False),
        ("5 in 90 days after 4 in a year", 4, 5, "equal", True),
        ("4 in 90 days after 4 in a year", 4, 4, "full", False),
        ("minor liability is not responsible", 0, 3, "minor", False),
    ],
)
def test_accident_rate_jump_golden(name, baseline, recent, liability, warned):
    expected = max(baseline, 1) * 90 / 365
    if liability != "minor" and recent >= 3:  # the case sits on the side of the Poisson threshold it claims
        assert (poisson.sf(recent - 1, expected) < 0.01) == warned, name
    data = CreditData.build(vehicles=[vehicle()], accident_parties=crashes(baseline, recent, liability=liability))
    found = kinds(detect(data, None, AS_OF), "accident_rate_jump")
    assert bool(found) == warned, name
    if warned:
        assert (found[0].subject_id, found[0].detail["recent_count"], found[0].detail["baseline_count"]) == (COMPANY, recent, baseline)
        assert found[0].dedupe_key == f"accident_rate_jump:company:{COMPANY}:2026-06"


def test_a_crash_of_two_company_vehicles_counts_once():
    data = CreditData.build(vehicles=[vehicle("鲁A11111"), vehicle("鲁A22222")], accident_parties=crashes(0, 2, plates=("鲁A11111", "鲁A22222")))
    assert kinds(detect(data, None, AS_OF), "accident_rate_jump") == []


# ---------------------------------------------------------------- rules as data, dedupe keys


def test_dedupe_key_holds_within_the_month_and_changes_with_it():
    data = CreditData.build(vehicles=[vehicle()], gps_alarms=offline((AS_OF - timedelta(days=1), 90), (AS_OF - timedelta(days=2), 90), (AS_OF - timedelta(days=3), 90)))
    today = kinds(detect(data, None, AS_OF - timedelta(days=1)), "gps_offline")
    tomorrow = kinds(detect(data, None, AS_OF), "gps_offline")
    next_month = kinds(detect(data, None, AS_OF + timedelta(days=1)), "gps_offline")
    assert today[0].dedupe_key == tomorrow[0].dedupe_key != next_month[0].dedupe_key


def test_rules_file_refuses_a_rule_without_basis_and_overlapping_versions():
    import copy

    import yaml

    from trafficgov.credit.warnings import DATA_FILE

    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    no_basis = copy.deepcopy(raw)
    rule = no_basis["versions"][0]["gps_offline"]
    rule.pop("legal_basis", None)
    rule["default"] = False
    with pytest.raises(WarningRulesError, match="legal_basis"):
        parse_rules(no_basis)
    overlap = copy.deepcopy(raw)
    overlap["versions"].append({**copy.deepcopy(raw["versions"][0]), "version_id": "warnings.2026-01-01", "effective_from": date(2026, 1, 1)})
    with pytest.raises(WarningRulesError, match="overlap"):
        parse_rules(overlap)
    with pytest.raises(FieldError):
        warning_rules().at(date(2020, 1, 1))
    assert all(getattr(RULES, name).basis_text() for name in ("driver_points", "inspection", "insurance", "gps_offline", "fatigue_rising", "accident_rate_jump"))


# ---------------------------------------------------------------- store, service, API, page (both stores)


def company_vehicle(db, uscc: str) -> VehicleRow:
    with db.transaction() as session:
        return session.scalars(select(VehicleRow).where((VehicleRow.operator_uscc == uscc) | (VehicleRow.owner_id == uscc)).order_by(VehicleRow.id)).first()


def seed(db, uscc: str) -> VehicleRow:
    """The demo company's first vehicle: inspection 10 days overdue and offline 2 hours on 3 recent days."""
    row = company_vehicle(db, uscc)
    now = datetime.now(UTC)
    with db.transaction(write=True) as session:
        session.execute(update(VehicleRow).where(VehicleRow.id == row.id).values(inspection_due=DEMO_AS_OF - timedelta(days=10), operator_uscc=uscc))
        for back in (0, 2, 4):
            session.add(CreditGpsAlarmRow(date=DEMO_AS_OF - timedelta(days=back), plate_number=row.plate_number, plate_type=row.plate_type, kind="offline", count=1, minutes=120, updated_at=now))
    return row


def count_warnings(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(CreditWarningRow))


def runs_audited(db) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditLogRow).where(AuditLogRow.entity == "credit_warnings", AuditLogRow.action == "create"))


def actor(role: Role, **extra) -> Actor:
    return Actor(username=f"t-{role}", role=role, **extra)


def test_raise_is_idempotent_company_sees_its_own_and_states_move_forward(loaded, accounts):
    uscc = accounts["company"]["uscc"]
    row = seed(loaded, uscc)
    officer = actor(Role.OFFICER)
    first = service.raise_warnings(loaded, officer, DEMO_AS_OF)
    plate_key = f"{row.plate_number}:{row.plate_type}"
    assert first.raised == first.detected == count_warnings(loaded) and first.by_kind["inspection_overdue"] >= 1 and first.by_kind["gps_offline"] >= 1
    again = service.raise_warnings(loaded, officer, DEMO_AS_OF)
    assert (again.raised, again.already_known, count_warnings(loaded)) == (0, first.detected, first.raised)
    assert runs_audited(loaded) == 2  # one entry per run, however many warnings

    company = actor(Role.COMPANY, uscc=uscc)
    own = service.list_warnings(loaded, company)
    assert own and {w.company_uscc for w in own} == {uscc}
    mine = {(w.kind, w.subject_id) for w in own}
    assert ("inspection_overdue", plate_key) in mine and ("gps_offline", plate_key) in mine
    everything = service.list_warnings(loaded, officer)
    others = [w for w in everything if w.company_uscc != uscc]
    assert len(everything) == first.raised
    with pytest.raises(Forbidden):
        service.list_warnings(loaded, actor(Role.CITIZEN))
    if others:
        with pytest.raises(NotFound):
            service.acknowledge(loaded, company, others[0].id)

    target = next(w for w in own if w.kind == "inspection_overdue")
    acked = service.acknowledge(loaded, company, target.id)
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", company.username)
    assert service.acknowledge(loaded, officer, target.id).acknowledged_by == company.username  # no change
    with pytest.raises(Forbidden):
        service.close(loaded, company, target.id, "已检验")
    with pytest.raises(FieldError):
        service.close(loaded, officer, target.id, "  ")
    closed = service.close(loaded, officer, target.id, "已于7月2日检验合格")
    assert (closed.state, closed.close_note) == ("closed", "已于7月2日检验合格")
    with pytest.raises(Conflict):
        service.acknowledge(loaded, company, target.id)
    with pytest.raises(Conflict):
        service.close(loaded, officer, target.id, "again")
    assert [w.id for w in service.list_warnings(loaded, company, state="closed")] == [target.id]
    assert service.raise_warnings(loaded, officer, DEMO_AS_OF).raised == 0  # a closed warning is not raised again this period


def test_api_roles_state_machine_and_pages(client, tokens, loaded, accounts):
    uscc = accounts["company"]["uscc"]
    seed(loaded, uscc)
    company, officer = bearer(tokens["company"]), bearer(tokens["officer"])
    assert client.post("/api/v1/credit/warnings/run", json={"as_of": DEMO_AS_OF.isoformat()}, headers=company).status_code == 403
    assert client.get("/api/v1/credit/warnings", headers=bearer(tokens["citizen"])).status_code == 403
    ran = client.post("/api/v1/credit/warnings/run", json={"as_of": DEMO_AS_OF.isoformat()}, headers=officer)
    assert ran.status_code == 200 and ran.json()["raised"] >= 2, ran.text
    assert client.post("/api/v1/credit/warnings/run", json={"as_of": DEMO_AS_OF.isoformat()}, headers=bearer(tokens["supervisor"])).json()["raised"] == 0

    own = client.get("/api/v1/credit/warnings", headers=company).json()
    assert own and {w["company_uscc"] for w in own} == {uscc}
    target = next(w for w in own if w["kind"] == "gps_offline")
    assert client.get("/api/v1/credit/warnings?state=bogus", headers=officer).status_code == 422
    assert client.post(f"/api/v1/credit/warnings/{target['id']}/close", json={"note": "x"}, headers=company).status_code == 403
    assert client.post(f"/api/v1/credit/warnings/{target['id']}/close", json={"note": ""}, headers=officer).status_code == 422
    assert client.post(f"/api/v1/credit/warnings/{target['id']}/acknowledge", headers=company).json()["state"] == "acknowledged"
    closed = client.post(f"/api/v1/credit/warnings/{target['id']}/close", json={"note": "终端已更换"}, headers=officer)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert client.post(f"/api/v1/credit/warnings/{target['id']}/acknowledge", headers=company).status_code == 409
    assert client.post("/api/v1/credit/warnings/2147483647/acknowledge", headers=officer).status_code == 404

    page = client.get("/credit/warnings", headers=company)
    assert page.status_code == 200 and "主动预警" in page.text and "确认知悉" in page.text
    assert next(w for w in own if w["kind"] == "inspection_overdue")["reason_zh"] in page.text
    staff = client.get("/credit/warnings?sort=kind", headers=officer)
    assert staff.status_code == 200 and "关闭说明" in staff.text and target["reason_zh"] not in staff.text  # closed: not in the open list
    assert client.get("/credit/warnings?state=closed", headers=officer).text.count(f'id="warning-{target["id"]}"') == 1
    open_one = next(w for w in own if w["kind"] == "inspection_overdue")
    refused = client.post(f"/credit/warnings/{open_one['id']}/close", data={"note": ""}, headers=officer)
    assert refused.status_code == 422 and "须填写说明" in refused.text
    done = client.post(f"/credit/warnings/{open_one['id']}/close", data={"note": "已检验"}, headers=officer, follow_redirects=False)
    assert done.status_code == 303
    late = client.post(f"/credit/warnings/{open_one['id']}/acknowledge", headers=company)
    assert late.status_code == 409 and "已关闭" in late.text
    assert client.get("/credit/warnings", headers=bearer(tokens["citizen"]), follow_redirects=False).status_code == 403
