"""Import of master data: validation, quarantine, idempotency, history, encodings, atomicity (both stores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from trafficgov.imports.service import export_records, import_file
from trafficgov.imports.store import ImportJobRow, QuarantineRow
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char, vin_check_char
from trafficgov.registry.store import HistoryRow, PersonRow


def resident_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def vin(template: str) -> str:
    return template[:8] + vin_check_char(template[:8] + "0" + template[9:]) + template[9:]


ALICE = resident_id("37010219800101123")
BOB = resident_id("37010319900202234")
CARRIER = uscc("91370100MA3C00001")


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def quarantined(database, job_id: int) -> list[QuarantineRow]:
    with database.transaction() as session:
        return list(session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job_id).order_by(QuarantineRow.line_no)))


def test_people_import_then_reimport_changes_nothing(database, admin_actor, tmp_path):
    people = write(tmp_path / "people.csv", f"id_number,name,phone,address\n{ALICE},张三,13800000001,历下区\n{BOB},李四,,\n")
    first = import_file(database, "people", people, admin_actor)
    assert first.public() == {"kind": "people", "read": 2, "inserted": 2, "updated": 0, "unchanged": 0, "quarantined": 0}
    again = import_file(database, "people", people, admin_actor)
    assert again.public() == {"kind": "people", "read": 2, "inserted": 0, "updated": 0, "unchanged": 2, "quarantined": 0}
    with database.transaction() as session:
        alice = session.scalar(select(PersonRow).where(PersonRow.id_number == ALICE))
        assert alice.birth_date.isoformat() == "1980-01-01" and alice.sex == "M"
        assert session.scalar(select(func.count()).select_from(HistoryRow)) == 0


def test_changed_row_is_updated_and_history_keeps_old_value_and_empty_cell_erases_nothing(database, admin_actor, tmp_path):
    import_file(database, "people", write(tmp_path / "a.csv", f"id_number,name,phone,address\n{ALICE},张三,13800000001,历下区\n"), admin_actor)
    summary = import_file(database, "people", write(tmp_path / "b.csv", f"id_number,name,phone,address\n{ALICE},张叁,,\n"), admin_actor)
    assert (summary.updated, summary.unchanged) == (1, 0)
    with database.transaction() as session:
        alice = session.scalar(select(PersonRow).where(PersonRow.id_number == ALICE))
        assert (alice.name, alice.phone, alice.address) == ("张叁", "13800000001", "历下区")
        history = session.scalars(select(HistoryRow)).all()
    assert len(history) == 1
    assert history[0].old_values == {"name": "张三"} and history[0].new_values == {"name": "张叁"}
    assert history[0].source == f"import:{summary.job_id}"


def test_invalid_rows_are_quarantined_with_reasons_and_the_rest_imported(database, admin_actor, tmp_path):
    bad_check = ALICE[:-1] + ("0" if ALICE[-1] != "0" else "1")
    text = (
        "id_number,name,phone,address\n"
        f"{ALICE},张三,13800000001,历下区\n"
        f"{bad_check},王五,,\n"
        f"{BOB},李四,,\n"
        f"{BOB},李四重复,,\n"
        "19800101,赵六,,\n"
        f"{resident_id('37010219801301123')},日期错,,\n"
        "too,many,fields,here,extra\n"
    )
    summary = import_file(database, "people", write(tmp_path / "people.csv", text), admin_actor)
    assert (summary.read, summary.inserted, summary.quarantined) == (7, 2, 5)
    rows = quarantined(database, summary.job_id)
    assert [r.line_no for r in rows] == [3, 5, 6, 7, 8]
    assert rows[0].field == "id_number" and "校验码" in rows[0].reason_zh and "check digit" in rows[0].reason_en
    assert "重复" in rows[1].reason_zh and "line 4" in rows[1].reason_en
    assert "出生日期" in rows[3].reason_zh
    assert rows[4].field == "line" and "5" in rows[4].reason_en


def test_fifteen_digit_number_is_converted(database, admin_actor, tmp_path):
    old = "370102800101123"
    summary = import_file(database, "people", write(tmp_path / "p.csv", f"id_number,name\n{old},老证\n"), admin_actor)
    assert summary.inserted == 1
    with database.transaction() as session:
        number = session.scalar(select(PersonRow.id_number))
    assert number == "370102198001011" + "23" + id_check_digit("37010219800101123")


def test_gb18030_and_bom_files(database, admin_actor, tmp_path):
    gb = write(tmp_path / "gb.csv", f"id_number,name\n{ALICE},张三\n", "gb18030")
    summary = import_file(database, "people", gb, admin_actor, encoding="gb18030")
    assert summary.inserted == 1
    bom = write(tmp_path / "bom.csv", f"\ufeffid_number,name\n{BOB},李四\n")
    assert import_file(database, "people", bom, admin_actor).inserted == 1
    # A GB18030 file read as UTF-8 is quarantined line by line, never half-imported with mojibake.
    wrong = write(tmp_path / "wrong.csv", f"id_number,name\n{resident_id('37010419700505345')},王五\n", "gb18030")
    summary = import_file(database, "people", wrong, admin_actor)
    assert summary.quarantined == 1 and "编码" in quarantined(database, summary.job_id)[0].reason_zh


def _seed_owner_and_company(database, admin_actor, tmp_path):
    import_file(database, "people", write(tmp_path / "p.csv", f"id_number,name\n{ALICE},张三\n{BOB},李四\n"), admin_actor)
    import_file(database, "companies", write(tmp_path / "c.csv", f"uscc,name,kind,address\n{CARRIER},济南示范运输有限公司,freight_transport,天桥区\n"), admin_actor)


def test_vehicles_jsonl_codes_must_be_strings_and_references_must_exist(database, admin_actor, tmp_path):
    _seed_owner_and_company(database, admin_actor, tmp_path)
    good_vin = vin("LVSFKAML0GF423558")
    records = [
        {"plate_number": "鲁A12345", "plate_type": "02", "vin": good_vin, "vehicle_type": "K33", "use_nature": "A", "owner_id": ALICE, "status": "A"},
        {"plate_number": "鲁A12346", "plate_type": 2, "owner_id": ALICE},
        {"plate_number": "鲁AB1234", "plate_type": "01", "vehicle_type": "H11", "use_nature": "F", "owner_id": CARRIER, "max_total_mass_kg": 25000, "axles": 3},
        {"plate_number": "鲁A99999", "plate_type": "02", "owner_id": resident_id("37010519700101111")},
        {"plate_number": "鲁A88888", "plate_type": "02", "vin": good_vin, "owner_id": BOB},
        {"plate_number": "ABC", "plate_type": "02", "owner_id": BOB},
        {"plate_number": "鲁A77777", "plate_type": "02", "vehicle_type": "ZZZ", "owner_id": BOB},
    ]
    path = write(tmp_path / "vehicles.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{not json\n")
    summary = import_file(database, "vehicles", path, admin_actor)
    assert (summary.read, summary.inserted, summary.quarantined) == (8, 2, 6)
    reasons = {r.line_no: r for r in quarantined(database, summary.job_id)}
    assert reasons[2].field == "plate_type" and "字符串" in reasons[2].reason_zh
    assert reasons[4].field == "owner_id" and "不存在" in reasons[4].reason_zh
    assert reasons[5].field == "vin"
    assert reasons[6].field == "plate_number"
    assert reasons[7].field == "vehicle_type"
    assert reasons[8].field == "line"


def test_vin_taken_by_another_vehicle_in_the_store_is_quarantined(database, admin_actor, tmp_path):
    _seed_owner_and_company(database, admin_actor, tmp_path)
    shared = vin("LGBH52E00KY000001")
    import_file(database, "vehicles", write(tmp_path / "v1.csv", f"plate_number,plate_type,vin,owner_id\n鲁A11111,02,{shared},{ALICE}\n"), admin_actor)
    summary = import_file(database, "vehicles", write(tmp_path / "v2.csv", f"plate_number,plate_type,vin,owner_id\n鲁A22222,02,{shared},{BOB}\n"), admin_actor)
    assert summary.quarantined == 1
    assert "鲁A11111" in quarantined(database, summary.job_id)[0].reason_zh


def test_licences_and_employments(database, admin_actor, tmp_path):
    _seed_owner_and_company(database, admin_actor, tmp_path)
    licences = write(tmp_path / "l.csv", f"id_number,classes,first_issued,valid_from,valid_to,status,school_uscc\n{ALICE},A2 C1,2010-05-01,2016-05-01,2026-05-01,A,\n{BOB},Z9,2010-05-01,,,A,\n")
    summary = import_file(database, "licences", licences, admin_actor)
    assert (summary.inserted, summary.quarantined) == (1, 1)
    assert quarantined(database, summary.job_id)[0].field == "classes"
    employments = write(tmp_path / "e.csv", f"id_number,uscc,role,from,to\n{ALICE},{CARRIER},driver,2020-01-01,\n{BOB},{CARRIER},pilot,2020-01-01,\n{ALICE},{CARRIER},escort,2021-01-01,2020-01-01\n")
    summary = import_file(database, "employments", employments, admin_actor)
    assert (summary.inserted, summary.quarantined) == (1, 2)
    assert [q.field for q in quarantined(database, summary.job_id)] == ["role", "to"]


def test_a_crash_mid_import_leaves_none_of_the_file(database, admin_actor, tmp_path, monkeypatch):
    from trafficgov.imports import service

    rows = "".join(f"{resident_id(f'37010219800101{i:03d}')},人{i}\n" for i in range(30))
    path = write(tmp_path / "people.csv", "id_number,name\n" + rows)
    monkeypatch.setattr(service, "CHUNK", 10)
    original = service._write_chunk
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(service, "_write_chunk", failing)
    with pytest.raises(RuntimeError):
        import_file(database, "people", path, admin_actor)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PersonRow)) == 0
        job = session.scalars(select(ImportJobRow)).one()
    assert job.status == "failed" and "disk full" in job.error


def test_export_writes_what_import_reads_and_masks_for_roles_without_the_right(database, admin_actor, tmp_path):
    _seed_owner_and_company(database, admin_actor, tmp_path)
    import_file(database, "vehicles", write(tmp_path / "v.csv", f"plate_number,plate_type,owner_id,rated_passengers\n鲁A11111,02,{ALICE},5\n鲁AB1234,01,{CARRIER},\n"), admin_actor)
    from trafficgov.imports.kinds import get_kind
    from trafficgov.imports.service import write_export

    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8") as handle:
        write_export(export_records(database, "vehicles", admin_actor, unmasked=True), get_kind("vehicles").columns, "csv", handle)
    again = import_file(database, "vehicles", out, admin_actor)
    assert again.public() == {"kind": "vehicles", "read": 2, "inserted": 0, "updated": 0, "unchanged": 2, "quarantined": 0}
    masked = list(export_records(database, "vehicles", admin_actor, unmasked=False))
    assert masked[0]["owner_id"] == ALICE[:6] + "********" + ALICE[-4:]
    assert masked[1]["owner_id"] == CARRIER  # a company's code is not personal data
    with database.transaction() as session:
        from trafficgov.audit.service import search

        assert [r.action for r in search(session, action="export")][:1] == ["export"]


def test_the_import_is_audited_once_per_file(database, admin_actor, tmp_path):
    from trafficgov.audit.service import search

    rows = "".join(f"{resident_id(f'37010219800101{i:03d}')},人{i}\n" for i in range(50))
    import_file(database, "people", write(tmp_path / "p.csv", "id_number,name\n" + rows), admin_actor)
    with database.transaction() as session:
        entries = search(session, action="import")
    assert len(entries) == 1 and entries[0].detail["inserted"] == 50 and entries[0].actor == "admin"
