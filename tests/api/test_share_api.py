"""Governed sharing through the API: a grant asked for and approved by the owner, reads that return only the
granted fields for the granted purpose, refusals with a JSON reason, the audit trail, the person's own view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conftest import bearer
from trafficgov.accounts import service as accounts_service
from trafficgov.accounts.model import Role
from trafficgov.audit import service as audit
from trafficgov.config import read_or_create_key
from trafficgov.errors import Forbidden, NotFound
from trafficgov.registry import service as registry

TODAY = datetime.now(UTC).date()


def _grant(client, tokens, *, dataset="vehicle_inspection_status", purpose="transport_safety_supervision",
           fields=("plate_number", "plate_type", "inspection_due", "inspection_overdue"), approver="admin", days=180) -> dict:
    asked = client.post("/api/v1/share/grants", headers=bearer(tokens["partner"]), json={
        "dataset": dataset, "purpose": purpose, "fields": list(fields), "legal_basis": "《道路运输条例》第五十三条",
        "valid_from": TODAY.isoformat(), "expires_on": (TODAY + timedelta(days=days)).isoformat(),
    })
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "requested"
    decided = client.post(f"/api/v1/share/grants/{asked.json()['id']}/decision", headers=bearer(tokens[approver]), json={"approve": True})
    assert decided.status_code == 200, decided.text
    return decided.json()


@pytest.fixture
def vehicle(loaded, accounts) -> str:
    plates = registry.plates_of_owner(loaded, accounts["citizen"]["id_number"])
    assert plates, "the demo citizen owns a vehicle"
    return plates[0]


def test_a_granted_read_returns_only_the_granted_fields_and_is_audited(settings, loaded, client, tokens, vehicle):
    grant = _grant(client, tokens)
    answer = client.get("/api/v1/share/vehicle_inspection_status", headers=bearer(tokens["partner"]),
                        params={"subject": vehicle, "purpose": "transport_safety_supervision"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body["fields"]) == {"plate_number", "plate_type", "inspection_due", "inspection_overdue"}
    assert body["subject"] == vehicle and body["grant_id"] == grant["id"] and body["owner"] == "traffic_police"
    with loaded.transaction() as session:
        shared = [r for r in audit.search(session, action="share") if r.record_key == vehicle]
        assert shared and shared[0].purpose == "transport_safety_supervision"
        assert shared[0].detail["fields"] == ["plate_number", "plate_type", "inspection_due", "inspection_overdue"]
        assert shared[0].detail["consumer"] == shared[0].unit
        assert audit.verify(session, read_or_create_key(settings.audit_key_file)).ok


def test_everything_not_granted_is_refused_with_a_json_reason(loaded, client, tokens, vehicle, accounts):
    _grant(client, tokens)
    partner = bearer(tokens["partner"])
    cases = {
        ("vehicle_inspection_status", "transport_permit_review"): "purpose_not_granted",
        ("vehicle_registration", "transport_safety_supervision"): "no_grant",
        ("vehicle_inspection_status", "no_such_purpose"): "unknown_purpose",
        ("payroll", "transport_safety_supervision"): "unknown_dataset",
    }
    for (dataset, purpose), code in cases.items():
        answer = client.get(f"/api/v1/share/{dataset}", headers=partner, params={"subject": vehicle, "purpose": purpose})
        assert answer.status_code == 403, (dataset, purpose, answer.text)
        assert answer.json()["detail"]["code"] == code and answer.json()["detail"]["reason_zh"]
    # other roles never reach the sharing route; a citizen is not a department
    assert client.get("/api/v1/share/vehicle_inspection_status", headers=bearer(tokens["citizen"]),
                      params={"subject": vehicle, "purpose": "transport_safety_supervision"}).status_code == 403
    # refusals are logged like served reads
    with loaded.transaction() as session:
        refused = [r for r in audit.search(session, action="share", limit=50) if r.detail.get("outcome") == "refused"]
    assert {r.detail["refusal"] for r in refused} == set(cases.values())


def test_a_revoked_or_expired_grant_no_longer_serves(loaded, client, tokens, vehicle):
    grant = _grant(client, tokens)
    params = {"subject": vehicle, "purpose": "transport_safety_supervision"}
    assert client.get("/api/v1/share/vehicle_inspection_status", headers=bearer(tokens["partner"]), params=params).status_code == 200
    assert client.post(f"/api/v1/share/grants/{grant['id']}/revoke", headers=bearer(tokens["partner"]), json={"note": "x"}).status_code == 403
    revoked = client.post(f"/api/v1/share/grants/{grant['id']}/revoke", headers=bearer(tokens["admin"]), json={"note": "用途已结束"})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    answer = client.get("/api/v1/share/vehicle_inspection_status", headers=bearer(tokens["partner"]), params=params)
    assert answer.status_code == 403 and answer.json()["detail"]["code"] == "grant_revoked"


def test_only_the_owner_department_approves_and_never_its_own_request(loaded, client, tokens, accounts, demo_dir):
    asked = client.post("/api/v1/share/grants", headers=bearer(tokens["partner"]), json={
        "dataset": "company_permit_status", "purpose": "transport_permit_review", "fields": ["uscc", "permit_valid"],
        "legal_basis": "《道路运输条例》第五十三条", "valid_from": TODAY.isoformat(), "expires_on": (TODAY + timedelta(days=30)).isoformat(),
    }).json()
    # owned by transport: the bureau's administrator may not decide it, and transport may not approve its own request
    assert client.post(f"/api/v1/share/grants/{asked['id']}/decision", headers=bearer(tokens["admin"]), json={"approve": True}).status_code == 403
    assert client.post(f"/api/v1/share/grants/{asked['id']}/decision", headers=bearer(tokens["partner"]), json={"approve": True}).status_code == 403
    # a request the bureau's legal reviewer refuses needs a reason
    other = client.post("/api/v1/share/grants", headers=bearer(tokens["partner"]), json={
        "dataset": "driver_points", "purpose": "transport_safety_supervision", "fields": ["points"],
        "legal_basis": "《道路运输条例》第五十三条", "valid_from": TODAY.isoformat(), "expires_on": (TODAY + timedelta(days=30)).isoformat(),
    }).json()
    assert client.post(f"/api/v1/share/grants/{other['id']}/decision", headers=bearer(tokens["legal_reviewer"]), json={"approve": False}).status_code == 422
    refused = client.post(f"/api/v1/share/grants/{other['id']}/decision", headers=bearer(tokens["legal_reviewer"]), json={"approve": False, "note": "超出必要范围"})
    assert refused.json()["status"] == "refused"
    again = client.post(f"/api/v1/share/grants/{other['id']}/decision", headers=bearer(tokens["legal_reviewer"]), json={"approve": True})
    assert again.status_code == 409


def test_a_grant_request_is_checked_against_the_catalogue(client, tokens):
    base = {"dataset": "vehicle_inspection_status", "purpose": "transport_safety_supervision", "fields": ["plate_number"],
            "legal_basis": "《道路运输条例》第五十三条", "valid_from": TODAY.isoformat(), "expires_on": (TODAY + timedelta(days=30)).isoformat()}
    for change, field in (({"fields": ["salary"]}, "fields"), ({"expires_on": (TODAY + timedelta(days=400)).isoformat()}, "expires_on"),
                          ({"legal_basis": " "}, "legal_basis"), ({"purpose": "curiosity"}, "purpose")):
        answer = client.post("/api/v1/share/grants", headers=bearer(tokens["partner"]), json={**base, **change})
        assert answer.status_code == 422 and answer.json()["detail"]["field"] == field, (change, answer.text)
    assert client.post("/api/v1/share/grants", headers=bearer(tokens["clerk"]), json=base).status_code == 403


def test_the_person_sees_who_read_their_data_and_an_investigation_only_once_closed(loaded, client, tokens, accounts, vehicle):
    me = accounts["citizen"]["id_number"]
    _grant(client, tokens, dataset="driver_points", fields=("name", "points"))
    _grant(client, tokens, dataset="driver_points", purpose="transport_case_investigation", fields=("points",))
    partner = bearer(tokens["partner"])
    assert client.get("/api/v1/share/driver_points", headers=partner, params={"subject": me, "purpose": "transport_safety_supervision"}).status_code == 200
    no_case = client.get("/api/v1/share/driver_points", headers=partner, params={"subject": me, "purpose": "transport_case_investigation"})
    assert no_case.status_code == 403 and no_case.json()["detail"]["code"] == "case_required"
    assert client.get("/api/v1/share/driver_points", headers=partner,
                      params={"subject": me, "purpose": "transport_case_investigation", "case": "JT-2026-001"}).status_code == 200
    client.get(f"/api/v1/people/{me}", params={"purpose": "service_handling"}, headers=bearer(tokens["clerk"]))

    reads = client.get("/api/v1/me/reads", headers=bearer(tokens["citizen"])).json()
    purposes = [r["purpose"] for r in reads]
    assert "道路运输安全监管" in purposes and "道路运输违法案件调查" not in purposes
    assert any(r["channel"] == "工作人员查询" and r["purpose"] == "业务办理" for r in reads)
    shared = next(r for r in reads if r["purpose"] == "道路运输安全监管")
    assert shared["who"] == "济南市交通运输局" and shared["fields"] == ["姓名", "本周期累积记分"]

    assert client.post("/api/v1/share/cases/JT-2026-001/close", headers=partner).status_code == 204
    reads = client.get("/api/v1/me/reads", headers=bearer(tokens["citizen"])).json()
    assert "道路运输违法案件调查" in [r["purpose"] for r in reads]
    # another citizen's reads are not theirs
    accounts_service.create_user(loaded, "someone", "pw-someone-2026", Role.CITIZEN, id_number="110101199003077578", profile="test")
    token = client.post("/api/v1/auth/token", data={"username": "someone", "password": "pw-someone-2026"}).json()["access_token"]
    assert client.get("/api/v1/me/reads", headers=bearer(token)).json() == []


def test_each_dataset_is_documented_with_its_subject_and_fields(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/share/vehicle_registration"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert {"subject", "purpose", "case"} <= set(params) and "号牌号码:号牌种类" in params["subject"]["description"]
    assert "owner_id" in operation["description"] and "403" in operation["responses"]
    model = schema["components"]["schemas"]["SharedFields_vehicle_registration"]
    assert model["properties"]["owner_id"]["description"].startswith("所有人证件号码")


def test_the_demo_seeds_one_approved_grant_and_one_request_once(loaded, client, tokens, vehicle):
    from trafficgov.demo.load import seed_sharing

    assert seed_sharing(loaded) == 2 and seed_sharing(loaded) == 0
    answer = client.get("/api/v1/share/vehicle_inspection_status", headers=bearer(tokens["partner"]),
                        params={"subject": vehicle, "purpose": "transport_safety_supervision"})
    assert answer.status_code == 200 and "inspection_overdue" in answer.json()["fields"]
    statuses = sorted(g["status"] for g in client.get("/api/v1/share/grants", headers=bearer(tokens["admin"])).json())
    assert statuses == ["approved", "requested"]


def test_a_service_fetches_a_material_with_its_provenance_instead_of_asking(loaded, accounts, vehicle):
    from trafficgov.accounts.service import get_user
    from trafficgov.errors import Forbidden
    from trafficgov.hub import sharing_service

    clerk = get_user(loaded, "clerk")
    material = sharing_service.fetch_material(loaded, clerk, "vehicle_inspection_status", vehicle, "vehicle_registration_check")
    assert material.owner_zh == "公安交管" and material.subject == vehicle and "inspection_due" in material.fields
    # another department's dataset needs that department's grant to the bureau's unit
    company = accounts["company"]["uscc"]
    with pytest.raises(Forbidden):
        sharing_service.fetch_material(loaded, clerk, "company_permit_status", company, "vehicle_registration_check")
    with pytest.raises(Forbidden):
        sharing_service.fetch_material(loaded, get_user(loaded, "citizen"), "vehicle_inspection_status", vehicle, "vehicle_registration_check")
    with loaded.transaction() as session:
        assert any(r.record_key == vehicle and r.actor == "clerk" for r in audit.search(session, action="share"))


def test_materials_held_by_other_departments_come_from_their_synced_systems(loaded, client, tokens, demo_dir, tmp_path):
    """交强险保单 and 三检合一报告 live in the insurers' and the inspection stations' systems: the hub's synced copy
    answers, under the owner's grant, with the source record as provenance."""
    import csv
    import json
    import shutil

    from trafficgov.accounts.service import create_user, get_user
    from trafficgov.demo.load import sync_demo_sources
    from trafficgov.hub import sharing_service

    city = tmp_path / "city"
    shutil.copytree(demo_dir, city)
    sync_demo_sources(loaded, get_user(loaded, "admin"), city, 1)
    with (demo_dir / "organisations.csv").open(encoding="utf-8") as handle:
        insurance = next(o["code"] for o in csv.DictReader(handle) if o["kind"] == "insurance")
    insurer = create_user(loaded, "insurer", "pw-insurer-2026", Role.PARTNER, org_code=insurance, profile="test")
    truth = json.loads((city / "sources" / "truth.json").read_text(encoding="utf-8"))["sources"]["ins_ctpl"]["records"]
    plate, plate_type = next(t["vehicle"] for t in truth.values() if not t["quarantine"])
    subject = f"{plate}:{plate_type}"

    admin, clerk = get_user(loaded, "admin"), get_user(loaded, "clerk")
    with pytest.raises(sharing_service.ShareRefused):  # not granted yet
        sharing_service.fetch_material(loaded, clerk, "vehicle_insurance_policy", subject, "vehicle_registration_check")
    asked = sharing_service.request_grant(loaded, admin, dataset="vehicle_insurance_policy", purpose="vehicle_registration_check",
                                          fields=["policy_number", "insurer", "ends_on", "in_force"], legal_basis="《机动车登记规定》第四条",
                                          valid_from=TODAY, expires_on=TODAY + timedelta(days=90))
    with pytest.raises(Forbidden):  # the bureau cannot approve what the insurers own
        sharing_service.decide_grant(loaded, admin, asked.id, approve=True)
    sharing_service.decide_grant(loaded, insurer, asked.id, approve=True)
    material = sharing_service.fetch_material(loaded, clerk, "vehicle_insurance_policy", subject, "vehicle_registration_check")
    assert material.owner_zh == "保险监管/行业" and material.source.startswith("ins_ctpl/")
    assert set(material.fields) == {"policy_number", "insurer", "ends_on", "in_force"} and material.fields["policy_number"]
    with pytest.raises(NotFound):
        sharing_service.fetch_material(loaded, clerk, "vehicle_insurance_policy", "鲁Q00000:02", "vehicle_registration_check")


def test_the_catalogue_refuses_a_hub_dataset_naming_fields_its_kind_lacks(tmp_path):
    import yaml

    from trafficgov.hub import sharing

    raw = yaml.safe_load(sharing.CATALOGUE_FILE.read_text(encoding="utf-8"))
    dataset = next(d for d in raw["versions"][0]["datasets"] if d["code"] == "vehicle_insurance_policy")
    dataset["fields"].append({"name": "salary", "label_zh": "工资"})
    path = tmp_path / "sharing.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(sharing.CatalogueError, match="salary"):
        sharing.load_catalogue(path)
