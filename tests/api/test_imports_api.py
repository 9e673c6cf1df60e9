"""Uploads through the API: size limit, job progress and quarantine, who may upload."""

from __future__ import annotations

from conftest import bearer
from trafficgov.registry.identifiers import id_check_digit


def resident_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


def test_upload_creates_a_job_with_counts_and_quarantine(client, tokens):
    body = f"id_number,name\n{resident_id('37010219800101123')},张三\n123,坏行\n".encode()
    response = client.post("/api/v1/imports/people", files={"file": ("people.csv", body, "text/csv")}, headers=bearer(tokens["admin"]))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "done" and job["inserted"] == 1 and job["quarantined"] == 1
    status = client.get(f"/api/v1/imports/jobs/{job['id']}", headers=bearer(tokens["admin"])).json()
    assert status["bytes_done"] == status["size_bytes"] == len(body)
    rows = client.get(f"/api/v1/imports/jobs/{job['id']}/quarantine", headers=bearer(tokens["admin"])).json()
    assert rows == [{"line_no": 3, "field": "id_number", "reason_zh": rows[0]["reason_zh"], "reason_en": rows[0]["reason_en"], "raw": "123,坏行"}]


def test_oversized_upload_is_413(client, tokens):
    body = b"id_number,name\n" + b"x" * (3 * 1024 * 1024)
    response = client.post("/api/v1/imports/people", files={"file": ("people.csv", body, "text/csv")}, headers=bearer(tokens["admin"]))
    assert response.status_code == 413
    assert "上限" in response.json()["detail"]["reason_zh"]


def test_unknown_kind_and_file_type_are_422(client, tokens):
    bad_kind = client.post("/api/v1/imports/trucks", files={"file": ("x.csv", b"a\n", "text/csv")}, headers=bearer(tokens["admin"]))
    assert bad_kind.status_code == 422 and bad_kind.json()["detail"]["field"] == "kind"
    bad_type = client.post("/api/v1/imports/people", files={"file": ("x.xlsx", b"a\n", "application/octet-stream")}, headers=bearer(tokens["admin"]))
    assert bad_type.status_code == 422 and bad_type.json()["detail"]["field"] == "file"


def test_citizens_may_not_upload(client, tokens):
    response = client.post("/api/v1/imports/people", files={"file": ("p.csv", b"id_number\n", "text/csv")}, headers=bearer(tokens["citizen"]))
    assert response.status_code == 403
