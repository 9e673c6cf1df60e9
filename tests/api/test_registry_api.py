"""Look-ups through /api/v1 with real logins: scoping by role, purpose, masking, audit, bad input."""

from __future__ import annotations

import csv

import pytest

from conftest import bearer


@pytest.fixture
def vehicles(demo_dir):
    with (demo_dir / "vehicles.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_citizen_sees_own_licence_points_and_vehicles(client, tokens, accounts):
    response = client.get("/api/v1/me", headers=bearer(tokens["citizen"]))
    assert response.status_code == 200
    mine = response.json()
    assert mine["person"]["id_number"] == accounts["citizen"]["id_number"]
    assert mine["licence"] is not None and "points" in mine["licence"]
    assert len(mine["vehicles"]) >= 2
    assert all(v["owner_id"] == accounts["citizen"]["id_number"] for v in mine["vehicles"])


def test_citizen_cannot_open_another_persons_record(client, tokens, accounts, vehicles):
    other = next(v["owner_id"] for v in vehicles if v["owner_id"] != accounts["citizen"]["id_number"] and v["owner_id"][:17].isdigit())
    response = client.get(f"/api/v1/people/{other}", headers=bearer(tokens["citizen"]))
    assert response.status_code == 403
    assert response.json()["detail"]["reason_zh"]
    own = client.get(f"/api/v1/people/{accounts['citizen']['id_number']}", headers=bearer(tokens["citizen"]))
    assert own.status_code == 200


def test_company_sees_only_its_own_vehicles(client, tokens, accounts, vehicles):
    uscc = accounts["company"]["uscc"]
    mine = client.get("/api/v1/me", headers=bearer(tokens["company"])).json()
    assert mine["vehicles"] and all(uscc in (v["owner_id"], v["operator_uscc"]) for v in mine["vehicles"])
    other = next(v for v in vehicles if uscc not in (v["owner_id"], v["operator_uscc"]))
    response = client.get("/api/v1/vehicles", params={"plate_number": other["plate_number"], "plate_type": other["plate_type"]}, headers=bearer(tokens["company"]))
    assert response.status_code == 403


def test_staff_must_state_a_purpose_and_the_read_is_audited(client, tokens, vehicles):
    vehicle = vehicles[0]
    params = {"plate_number": vehicle["plate_number"], "plate_type": vehicle["plate_type"]}
    refused = client.get("/api/v1/vehicles", params=params, headers=bearer(tokens["officer"]))
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "purpose"
    found = client.get("/api/v1/vehicles", params={**params, "purpose": "case_handling"}, headers=bearer(tokens["officer"]))
    assert found.status_code == 200 and found.json()["plate_number"] == vehicle["plate_number"]
    log = client.get("/api/v1/audit", params={"entity": "vehicle", "action": "read"}, headers=bearer(tokens["supervisor"])).json()
    assert log[0]["record_key"] == f"{vehicle['plate_number']}:{vehicle['plate_type']}"
    assert log[0]["purpose"] == "case_handling" and log[0]["role"] == "officer"


def test_personal_numbers_are_masked_for_roles_that_do_not_need_them(client, tokens, accounts):
    id_number = accounts["citizen"]["id_number"]
    clerk = client.get(f"/api/v1/people/{id_number}", params={"purpose": "service_handling"}, headers=bearer(tokens["clerk"])).json()
    supervisor = client.get(f"/api/v1/people/{id_number}", params={"purpose": "supervision"}, headers=bearer(tokens["supervisor"])).json()
    assert clerk["person"]["id_number"] == id_number
    assert supervisor["person"]["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert supervisor["person"]["phone"] is None or "****" in supervisor["person"]["phone"]


def test_vehicle_by_vin_and_company_by_name(client, tokens, vehicles, accounts):
    with_vin = next(v for v in vehicles if v["vin"])
    found = client.get(f"/api/v1/vehicles/by-vin/{with_vin['vin']}", params={"purpose": "case_handling"}, headers=bearer(tokens["officer"]))
    assert found.status_code == 200 and found.json()["vin"] == with_vin["vin"]
    company = client.get(f"/api/v1/companies/{accounts['company']['uscc']}", params={"purpose": "supervision"}, headers=bearer(tokens["officer"])).json()
    name = company["company"]["name"]
    part = name.replace("有限公司", "")[-4:]
    results = client.get("/api/v1/companies", params={"name": part}, headers=bearer(tokens["officer"])).json()
    assert accounts["company"]["uscc"] in [c["uscc"] for c in results]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"plate_number": "鲁A1234", "plate_type": "02"}, "plate_number"),
        ({"plate_number": "鲁A12345", "plate_type": "77"}, "plate_type"),
    ],
)
def test_bad_input_names_the_field_never_500(client, tokens, params, field):
    response = client.get("/api/v1/vehicles", params={**params, "purpose": "case_handling"}, headers=bearer(tokens["officer"]))
    assert response.status_code == 422
    assert response.json()["detail"]["field"] == field


def test_bad_id_number_and_vin_are_422(client, tokens):
    assert client.get("/api/v1/people/110105194912310021", params={"purpose": "case_handling"}, headers=bearer(tokens["officer"])).json()["detail"]["field"] == "id_number"
    assert client.get("/api/v1/vehicles/by-vin/LVSFKAML5GF423558", params={"purpose": "case_handling"}, headers=bearer(tokens["officer"])).status_code == 422


def test_wrong_password_is_401_and_repeated_failures_are_limited(client, accounts):
    username = accounts["officer"]["username"]
    statuses = [client.post("/api/v1/auth/token", data={"username": username, "password": "wrong"}).status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_correction_flow_keeps_history(client, tokens, accounts):
    created = client.post("/api/v1/corrections", json={"field": "name", "requested_value": "更正后姓名", "reason": "户籍已更名"}, headers=bearer(tokens["citizen"]))
    assert created.status_code == 201, created.text
    correction = created.json()
    pending = client.get("/api/v1/corrections", params={"status": "pending"}, headers=bearer(tokens["clerk"])).json()
    assert correction["id"] in [c["id"] for c in pending]
    rejected_without_reason = client.post(f"/api/v1/corrections/{correction['id']}/decision", json={"approve": False}, headers=bearer(tokens["clerk"]))
    assert rejected_without_reason.status_code == 422
    decided = client.post(f"/api/v1/corrections/{correction['id']}/decision", json={"approve": True, "note": "核实无误"}, headers=bearer(tokens["clerk"]))
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    mine = client.get("/api/v1/me", headers=bearer(tokens["citizen"])).json()
    assert mine["person"]["name"] == "更正后姓名"
    history = client.get(f"/api/v1/history/people/{accounts['citizen']['id_number']}", headers=bearer(tokens["citizen"])).json()
    assert history[-1]["old_values"]["name"] == correction["current_value"]
    assert history[-1]["source"] == f"correction:{correction['id']}"


def test_citizen_may_not_correct_fields_outside_the_list(client, tokens):
    response = client.post("/api/v1/corrections", json={"field": "id_number", "requested_value": "x", "reason": "y"}, headers=bearer(tokens["citizen"]))
    assert response.status_code == 422 and response.json()["detail"]["field"] == "field"


def test_malformed_json_is_a_documented_400(client, tokens):
    response = client.post("/api/v1/corrections", content=b"{not json", headers={**bearer(tokens["citizen"]), "content-type": "application/json"})
    assert response.status_code == 400
    assert "400" in client.get("/openapi.json").json()["paths"]["/api/v1/corrections"]["post"]["responses"]
