"""Penalty procedure: which procedure, the hearing threshold, pay-by and the late surcharge (pure, golden),
and the stored flow through the API on SQLite and PostgreSQL: notice -> statement -> answer -> decision
-> service -> payment; hearing requests; online objections with answers."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import bearer
from trafficgov.enforcement import procedure as proc
from trafficgov.registry.store import VehicleRow

V = proc.procedure_rules().at(date(2026, 6, 1))
SHA = "b" * 64

# fine, pay_by, paid on, days late, surcharge, capped — APL Art. 72 (一): 3% a day, never more than the fine
SURCHARGE_GOLDEN = [
    (200, date(2026, 1, 16), date(2026, 1, 10), 0, "0.00", False),   # early
    (200, date(2026, 1, 16), date(2026, 1, 16), 0, "0.00", False),   # on the last day
    (200, date(2026, 1, 16), date(2026, 1, 17), 1, "6.00", False),   # first day late
    (200, date(2026, 1, 16), date(2026, 1, 26), 10, "60.00", False),
    (200, date(2026, 1, 16), date(2026, 2, 18), 33, "198.00", False),  # 99%
    (200, date(2026, 1, 16), date(2026, 2, 19), 34, "200.00", True),   # 102% -> capped at the fine
    (200, date(2026, 1, 16), date(2027, 1, 16), 365, "200.00", True),
    (150, date(2026, 3, 1), date(2026, 3, 2), 1, "4.50", False),
    (50, date(2026, 3, 1), date(2026, 3, 4), 3, "4.50", False),
    (1999, date(2026, 3, 1), date(2026, 3, 2), 1, "59.97", False),
    (0, date(2026, 3, 1), date(2026, 4, 2), 32, "0.00", False),
]


@pytest.mark.parametrize(("fine", "due", "on", "days", "surcharge", "capped"), SURCHARGE_GOLDEN)
def test_late_surcharge_golden(fine, due, on, days, surcharge, capped):
    paid = proc.late_surcharge(fine, due, on)
    assert (paid.days_late, paid.surcharge_yuan, paid.capped) == (days, Decimal(surcharge), capped)
    assert paid.total_yuan == Decimal(fine) + Decimal(surcharge)
    assert paid.surcharge_yuan <= Decimal(fine)


def test_pay_by_is_fifteen_days_after_service_across_month_and_year_ends():
    assert proc.pay_by(date(2026, 6, 1), V) == date(2026, 6, 16)
    assert proc.pay_by(date(2026, 12, 20), V) == date(2027, 1, 4)
    assert proc.pay_by(date(2028, 2, 14), V) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("decision", "party", "procedure", "hearing"),
    [
        ({"outcome": "warning", "fine_yuan": None}, "person", "simple", False),
        ({"outcome": "fine", "fine_yuan": 200}, "person", "simple", False),  # ProcReg Art. 52: 200 is simple
        ({"outcome": "fine", "fine_yuan": 201}, "person", "general", False),
        ({"outcome": "fine", "fine_yuan": 1999}, "person", "general", False),
        ({"outcome": "fine", "fine_yuan": 2000}, "person", "general", True),  # 以上 includes the threshold
        ({"outcome": "fine", "fine_yuan": 2000}, "company", "general", False),
        ({"outcome": "fine", "fine_yuan": 10000}, "company", "general", True),
        ({"outcome": "fine_and_licence", "fine_yuan": 200, "licence_action": "suspend", "licence_months": 1}, "person", "general", False),
        ({"outcome": "fine_and_licence", "fine_yuan": 1000, "licence_action": "revoke"}, "person", "general", True),
    ],
)
def test_requirements_boundaries(decision, party, procedure, hearing):
    req = proc.requirements(decision, V, region="370102", party=party)
    assert (req.procedure, req.notice_required, req.hearing_offered) == (procedure, procedure == "general", hearing)
    if hearing:
        assert "行政处罚法 第六十三条" in req.legal_basis


def test_rules_data_validate_and_overlaps_are_refused():
    raw = {"versions": [V.model_dump(mode="json"), {**V.model_dump(mode="json"), "version_id": "x", "effective_from": "2024-01-01"}]}
    with pytest.raises(ValueError, match="overlap"):
        proc.parse_rules(raw)
    assert V.large_fine("999999", "person") == V.hearing_large_fine_yuan["default"].person


def test_heavier_than_the_notice():
    notified = {"fine_yuan": 500, "points": 3, "licence_action": "none"}
    assert not proc.heavier_than({"fine_yuan": 400, "points": 3}, notified)
    assert proc.heavier_than({"fine_yuan": 600, "points": 3}, notified)
    assert proc.heavier_than({"fine_yuan": 500, "points": 6}, notified)
    assert proc.heavier_than({"fine_yuan": 500, "points": 3, "licence_action": "suspend"}, notified)


# ---------------------------------------------------------------- stored flow through the API


@pytest.fixture
def case_of_citizen(client, tokens, loaded, demo_dir: Path, admin_actor, accounts):
    """A confirmed case on the citizen's vehicle, caught by a certified, published camera: a red light."""
    return _case(client, tokens, loaded, demo_dir, admin_actor, accounts)


