"""An issued enforcement decision is a violation: capture -> confirm -> issue writes one row to
`credit_violations` (violation_id = the case id), and importing a violations file with that id changes
nothing (both stores)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import bearer
from trafficgov.credit.store import CreditViolationRow
from trafficgov.enforcement import service
from trafficgov.imports.service import import_file
from trafficgov.registry.store import VehicleRow

DAY = "2026-06-20"


@pytest.fixture
def cameras(loaded, demo_dir: Path, admin_actor) -> dict[str, str]:
    """A certified, published demo camera (as in tests/enforcement/test_pipeline_api.py)."""
    assert service.load_demo_devices(loaded, admin_actor, demo_dir / "cameras.csv") > 4
    rows = list(csv.DictReader((demo_dir / "cameras.csv").open(encoding="utf-8")))
    good = next(r for r in rows if r["kind"] != "video_patrol" and r["certified_until"] >= "2026-07-01" and r["location_published_at"] and r["location_published_at"] < "2026-06-01")
    return {"good": good["camera_id"], "good_region": good["district"]}


@pytest.fixture
def citizen_vehicle(loaded, accounts) -> VehicleRow:
    with loaded.transaction() as session:
        return session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()


def capture(capture_id: str, device: str, region: str, vehicle: VehicleRow) -> dict:
    return {
        "capture_id": capture_id,
        "source": "fixed_camera",
        "device_id": device,
        "captured_at": f"{DAY}T08:00:00+08:00",
        "place": {"region": region, "lon": 117.0, "lat": 36.6, "road": "经十路"},
        "plate_number": vehicle.plate_number,
        "plate_type": vehicle.plate_type,
        "behavior": "red_light",
        "evidence": [{"uri": f"s3://evidence/{capture_id}.jpg", "sha256": "a" * 64}],
    }


def violations(database, violation_id: str) -> list[CreditViolationRow]:
    with database.transaction() as session:
        return list(session.scalars(select(CreditViolationRow).where(CreditViolationRow.violation_id == violation_id)))


def test_issued_decision_is_a_violation_and_reimport_is_unchanged(client, tokens, cameras, citizen_vehicle, loaded, accounts, admin_actor, tmp_path: Path):
    client.post("/api/v1/captures", json=[capture("cap-v", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    officer = bearer(tokens["officer"])
    case = client.post("/api/v1/review/cap-v/confirm", headers=officer).json()
    assert violations(loaded, str(case["id"])) == []  # a case is not a violation until its decision is issued
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    proposal = case["proposal"]

    [row] = violations(loaded, str(case["id"]))
    assert row.occurred_at == datetime.fromisoformat("2026-06-20T08:00:00+08:00")
    assert row.decided_at == datetime.fromisoformat(body["issued_at"])
    assert (row.behavior, row.plate_number, row.plate_type, row.region) == ("red_light", citizen_vehicle.plate_number, citizen_vehicle.plate_type, cameras["good_region"])
    assert (row.outcome, row.fine_yuan, row.points) == (proposal["outcome"], proposal["fine_yuan"] or 0, proposal["points"])
    assert row.points and row.driver_id == accounts["citizen"]["id_number"]  # the licence holder the points went to
    assert row.violation_code is None and row.camera_id is None

    # issuing is once per case: a second issue is refused and writes nothing
    assert client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer).status_code == 409
    with loaded.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CreditViolationRow)) == 1

    # the bureau's export names the same decision by the same id: re-importing it changes nothing
    head = "violation_id,occurred_at,decided_at,behavior,plate_number,plate_type,driver_id,region,outcome,fine_yuan,points\n"
    line = ",".join(
        str(v) for v in (
            row.violation_id, row.occurred_at.isoformat(), row.decided_at.isoformat(), row.behavior, row.plate_number, row.plate_type,
            row.driver_id, row.region, row.outcome, row.fine_yuan, row.points,
        )
    )
    path = tmp_path / "violations.csv"
    path.write_text(head + line + "\n", encoding="utf-8")
    summary = import_file(loaded, "violations", path, admin_actor)
    assert (summary.read, summary.inserted, summary.updated, summary.unchanged, summary.quarantined) == (1, 0, 0, 1, 0)
    [again] = violations(loaded, str(case["id"]))
    assert (again.id, again.updated_at, again.outcome, again.points) == (row.id, row.updated_at, row.outcome, row.points)


def test_approved_deviation_is_the_violation_recorded(client, tokens, cameras, citizen_vehicle, loaded):
    client.post("/api/v1/captures", json=[capture("cap-w", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    officer, legal = bearer(tokens["officer"]), bearer(tokens["legal_reviewer"])
    case = client.post("/api/v1/review/cap-w/confirm", headers=officer).json()
    asked = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"], "deviation": {"outcome": "warning", "points": 0}, "reason": "当事人为救护送医，情节轻微"}, headers=officer).json()
    assert asked["status"] == "pending_approval" and violations(loaded, str(case["id"])) == []  # not issued yet
    approved = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True, "note": "同意"}, headers=legal).json()
    assert approved["status"] == "issued"
    [row] = violations(loaded, str(case["id"]))
    assert (row.outcome, row.fine_yuan, row.points, row.driver_id) == ("warning", 0, 0, None)  # no points, so no licence holder
    assert row.decided_at == datetime.fromisoformat(approved["issued_at"])
