"""Credit supervision's inputs (violations, accidents, inspections, safety_records, gps_alarms): the demo
city's history imports clean, a re-import changes nothing, bad rows are quarantined naming the field (both stores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from trafficgov.cli import app
from trafficgov.credit.store import (
    CreditAccidentPartyRow,
    CreditAccidentRow,
    CreditGpsAlarmRow,
    CreditInspectionRow,
    CreditSafetyRecordRow,
    CreditViolationRow,
)
from trafficgov.imports.service import import_file, ingest_file
from trafficgov.imports.store import QuarantineRow
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char

DEMO_FILES = {
    "violations": ("violations.csv", CreditViolationRow),
    "accidents": ("accidents.jsonl", CreditAccidentRow),
    "inspections": ("inspections.csv", CreditInspectionRow),
    "safety_records": ("safety_records.csv", CreditSafetyRecordRow),
    "gps_alarms": ("gps_alarms.csv", CreditGpsAlarmRow),
}
DRIVER = "37010219800101123" + id_check_digit("37010219800101123")
COMPANY = "91370100MA3C00001" + uscc_check_char("91370100MA3C00001")


def count(database, row) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(row))


def quarantined(database, job_id: int) -> list[tuple[int, str | None]]:
    with database.transaction() as session:
        rows = session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job_id).order_by(QuarantineRow.line_no))
        return [(r.line_no, r.field) for r in rows]


def test_demo_history_imports_clean_and_reimport_changes_nothing(loaded, settings, demo_dir: Path):
    env = {"TRAFFICGOV_DATABASE_URL": settings.database_url, "TRAFFICGOV_VAR_DIR": str(settings.var_dir), "TRAFFICGOV_AUDIT_KEY_FILE": str(settings.audit_key_file)}
    for kind, (name, row) in DEMO_FILES.items():
        path = demo_dir / name
        first = CliRunner().invoke(app, ["import", kind, str(path), "--json"], env=env)
        assert first.exit_code == 0, first.output
        summary = json.loads(first.stdout.strip().splitlines()[-1])
        assert summary["kind"] == kind and summary["quarantined"] == 0, summary
        assert summary["read"] == summary["inserted"] > 0
        assert count(loaded, row) == summary["inserted"]
        again = CliRunner().invoke(app, ["import", kind, str(path), "--json"], env=env)
        assert again.exit_code == 0, again.output
        repeat = json.loads(again.stdout.strip().splitlines()[-1])
        assert repeat == {"kind": kind, "read": summary["read"], "inserted": 0, "updated": 0, "unchanged": summary["read"], "quarantined": 0}
        assert count(loaded, row) == summary["inserted"]
    with loaded.transaction() as session:
        parties = session.scalars(select(CreditAccidentPartyRow)).all()
    assert parties and all(p.liability in ("full", "main", "equal", "minor", "none") for p in parties)
    assert any(p.vehicle_known for p in parties)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_violations_are_quarantined_naming_the_field(database, admin_actor, tmp_path):
    head = "violation_id,occurred_at,decided_at,behavior,violation_code,plate_number,plate_type,driver_id,region,outcome,fine_yuan,points\n"
    good = f"V1,2025-03-01T08:00:00+08:00,2025-03-03T10:00:00+08:00,speeding,,鲁A12345,02,{DRIVER},370102,fine,200,3\n"
    unknown_vehicle = "V2,2025-03-01T09:00:00+08:00,,red_light,,苏E88888,02,,370102,fine,200,6\n"
    bad = [
        "V3,2099-03-01T08:00:00+08:00,,speeding,,鲁A12345,02,,370102,fine,200,3\n",  # future
        "V4,2025-03-01T08:00:00+08:00,,flying,,鲁A12345,02,,370102,fine,200,3\n",  # behaviour
        "V5,2025-03-01T08:00:00+08:00,,,99999,鲁A12345,02,,370102,fine,200,3\n",  # GA code
        "V6,2025-03-01T08:00:00+08:00,,speeding,,XX123,02,,370102,fine,200,3\n",  # plate
        "V7,2025-03-01T08:00:00+08:00,,speeding,,鲁A12345,02,370102198001011230,370102,fine,200,3\n",  # ID
        "V8,2025-03-01T08:00:00+08:00,,speeding,,鲁A12345,02,,370102,fine,-5,3\n",  # negative
        "V9,2025-03-01,,speeding,,鲁A12345,02,,370102,fine,200,3\n",  # no offset
    ]
    summary = import_file(database, "violations", write(tmp_path / "v.csv", head + good + unknown_vehicle + "".join(bad)), admin_actor)
    assert (summary.inserted, summary.quarantined) == (2, 7)
    assert quarantined(database, summary.job_id) == [
        (4, "occurred_at"), (5, "behavior"), (6, "violation_code"), (7, "plate_number"), (8, "driver_id"), (9, "fine_yuan"), (10, "occurred_at"),
    ]


def accident(accident_id: str, **changes) -> dict:
    record = {
        "accident_id": accident_id, "occurred_at": "2025-05-01T10:00:00+08:00", "reported_at": "2025-05-01T10:05:00+08:00",
        "lon": 117.0, "lat": 36.6, "severity": "injury", "injuries": 1, "deaths": 0,
        "parties": [
            {"plate_number": "鲁A12345", "plate_type": "02", "driver_id": DRIVER, "liability": "main"},
            {"plate_number": "鲁B54321", "plate_type": "02", "driver_id": "", "liability": "minor"},
        ],
    }
    record.update(changes)
    return record


def test_bad_accidents_are_quarantined_and_unknown_vehicles_flagged(database, admin_actor, tmp_path):
    party = {"plate_number": "鲁A12345", "plate_type": "02", "driver_id": DRIVER, "liability": "most"}
    records = [
        accident("A1"),
        accident("A2", occurred_at="2099-01-01T00:00:00+08:00"),
        accident("A3", severity="scary"),
        accident("A4", injuries=-1),
        accident("A5", parties=[party]),
        accident("A6", parties=[]),
    ]
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{not json\n"
    path = write(tmp_path / "accidents.jsonl", lines)
    summary = ingest_file(database, "accidents", path, admin_actor)
    assert summary.public() == {"kind": "accidents", "read": 7, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 6}
    assert quarantined(database, summary.job_id) == [
        (2, "occurred_at"), (3, "severity"), (4, "injuries"), (5, "parties[1].liability"), (6, "parties"), (7, "line"),
    ]
    with database.transaction() as session:
        parties = session.scalars(select(CreditAccidentPartyRow).order_by(CreditAccidentPartyRow.party_no)).all()
    assert [(p.accident_id, p.party_no, p.liability, p.vehicle_known, p.driver_id) for p in parties] == [
        ("A1", 1, "main", False, DRIVER), ("A1", 2, "minor", False, None),
    ]
    again = ingest_file(database, "accidents", path, admin_actor)
    assert (again.inserted, again.unchanged, again.quarantined) == (0, 1, 6)
    assert count(database, CreditAccidentPartyRow) == 2


@pytest.mark.parametrize(
    ("kind", "text", "fields"),
    [
        (
            "inspections",
            "inspection_id,date,kind,plate_number,plate_type,driver_id,uscc,defects,out_of_service\n"
            f"I1,2025-01-05,roadside,鲁A12345,01,{DRIVER},{COMPANY},brakes,true\n"
            f"I2,2025-01-05,company_audit,,,,{COMPANY},,false\n"
            "I3,2099-01-05,roadside,鲁A12345,01,,,,false\n"
            "I4,2025-01-05,ramp_check,鲁A12345,01,,,,false\n"
            "I5,2025-01-05,roadside,鲁A12345,01,,,,maybe\n"
            "I6,2025-01-05,company_audit,,,,91370100MA3C000010,,false\n"
            "I7,2025-01-05,roadside,鲁A12345,X9,,,,false\n",
            [(4, "date"), (5, "kind"), (6, "out_of_service"), (7, "uscc"), (8, "plate_type")],
        ),
        (
            "safety_records",
            "uscc,month,training_hours,self_inspections,monitoring_staff\n"
            f"{COMPANY},2025-01,12.5,4,2\n"
            f"{COMPANY},2025-13,12.5,4,2\n"
            f"{COMPANY},2099-01,12.5,4,2\n"
            f"{COMPANY},2025-02,-1,4,2\n"
            f"{COMPANY},2025-03,1,-4,2\n"
            f"{COMPANY},2025-01,12.5,4,2\n",
            [(3, "month"), (4, "month"), (5, "training_hours"), (6, "self_inspections"), (7, "uscc,month")],
        ),
        (
            "gps_alarms",
            "date,plate_number,plate_type,kind,count,minutes\n"
            "2025-01-05,鲁A12345,01,fatigue,2,40\n"
            "2099-01-05,鲁A12345,01,fatigue,2,40\n"
            "2025-01-05,鲁A12345,01,sleeping,2,40\n"
            "2025-01-06,鲁A12345,01,speeding,-2,40\n"
            "2025-01-06,鲁A12345,01,offline,,40\n"
            "2025-01-07,鲁A,01,offline,1,40\n",
            [(3, "date"), (4, "kind"), (5, "count"), (6, "count"), (7, "plate_number")],
        ),
    ],
)
def test_bad_rows_are_quarantined_naming_the_field(database, admin_actor, tmp_path, kind, text, fields):
    path = write(tmp_path / f"{kind}.csv", text)
    summary = import_file(database, kind, path, admin_actor)
    assert (summary.quarantined, summary.inserted) == (len(fields), summary.read - len(fields))
    assert quarantined(database, summary.job_id) == fields
    again = import_file(database, kind, path, admin_actor)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, summary.inserted)


def test_accidents_csv_one_row_per_party_and_disagreement_quarantines_the_accident(database, admin_actor, tmp_path):
    head = "accident_id,occurred_at,reported_at,lon,lat,severity,injuries,deaths,plate_number,plate_type,driver_id,liability\n"
    rows = [
        f"C1,2025-05-01T10:00:00+08:00,,117.0,36.6,fatal,1,1,鲁A12345,02,{DRIVER},main\n",
        "C2,2025-05-02T10:00:00+08:00,,117.0,36.6,property,0,0,鲁A12345,02,,full\n",
        "C1,2025-05-01T10:00:00+08:00,,117.0,36.6,fatal,1,1,鲁B54321,02,,minor\n",
        "C2,2025-05-02T10:00:00+08:00,,117.0,36.6,injury,1,0,鲁B54321,02,,none\n",  # disagrees on severity
        "C3,2025-05-03T10:00:00+08:00,,117.0,36.6,property,0,0,鲁A12345,02,,often\n",
        "C3,2025-05-03T10:00:00+08:00,,117.0,36.6,property,0,0,鲁B54321,02,,none\n",
        ",2025-05-03T10:00:00+08:00,,117.0,36.6,property,0,0,鲁B54321,02,,none\n",
    ]
    path = write(tmp_path / "accidents.csv", head + "".join(rows))
    summary = ingest_file(database, "accidents", path, admin_actor)
    assert summary.public() == {"kind": "accidents", "read": 7, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 5}
    assert quarantined(database, summary.job_id) == [(3, "severity"), (5, "severity"), (6, "parties[1].liability"), (7, "parties[1].liability"), (8, "accident_id")]
    with database.transaction() as session:
        parties = session.scalars(select(CreditAccidentPartyRow).order_by(CreditAccidentPartyRow.party_no)).all()
    assert [(p.accident_id, p.party_no, p.liability) for p in parties] == [("C1", 1, "main"), ("C1", 2, "minor")]
    again = ingest_file(database, "accidents", path, admin_actor)
    assert (again.inserted, again.unchanged) == (0, 1)