@pytest.fixture
def fast_case_of_citizen(client, tokens, loaded, demo_dir: Path, admin_actor, accounts):
    """The same car at 100 km/h where 60 is the limit: RTSL Art. 99, 200–2000 yuan (500 proposed), where a large fine is lawful."""
    return _case(client, tokens, loaded, demo_dir, admin_actor, accounts, fast=True)


def _case(client, tokens, loaded, demo_dir: Path, admin_actor, accounts, *, fast: bool = False) -> dict:
    from trafficgov.enforcement import service

    service.load_demo_devices(loaded, admin_actor, demo_dir / "cameras.csv")
    rows = list(csv.DictReader((demo_dir / "cameras.csv").open(encoding="utf-8")))
    cam = next(r for r in rows if r["kind"] != "video_patrol" and r["certified_until"] >= "2026-07-01" and r["location_published_at"] and r["location_published_at"] < "2026-06-01")
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()
    record = {
        "capture_id": "proc-1", "source": "fixed_camera", "device_id": cam["camera_id"], "captured_at": "2026-06-20T08:00:00+08:00",
        "place": {"region": cam["district"], "road": "经十路"}, "plate_number": vehicle.plate_number, "plate_type": vehicle.plate_type,
        "behavior": "red_light", "evidence": [{"uri": "s3://evidence/proc-1.jpg", "sha256": SHA}],
    }
    if fast:
        record.update(behavior="speeding", measurements={"speed_kmh": 100})
        record["place"].update(road_type="ordinary", speed_limit_kmh=60)
    assert client.post("/api/v1/captures", json=[record], headers=bearer(tokens["admin"])).json()["accepted"] == 1
    return client.post("/api/v1/review/proc-1/confirm", headers=bearer(tokens["officer"])).json()


def _deviate(client, tokens, case, fine):
    officer = bearer(tokens["officer"])
    asked = client.post(
        f"/api/v1/cases/{case['id']}/issue",
        json={"version": case["version"], "deviation": {"outcome": "fine", "fine_yuan": fine}, "reason": "多次违法且拒不改正，从重处罚"},
        headers=officer,
    )
    assert asked.status_code == 200, asked.text
    return asked.json()


def test_general_procedure_needs_notice_statement_answer_then_decision_service_and_payment(client, tokens, fast_case_of_citizen):
    officer, legal, citizen = bearer(tokens["officer"]), bearer(tokens["legal_reviewer"]), bearer(tokens["citizen"])
    case = fast_case_of_citizen
    asked = _deviate(client, tokens, case, 800)
    refused = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True, "note": "同意"}, headers=legal)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "notice"

    assert client.post(f"/api/v1/cases/{case['id']}/notice", json={}, headers=citizen).status_code == 403
    noticed = client.post(f"/api/v1/cases/{case['id']}/notice", json={}, headers=officer)
    assert noticed.status_code == 200, noticed.text
    view = noticed.json()
    assert view["procedure"] == "general" and view["notice_required"] and not view["hearing_offered"]
    assert "罚款800元" in view["notice"]["text_zh"] and "陈述和申辩" in view["notice"]["text_zh"]

    # inside the statement window and nothing said yet: no decision
    early = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True, "note": "同意"}, headers=legal)
    assert early.status_code == 422 and early.json()["detail"]["field"] == "notice"
    hearing = client.post(f"/api/v1/me/cases/{case['id']}/statements", json={"kind": "hearing_request", "text": "要求听证"}, headers=citizen)
    assert hearing.status_code == 422 and hearing.json()["detail"]["field"] == "kind"
    stated = client.post(f"/api/v1/me/cases/{case['id']}/statements", json={"kind": "statement", "text": "当时信号灯故障"}, headers=citizen)
    assert stated.status_code == 200, stated.text
    sub = stated.json()["submissions"][0]
    unanswered = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True, "note": "同意"}, headers=legal)
    assert unanswered.status_code == 422 and unanswered.json()["detail"]["field"] == "statements"
    assert [s["id"] for s in client.get("/api/v1/submissions", headers=officer).json()] == [sub["id"]]
    answered = client.post(f"/api/v1/submissions/{sub['id']}/answer", json={"answer": "经复核，信号灯工作正常，不予采纳", "accepted": False}, headers=officer)
    assert answered.status_code == 200 and answered.json()["answer"]
    assert client.post(f"/api/v1/submissions/{sub['id']}/answer", json={"answer": "再答", "accepted": False}, headers=officer).status_code == 409

    issued = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True, "note": "同意"}, headers=legal)
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "issued"
    served = client.post(f"/api/v1/cases/{case['id']}/served", json={}, headers=officer)
    assert served.status_code == 200, served.text
    pay = served.json()["payment"]
    assert pay["pay_by"] == (date.fromisoformat(pay["served_on"]) + timedelta(days=15)).isoformat()
    late = client.get(f"/api/v1/cases/{case['id']}/payment", params={"on": "2099-01-01"}, headers=citizen).json()
    assert Decimal(late["surcharge_yuan"]) == Decimal(800) and late["capped"] and Decimal(late["total_yuan"]) == Decimal(1600)
    assert client.get(f"/api/v1/cases/{case['id']}/payment", headers=bearer(tokens["company"])).status_code == 404
    mine = client.get(f"/api/v1/cases/{case['id']}/procedure", headers=citizen).json()
    assert mine["submissions"][0]["answer"].startswith("经复核")


