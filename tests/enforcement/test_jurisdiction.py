"""Staff lists are kept to the unit's jurisdiction (违法行为发生地, ProcReg Art. 4): a brigade officer sees
the captures and cases of their district, the detachment sees the whole city. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from trafficgov.accounts.model import Actor, Role, region_cover
from trafficgov.accounts.service import jurisdiction_of
from trafficgov.enforcement import service
from trafficgov.registry.store import VehicleRow

SHA = "c" * 64


def test_region_cover_reads_division_levels():
    exact, prefixes = region_cover({"370102", "370100", "370000", "110105"})
    assert exact == {"370102", "110105"} and prefixes == ("37", "3701")


def test_a_unit_without_own_jurisdiction_answers_for_its_sub_units(loaded):
    from trafficgov.accounts.service import upsert_organisation

    upsert_organisation(loaded, "T0", "测试支队", "detachment")
    upsert_organisation(loaded, "T1", "测试一大队", "brigade", "T0", "370102")
    upsert_organisation(loaded, "T2", "测试二大队", "brigade", "T0", "370103 370104")
    with loaded.transaction() as session:
        assert jurisdiction_of(session, "T0") == {"370102", "370103", "370104"}
        assert jurisdiction_of(session, "T2") == {"370103", "370104"}
        assert jurisdiction_of(session, None) is None and jurisdiction_of(session, "missing") is None


def test_lists_keep_to_the_units_districts(loaded, admin_actor, accounts):
    devices = [
        {"device_id": f"CAM-{r}", "kind": "fixed_camera", "certified_until": date(2027, 1, 1), "location_published_at": date(2020, 1, 1), "region": r, "road": "经十路", "stretch": f"S{r}"}
        for r in ("370102", "370112")
    ]
    service.upsert_devices(loaded, admin_actor, devices)
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()
    records = [
        {
            "capture_id": f"j-{r}", "source": "fixed_camera", "device_id": f"CAM-{r}", "captured_at": "2026-06-18T09:30:00+08:00",
            "place": {"region": r}, "plate_number": vehicle.plate_number, "plate_type": vehicle.plate_type, "behavior": "red_light",
            "evidence": [{"uri": f"s3://evidence/j-{r}.jpg", "sha256": SHA}],
        }
        for r in ("370102", "370112")
    ]
    assert service.ingest_captures(loaded, admin_actor, records).accepted == 2
    brigade = Actor("o1", Role.OFFICER, unit=accounts["officer"]["org_code"])  # 历下区大队: 370102
    city = Actor("l1", Role.LEGAL_REVIEWER, unit=accounts["legal_reviewer"]["org_code"])  # 支队
    assert [c.capture_id for c in service.list_review_queue(loaded, brigade)] == ["j-370102"]
    assert sorted(c.capture_id for c in service.list_review_queue(loaded, city)) == ["j-370102", "j-370112"]
    for capture_id in ("j-370102", "j-370112"):
        service.confirm_capture(loaded, brigade, capture_id)  # acting is not restricted, only the lists
    assert [c.region for c in service.list_cases(loaded, brigade)] == ["370102"]
    assert sorted(c.region for c in service.list_cases(loaded, city)) == ["370102", "370112"]
    assert sorted(c.region for c in service.list_cases(loaded, admin_actor)) == ["370102", "370112"]
    overdue = service.list_overdue(loaded, brigade)
    assert {c.region for c in overdue.cases} <= {"370102"}
