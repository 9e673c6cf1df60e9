"""The enforcement pages in Chinese through TestClient with real logins (form sessions), on both stores."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from conftest import bearer
from trafficgov.enforcement import service
from trafficgov.registry.store import VehicleRow

SHA = "b" * 64


def log_in(client, account: dict) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:300]


@pytest.fixture
def pending(loaded, admin_actor, accounts) -> str:
    """A fixed camera of our own and one admissible capture of the citizen's car awaiting review."""
    service.upsert_devices(loaded, admin_actor, [{"device_id": "CAM-P1", "kind": "fixed_camera", "certified_until": date(2027, 1, 1), "location_published_at": date(2020, 1, 1), "region": "370102", "road": "经十路", "stretch": "E0001"}])
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()
    record = {
        "capture_id": "page-1",
        "source": "fixed_camera",
        "device_id": "CAM-P1",
        "captured_at": "2026-06-18T09:30:00+08:00",
        "place": {"region": "370102"},
        "plate_number": vehicle.plate_number,
        "plate_type": vehicle.plate_type,
        "behavior": "red_light",
        "evidence": [{"uri": "s3://evidence/page-1.jpg", "sha256": SHA}],
    }
    summary = service.ingest_captures(loaded, admin_actor, [record])
    assert summary.accepted == 1 and summary.inadmissible == 0
    return vehicle.plate_number


def test_officer_reviews_on_the_page_and_issues_the_proposal(client, accounts, pending):
    log_in(client, accounts["officer"])
    queue = client.get("/enforcement/review")
    assert queue.status_code == 200 and "非现场抓拍二次审核" in queue.text and pending in queue.text
    assert "已超期" in queue.text and "（七）经比对确认记录的机动车号牌信息错误" in queue.text
    case_page = client.post("/enforcement/review/page-1/confirm")
    assert case_page.status_code == 200 and "裁量建议" in case_page.text and "签发决定" in case_page.text
    case_id = int(re.search(r"/enforcement/cases/(\d+)", str(case_page.url)).group(1))
    version = re.search(r'name="version" value="(\d+)"', case_page.text).group(1)
    issued = client.post(f"/enforcement/cases/{case_id}/issue", data={"version": version, "mode": "proposal"})
    assert issued.status_code == 200 and "处罚决定 济公交决字" in issued.text and "行政复议" in issued.text
    # the decision names the officer who issued it, not the login
    assert f"签发：{accounts['officer']['display_name']}" in issued.text
    again = client.post(f"/enforcement/cases/{case_id}/issue", data={"version": version, "mode": "proposal"})
    assert again.status_code == 409 and "请刷新后重试" in again.text

    log_in(client, accounts["citizen"])
    mine = client.get("/me/violations")
    assert mine.status_code == 200 and "我的违法" in mine.text and pending in mine.text and "济公交决字" in mine.text


def test_deviation_goes_to_the_legal_reviewer_page(client, accounts, pending):
    log_in(client, accounts["officer"])
    case_page = client.post("/enforcement/review/page-1/confirm")
    case_id = int(re.search(r"/enforcement/cases/(\d+)", str(case_page.url)).group(1))
    version = re.search(r'name="version" value="(\d+)"', case_page.text).group(1)
    no_reason = client.post(f"/enforcement/cases/{case_id}/issue", data={"version": version, "mode": "deviate", "outcome": "warning", "points": "0"})
    assert no_reason.status_code == 422 and "理由" in no_reason.text
    sent = client.post(f"/enforcement/cases/{case_id}/issue", data={"version": version, "mode": "deviate", "outcome": "warning", "points": "0", "reason": "首次违法且已纠正，情节轻微"})
    assert sent.status_code == 200 and "待法制审核" in sent.text

    log_in(client, accounts["legal_reviewer"])
    approvals = client.get("/enforcement/approvals")
    assert approvals.status_code == 200 and "首次违法且已纠正" in approvals.text
    assert f"<td>{accounts['officer']['display_name']}</td>" in approvals.text
    page = client.get(f"/enforcement/cases/{case_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    done = client.post(f"/enforcement/cases/{case_id}/approval", data={"version": version, "decision": "approve", "note": "同意"})
    assert done.status_code == 200 and "没有待审核的决定" in done.text
    decided = client.get(f"/enforcement/cases/{case_id}").text
    officer, reviewer = accounts["officer"]["display_name"], accounts["legal_reviewer"]["display_name"]
    assert f"首次违法且已纠正，情节轻微（{officer}）" in decided and f"签发：{officer}" in decided and f"法制审核：{reviewer}" in decided


def test_wrong_roles_are_refused_on_the_enforcement_pages(client, tokens):
    assert client.get("/enforcement/review", headers=bearer(tokens["citizen"])).status_code == 403
    assert client.get("/enforcement/approvals", headers=bearer(tokens["officer"])).status_code == 403
    assert client.get("/me/violations", headers=bearer(tokens["officer"])).status_code == 403
    assert client.get("/enforcement/cases/999", headers=bearer(tokens["officer"])).status_code == 404
