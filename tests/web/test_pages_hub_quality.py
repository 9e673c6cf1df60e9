"""数据质量 pages and API through FastAPI's TestClient with real logins: the transport department sees only its
own sources with their alerts and defects (personal numbers masked), an administrator re-measures from the page."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_pages import log_in

from conftest import bearer
from trafficgov.demo.sources import write_sources
from trafficgov.hub import quality_api
from trafficgov.hub import quality_service as svc
from trafficgov.hub.sync_service import sync_source
from trafficgov.web import pages_hub_quality
from trafficgov.web.app import create_app

AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def quality_client(settings, loaded, admin_actor, demo_dir: Path, tmp_path: Path):
    """The app with the quality routers included (until app.py and pages.py include them), over synced demo sources."""
    city = tmp_path / "city"
    shutil.copytree(demo_dir, city)
    write_sources(city, 1)
    for code in ("tp_vehicle", "tr_permit", "mr_business"):
        sync_source(loaded, code, admin_actor, origin=city / "sources", at=AT)
    svc.measure(loaded, admin_actor, at=AT)
    app = create_app(settings, loaded)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/hub/quality" not in paths:
        app.include_router(pages_hub_quality.router)
    if "/api/v1/hub/quality" not in paths:
        app.include_router(quality_api.router)
    with TestClient(app) as client:
        yield client


def test_the_transport_department_sees_its_own_sources_alerts_and_defects(quality_client, accounts) -> None:
    log_in(quality_client, accounts["partner"])
    page = quality_client.get("/hub/quality")
    assert page.status_code == 200
    assert "交通运输道路运输证管理系统" in page.text and "公安交管机动车登记系统" not in page.text
    assert "尚未同步过" in page.text and "停止供数" in page.text  # tr_gps never synced; tr_permit last synced on AT
    assert page.text.index("停止供数") < page.text.index("尚未同步过")  # red alerts first
    assert "重新评估数据质量" not in page.text
    detail = quality_client.get("/hub/quality/tr_permit", params={"kind": "consistency"})
    assert detail.status_code == 200 and "市场监管企业登记注册系统" in detail.text and "企业名称" in detail.text
    assert quality_client.get("/hub/quality/tp_vehicle").status_code == 403
    assert quality_client.post("/hub/quality/run").status_code == 403


def test_personal_numbers_in_defects_are_masked_for_a_partner(quality_client, accounts) -> None:
    log_in(quality_client, accounts["supervisor"])
    page = quality_client.get("/hub/quality/tp_vehicle", params={"field": "owner_id_number"})
    assert page.status_code == 200
    log_in(quality_client, accounts["partner"])
    permit = quality_client.get("/hub/quality/tr_permit")
    assert not re.search(r"(?<![0-9A-Za-z])[0-9]{17}[0-9X](?![0-9A-Za-z])", permit.text)


def test_an_administrator_measures_again_from_the_page(quality_client, accounts) -> None:
    log_in(quality_client, accounts["admin"])
    page = quality_client.get("/hub/quality")
    assert "重新评估数据质量" in page.text and "公安交管机动车登记系统" in page.text
    again = quality_client.post("/hub/quality/run")
    assert again.status_code == 200 and "已完成数据质量评估" in again.text
    assert "→" in again.text  # two runs: the trend is shown


def test_the_api_scopes_the_report_and_guards_the_run(quality_client, accounts) -> None:
    tokens = {}
    for role in ("partner", "admin", "citizen"):
        response = quality_client.post("/api/v1/auth/token", data={"username": accounts[role]["username"], "password": accounts[role]["password"]})
        tokens[role] = response.json()["access_token"]
    mine = quality_client.get("/api/v1/hub/quality", headers=bearer(tokens["partner"]))
    assert mine.status_code == 200 and {s["source"] for s in mine.json()["sources"]} == {"tr_permit", "tr_gps"}
    defects = quality_client.get("/api/v1/hub/quality/tr_permit/defects", params={"kind": "consistency", "limit": 5}, headers=bearer(tokens["partner"]))
    assert defects.status_code == 200 and 0 < len(defects.json()) <= 5 and defects.json()[0]["record"]
    assert quality_client.get("/api/v1/hub/quality/tp_vehicle/defects", headers=bearer(tokens["partner"])).status_code == 403
    assert quality_client.get("/api/v1/hub/quality", headers=bearer(tokens["citizen"])).status_code == 403
    assert quality_client.post("/api/v1/hub/quality/run", headers=bearer(tokens["partner"])).status_code == 403
    run = quality_client.post("/api/v1/hub/quality/run", headers=bearer(tokens["admin"]))
    assert run.status_code == 201 and run.json()["records"] > 0
