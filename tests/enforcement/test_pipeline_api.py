"""The enforcement pipeline through the API with real logins, on SQLite and PostgreSQL:
captures -> review -> case with the engine's proposal -> issued decision with points."""

from __future__ import annotations

import csv
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import bearer
from trafficgov.enforcement import service
from trafficgov.registry.store import LicenceRow, VehicleRow

DAY = "2026-06-20"
SHA = "a" * 64


@pytest.fixture
def cameras(loaded, demo_dir: Path, admin_actor, accounts) -> dict[str, str]:
    """The demo city's cameras and the data file's mobile devices as devices; one good camera in the demo
    officer's brigade (lists are kept to the unit's jurisdiction) and one lapsed camera."""
    assert service.load_demo_devices(loaded, admin_actor, demo_dir / "cameras.csv") > 4
    rows = list(csv.DictReader((demo_dir / "cameras.csv").open(encoding="utf-8")))
    units = {r["code"]: r["jurisdiction"].split() for r in csv.DictReader((demo_dir / "organisations.csv").open(encoding="utf-8"))}
    districts = units[accounts["officer"]["org_code"]]
    good = next(
        r for r in rows
        if r["kind"] != "video_patrol" and r["certified_until"] >= "2026-07-01" and r["location_published_at"] and r["location_published_at"] < "2026-06-01" and r["district"] in districts
    )
    lapsed = next(r for r in rows if r["certified_until"] < DAY)
    return {"good": good["camera_id"], "good_region": good["district"], "lapsed": lapsed["camera_id"]}


@pytest.fixture
def citizen_vehicle(loaded, accounts) -> VehicleRow:
    with loaded.transaction() as session:
        return session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()


def capture(capture_id: str, device: str, region: str, vehicle: VehicleRow, minute: int = 0, **extra) -> dict:
    record = {
        "capture_id": capture_id,
        "source": "fixed_camera",
        "device_id": device,
        "captured_at": f"{DAY}T08:{minute:02d}:00+08:00",
        "place": {"region": region, "lon": 117.0, "lat": 36.6, "road": "经十路"},
        "plate_number": vehicle.plate_number,
        "plate_type": vehicle.plate_type,
        "behavior": "red_light",
        "evidence": [{"uri": f"s3://evidence/{capture_id}.jpg", "sha256": SHA}],
    }
    record.update(extra)
    return record


