"""The vectorised CSV fast path never disagrees with the per-row reader and parsers.

For every line of a file, what the fast path yields is either exactly what `read_csv` + `parse_*`
give (same values, same Python types), or it is handed back to them (a fallback record equal to the
reader's). Checked on golden rows and on random files; then end to end, an import with the fast path
stores and quarantines exactly what an import without it does (both stores).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from trafficgov.errors import FieldError
from trafficgov.imports import fastpath
from trafficgov.imports.kinds import get_kind
from trafficgov.imports.reader import RawRecord, read_csv
from trafficgov.imports.service import import_file
from trafficgov.imports.store import QuarantineRow
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char, vin_check_char

VEHICLE_COLUMNS = get_kind("vehicles").columns
PEOPLE_COLUMNS = get_kind("people").columns


def resident_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


def vin(body: str) -> str:
    return body[:8] + vin_check_char(body[:8] + "0" + body[9:]) + body[9:]


ALICE = resident_id("37010219800101123")
OLD15 = "370102800101123"
CARRIER = uscc("91370100MA3C00001")
VIN = vin("LVSHCAMB0CE012345")
FULL = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")


def outcome(kind: str, record: RawRecord) -> tuple:
    """What the per-row path makes of a record: ("row", typed values) or ("error", field, zh, en)."""
    if record.error is not None:
        return ("error", record.error.field, record.error.zh, record.error.en)
    try:
        row = get_kind(kind).parse(record.values or {}, code_tables())
    except FieldError as error:
        return ("error", error.field, error.zh, error.en)
    return ("row", typed(row))


def typed(row: dict[str, Any]) -> list[tuple[str, type, Any]]:
    return [(name, type(value), value) for name, value in row.items()]


def same_record(a: RawRecord, b: RawRecord) -> bool:
    errors = [None if r.error is None else (r.error.field, r.error.zh, r.error.en) for r in (a, b)]
    return (a.line_no, a.values, a.raw) == (b.line_no, b.values, b.raw) and errors[0] == errors[1]


def check_file(kind: str, data: bytes, block_bytes: int = 256) -> int:
    """Assert the fast path agrees with the reader + parser on every line; return how many rows it took."""
    reference = {r.line_no: r for r in read_csv(io.BytesIO(data))}
    check = get_kind(kind).fast
    assert check is not None
    seen: list[int] = []
    taken = 0
    for item in fastpath.read_batches(io.BytesIO(data), "utf-8", block_bytes=block_bytes):
        if isinstance(item, fastpath.Batch):
            for index, row in enumerate(fastpath.check_batch(item, check, code_tables())):
                line_no = item.first_line + index
                if row is None:
                    record = item.record(index)
                    if record is None:
                        assert line_no not in reference
                        continue
                    assert same_record(record, reference[line_no])
                else:
                    assert outcome(kind, reference[line_no]) == ("row", typed(row)), line_no
                    assert fastpath.FastRecord(item, index).raw == reference[line_no].raw
                    taken += 1
                seen.append(line_no)
        else:
            assert same_record(item, reference[item.line_no])
            seen.append(item.line_no)
    assert seen == sorted(reference)
    return taken


def csv_bytes(columns: tuple[str, ...] | list[str], rows: list[list[str]], *, bom: bool = False, newline: str = "\n") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(columns)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def vehicle(**cells: str) -> list[str]:
    base = {
        "plate_number": "鲁A12345", "plate_type": "02", "vin": VIN, "vehicle_type": "K33", "use_nature": "A",
        "owner_id": ALICE, "operator_uscc": "", "rated_passengers": "5", "rated_load_kg": "", "max_total_mass_kg": "1800",
        "axles": "2", "registered_on": "2020-02-29", "inspection_due": "2022-02-28", "insurance_expiry": "2021-03-01", "status": "A",
    }
    base.update(cells)
    return [base[c] for c in VEHICLE_COLUMNS]


def person(**cells: str) -> list[str]:
    base = {"id_number": ALICE, "name": "张三", "phone": "13800000001", "address": "历下区泉城路1号", "doc_type": ""}
    base.update(cells)
    return [base[c] for c in PEOPLE_COLUMNS]


GOLDEN_VEHICLES = [
    vehicle(),
    vehicle(owner_id=CARRIER, operator_uscc=CARRIER),
    vehicle(owner_id="E12345678"),
    vehicle(owner_id=OLD15),  # 15-digit ID: converted by the parser, so not the fast path's
    vehicle(owner_id=ALICE.lower()), vehicle(owner_id=ALICE[:-1] + "0" if ALICE[-1] != "0" else ALICE[:-1] + "1"),
    vehicle(owner_id=CARRIER[:-1] + ("0" if CARRIER[-1] != "0" else "1")), vehicle(owner_id="123456"),
    vehicle(owner_id=ALICE.translate(FULL)), vehicle(plate_number="鲁a12345"), vehicle(plate_number="鲁A·12345"),
    vehicle(plate_number="鲁Ａ12345"), vehicle(plate_number=" 鲁A12345"), vehicle(plate_number="鲁A1234"),
    vehicle(plate_number="鲁AI2345"), vehicle(plate_number=""), vehicle(plate_type="2"), vehicle(plate_type="99"),
    vehicle(plate_type=""), vehicle(vin=VIN.lower()), vehicle(vin=VIN[:8] + ("0" if VIN[8] != "0" else "1") + VIN[9:]),
    vehicle(vin=VIN.translate(FULL)), vehicle(vin=""), vehicle(vehicle_type="k33"), vehicle(vehicle_type="ZZZ"),
    vehicle(use_nature="a"), vehicle(use_nature="AA"), vehicle(status="a"), vehicle(status="Z"), vehicle(status=""),
    vehicle(rated_passengers="301"), vehicle(rated_passengers="-1"), vehicle(rated_passengers="05"),
    vehicle(rated_passengers="５"), vehicle(rated_passengers="5.0"), vehicle(axles="0"), vehicle(axles="-0"),
    vehicle(registered_on="2021-02-29"), vehicle(registered_on="2021-13-01"), vehicle(registered_on="0000-01-01"),
    vehicle(registered_on="20200101"), vehicle(registered_on="2020-01-01T08:00"), vehicle(registered_on="2020-1-1"),
    vehicle(registered_on="２０２０-01-01"), vehicle(registered_on=" 2020-01-01"), vehicle(insurance_expiry="9999-12-31"),
    vehicle(operator_uscc=CARRIER.lower()), vehicle(operator_uscc="91370100MA3C0000"),
    ["", "", "", "", "", "", "", "", "", "", "", "", "", "", ""], [" "] * 15,
]

GOLDEN_PEOPLE = [
    person(), person(doc_type="A"), person(doc_type="a"), person(doc_type="B", id_number="E12345678"),
    person(id_number=OLD15), person(id_number=ALICE.lower()), person(id_number=ALICE.translate(FULL)),
    person(id_number=resident_id("37010218490101123")), person(id_number=resident_id("37010219800230123")),
    person(id_number=""), person(name="李·四"), person(name="Ｊｏｈｎ"), person(name="张 三"), person(name="张三 "),
    person(name="x" * 64), person(name="x" * 65), person(name="（张三）"), person(name="\u3000张三"), person(name="張三"),
    person(name="\x1c张三"), person(phone="138-0000-0001"), person(phone="+8613800000001"), person(phone="123456"),
    person(phone="1380000000112"), person(phone="１３８００００００１"), person(address="a" * 257), person(address="泉城路, 1号"),
    person(address='说"好"'), person(address="line\nbreak"),
]


def test_golden_vehicles_agree_and_canonical_rows_take_the_fast_path():
    taken = check_file("vehicles", csv_bytes(VEHICLE_COLUMNS, GOLDEN_VEHICLES))
    assert taken >= 3  # the plain row, company owner/operator, other document


def test_golden_people_agree_and_canonical_rows_take_the_fast_path():
    taken = check_file("people", csv_bytes(PEOPLE_COLUMNS, GOLDEN_PEOPLE))
    assert taken >= 5


@pytest.mark.parametrize("block_bytes", [64, 300, 1 << 20])
def test_bom_crlf_and_block_sizes(block_bytes):
    rows = [vehicle(plate_number=f"鲁A1234{i}", vin=vin(f"LVSHCAMB0CE01234{i}")) for i in range(10)]
    for newline in ("\n", "\r\n"):
        data = csv_bytes(VEHICLE_COLUMNS, rows, bom=True, newline=newline)
        assert check_file("vehicles", data, block_bytes) == 10


def test_header_case_spaces_missing_and_extra_columns():
    data = " ID_Number ,Name,extra\n" + f"{ALICE},张三,x\n"
    assert check_file("people", ("\ufeff" + data).encode("utf-8")) == 1


def test_broken_lines_keep_their_line_numbers_and_reasons():
    good = ",".join(vehicle())
    lines = [
        ",".join(VEHICLE_COLUMNS), good, "", good.replace("鲁A12345", "鲁A12346") + ",extra", ",".join(vehicle()[:5]),
        ",,,,,,,,,,,,,,", good.replace("鲁A12345", "鲁A12347"),
    ]
    data = "\n".join(lines).encode("utf-8")
    for block_bytes in (16, 200, 1 << 20):
        check_file("vehicles", data, block_bytes)


def test_quoted_line_breaks_bad_bytes_and_nul_fall_back_to_the_reader_with_right_line_numbers():
    rows = [person(id_number=resident_id(f"370102198001011{i:02d}")) for i in range(8)]
    rows[4] = person(address="two\nlines")
    check_file("people", csv_bytes(PEOPLE_COLUMNS, rows), 120)
    raw = csv_bytes(PEOPLE_COLUMNS, rows[:4])
    check_file("people", raw + "\xff".encode("latin-1") + b",x,,,\n" + raw.split(b"\n", 1)[1], 100)
    check_file("people", raw + b"a\x00b,,,,\n", 100)
    check_file("people", raw.replace(b"\n", b"\r", 2), 100)


def test_gb18030_takes_the_existing_reader():
    data = csv_bytes(PEOPLE_COLUMNS, [person()]).decode("utf-8").encode("gb18030")
    records = list(fastpath.read_batches(io.BytesIO(data), "gb18030"))
    assert [type(r) for r in records] == [RawRecord] and records[0].values["name"] == "张三"


# ---------------------------------------------------------------- random files

_plate_chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_noise = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_variants = st.sampled_from([
    str.lower, str.upper, lambda s: s.translate(FULL), lambda s: f" {s}", lambda s: f"{s}\t", lambda s: s[:-1], lambda s: s + "0",
    lambda s: s[:4] + "-" + s[4:], lambda s: s.replace("-", ""), lambda s: "", lambda s: "-" + s,
])
_ids = st.builds(
    lambda y, m, d, r: resident_id(f"370102{y:04d}{m:02d}{d:02d}{r:03d}"),
    st.integers(1840, 2030), st.integers(1, 12), st.integers(1, 31), st.integers(0, 999),
)
_ids15 = st.builds(lambda m, d, r: f"370102{80:02d}{m:02d}{d:02d}{r:03d}", st.integers(1, 12), st.integers(1, 28), st.integers(0, 999))
_usccs = st.builds(lambda s: uscc("91370100" + s), st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9))
_vins = st.builds(lambda s: vin("LVSHC" + s), st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=12, max_size=12))
_dates = st.one_of(
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)),
)
_plates = st.builds(lambda p, s: "鲁" + p + s, st.sampled_from("AB"), st.text(alphabet=_plate_chars, min_size=5, max_size=5))
_codes = lambda table: st.sampled_from(sorted(code_tables().entries(table)))  # noqa: E731
_empty_or = lambda values: st.one_of(st.just(""), values)  # noqa: E731


def _rows(columns: tuple[str, ...], cells: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    """Mostly valid rows with up to three cells spoiled: a variant (case, full width, spaces...), noise or another value."""

    def spoil(row: dict[str, str], changes: list[tuple[str, Any, str]]) -> list[str]:
        row = dict(row)
        for column, variant, noise in changes:
            row[column] = variant(row[column]) if variant is not None else noise
        return [row[c] for c in columns]

    change = st.tuples(st.sampled_from(columns), st.one_of(_variants, st.none()), _noise)
    return st.builds(spoil, st.fixed_dictionaries(cells), st.one_of(st.just([]), st.lists(change, max_size=3)))


def _vehicle_rows() -> st.SearchStrategy[list[str]]:
    return _rows(VEHICLE_COLUMNS, {
        "plate_number": _plates, "plate_type": st.sampled_from(["01", "02", "02", "52", "99"]), "vin": _empty_or(_vins),
        "vehicle_type": _empty_or(_codes("vehicle_types")), "use_nature": _empty_or(_codes("use_natures")),
        "owner_id": _empty_or(st.one_of(_ids, _ids15, _usccs, st.just("E12345678"))), "operator_uscc": _empty_or(_usccs),
        "rated_passengers": _empty_or(st.integers(0, 310).map(str)), "rated_load_kg": _empty_or(st.integers(0, 210_000).map(str)),
        "max_total_mass_kg": _empty_or(st.integers(0, 210_000).map(str)), "axles": _empty_or(st.integers(0, 22).map(str)),
        "registered_on": _empty_or(_dates), "inspection_due": _empty_or(_dates), "insurance_expiry": _empty_or(_dates),
        "status": _empty_or(_codes("vehicle_statuses")),
    })


def _people_rows() -> st.SearchStrategy[list[str]]:
    names = st.one_of(
        st.text(alphabet="张三李四王五·abX1", min_size=1, max_size=66), st.text(alphabet="张三李·ab X（）Ａ\u3000,\"\t", max_size=70), _noise,
    )
    return _rows(PEOPLE_COLUMNS, {
        "id_number": st.one_of(_ids, _ids, _ids, _ids15), "name": _empty_or(names), "phone": _empty_or(st.text(alphabet="0123456789-", min_size=5, max_size=13)),
        "address": _empty_or(names), "doc_type": st.one_of(st.just(""), st.just("A"), st.just(""), _codes("document_types")),
    })


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_vehicle_rows(), min_size=1, max_size=12), block_bytes=st.sampled_from([64, 512, 1 << 20]), bom=st.booleans())
def test_random_vehicle_files_agree(rows, block_bytes, bom):
    check_file("vehicles", csv_bytes(VEHICLE_COLUMNS, rows, bom=bom), block_bytes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_people_rows(), min_size=1, max_size=12), block_bytes=st.sampled_from([64, 512, 1 << 20]))
def test_random_people_files_agree(rows, block_bytes):
    check_file("people", csv_bytes(PEOPLE_COLUMNS, rows), block_bytes)


# ---------------------------------------------------------------- end to end, both stores


def _stored(database, kind: str, job_id: int) -> tuple[list, list]:
    table = get_kind(kind).table
    with database.transaction() as session:
        rows = [tuple(r) for r in session.execute(select(*[c for c in table.c if c.name not in ("id", "updated_at")]).order_by(table.c.id))]
        quarantine = [
            (q.line_no, q.field, q.reason_zh, q.reason_en, q.raw)
            for q in session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job_id).order_by(QuarantineRow.line_no, QuarantineRow.id))
        ]
    return rows, quarantine


def test_import_with_and_without_the_fast_path_stores_the_same(database, admin_actor, tmp_path, monkeypatch):
    people = [person(id_number=resident_id(f"370102198001011{i:02d}")) for i in range(20)] + GOLDEN_PEOPLE
    distinct = [vehicle(plate_number=f"鲁B1234{i}", vin=vin(f"LVSHCAMB0CE09999{i}"), owner_id=people[i][0]) for i in range(10)]
    repeated = [vehicle(plate_number="鲁B12340", vin=vin("LVSHCAMB0CE088888")), vehicle(plate_number="鲁B88888", vin=distinct[1][2])]
    vehicles = GOLDEN_VEHICLES + distinct + repeated
    files = {"people": csv_bytes(PEOPLE_COLUMNS, people), "vehicles": csv_bytes(VEHICLE_COLUMNS, vehicles)}
    results = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(fastpath, "check_batch", lambda batch, check, tables: [None] * len(batch))
            with database.transaction(write=True) as session:  # start again from empty tables
                for kind in ("vehicles", "people"):
                    session.execute(delete(get_kind(kind).table))
        results.append([])
        for kind, data in files.items():
            path = tmp_path / f"{kind}.csv"
            path.write_bytes(data)
            for _ in range(2):  # a first import, then the same file again (all unchanged or refused)
                summary = import_file(database, kind, path, admin_actor)
                results[-1].append((summary.public(), _stored(database, kind, summary.job_id)))
    assert results[0] == results[1]
    assert results[0][2][0]["inserted"] >= 10 and results[0][2][0]["quarantined"] >= 2