def test_a_heavier_decision_needs_a_new_notice_and_a_large_fine_offers_a_hearing_that_must_be_answered(client, tokens, fast_case_of_citizen):
    officer, legal, citizen = bearer(tokens["officer"]), bearer(tokens["legal_reviewer"]), bearer(tokens["citizen"])
    case = fast_case_of_citizen
    asked = _deviate(client, tokens, case, 1000)
    view = client.post(f"/api/v1/cases/{case['id']}/notice", json={"facts_zh": "2026年6月20日在经十路超速"}, headers=officer).json()
    assert not view["hearing_offered"] and "罚款1000元" in view["notice"]["text_zh"]
    # sent back and asked again, heavier than the notice: a new notice is due
    back = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": False, "note": "请重新裁量"}, headers=legal).json()
    heavier = _deviate(client, tokens, back, 2000)
    refused = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": heavier["version"], "approve": True, "note": "同意"}, headers=legal)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "notice" and "重新告知" in refused.json()["detail"]["reason_zh"]
    # 2000 yuan is the region's large fine for a person (APL Art. 63): the new notice offers a hearing
    view = client.post(f"/api/v1/cases/{case['id']}/notice", json={"facts_zh": "2026年6月20日在经十路超速"}, headers=officer).json()
    assert view["hearing_offered"] and "听证" in view["notice"]["text_zh"] and "罚款2000元" in view["notice"]["text_zh"]
    asked_hearing = client.post(f"/api/v1/me/cases/{case['id']}/statements", json={"kind": "hearing_request", "text": "要求听证"}, headers=citizen)
    assert asked_hearing.status_code == 200
    blocked = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": heavier["version"], "approve": True, "note": "同意"}, headers=legal)
    assert blocked.status_code == 422 and blocked.json()["detail"]["field"] == "statements"
    sub = asked_hearing.json()["submissions"][0]
    answered = client.post(f"/api/v1/submissions/{sub['id']}/answer", json={"answer": "已于听证会听取意见，维持拟处罚", "accepted": False}, headers=officer)
    assert answered.status_code == 200, answered.text


def test_simple_procedure_needs_no_notice(client, tokens, accounts, case_of_citizen):
    officer = bearer(tokens["officer"])
    case = case_of_citizen
    refused = client.post(f"/api/v1/cases/{case['id']}/notice", json={}, headers=officer)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "procedure"
    _log_in(client, accounts["citizen"])
    page = client.get(f"/me/violations/{case['id']}").text  # told orally when handled (ProcReg Art. 44), not "not yet told"
    assert "简易程序无须书面告知" in page and "第四十四条" in page and "尚未告知" not in page
    assert "不按交通信号灯指示通行（闯红灯）" in page and "待处理" in page and "s3://evidence/proc-1.jpg" in page  # what the case is
    assert "依据：《道路交通安全违法行为处理程序规定》第五十二条" in page
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer)
    assert issued.status_code == 200, issued.text
    decision = issued.json()
    page = client.get(f"/me/violations/{case['id']}").text  # and, once decided, the decision with its reasons and the routes of appeal
    assert f"决定书 {decision['decision_number']}：罚款，罚款 {decision['decision']['fine_yuan']} 元，记 6 分。" in page
    assert decision["decision"]["explanation_zh"] in page and "行政复议" in page and "行政诉讼" in page and "已处理" in page


