"""执法监督 over the store, through the API and pages with real logins, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from conftest import bearer
from trafficgov.enforcement import oversight_service as svc
from trafficgov.enforcement.store import CaseRow

PROPOSAL = {"outcome": "fine", "fine_yuan": 200, "points": 6, "licence_action": "none", "rule_ids": ["n.red_light", "pts.red_light"], "legal_basis": ["道路交通安全法第九十条"], "explanation_zh": "闯红灯，罚款200元，记6分"}


def issued(case_no: int, officer: str, fine: int, *, owner: str, kind: str, reason: str | None = None, day: int = 1, behaviour: str = "red_light") -> CaseRow:
    at = datetime(2026, 6, day, 2, case_no, tzinfo=UTC)
    decision = {**PROPOSAL, "fine_yuan": fine}
    return CaseRow(
        plate_number=f"鲁A1234{case_no}", plate_type="02", behavior=behaviour, region="370102", stretch="E1", road="经十路",
        occurred_at=at, last_captured_at=at, capture_count=1, entered_at=at, entered_by=officer, owner_id=owner, owner_kind=kind,
        status="issued", proposal=dict(PROPOSAL), decision=decision, deviation_reason=reason, decision_number=f"鲁公交决字〔2026〕第{case_no:06d}号",
        issued_at=at, issued_by=officer, requested_by=officer, awaiting_driver=False, version=2,
    )


@pytest.fixture
def decisions(loaded, accounts):
    uscc = accounts["company"]["uscc"]
    citizen = accounts["citizen"]["id_number"]
    with loaded.transaction(write=True) as session:
        session.add_all(
            [
                issued(1, "officer", 200, owner=citizen, kind="person"),
                issued(2, "officer", 200, owner=uscc, kind="company"),
                issued(3, "legal_reviewer", 100, owner=uscc, kind="company", reason="车辆故障临时停靠，情节轻微"),
                issued(4, "officer", 200, owner=uscc, kind="company", day=28),
            ]
        )
    return {"uscc": uscc}


def test_consistency_api_pairs_and_rates(client, tokens, decisions):
    response = client.get("/api/v1/oversight/consistency", headers=bearer(tokens["supervisor"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["decisions"], body["divergent"], body["inconsistent_groups"]) == (4, 1, 1)
    [pair] = body["pairs"]
    assert pair["usual"]["fine_yuan"] == 200 and pair["other"]["fine_yuan"] == 100
    assert pair["other"]["deviation_reason"] == "车辆故障临时停靠，情节轻微" and pair["usual"]["explanation_zh"]
    officers = {r["officer"]: r for r in body["by_officer"]}
    assert officers["legal_reviewer"]["rate"] == 1.0 and officers["officer"]["rate"] == 0.0
    assert {r["unit"] for r in body["by_unit"]} and all(r["unit"] != "—" for r in body["by_unit"])
    assert client.get("/api/v1/oversight/consistency", headers=bearer(tokens["legal_reviewer"])).status_code == 200
    assert client.get("/api/v1/oversight/consistency", headers=bearer(tokens["officer"])).status_code == 403


def test_disclosure_api_csv_json_and_overdue(client, tokens, decisions):
    url = "/api/v1/oversight/disclosure?as_of=2026-06-20"
    rows = client.get(url, headers=bearer(tokens["admin"])).json()
    assert [r["counterparty_code"] for r in rows] == [decisions["uscc"]] * 3
    first = rows[0]
    assert first["decision_date"] == "2026-06-01" and first["due_date"] == "2026-06-10" and first["overdue"] is True
    assert rows[-1]["decision_date"] == "2026-06-28" and rows[-1]["overdue"] is False
    assert first["legal_basis"] == "道路交通安全法第九十条" and first["result"].startswith("罚款200元")
    overdue = client.get(url + "&overdue_only=true", headers=bearer(tokens["supervisor"])).json()
    assert len(overdue) == 2
    text = client.get(url + "&format=csv", headers=bearer(tokens["supervisor"]))
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(text.text)))
    assert table[0][0] == "行政处罚决定书文号" and len(table) == 4
    assert client.get(url, headers=bearer(tokens["legal_reviewer"])).status_code == 403


def test_export_disclosure_is_cli_friendly(loaded, decisions, tmp_path):
    out = tmp_path / "sg.json"
    text = svc.export_disclosure(loaded, "json", as_of=date(2026, 6, 20), out=out)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(text) and len(json.loads(text)) == 3


def test_leniency_api_uses_given_or_demo_accidents(client, tokens, loaded, decisions, demo_dir):
    response = client.get("/api/v1/oversight/leniency?as_of=2026-12-31&window_days=30", headers=bearer(tokens["legal_reviewer"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["list_id"] and body["window_days"] == 30 and body["violations"] == 4
    assert any(b["on_list"] for b in body["behaviours"])
    assert client.get("/api/v1/oversight/leniency", headers=bearer(tokens["officer"])).status_code == 403
    accidents = [json.loads(line) for line in (demo_dir / "accidents.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    report = svc.leniency_report(loaded, as_of=date(2026, 12, 31), accidents=accidents)
    assert report.accidents == len(accidents) > 0


def log_in(client, account: dict) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:300]


def test_oversight_pages_in_chinese_for_their_roles(client, accounts, decisions):
    log_in(client, accounts["supervisor"])
    page = client.get("/oversight/consistency")
    assert page.status_code == 200 and "同案不同罚" in page.text and "车辆故障临时停靠" in page.text and "25.0%" in page.text
    page = client.get("/oversight/disclosure")
    assert page.status_code == 200 and decisions["uscc"] in page.text and "公示期限" in page.text
    assert 'href="/oversight/leniency"' in page.text
    log_in(client, accounts["legal_reviewer"])
    page = client.get("/oversight/leniency?window_days=30")
    assert page.status_code == 200 and "定期评估" in page.text
    assert client.get("/oversight/disclosure").status_code == 403
    log_in(client, accounts["officer"])
    assert client.get("/oversight/consistency").status_code == 403
