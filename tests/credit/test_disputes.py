"""异议申诉 end to end: a company disputes a violation, crash or inspection attributed to it, an officer or a
legal reviewer decides with a note, an upheld dispute takes the record out of the scoring (`upheld_records`);
refusals name their field; real logins through the API on both stores; the page renders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import bearer
from trafficgov.audit.store import AuditLogRow
from trafficgov.credit import disputes
from trafficgov.credit import service as credit
from trafficgov.credit.store import CreditAccidentPartyRow, CreditAccidentRow, CreditInspectionRow
from trafficgov.registry.store import VehicleRow

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def records(loaded, accounts) -> dict[str, str]:
    """Records on the company's own vehicle, on another company's or a citizen's vehicle, and an inspection of the company."""
    uscc = accounts["company"]["uscc"]
    with loaded.transaction(write=True) as session:
        own = session.scalars(select(VehicleRow).where((VehicleRow.operator_uscc == uscc) | (VehicleRow.owner_id == uscc)).order_by(VehicleRow.id)).first()
        other = session.scalars(select(VehicleRow).where(VehicleRow.owner_id != uscc, VehicleRow.operator_uscc.is_(None)).order_by(VehicleRow.id)).first()
        assert own is not None and other is not None
        for violation_id, vehicle in (("V-OWN", own), ("V-OTHER", other)):
            credit.record_decision(session, violation_id=violation_id, occurred_at=AT, decided_at=AT + timedelta(days=3), behavior="speeding",
                                   plate_number=vehicle.plate_number, plate_type=vehicle.plate_type, driver_id=None, region="370102",
                                   outcome="fine", fine_yuan=200, points=3)
        session.add(CreditAccidentRow(accident_id="A-OWN", occurred_at=AT, reported_at=AT, severity="injury", injuries=1, deaths=0, updated_at=AT))
        session.flush()
        session.add_all([
            CreditAccidentPartyRow(accident_id="A-OWN", party_no=1, plate_number=other.plate_number, plate_type=other.plate_type, liability="main", vehicle_known=True),
            CreditAccidentPartyRow(accident_id="A-OWN", party_no=2, plate_number=own.plate_number, plate_type=own.plate_type, liability="minor", vehicle_known=True),
        ])
        session.add(CreditInspectionRow(inspection_id="I-OWN", date=date(2026, 3, 5), kind="company_audit", uscc=uscc, out_of_service=False, updated_at=AT))
        session.add(CreditInspectionRow(inspection_id="I-OTHER", date=date(2026, 3, 5), kind="roadside", plate_number=other.plate_number,
                                        plate_type=other.plate_type, out_of_service=True, updated_at=AT))
    return {"own_plate": own.plate_number}


def file(client, token: str, **body):
    return client.post("/api/v1/credit/disputes", json={"ground": "wrong_vehicle", "text": "该时段车辆停放于本单位停车场，有监控录像", **body}, headers=bearer(token))