def test_citizen_objects_online_and_sees_the_answer(client, tokens, case_of_citizen):
    officer, citizen, company = bearer(tokens["officer"]), bearer(tokens["citizen"]), bearer(tokens["company"])
    assert client.post("/api/v1/me/objections", json={"capture_id": "proc-1", "text": "车辆当时不在该地"}, headers=company).status_code == 404
    assert client.post("/api/v1/me/objections", json={"text": "无对象"}, headers=citizen).status_code == 422
    assert client.post("/api/v1/me/objections", json={"capture_id": "proc-1", "text": "x"}, headers=officer).status_code == 403
    made = client.post("/api/v1/me/objections", json={"capture_id": "proc-1", "text": "车辆当时不在该地"}, headers=citizen)
    assert made.status_code == 200, made.text
    objection = made.json()
    assert objection["kind"] == "objection" and objection["case_id"] == case_of_citizen["id"] and objection["answer_due"]
    assert [s["id"] for s in client.get("/api/v1/submissions", headers=officer).json()] == [objection["id"]]
    client.post(f"/api/v1/submissions/{objection['id']}/answer", json={"answer": "经核对号牌及车辆外观，确为本车", "accepted": False}, headers=officer)
    mine = client.get("/api/v1/me/submissions", headers=citizen).json()
    assert mine[0]["answer"].startswith("经核对") and mine[0]["answered_at"]
    assert client.get("/api/v1/me/submissions", headers=company).json() == []


def _log_in(client, account: dict) -> None:
    client.post("/logout")
    assert client.post("/login", data={"username": account["username"], "password": account["password"]}).status_code == 200


def test_pages_notice_statement_objection_and_answer(client, tokens, accounts, fast_case_of_citizen):
    case = fast_case_of_citizen
    _deviate(client, tokens, case, 800)
    _log_in(client, accounts["officer"])
    page = client.get(f"/enforcement/cases/{case['id']}/procedure")
    assert page.status_code == 200 and "尚未告知" in page.text and "普通程序" in page.text
    assert client.post(f"/enforcement/cases/{case['id']}/notice", data={"facts_zh": ""}).status_code == 200  # after the redirect
    assert "罚款800元" in client.get(f"/enforcement/cases/{case['id']}/procedure").text

    _log_in(client, accounts["citizen"])
    mine = client.get(f"/me/violations/{case['id']}")
    assert mine.status_code == 200 and "陈述申辩" in mine.text and "罚款800元" in mine.text
    assert client.post(f"/me/violations/{case['id']}/statement", data={"kind": "statement", "text": "当时在避让救护车"}).status_code == 200
    assert client.post(f"/me/violations/{case['id']}/objection", data={"text": "号牌识别有误"}).status_code == 200
    assert client.get("/enforcement/submissions").status_code == 403

    _log_in(client, accounts["officer"])
    queue = client.get("/enforcement/submissions")
    assert queue.status_code == 200 and "当时在避让救护车" in queue.text and "号牌识别有误" in queue.text
    first = int(queue.text.split('id="submission-')[1].split('"')[0])
    assert client.post(f"/enforcement/submissions/{first}/answer", data={"answer": "经复核予以采纳", "accepted": "yes"}).status_code == 200
    _log_in(client, accounts["citizen"])
    assert "经复核予以采纳" in client.get(f"/me/violations/{case['id']}").text


@pytest.mark.parametrize(
    ("basis", "cited"),
    [
        ("行政处罚法 第四十四条", "《行政处罚法》第四十四条"),
        ("道路交通安全违法行为处理程序规定 第五十二条", "《道路交通安全违法行为处理程序规定》第五十二条"),
        ("道路交通安全法 第九十条 第一款", "《道路交通安全法》第九十条 第一款"),
        ("《道路交通安全法》第九十条", "《道路交通安全法》第九十条"),  # already a citation: as it is
        ("《道路交通安全法》第九十条 第一款", "《道路交通安全法》第九十条 第一款"),
    ],
)
def test_a_legal_basis_of_the_rule_files_is_cited_with_its_document_in_brackets(basis, cited):
    assert proc.cite(basis) == cited
