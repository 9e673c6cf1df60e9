"""The sharing catalogue and the access check as plain functions: a golden table of grants and days."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from trafficgov.errors import FieldError
from trafficgov.hub import sharing

DAY = date(2026, 6, 30)
V = sharing.catalogue().at(DAY)


def grant(id=1, dataset="driver_points", consumer="T", purpose="transport_safety_supervision", status="approved",
          valid_from=date(2026, 1, 1), expires_on=date(2026, 12, 31), fields=("name", "points")) -> sharing.Grant:
    return sharing.Grant(id, dataset, consumer, purpose, fields, "《道路运输条例》第五十三条", valid_from, expires_on, status)


@pytest.mark.parametrize(("grants", "dataset", "purpose", "consumer", "day", "expected"), [
    ([grant()], "driver_points", "transport_safety_supervision", "T", DAY, 1),
    ([grant()], "driver_points", "transport_safety_supervision", "T", date(2026, 12, 31), 1),  # the expiry day is inside
    ([grant()], "driver_points", "transport_safety_supervision", "T", date(2027, 1, 1), "grant_expired"),
    ([grant()], "driver_points", "transport_safety_supervision", "T", date(2025, 12, 31), "grant_not_started"),
    ([grant()], "driver_points", "transport_permit_review", "T", DAY, "purpose_not_granted"),
    ([grant()], "vehicle_registration", "transport_safety_supervision", "T", DAY, "no_grant"),
    ([grant()], "driver_points", "transport_safety_supervision", "OTHER", DAY, "no_grant"),  # another department's grant
    ([grant()], "driver_points", "transport_safety_supervision", None, DAY, "no_department"),
    ([grant(status="revoked")], "driver_points", "transport_safety_supervision", "T", DAY, "grant_revoked"),
    ([grant(status="requested")], "driver_points", "transport_safety_supervision", "T", DAY, "grant_pending"),
    ([grant(status="refused")], "driver_points", "transport_safety_supervision", "T", DAY, "grant_refused"),
    ([grant(status="revoked"), grant(id=2)], "driver_points", "transport_safety_supervision", "T", DAY, 2),
    ([grant(), grant(id=5)], "driver_points", "transport_safety_supervision", "T", DAY, 5),  # the newest active grant
    ([grant()], "salaries", "transport_safety_supervision", "T", DAY, "unknown_dataset"),
    ([grant()], "driver_points", "curiosity", "T", DAY, "unknown_purpose"),
])
def test_the_access_check(grants, dataset, purpose, consumer, day, expected):
    result = sharing.check_access(V, dataset, purpose, consumer, grants, day)
    if isinstance(expected, int):
        assert isinstance(result, sharing.Grant) and result.id == expected
    else:
        assert isinstance(result, sharing.Refusal) and result.code == expected and result.reason_zh


def test_only_granted_fields_leave_in_the_grants_order():
    record = {"id_number": "x", "name": "张三", "points": 6, "classes": "C1"}
    assert sharing.project(record, ("name", "points")) == {"name": "张三", "points": 6}


def test_a_request_keeps_the_catalogue_order_and_refuses_what_it_does_not_know():
    assert sharing.validate_request(V, "driver_points", "transport_safety_supervision", ["points", "name"], "x", DAY, DAY) == ("name", "points")
    for args, field in (
        (("nope", "transport_safety_supervision", ["name"], "x", DAY, DAY), "dataset"),
        (("driver_points", "transport_safety_supervision", ["salary"], "x", DAY, DAY), "fields"),
        (("driver_points", "transport_safety_supervision", [], "x", DAY, DAY), "fields"),
        (("driver_points", "transport_safety_supervision", ["name"], "  ", DAY, DAY), "legal_basis"),
        (("driver_points", "transport_safety_supervision", ["name"], "x", DAY, date(2026, 6, 29)), "expires_on"),
        (("driver_points", "transport_safety_supervision", ["name"], "x", DAY, date(2027, 7, 2)), "expires_on"),
    ):
        with pytest.raises(FieldError) as caught:
            sharing.validate_request(V, *args)
        assert caught.value.field == field


def test_an_investigation_read_is_shown_only_once_its_case_is_closed():
    assert sharing.visible_to_subject(False, None, set(), "T")
    assert not sharing.visible_to_subject(True, "C1", set(), "T")
    assert not sharing.visible_to_subject(True, "C1", {("OTHER", "C1")}, "T")
    assert sharing.visible_to_subject(True, "C1", {("T", "C1")}, "T")


def test_every_purpose_rests_on_a_basis_and_every_owner_is_a_department():
    assert all(p.legal_basis is not None for p in V.purposes)
    from trafficgov.hub.model import DEPARTMENT_LABELS_ZH

    assert {d.owner for d in V.datasets} <= set(DEPARTMENT_LABELS_ZH)


def test_an_invalid_catalogue_is_refused_on_load(tmp_path):
    raw = yaml.safe_load(sharing.CATALOGUE_FILE.read_text(encoding="utf-8"))
    raw["versions"][0]["datasets"][0]["owner"] = "nobody"
    path = tmp_path / "sharing.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(sharing.CatalogueError, match="owner"):
        sharing.load_catalogue(path)
    raw = yaml.safe_load(sharing.CATALOGUE_FILE.read_text(encoding="utf-8"))
    raw["versions"].append({**raw["versions"][0], "version_id": "again"})
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(sharing.CatalogueError, match="overlap"):
        sharing.load_catalogue(path)


def test_a_read_for_an_investigation_names_its_case():
    investigation = grant(purpose="transport_case_investigation")
    refused = sharing.check_access(V, "driver_points", "transport_case_investigation", "T", [investigation], DAY)
    assert isinstance(refused, sharing.Refusal) and refused.code == "case_required"
    assert sharing.check_access(V, "driver_points", "transport_case_investigation", "T", [investigation], DAY, " ").code == "case_required"
    assert sharing.check_access(V, "driver_points", "transport_case_investigation", "T", [investigation], DAY, "JT-1") == investigation