def test_batch_accepts_valid_rejects_invalid_by_field_and_is_idempotent(client, tokens, cameras, citizen_vehicle):
    good = capture("cap-1", cameras["good"], cameras["good_region"], citizen_vehicle)
    batch = [
        good,
        {**good, "capture_id": "cap-2", "plate_number": "XX123"},
        {**good, "capture_id": "cap-3", "captured_at": "2099-01-01T00:00:00+08:00"},
        {**good, "capture_id": "cap-4", "behavior": "flying"},
        {**good, "capture_id": "cap-5", "captured_at": "2026-06-20T08:00:00"},
        "not an object",
        capture("cap-6", cameras["lapsed"], cameras["good_region"], citizen_vehicle),
    ]
    response = client.post("/api/v1/captures", json=batch, headers=bearer(tokens["admin"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["inadmissible"] == 1 and body["duplicates"] == 0
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "plate_number"), (2, "captured_at"), (3, "behavior"), (4, "captured_at"), (5, "record")]
    assert all(r["reason_zh"] and r["reason_en"] for r in body["rejected"])

    again = client.post("/api/v1/captures", json=[good, {**good, "behavior": "speeding"}], headers=bearer(tokens["admin"])).json()
    assert again["accepted"] == 0 and again["duplicates"] == 2

    queue = client.get("/api/v1/review", headers=bearer(tokens["officer"])).json()
    assert [c["capture_id"] for c in queue] == ["cap-1"]  # the lapsed camera's capture never reaches review
    assert queue[0]["behavior"] == "red_light" and queue[0]["review_due"] == "2026-06-26"  # Sat 20 June (端午): Mon 22 .. Fri 26


def test_batch_size_is_limited_and_only_admin_ingests(client, tokens, cameras, citizen_vehicle):
    record = capture("cap-x", cameras["good"], cameras["good_region"], citizen_vehicle)
    too_many = client.post("/api/v1/captures", json=[record] * (service.MAX_BATCH + 1), headers=bearer(tokens["admin"]))
    assert too_many.status_code == 422
    assert client.post("/api/v1/captures", json=[record], headers=bearer(tokens["officer"])).status_code == 403
    huge = client.post("/api/v1/captures", json=[{**record, "behavior": "x" * (6 * 1024 * 1024)}], headers=bearer(tokens["admin"]))
    assert huge.status_code == 413


def test_two_first_decisions_of_a_year_get_consecutive_numbers(loaded):
    with loaded.transaction(write=True) as session:
        first = service._next_number(session, "decision-test")
        second = service._next_number(session, "decision-test")
    assert (first, second) == (1, 2)


def test_confirm_creates_case_with_proposal_and_repeat_on_same_stretch_merges(client, tokens, cameras, citizen_vehicle):
    records = [capture(f"cap-{m}", cameras["good"], cameras["good_region"], citizen_vehicle, minute=m) for m in (0, 10, 50)]
    assert client.post("/api/v1/captures", json=records, headers=bearer(tokens["admin"])).json()["accepted"] == 3
    officer = bearer(tokens["officer"])
    first = client.post("/api/v1/review/cap-0/confirm", headers=officer)
    assert first.status_code == 200, first.text
    case = first.json()
    assert case["status"] == "proposed" and case["proposal"]["rule_ids"] and case["proposal"]["explanation_zh"]
    assert case["procedure"] in ("simple", "general") and case["owner_kind"] == "person"
    merged = client.post("/api/v1/review/cap-10/confirm", headers=officer).json()
    assert merged["merged"] and merged["id"] == case["id"] and merged["capture_count"] == 2
    separate = client.post("/api/v1/review/cap-50/confirm", headers=officer).json()  # outside the 30-minute window
    assert separate["id"] != case["id"] and not separate["merged"]
    assert client.post("/api/v1/review/cap-0/confirm", headers=officer).status_code == 409


def test_reject_needs_an_article_22_reason(client, tokens, cameras, citizen_vehicle):
    client.post("/api/v1/captures", json=[capture("cap-r", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    officer = bearer(tokens["officer"])
    bad = client.post("/api/v1/review/cap-r/reject", json={"reason_code": "bored"}, headers=officer)
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "reason_code"
    assert client.post("/api/v1/review/cap-r/reject", json={"reason_code": "other"}, headers=officer).status_code == 422
    done = client.post("/api/v1/review/cap-r/reject", json={"reason_code": "plate_misread"}, headers=officer)
    assert done.status_code == 200 and done.json()["status"] == "rejected" and done.json()["erase_reason_label"]
    assert client.get("/api/v1/review", headers=officer).json() == []


def test_overdue_lists_captures_past_review_and_cases_past_notification(client, tokens, cameras, citizen_vehicle):
    client.post("/api/v1/captures", json=[capture("cap-o", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    overdue = client.get("/api/v1/review/overdue", headers=bearer(tokens["officer"])).json()
    assert [c["capture_id"] for c in overdue["captures"]] == ["cap-o"] and overdue["captures"][0]["overdue"]


def test_issue_as_proposed_numbers_the_decision_and_puts_points_on_the_owner(client, tokens, cameras, citizen_vehicle, loaded, accounts):
    client.post("/api/v1/captures", json=[capture("cap-i", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    officer = bearer(tokens["officer"])
    case = client.post("/api/v1/review/cap-i/confirm", headers=officer).json()
    with loaded.transaction() as session:
        before = session.scalars(select(LicenceRow.points).where(LicenceRow.id_number == accounts["citizen"]["id_number"])).first()
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    year = date.today().year
    assert body["status"] == "issued" and body["decision_number"] == f"济公交决字〔{year}〕第000001号"
    assert body["decision"]["appeal_zh"] and body["decision"]["points"] == case["proposal"]["points"]
    with loaded.transaction() as session:
        after = session.scalars(select(LicenceRow.points).where(LicenceRow.id_number == accounts["citizen"]["id_number"])).first()
    assert (after or 0) == (before or 0) + case["proposal"]["points"]
    assert client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer).status_code == 409

    mine = client.get("/api/v1/me/cases", headers=bearer(tokens["citizen"])).json()
    assert [c["id"] for c in mine] == [case["id"]] and mine[0]["captures"][0]["evidence"]
    assert client.get("/api/v1/me/cases", headers=bearer(tokens["company"])).json() == []


def test_deviation_needs_a_reason_and_a_legal_reviewers_approval(client, tokens, cameras, citizen_vehicle):
    client.post("/api/v1/captures", json=[capture("cap-d", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    officer, legal = bearer(tokens["officer"]), bearer(tokens["legal_reviewer"])
    case = client.post("/api/v1/review/cap-d/confirm", headers=officer).json()
    deviation = {"outcome": "warning", "points": 0}
    no_reason = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"], "deviation": deviation}, headers=officer)
    assert no_reason.status_code == 422 and no_reason.json()["detail"]["field"] == "reason"
    unlawful = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"], "deviation": {"outcome": "fine", "fine_yuan": 500}, "reason": "多次违法，从重处罚"}, headers=officer)
    assert unlawful.status_code == 422 and unlawful.json()["detail"]["field"] == "deviation.fine_yuan" and "20–200" in unlawful.json()["detail"]["reason_zh"]
    asked = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"], "deviation": deviation, "reason": "当事人为救护送医，情节轻微"}, headers=officer).json()
    assert asked["status"] == "pending_approval" and asked["decision_number"] is None
    assert [c["id"] for c in client.get("/api/v1/cases/approvals", headers=legal).json()] == [case["id"]]
    assert client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True}, headers=officer).status_code == 403
    approved = client.post(f"/api/v1/cases/{case['id']}/approval", json={"version": asked["version"], "approve": True, "note": "同意"}, headers=legal).json()
    assert approved["status"] == "issued" and approved["decision"]["outcome"] == "warning" and approved["decision_number"]
    assert approved["points_applied_to"] is None and not approved["awaiting_driver"]


def test_concurrent_issue_one_wins_the_other_gets_409(client, tokens, cameras, citizen_vehicle, loaded, accounts):
    client.post("/api/v1/captures", json=[capture("cap-c", cameras["good"], cameras["good_region"], citizen_vehicle)], headers=bearer(tokens["admin"]))
    officer = bearer(tokens["officer"])
    case = client.post("/api/v1/review/cap-c/confirm", headers=officer).json()
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def attempt() -> None:
        barrier.wait()
        codes.append(client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    detail = client.get(f"/api/v1/cases/{case['id']}", headers=officer).json()
    assert detail["decision_number"].endswith("第000001号")


def test_company_vehicle_case_waits_for_its_driver(client, tokens, cameras, loaded, accounts):
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["company"]["uscc"]).order_by(VehicleRow.id)).first()
    assert vehicle is not None, "the demo company account owns vehicles"
    client.post("/api/v1/captures", json=[capture("cap-k", cameras["good"], cameras["good_region"], vehicle)], headers=bearer(tokens["admin"]))
    officer = bearer(tokens["officer"])
    case = client.post("/api/v1/review/cap-k/confirm", headers=officer).json()
    assert case["owner_kind"] == "company"
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer).json()
    assert issued["status"] == "issued" and issued["awaiting_driver"] == (issued["decision"]["points"] > 0)
    assert [c["id"] for c in client.get("/api/v1/me/cases", headers=bearer(tokens["company"])).json()] == [case["id"]]


def test_speeding_capture_uses_the_places_limit_and_a_missing_measurement_needs_a_manual_decision(client, tokens, cameras, citizen_vehicle):
    place = {"region": cameras["good_region"], "road": "经十路", "road_type": "ordinary", "road_class": "urban", "speed_limit_kmh": 60}
    fast = capture("cap-s1", cameras["good"], cameras["good_region"], citizen_vehicle, behavior="speeding", place=place, measurements={"speed_kmh": 80})
    unmeasured = capture("cap-s2", cameras["good"], cameras["good_region"], citizen_vehicle, minute=55, behavior="speeding", place={**place, "stretch": "other"})
    assert client.post("/api/v1/captures", json=[fast, unmeasured], headers=bearer(tokens["admin"])).json()["accepted"] == 2
    officer = bearer(tokens["officer"])
    case = client.post("/api/v1/review/cap-s1/confirm", headers=officer).json()
    assert case["status"] == "proposed" and case["proposal"]["points"] > 0 and case["proposal"]["fine_yuan"]
    manual = client.post("/api/v1/review/cap-s2/confirm", headers=officer).json()
    assert manual["status"] == "manual" and manual["proposal"] is None and "speed" in manual["proposal_error"]["field"]
    refused = client.post(f"/api/v1/cases/{manual['id']}/issue", json={"version": manual["version"]}, headers=officer)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "deviation"
