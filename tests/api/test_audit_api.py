"""The audit log through the API: search, export, verify, and the running app's seals."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text

from conftest import bearer
from trafficgov.audit import service as audit
from trafficgov.config import read_or_create_key


def test_reads_are_searchable_exportable_and_sealed_when_the_app_stops(settings, loaded, client, tokens, accounts):
    id_number = accounts["citizen"]["id_number"]
    assert client.get(f"/api/v1/people/{id_number}", params={"purpose": "service_handling"}, headers=bearer(tokens["clerk"])).status_code == 200
    found = client.get("/api/v1/audit", params={"record_key": id_number, "entity": "person"}, headers=bearer(tokens["supervisor"])).json()
    assert found[0]["actor"] == accounts["clerk"]["username"] and found[0]["purpose"] == "service_handling"
    exported = client.get("/api/v1/audit/export", params={"format": "csv", "entity": "person"}, headers=bearer(tokens["supervisor"]))
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and rows[-1]["record_key"] == id_number
    report = client.get("/api/v1/audit/verify", headers=bearer(tokens["admin"])).json()
    assert report["ok"] is True
    client.__exit__(None, None, None)  # the app's shutdown seals what came since the last seal
    with loaded.transaction() as session:
        final = audit.verify(session, read_or_create_key(settings.audit_key_file))
    assert final.ok and final.unsealed_tail == 0
    assert settings.audit_key_file.with_name(settings.audit_key_file.name + ".seal.json").exists()


def test_an_edited_entry_is_reported_by_verify(loaded, client, tokens, accounts):
    client.get(f"/api/v1/people/{accounts['citizen']['id_number']}", params={"purpose": "case_handling"}, headers=bearer(tokens["officer"]))
    with loaded.transaction() as session:
        session.execute(text("UPDATE audit_log SET purpose = 'citizen_request' WHERE entity = 'person'"))
    report = client.get("/api/v1/audit/verify", headers=bearer(tokens["supervisor"])).json()
    assert report["ok"] is False and report["problems_zh"]
