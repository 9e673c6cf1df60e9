"""Naming the actual driver of a company vehicle's camera case (ProcReg Arts. 21, 53), on SQLite and
PostgreSQL: the points go on the named driver's licence only once they confirm or an officer verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_pipeline_api import cameras, capture  # noqa: F401 - the fixture is used by name

from conftest import bearer
from trafficgov.credit.store import CreditViolationRow
from trafficgov.registry.store import HistoryRow, LicenceRow, VehicleRow


@pytest.fixture
def waiting_case(client, tokens, cameras, loaded, accounts) -> dict:  # noqa: F811
    """An issued red-light case (6 points) of the demo company's vehicle, waiting for its driver."""
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["company"]["uscc"]).order_by(VehicleRow.id)).first()
    client.post("/api/v1/captures", json=[capture("cap-d", cameras["good"], cameras["good_region"], vehicle)], headers=bearer(tokens["admin"]))
    officer = bearer(tokens["officer"])
    case = client.post("/api/v1/review/cap-d/confirm", headers=officer).json()
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer).json()
    assert issued["awaiting_driver"] and issued["decision"]["points"] == 6
    return issued


def licence_points(db, id_number: str) -> int:
    with db.transaction() as session:
        return session.scalars(select(LicenceRow.points).where(LicenceRow.id_number == id_number)).one() or 0


def test_company_names_driver_who_confirms_and_gets_the_points(client, tokens, loaded, accounts, waiting_case):
    driver = accounts["citizen"]["id_number"]
    before = licence_points(loaded, driver)
    company = bearer(tokens["company"])
    named = client.post(f"/api/v1/cases/{waiting_case['id']}/driver", json={"driver_id": driver, "note": "派车单 2026-118"}, headers=company)
    assert named.status_code == 200, named.text
    assert named.json()["status"] == "pending" and named.json()["driver_id"] != driver  # masked for the company
    assert licence_points(loaded, driver) == before  # nothing before the driver confirms

    again = client.post(f"/api/v1/cases/{waiting_case['id']}/driver", json={"driver_id": driver}, headers=company)
    assert again.status_code == 409

    citizen = bearer(tokens["citizen"])
    mine = client.get("/api/v1/me/driver-nominations", headers=citizen).json()
    assert [n["id"] for n in mine] == [named.json()["id"]] and mine[0]["driver_id"] == driver
    answered = client.post(f"/api/v1/driver-nominations/{mine[0]['id']}/answer", json={"accept": True}, headers=citizen)
    assert answered.status_code == 200 and answered.json()["status"] == "confirmed"
    assert licence_points(loaded, driver) == before + 6

    case = client.get(f"/api/v1/cases/{waiting_case['id']}", headers=bearer(tokens["officer"])).json()
    assert not case["awaiting_driver"] and case["points_applied_to"]
    with loaded.transaction() as session:
        assert session.scalars(select(CreditViolationRow.driver_id).where(CreditViolationRow.violation_id == str(waiting_case["id"]))).one() == driver
        history = session.scalars(select(HistoryRow).where(HistoryRow.entity == "licence", HistoryRow.entity_key == driver).order_by(HistoryRow.id.desc())).first()
        assert history.source == f"decision:{waiting_case['id']}" and history.new_values["points"] == before + 6
    assert client.post(f"/api/v1/driver-nominations/{mine[0]['id']}/answer", json={"accept": True}, headers=citizen).status_code == 409
    assert client.post(f"/api/v1/cases/{waiting_case['id']}/driver", json={"driver_id": driver}, headers=company).status_code == 409


def test_declined_naming_leaves_the_case_waiting_and_an_officer_can_verify_another(client, tokens, loaded, accounts, waiting_case):
    driver = accounts["citizen"]["id_number"]
    before = licence_points(loaded, driver)
    named = client.post(f"/api/v1/cases/{waiting_case['id']}/driver", json={"driver_id": driver}, headers=bearer(tokens["company"])).json()
    declined = client.post(f"/api/v1/driver-nominations/{named['id']}/answer", json={"accept": False}, headers=bearer(tokens["citizen"])).json()
    assert declined["status"] == "declined" and licence_points(loaded, driver) == before
    assert client.get(f"/api/v1/cases/{waiting_case['id']}", headers=bearer(tokens["officer"])).json()["awaiting_driver"]

    verified = client.post(f"/api/v1/cases/{waiting_case['id']}/driver", json={"driver_id": driver, "note": "本人到窗口确认"}, headers=bearer(tokens["clerk"]))
    assert verified.status_code == 200 and verified.json()["status"] == "confirmed"
    assert licence_points(loaded, driver) == before + 6
    statuses = [n["status"] for n in client.get(f"/api/v1/cases/{waiting_case['id']}/driver", headers=bearer(tokens["officer"])).json()]
    assert statuses == ["declined", "confirmed"]


def test_bad_namings_are_refused(client, tokens, loaded, accounts, waiting_case):
    company = bearer(tokens["company"])
    url = f"/api/v1/cases/{waiting_case['id']}/driver"
    bad = client.post(url, json={"driver_id": "370102199001011235"}, headers=company)
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "driver_id"
    with loaded.transaction() as session:
        holders = set(session.scalars(select(LicenceRow.id_number)))
    from trafficgov.registry.identifiers import id_check_digit

    stranger = next(n for n in (f"37010219800101{i:03d}" for i in range(100, 999)) if n + id_check_digit(n) not in holders)
    unlicensed = client.post(url, json={"driver_id": stranger + id_check_digit(stranger)}, headers=company)
    assert unlicensed.status_code == 422 and unlicensed.json()["detail"]["field"] == "driver_id"
    # the named driver is not the one answering: another citizen cannot confirm
    named = client.post(url, json={"driver_id": sorted(holders - {accounts["citizen"]["id_number"]})[0]}, headers=company).json()
    assert client.post(f"/api/v1/driver-nominations/{named['id']}/answer", json={"accept": True}, headers=bearer(tokens["citizen"])).status_code == 404


def log_in(client, account: dict) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:300]


def test_pages_let_the_company_name_and_the_driver_confirm(client, tokens, loaded, accounts, waiting_case):
    driver = accounts["citizen"]["id_number"]
    before = licence_points(loaded, driver)
    log_in(client, accounts["company"])
    page = client.get("/me/violations")
    assert "指定驾驶人" in page.text and f"/me/violations/{waiting_case['id']}/driver" in page.text
    wrong = client.post(f"/me/violations/{waiting_case['id']}/driver", data={"driver_id": "12345"})
    assert wrong.status_code == 422 and "18位身份证号码" in wrong.text
    named = client.post(f"/me/violations/{waiting_case['id']}/driver", data={"driver_id": driver, "note": "派车单"}, follow_redirects=False)
    assert named.status_code == 303
    assert "待驾驶人确认" in client.get("/me/violations").text

    log_in(client, accounts["citizen"])
    page = client.get("/me/violations")
    assert "待我确认的驾驶人指定" in page.text
    nomination = client.get("/api/v1/me/driver-nominations", headers=bearer(tokens["citizen"])).json()[0]
    done = client.post(f"/me/driver-nominations/{nomination['id']}/answer", data={"accept": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and licence_points(loaded, driver) == before + 6
    assert "待我确认的驾驶人指定" not in client.get("/me/violations").text