def test_a_company_disputes_its_records_and_an_upheld_dispute_leaves_the_scoring(client, tokens, loaded, records):
    company = tokens["company"]
    # records not attributed to the company (another's vehicle, or unknown) are refused naming record_id
    for kind, record_id in (("violation", "V-OTHER"), ("violation", "V-NONE"), ("inspection", "I-OTHER"), ("accident", "A-NONE")):
        refused = file(client, company, record_kind=kind, record_id=record_id)
        assert refused.status_code == 422 and refused.json()["detail"]["field"] == "record_id", (kind, record_id, refused.text)
    no_text = file(client, company, record_kind="violation", record_id="V-OWN", text="  ")
    assert no_text.status_code == 422 and no_text.json()["detail"]["field"] == "text"
    assert file(client, tokens["officer"], record_kind="violation", record_id="V-OWN").status_code == 403  # companies only

    filed = file(client, company, record_kind="violation", record_id="V-OWN")
    assert filed.status_code == 201, filed.text
    dispute = filed.json()
    assert dispute["state"] == "open" and records["own_plate"] in dispute["record_summary_zh"]
    assert file(client, company, record_kind="violation", record_id="V-OWN").status_code == 409  # one open dispute per record
    accident = file(client, company, record_kind="accident", record_id="A-OWN", ground="not_preventable", text="对方车辆逆行，本方无法避让")
    inspection = file(client, company, record_kind="inspection", record_id="I-OWN", ground="other", text="检查记录重复录入")
    assert accident.status_code == 201 and inspection.status_code == 201

    # who decides: an officer or a legal reviewer, with a note; not a supervisor, not twice
    url = f"/api/v1/credit/disputes/{dispute['id']}/decision"
    assert client.post(url, json={"upheld": True, "note": "x"}, headers=bearer(tokens["supervisor"])).status_code == 403
    assert client.post(url, json={"upheld": True, "note": "x"}, headers=bearer(company)).status_code == 403
    no_note = client.post(url, json={"upheld": True, "note": " "}, headers=bearer(tokens["legal_reviewer"]))
    assert no_note.status_code == 422 and no_note.json()["detail"]["field"] == "note"
    upheld = client.post(url, json={"upheld": True, "note": "经调取监控，抓拍车辆系套牌车"}, headers=bearer(tokens["legal_reviewer"]))
    assert upheld.status_code == 200 and upheld.json()["state"] == "upheld" and upheld.json()["decided_by"] == "legal_reviewer"
    assert client.post(url, json={"upheld": False, "note": "再议"}, headers=bearer(tokens["officer"])).status_code == 409
    rejected = client.post(f"/api/v1/credit/disputes/{accident.json()['id']}/decision", json={"upheld": False, "note": "本方未保持安全车速"}, headers=bearer(tokens["officer"]))
    assert rejected.json()["state"] == "rejected"
    assert client.post("/api/v1/credit/disputes/99999/decision", json={"upheld": True, "note": "x"}, headers=bearer(tokens["officer"])).status_code == 404
    # an upheld record is not disputed again; a rejected one may be, with new facts
    assert file(client, company, record_kind="violation", record_id="V-OWN").status_code == 409
    assert file(client, company, record_kind="accident", record_id="A-OWN", text="补充行车记录仪视频").status_code == 201

    # the outcome is shown to the company; staff see all; others may not read
    mine = client.get("/api/v1/credit/disputes", headers=bearer(company)).json()
    assert {(d["record_id"], d["state"]) for d in mine} == {("V-OWN", "upheld"), ("A-OWN", "rejected"), ("A-OWN", "open"), ("I-OWN", "open")}
    assert [d["record_id"] for d in client.get("/api/v1/credit/disputes", params={"state": "upheld"}, headers=bearer(tokens["officer"])).json()] == ["V-OWN"]
    assert client.get("/api/v1/credit/disputes", headers=bearer(tokens["citizen"])).status_code == 403
    assert client.get("/api/v1/credit/disputes", params={"state": "closed"}, headers=bearer(company)).json()["detail"]["field"] == "state"

    with loaded.transaction() as session:
        assert disputes.upheld_records(session) == {"violation": {"V-OWN"}, "accident": set(), "inspection": set()}
        audited = session.scalars(select(AuditLogRow.action).where(AuditLogRow.entity == "credit_disputes").order_by(AuditLogRow.seq)).all()
    assert audited == ["create", "create", "create", "decide", "decide", "create"]


def test_nothing_upheld_takes_nothing_out(loaded):
    with loaded.transaction() as session:
        assert disputes.upheld_records(session) == {"violation": set(), "accident": set(), "inspection": set()}


def test_disputes_page_files_and_decides(client, tokens, loaded, records):
    page = client.get("/credit/disputes", headers=bearer(tokens["company"]))
    assert page.status_code == 200 and "提出异议" in page.text
    bad = client.post("/credit/disputes", data={"record_kind": "violation", "record_id": "V-OTHER", "ground": "wrong_vehicle", "text": "非本单位车辆"}, headers=bearer(tokens["company"]))
    assert bad.status_code == 422 and "V-OTHER" in bad.text
    ok = client.post("/credit/disputes", data={"record_kind": "violation", "record_id": "V-OWN", "ground": "wrong_vehicle", "text": "非本单位车辆"},
                     headers=bearer(tokens["company"]), follow_redirects=False)
    assert ok.status_code == 303
    officer = client.get("/credit/disputes", headers=bearer(tokens["officer"]))
    assert officer.status_code == 200 and "V-OWN" in officer.text and 'value="uphold"' in officer.text and "提交异议" not in officer.text
    with loaded.transaction() as session:
        dispute_id = session.scalar(select(func.max(disputes.CreditDisputeRow.id)))
    decided = client.post(f"/credit/disputes/{dispute_id}/decision", data={"decision": "uphold", "note": "核实为套牌"}, headers=bearer(tokens["officer"]), follow_redirects=False)
    assert decided.status_code == 303
    shown = client.get("/credit/disputes", headers=bearer(tokens["company"]))
    assert disputes.STATE_LABELS_ZH["upheld"] in shown.text and "核实为套牌" in shown.text
    assert client.get("/credit/disputes", headers=bearer(tokens["clerk"])).status_code == 403
