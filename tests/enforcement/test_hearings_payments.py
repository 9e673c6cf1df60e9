"""The rest of the penalty procedure: hearings (APL Arts. 63-65), payments with the late surcharge (APL Arts.
67, 72), vehicles with five or more unhandled records (ProcReg Art. 54) and service of the decision by
public notice (ProcReg Arts. 55-56).

Golden tables for every period against the dated holiday calendar: APL Art. 85 and ProcReg Art. 81
count 七日 in working days; 三十日 and 六十日 are calendar days. The stored flows run on SQLite and
PostgreSQL with time as an argument, so they do not depend on today's date."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from conftest import bearer
from trafficgov.accounts.service import get_user
from trafficgov.audit.store import AuditLogRow
from trafficgov.enforcement import procedure as proc
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement import service
from trafficgov.enforcement.store import CaseRow, PaymentRow
from trafficgov.errors import Conflict, FieldError
from trafficgov.registry.store import VehicleRow

V = proc.procedure_rules().at(date(2026, 6, 1))
BJ = timezone(timedelta(hours=8))
SHA = "c" * 64


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=BJ)


# ---------------------------------------------------------------- golden periods

# notified on -> earliest hearing day: 7 working days after the notice (APL Art. 64 (二), Art. 85)
HEARING_NOTICE_GOLDEN = [
    (date(2026, 7, 1), date(2026, 7, 10)),    # Wed -> 2,3,6,7,8,9,10: a week and two days later
    (date(2026, 7, 3), date(2026, 7, 14)),    # Fri: two weekends inside
    (date(2026, 6, 15), date(2026, 6, 25)),   # 端午 2026-06-19 is no working day
    (date(2026, 9, 25), date(2026, 10, 12)),  # 国庆 2026-10-01..07 off; Sat 10-10 is a 调休 working day
    (date(2026, 9, 18), date(2026, 9, 29)),   # Sun 09-20 is a 调休 working day, 09-25 off
    (date(2026, 2, 13), date(2026, 3, 2)),    # 春节: Sat 02-14 worked, 02-15..23 off, Sat 02-28 worked
]


@pytest.mark.parametrize(("notified", "earliest"), HEARING_NOTICE_GOLDEN)
def test_hearing_is_notified_seven_working_days_before(notified, earliest):
    assert proc.hearing_earliest_day(notified, V) == earliest
    # seven calendar days would be shorter in every case: the periods are working days
    assert notified + timedelta(days=7) < earliest


# ProcReg Art. 54: the 7-day public notice (working days, Art. 81); decision from the next day
PUBLIC_NOTICE_GOLDEN = [
    (date(2026, 8, 10), date(2026, 8, 19)),   # Mon -> 11..14, 17..19
    (date(2026, 9, 21), date(2026, 10, 8)),   # across 中秋 and 国庆
    (date(2026, 12, 21), date(2026, 12, 30)),
    (date(2026, 4, 30), date(2026, 5, 13)),   # 劳动节 05-01..05 off, Sat 05-09 worked
]


@pytest.mark.parametrize(("published", "until"), PUBLIC_NOTICE_GOLDEN)
def test_art54_public_notice_lasts_seven_working_days(published, until):
    assert proc.repeat_public_notice_end(published, V) == until


# ProcReg Art. 54: the public notice may follow when 30 (calendar) days after the notice have passed
NOTICE_WAIT_GOLDEN = [
    (date(2026, 7, 10), date(2026, 8, 10)),   # 30th day 08-09, public notice from 08-10
    (date(2026, 1, 31), date(2026, 3, 3)),    # February has 28 days
    (date(2026, 9, 25), date(2026, 10, 26)),  # holidays do not lengthen calendar days
    (date(2027, 12, 15), date(2028, 1, 15)),  # outside the holiday calendar: calendar days need none
]


@pytest.mark.parametrize(("notified", "first"), NOTICE_WAIT_GOLDEN)
def test_art54_public_notice_waits_thirty_calendar_days(notified, first):
    assert proc.repeat_public_notice_from(notified, V) == first


# ProcReg Arts. 55-56: service by public notice, 60 calendar days, the end is the day of service
SERVICE_GOLDEN = [
    (date(2026, 7, 2), date(2026, 8, 31)),
    (date(2026, 9, 1), date(2026, 10, 31)),   # 国庆 inside: calendar days all the same
    (date(2026, 12, 15), date(2027, 2, 13)),
    (date(2027, 12, 31), date(2028, 2, 29)),  # leap year
]


@pytest.mark.parametrize(("published", "served"), SERVICE_GOLDEN)
def test_art55_service_by_public_notice_is_served_after_sixty_days(published, served):
    assert proc.service_by_public_notice(published, V) == served
    assert proc.pay_by(served, V) == served + timedelta(days=15)


def _rec(case_id, since, plate="鲁A12345", status="proposed", kind="02"):
    return proc.UnhandledRecord(case_id, plate, kind, status, since)


# records, as_of, expected vehicles — 五起以上 includes five (ProcReg Art. 81); 30 calendar days from the oldest
REPEAT_GOLDEN = [
    ("four records are not enough", [_rec(i, date(2026, 6, 1)) for i in range(4)], date(2026, 9, 1), []),
    ("five records, 30th day: not yet", [_rec(i, date(2026, 6, 1)) for i in range(5)], date(2026, 7, 1), []),
    ("five records, 31st day", [_rec(i, date(2026, 6, 1)) for i in range(5)], date(2026, 7, 2), [("鲁A12345", (0, 1, 2, 3, 4), date(2026, 7, 2))]),
    ("the oldest counts", [_rec(0, date(2026, 6, 1))] + [_rec(i, date(2026, 6, 28)) for i in range(1, 5)], date(2026, 7, 2), [("鲁A12345", (0, 1, 2, 3, 4), date(2026, 7, 2))]),
    ("issued cases are handled", [_rec(i, date(2026, 6, 1)) for i in range(4)] + [_rec(9, date(2026, 6, 1), status="issued")], date(2026, 9, 1), []),
    ("pending approval is unhandled", [_rec(i, date(2026, 6, 1)) for i in range(4)] + [_rec(9, date(2026, 6, 1), status="pending_approval")], date(2026, 9, 1),
     [("鲁A12345", (0, 1, 2, 3, 9), date(2026, 7, 2))]),
    ("plate type separates vehicles", [_rec(i, date(2026, 6, 1)) for i in range(4)] + [_rec(9, date(2026, 6, 1), kind="01")], date(2026, 9, 1), []),
    ("two plates", [_rec(i, date(2026, 6, 1)) for i in range(5)] + [_rec(10 + i, date(2026, 5, 1), plate="鲁B00001") for i in range(6)], date(2026, 7, 2),
     [("鲁A12345", (0, 1, 2, 3, 4), date(2026, 7, 2)), ("鲁B00001", (10, 11, 12, 13, 14, 15), date(2026, 6, 1))]),
]


@pytest.mark.parametrize(("name", "records", "as_of", "expected"), REPEAT_GOLDEN, ids=[g[0] for g in REPEAT_GOLDEN])
def test_art54_finds_vehicles_with_five_unhandled_records_after_thirty_days(name, records, as_of, expected):
    found = proc.repeat_vehicles(records, as_of, V)
    assert [(v.plate_number, v.case_ids, v.overdue_since) for v in found] == expected


@pytest.mark.parametrize(
    ("served", "due", "paid", "on", "status"),
    [
        (None, None, False, date(2026, 7, 1), "not_served"),
        (date(2026, 8, 31), date(2026, 9, 15), False, date(2026, 8, 1), "not_served"),  # inside the 60-day public notice
        (date(2026, 7, 1), date(2026, 7, 16), False, date(2026, 7, 16), "unpaid"),      # the last day to pay
        (date(2026, 7, 1), date(2026, 7, 16), False, date(2026, 7, 17), "overdue"),
        (date(2026, 7, 1), date(2026, 7, 16), True, date(2026, 9, 1), "paid"),
    ],
)
def test_payment_status(served, due, paid, on, status):
    assert proc.payment_status(fine_yuan=500, served_on=served, pay_by_day=due, paid=paid, on=on) == status
    assert proc.payment_status(fine_yuan=None, served_on=served, pay_by_day=due, paid=paid, on=on) == "none"


def test_presiding_officer_must_not_have_investigated():
    assert proc.presiding_conflict("officer01", ["officer01", None])
    assert proc.presiding_conflict(" Officer01 ", ["officer01"])
    assert not proc.presiding_conflict("legal01", ["officer01", None, "officer02"])


def test_rules_name_the_basis_of_every_new_period():
    for key in ("hearing_held", "repeat", "service"):
        assert V.legal_basis[key]
    assert (V.hearing_notice_days.days, V.hearing_notice_days.working) == (7, True)
    assert (V.repeat_public_notice_days.days, V.repeat_public_notice_days.working) == (7, True)
    assert not V.repeat_unhandled_days.working and not V.repeat_notice_wait_days.working and not V.service_public_notice_days.working
    raw = V.model_dump(mode="json")
    del raw["hearing_notice_days"]
    with pytest.raises(ValueError, match="hearing_notice_days"):
        proc.parse_rules({"versions": [raw]})


# ---------------------------------------------------------------- stored flows (SQLite and PostgreSQL)


@pytest.fixture
def camera(loaded, demo_dir: Path, admin_actor) -> dict:
    service.load_demo_devices(loaded, admin_actor, demo_dir / "cameras.csv")
    rows = list(csv.DictReader((demo_dir / "cameras.csv").open(encoding="utf-8")))
    return next(r for r in rows if r["kind"] != "video_patrol" and r["certified_until"] >= "2026-07-01" and r["location_published_at"] and r["location_published_at"] < "2026-05-01")


@pytest.fixture
def actors(loaded, accounts):
    return {role: get_user(loaded, account["username"]) for role, account in accounts.items()}


def _new_case(client, tokens, camera, loaded, accounts, capture_id: str, when: str, *, fast: bool = False) -> dict:
    """A confirmed camera case of the citizen's car: running a red light (200 yuan proposed, statutory 20–200), or
    with `fast` 100 km/h where 60 is the limit (RTSL Art. 99: 200–2000 yuan; 500 proposed), where a large fine is lawful."""
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()
    record = {
        "capture_id": capture_id, "source": "fixed_camera", "device_id": camera["camera_id"], "captured_at": when,
        "place": {"region": camera["district"], "road": "经十路"}, "plate_number": vehicle.plate_number, "plate_type": vehicle.plate_type,
        "behavior": "red_light", "evidence": [{"uri": f"s3://evidence/{capture_id}.jpg", "sha256": SHA}],
    }
    if fast:
        record.update(behavior="speeding", measurements={"speed_kmh": 100})
        record["place"].update(road_type="ordinary", speed_limit_kmh=60)
    assert client.post("/api/v1/captures", json=[record], headers=bearer(tokens["admin"])).json()["accepted"] == 1
    confirmed = client.post(f"/api/v1/review/{capture_id}/confirm", headers=bearer(tokens["officer"]))
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()


@pytest.fixture
def case(client, tokens, camera, loaded, accounts) -> dict:
    return _new_case(client, tokens, camera, loaded, accounts, "hp-1", "2026-06-20T08:00:00+08:00")


@pytest.fixture
def fast_case(client, tokens, camera, loaded, accounts) -> dict:
    return _new_case(client, tokens, camera, loaded, accounts, "hp-fast", "2026-06-20T08:00:00+08:00", fast=True)


def _deviate(db, officer, case_id: int, fine: int, when: datetime) -> CaseRow:
    view = service.issue_decision(
        db, officer, case_id,
        service.IssueRequest(version=_version(db, case_id), deviation=service.Deviation(outcome="fine", fine_yuan=fine), reason="多次违法且拒不改正，从重处罚"),
        now=when,
    )
    assert view.status == "pending_approval"
    return view


def _version(db, case_id: int) -> int:
    with db.transaction() as session:
        return session.get(CaseRow, case_id).version


def _approve(db, legal, case_id: int, when: datetime):
    return service.decide_deviation(db, legal, case_id, service.ApprovalRequest(version=_version(db, case_id), approve=True, note="同意"), now=when)


def _audits(db, entity: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AuditLogRow).where(AuditLogRow.entity == entity)).scalar_one()


def test_hearing_flow_notice_presiding_minutes_then_decision_on_the_minutes(loaded, actors, fast_case, accounts):
    case = fast_case
    db, officer, legal, citizen = loaded, actors["officer"], actors["legal_reviewer"], actors["citizen"]
    _deviate(db, officer, case["id"], 2000, at("2026-07-01", 9))
    noticed = ps.serve_notice(db, officer, case["id"], ps.NoticeRequest(), now=at("2026-07-01"))
    assert noticed.hearing_offered and noticed.notice.statement_due == date(2026, 7, 8)
    asked = ps.submit(db, citizen, case["id"], ps.SubmissionRequest(kind="hearing_request", text="要求听证"), now=at("2026-07-02"))
    request_id = asked.submissions[0].id

    def schedule(**kw):
        body = {"notified_on": date(2026, 7, 3), "starts_at": at("2026-07-14", 9), "place": "支队听证室", "presiding": accounts["legal_reviewer"]["username"], **kw}
        return ps.schedule_hearing(db, officer, request_id, ps.HearingRequest(**body), now=at("2026-07-03"))

    with pytest.raises(FieldError) as investigator:
        schedule(presiding=accounts["officer"]["username"])  # the officer confirmed the capture and asked for the penalty
    assert investigator.value.field == "presiding" and "非本案调查人员" in investigator.value.zh
    with pytest.raises(FieldError) as stranger:
        schedule(presiding="nobody-here")
    assert stranger.value.field == "presiding"
    with pytest.raises(FieldError) as early:
        schedule(starts_at=at("2026-07-13", 15))  # 7 working days after Fri 07-03 is Tue 07-14
    assert early.value.field == "starts_at" and "2026-07-14" in early.value.zh
    with pytest.raises(FieldError) as closed:
        schedule(public=False)
    assert closed.value.field == "secrecy_reason"
    with pytest.raises(FieldError):
        schedule(notified_on=date(2026, 7, 4))  # after "today"
    hearing = schedule(public=False, secrecy_reason="privacy", secrecy_note="涉及当事人就医信息")
    assert (hearing.earliest_day, hearing.public, hearing.outcome) == (date(2026, 7, 14), False, None)
    assert _audits(db, "enforcement_hearings") == 1

    # the request is answered by the scheduling; the decision still waits for the hearing (APL Art. 65)
    with pytest.raises(FieldError) as waiting:
        _approve(db, legal, case["id"], at("2026-07-10"))
    assert waiting.value.field == "hearing"
    with pytest.raises(FieldError) as not_yet:
        ps.close_hearing(db, officer, hearing.id, ps.HearingOutcomeRequest(outcome="held", minutes="当事人陈述了闯红灯时的情况，调查人员出示了证据。", party_signed=True), now=at("2026-07-13"))
    assert not_yet.value.field == "outcome"
    for bad, field in (
        ({"minutes": ""}, "minutes"),
        ({"minutes": "当事人陈述了闯红灯时的情况，调查人员出示了证据。"}, "party_signed"),
        ({"minutes": "当事人陈述了闯红灯时的情况，调查人员出示了证据。", "party_signed": False}, "refusal_note"),
    ):
        with pytest.raises(FieldError) as refused:
            ps.close_hearing(db, officer, hearing.id, ps.HearingOutcomeRequest(outcome="held", **bad), now=at("2026-07-14", 16))
        assert refused.value.field == field
    held = ps.close_hearing(
        db, officer, hearing.id,
        ps.HearingOutcomeRequest(outcome="held", minutes="当事人陈述了闯红灯时的情况，调查人员出示了证据。", party_signed=False, refusal_note="当事人拒绝签字，主持人注明"),
        now=at("2026-07-14", 16),
    )
    assert held.outcome == "held" and held.party_signed is False and held.minutes
    with pytest.raises(Conflict):
        ps.close_hearing(db, officer, hearing.id, ps.HearingOutcomeRequest(outcome="withdrawn"), now=at("2026-07-15"))
    issued = _approve(db, legal, case["id"], at("2026-07-15"))
    assert issued.status == "issued"
    assert _audits(db, "enforcement_hearings") == 2
    view = ps.get_procedure(db, citizen, case["id"], now=at("2026-07-16"))
    assert view.hearings[0].outcome_label == "已举行" and view.hearings[0].secrecy_label == "涉及个人隐私"


def test_absent_party_waives_the_hearing_and_a_withdrawal_closes_it(loaded, actors, fast_case, accounts):
    case = fast_case
    db, officer, legal, citizen = loaded, actors["officer"], actors["legal_reviewer"], actors["citizen"]
    _deviate(db, officer, case["id"], 2000, at("2026-07-01", 9))
    ps.serve_notice(db, officer, case["id"], ps.NoticeRequest(), now=at("2026-07-01"))
    asked = ps.submit(db, citizen, case["id"], ps.SubmissionRequest(kind="hearing_request", text="要求听证"), now=at("2026-07-02"))
    body = ps.HearingRequest(notified_on=date(2026, 7, 2), starts_at=at("2026-07-13", 9), place="支队听证室", presiding=accounts["supervisor"]["username"])
    first = ps.schedule_hearing(db, officer, asked.submissions[0].id, body, now=at("2026-07-02"))
    # moved: the 7 days count again from the new notice
    moved = ps.schedule_hearing(db, officer, asked.submissions[0].id, body.model_copy(update={"notified_on": date(2026, 7, 6), "starts_at": at("2026-07-15", 9)}), now=at("2026-07-06"))
    assert moved.id == first.id and moved.earliest_day == date(2026, 7, 15)
    with pytest.raises(FieldError):
        ps.close_hearing(db, officer, moved.id, ps.HearingOutcomeRequest(outcome="absent"), now=at("2026-07-14"))
    absent = ps.close_hearing(db, officer, moved.id, ps.HearingOutcomeRequest(outcome="absent"), now=at("2026-07-15", 11))
    assert absent.outcome_label.startswith("当事人无正当理由不到场")
    assert _approve(db, legal, case["id"], at("2026-07-16")).status == "issued"


def test_payment_covers_fine_and_surcharge_is_idempotent_by_receipt_and_lists_overdue(loaded, actors, case):
    db, officer, clerk = loaded, actors["officer"], actors["clerk"]
    issued = service.issue_decision(db, officer, case["id"], service.IssueRequest(version=case["version"]), now=at("2026-07-01"))
    assert issued.status == "issued"
    fine = Decimal(issued.decision["fine_yuan"])
    served = ps.serve_decision(db, officer, case["id"], ps.ServeRequest(served_on=date(2026, 7, 2)), now=at("2026-07-02"))
    assert served.payment.pay_by == date(2026, 7, 17) and served.payment.status == "unpaid"
    assert [p.case_id for p in ps.list_overdue_payments(db, officer, on=date(2026, 7, 17))] == []
    overdue = ps.list_overdue_payments(db, officer, on=date(2026, 7, 20))
    assert [(p.case_id, p.days_late, p.surcharge_yuan) for p in overdue] == [(case["id"], 3, fine * 9 / 100)]

    owed = fine + fine * 6 / 100  # two days late on 07-19
    with pytest.raises(FieldError) as short:
        ps.record_payment(db, clerk, case["id"], ps.PaymentRequest(receipt_number="R-0001", amount_yuan=fine, paid_on=date(2026, 7, 19), channel="bank"), now=at("2026-07-20"))
    assert short.value.field == "amount_yuan" and "分期" in short.value.zh
    with pytest.raises(FieldError):
        ps.record_payment(db, clerk, case["id"], ps.PaymentRequest(receipt_number="R-0001", amount_yuan=owed + 1, paid_on=date(2026, 7, 19), channel="bank"), now=at("2026-07-20"))
    with pytest.raises(FieldError) as future:
        ps.record_payment(db, clerk, case["id"], ps.PaymentRequest(receipt_number="R-0001", amount_yuan=owed, paid_on=date(2026, 7, 21), channel="bank"), now=at("2026-07-20"))
    assert future.value.field == "paid_on"
    request = ps.PaymentRequest(receipt_number="R-0001", amount_yuan=owed, paid_on=date(2026, 7, 19), channel="bank")
    paid = ps.record_payment(db, clerk, case["id"], request, now=at("2026-07-20"))
    assert paid.status == "paid" and paid.paid.days_late == 2 and paid.paid.surcharge_yuan == fine * 6 / 100
    again = ps.record_payment(db, clerk, case["id"], request, now=at("2026-07-21"))
    assert again.paid.receipt_number == "R-0001"
    with loaded.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PaymentRow)) == 1
    assert _audits(db, "enforcement_payments") == 1
    with pytest.raises(Conflict):
        ps.record_payment(db, clerk, case["id"], request.model_copy(update={"channel": "online"}), now=at("2026-07-21"))
    with pytest.raises(Conflict):
        ps.record_payment(db, clerk, case["id"], request.model_copy(update={"receipt_number": "R-0002"}), now=at("2026-07-21"))
    assert ps.list_overdue_payments(db, officer, on=date(2026, 7, 20)) == []


def test_art55_service_by_public_notice_sets_the_day_of_service(loaded, actors, case):
    db, officer = loaded, actors["officer"]
    service.issue_decision(db, officer, case["id"], service.IssueRequest(version=case["version"]), now=at("2026-07-01"))
    with pytest.raises(FieldError):
        ps.serve_by_public_notice(db, officer, case["id"], ps.ServiceNoticeRequest(failed_channel="mail", failure_note="查无此人，邮件退回", published_on=date(2026, 6, 30)), now=at("2026-07-02"))
    view = ps.serve_by_public_notice(db, officer, case["id"], ps.ServiceNoticeRequest(failed_channel="mail", failure_note="查无此人，邮件退回"), now=at("2026-07-02"))
    assert view.service_notice.served_on == date(2026, 8, 31) and view.payment.served_on == date(2026, 8, 31) and view.payment.pay_by == date(2026, 9, 15)
    assert ps.get_procedure(db, officer, case["id"], now=at("2026-08-01")).payment.status == "not_served"
    assert ps.get_procedure(db, officer, case["id"], now=at("2026-09-16")).payment.status == "overdue"
    with pytest.raises(Conflict):
        ps.serve_decision(db, officer, case["id"], ps.ServeRequest(served_on=date(2026, 7, 3)), now=at("2026-07-03"))
    with pytest.raises(Conflict):
        ps.serve_by_public_notice(db, officer, case["id"], ps.ServiceNoticeRequest(failed_channel="electronic", failure_note="短信发送失败"), now=at("2026-07-03"))
    assert _audits(db, "enforcement_service_notices") == 1


def test_art54_notice_then_public_notice_then_the_decision_may_be_made(client, tokens, loaded, actors, camera, accounts):
    db, officer, legal = loaded, actors["officer"], actors["legal_reviewer"]
    cases = [_new_case(client, tokens, camera, loaded, accounts, f"rep-{i}", f"2026-06-0{i}T08:00:00+08:00", fast=i == 1) for i in range(1, 6)]
    ids = [c["id"] for c in cases]
    with loaded.transaction(write=True) as session:  # entered on 2026-06-06 (the tests run later than that)
        session.execute(update(CaseRow).where(CaseRow.id.in_(ids)).values(entered_at=at("2026-06-06", 9), notified_at=None))
    plate = (cases[0]["plate_number"], cases[0]["plate_type"])
    assert ps.list_repeat_vehicles(db, officer, on=date(2026, 7, 6)) == []
    found = ps.list_repeat_vehicles(db, officer, on=date(2026, 7, 7))
    assert [(v.plate_number, v.case_ids, v.notice_step) for v in found] == [(plate[0], ids, "none")]

    general = ids[0]
    _deviate(db, officer, general, 800, at("2026-07-08", 9))  # a general-procedure case among them
    request = ps.VehicleNoticeRequest(plate_number=plate[0], plate_type=plate[1], channel="sms")
    with pytest.raises(FieldError):
        ps.record_vehicle_notice(db, officer, request, now=at("2026-07-06"))
    notice = ps.record_vehicle_notice(db, officer, request, now=at("2026-07-10"))
    assert notice.case_ids == ids and notice.public_from == date(2026, 8, 10) and "罚款800元" in notice.text_zh
    with pytest.raises(Conflict):
        ps.record_vehicle_notice(db, officer, request, now=at("2026-07-11"))
    with pytest.raises(FieldError) as early:
        ps.publish_vehicle_notice(db, officer, notice.id, ps.PublishRequest(), now=at("2026-08-09"))
    assert early.value.field == "published_on"
    with pytest.raises(FieldError):  # no notice served on the party, and no public notice yet
        _approve(db, legal, general, at("2026-08-09"))
    published = ps.publish_vehicle_notice(db, officer, notice.id, ps.PublishRequest(), now=at("2026-08-10"))
    assert (published.public_until, published.decide_from) == (date(2026, 8, 19), date(2026, 8, 20))
    assert "公告期为七日" in published.public_text_zh and accounts["citizen"]["id_number"] not in published.public_text_zh
    with pytest.raises(FieldError) as within:
        _approve(db, legal, general, at("2026-08-19", 16))
    assert within.value.field == "notice"
    assert _approve(db, legal, general, at("2026-08-20")).status == "issued"
    steps = ps.list_repeat_vehicles(db, officer, on=date(2026, 8, 20))
    assert steps == []  # four unhandled records left: below five
    assert _audits(db, "enforcement_vehicle_notices") == 2


def test_art54_public_notice_does_not_cover_a_heavier_decision(client, tokens, loaded, actors, camera, accounts):
    db, officer, legal = loaded, actors["officer"], actors["legal_reviewer"]
    cases = [_new_case(client, tokens, camera, loaded, accounts, f"rep-{i}", f"2026-06-0{i}T08:00:00+08:00", fast=i == 1) for i in range(1, 6)]
    ids = [c["id"] for c in cases]
    with loaded.transaction(write=True) as session:
        session.execute(update(CaseRow).where(CaseRow.id.in_(ids)).values(entered_at=at("2026-06-06", 9), notified_at=None))
    _deviate(db, officer, ids[0], 800, at("2026-07-08", 9))
    notice = ps.record_vehicle_notice(db, officer, ps.VehicleNoticeRequest(plate_number=cases[0]["plate_number"], plate_type=cases[0]["plate_type"], channel="mail"), now=at("2026-07-10"))
    ps.publish_vehicle_notice(db, officer, notice.id, ps.PublishRequest(), now=at("2026-08-10"))
    service.decide_deviation(db, legal, ids[0], service.ApprovalRequest(version=_version(db, ids[0]), approve=False, note="请重新裁量"), now=at("2026-08-12"))
    _deviate(db, officer, ids[0], 1500, at("2026-08-13"))
    with pytest.raises(FieldError) as heavier:
        _approve(db, legal, ids[0], at("2026-08-25"))
    assert heavier.value.field == "notice"


# ---------------------------------------------------------------- API and pages


def test_api_roles_payment_by_clerk_and_party_sees_it(client, tokens, case):
    officer, clerk, citizen, company, legal = (bearer(tokens[r]) for r in ("officer", "clerk", "citizen", "company", "legal_reviewer"))
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer)
    assert issued.status_code == 200, issued.text
    fine = issued.json()["decision"]["fine_yuan"]
    today = datetime.fromisoformat(issued.json()["issued_at"]).astimezone(BJ).date().isoformat()
    body = {"receipt_number": "API-0001", "amount_yuan": str(fine), "paid_on": today, "channel": "online"}
    assert client.post(f"/api/v1/cases/{case['id']}/payments", json=body, headers=citizen).status_code == 403
    assert client.post(f"/api/v1/cases/{case['id']}/payments", json={**body, "amount_yuan": "1.00"}, headers=clerk).json()["detail"]["field"] == "amount_yuan"
    made = client.post(f"/api/v1/cases/{case['id']}/payments", json=body, headers=clerk)
    assert made.status_code == 200, made.text
    assert made.json()["status"] == "paid"
    assert client.post(f"/api/v1/cases/{case['id']}/payments", json=body, headers=clerk).json()["paid"]["receipt_number"] == "API-0001"
    assert client.post(f"/api/v1/cases/{case['id']}/payments", json={**body, "receipt_number": "API-0002"}, headers=officer).status_code == 409
    mine = client.get(f"/api/v1/cases/{case['id']}/procedure", headers=citizen).json()
    assert mine["payment"]["status"] == "paid" and mine["payment"]["paid"]["channel_label"].startswith("网上")
    assert client.get(f"/api/v1/cases/{case['id']}/procedure", headers=company).status_code == 404
    assert client.get("/api/v1/payments/overdue", headers=legal).status_code == 200
    assert client.get("/api/v1/payments/overdue", headers=citizen).status_code == 403
    assert client.get("/api/v1/repeat-vehicles", headers=clerk).json() == []
    assert client.post("/api/v1/vehicle-notices", json={"plate_number": case["plate_number"], "plate_type": case["plate_type"], "channel": "app"}, headers=legal).status_code == 403
    refused = client.post("/api/v1/vehicle-notices", json={"plate_number": case["plate_number"], "plate_type": case["plate_type"], "channel": "app"}, headers=clerk)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "plate_number"
    assert client.post("/api/v1/submissions/1/hearing", json={}, headers=citizen).status_code == 403
    assert client.get("/api/v1/hearings", headers=legal).json() == []


def _log_in(client, account: dict) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": account["username"], "password": account["password"]}).status_code == 200


def test_pages_hearing_payment_and_lists(client, tokens, accounts, case):
    officer = bearer(tokens["officer"])
    client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer)
    _log_in(client, accounts["clerk"])
    page = client.get(f"/enforcement/cases/{case['id']}/procedure")
    assert page.status_code == 200 and "登记缴款" in page.text and "公告送达" in page.text
    today = datetime.now(BJ).date().isoformat()
    short = client.post(f"/enforcement/cases/{case['id']}/payments", data={"receipt_number": "WIN-1", "amount_yuan": "1", "paid_on": today, "channel": "window"})
    assert short.status_code == 422 and "不足" in short.text
    fine = client.get(f"/api/v1/cases/{case['id']}/payment", headers=officer).json()["total_yuan"]
    paid = client.post(f"/enforcement/cases/{case['id']}/payments", data={"receipt_number": "WIN-1", "amount_yuan": fine, "paid_on": today, "channel": "window"})
    assert paid.status_code == 200 and "已缴清" in paid.text and "WIN-1" in paid.text
    for path in ("/enforcement/payments/overdue", "/enforcement/repeat-vehicles"):
        assert client.get(path).status_code == 200
    assert client.get("/enforcement/hearings").status_code == 403
    _log_in(client, accounts["officer"])
    hearings = client.get("/enforcement/hearings")
    assert hearings.status_code == 200 and "没有待举行的听证" in hearings.text
    _log_in(client, accounts["citizen"])
    assert "已缴清" in client.get(f"/me/violations/{case['id']}").text
    assert client.get("/enforcement/payments/overdue").status_code == 403
