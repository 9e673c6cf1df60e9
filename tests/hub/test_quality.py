"""Data quality, pure: completeness, validity, cross-source consistency, timeliness, alerts and the rules file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from trafficgov.errors import FieldError
from trafficgov.hub import quality
from trafficgov.hub.mapping import mappings
from trafficgov.hub.model import Rejected, SourceRecord

AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
RULES = quality.rules().at(date(2026, 7, 1))
SPECS = {code: quality.spec_of(m) for code, m in mappings().items()}
OWNER = "370102199003074519"
OTHER_OWNER = "370102198511200011"


def vehicle(source_id: str, **fields) -> SourceRecord:
    base = {"plate_number": "鲁A12345", "plate_type": "02", "vin": "LSVAU218XN2183294", "vehicle_type": "K33", "use_nature": "A",
            "owner_name": "张伟", "owner_id_number": OWNER, "owner_uscc": None, "max_total_mass_kg": 1800, "registered_on": "2020-05-01",
            "inspection_due": "2026-05-31", "status": "A"}
    return SourceRecord("tp_vehicle", "vehicles", source_id, {**base, **fields}, AT - timedelta(hours=2), AT)


def invoice(source_id: str, **fields) -> SourceRecord:
    base = {"invoice_number": source_id, "issued_on": "2020-04-20", "buyer_name": "张伟", "buyer_id_number": OWNER, "buyer_uscc": None,
            "vin": "LSVAU218XN2183294", "vehicle_model": "大众牌SVW7182", "price_yuan": "150000"}
    return SourceRecord("tax_invoice", "purchase_invoices", source_id, {**base, **fields}, AT - timedelta(hours=1), AT)


def run(records, rejected=(), since=None) -> quality.Measurement:
    return quality.measure(records, rejected, SPECS, RULES, since=since)


def defects(m: quality.Measurement, kind: str) -> list[quality.Defect]:
    return [d for d in m.defects if d.kind == kind]


def test_the_rules_file_is_dated_and_every_threshold_is_a_marked_default() -> None:
    for name in ("lag_max_hours", "silent_hours", "quarantine_share_max", "completeness_drop_points", "trend_runs"):
        threshold = getattr(RULES, name)
        assert threshold.default and threshold.note
    with pytest.raises(FieldError, match="in force"):
        quality.rules().at(date(2025, 12, 31))


def test_a_rules_file_naming_an_unknown_field_is_refused(tmp_path: Path) -> None:
    text = quality.RULES_FILE.read_text(encoding="utf-8").replace("vehicles: [vin, owner_name", "vehicles: [vim, owner_name")
    path = tmp_path / "quality.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(quality.QualityRulesError, match="unknown field 'vim'"):
        quality.load_rules(path)


def test_a_missing_field_lowers_completeness_and_names_the_record() -> None:
    m = run([vehicle("V1"), vehicle("V2", vin=None), vehicle("V3"), vehicle("V4")])
    vin = m.sources["tp_vehicle"].field("vin")
    assert (vin.records, vin.filled, vin.completeness) == (4, 3, 0.75)
    assert m.sources["tp_vehicle"].field("owner_name").completeness == 1.0
    missing = defects(m, "completeness")
    assert [(d.source_id, d.field, d.detail_zh) for d in missing] == [("V2", "vin", "缺少车辆识别代号")]


def test_either_of_two_owner_numbers_is_enough() -> None:
    company_owned = vehicle("V1", owner_id_number=None, owner_uscc="91370100MA3C5XK21P")
    nobody = vehicle("V2", owner_id_number=None, owner_uscc=None)
    missing = defects(run([company_owned, nobody]), "completeness")
    assert [(d.source_id, d.detail_zh) for d in missing] == [("V2", "缺少所有人身份证号码或所有人统一社会信用代码")]


def test_a_bad_check_digit_or_an_unknown_code_lowers_validity_with_a_defect_naming_the_record() -> None:
    bad_id = OWNER[:-1] + ("0" if OWNER[-1] != "0" else "1")
    m = run([vehicle("V1"), vehicle("V2", owner_id_number=bad_id), vehicle("V3", status="ZZ")])
    owner = m.sources["tp_vehicle"].field("owner_id_number")
    assert (owner.filled, owner.valid) == (3, 2) and owner.validity == pytest.approx(2 / 3)
    invalid = {(d.source_id, d.field): d.detail_zh for d in defects(m, "validity")}
    assert set(invalid) == {("V2", "owner_id_number"), ("V3", "status")}
    assert invalid[("V2", "owner_id_number")].startswith("所有人身份证号码无效：")


def test_a_quarantined_record_counts_against_its_field() -> None:
    bad = Rejected("tp_vehicle", "V9", "status", "zt：机动车状态代码无效：ZZ", "zt: unknown vehicle_statuses code: 'ZZ'")
    missing = Rejected("tp_vehicle", "V8", "vin", "必填字段车辆识别代号（vin）缺失", "required field vin is missing")
    garbage = Rejected("tp_vehicle", None, None, "记录不是有效的JSON", "the record is not valid JSON")
    m = run([vehicle("V1")], [bad, missing, garbage])
    source = m.sources["tp_vehicle"]
    assert (source.records, source.quarantined) == (1, 3)
    assert (source.field("status").records, source.field("status").filled, source.field("status").valid) == (2, 2, 1)
    assert (source.field("vin").records, source.field("vin").filled) == (2, 1)
    kinds = {(d.source_id, d.kind) for d in m.defects}
    assert kinds == {("V9", "validity"), ("V8", "completeness")}


def test_the_same_vehicle_with_different_owners_in_two_sources_gives_a_defect_on_both_sides() -> None:
    m = run([vehicle("V1"), invoice("F1", buyer_id_number=OTHER_OWNER), vehicle("V2", plate_number="鲁A55555", vin="LFV2A21K7D4067123"),
             invoice("F2", vin="LFV2A21K7D4067123")])
    found = {(d.source, d.source_id, d.field, d.other_source, d.other_source_id) for d in defects(m, "consistency")}
    assert found == {("tp_vehicle", "V1", "owner_id_number", "tax_invoice", "F1"), ("tax_invoice", "F1", "buyer_id_number", "tp_vehicle", "V1")}
    on_vehicle = next(d for d in defects(m, "consistency") if d.source == "tp_vehicle")
    assert OTHER_OWNER in on_vehicle.detail_zh and OWNER in on_vehicle.detail_zh
    owner = m.sources["tp_vehicle"].field("owner_id_number")
    assert (owner.compared, owner.inconsistent, owner.consistency) == (2, 1, 0.5)


def test_company_names_are_compared_by_their_core() -> None:
    uscc = "91370100MA3C5XK21P"
    permit = {"permit_number": "P1", "holder_name": "济南 顺达物流有限公司", "holder_uscc": uscc, "plate_number": "鲁A12345", "plate_type": "01"}
    business = {"uscc": uscc, "name": "济南顺达物流有限公司", "status": "active"}
    same = run([SourceRecord("tr_permit", "operating_permits", "P1", permit, AT, AT), SourceRecord("mr_business", "business_registrations", uscc, business, AT, AT)])
    assert defects(same, "consistency") == []
    assert same.sources["tr_permit"].field("holder_name").compared == 1
    # spaces, the legal form (有限责任公司 = 有限公司) and the place prefix are not disagreements; another name is
    variant = run([SourceRecord("tr_permit", "operating_permits", "P1", {**permit, "holder_name": "顺达物流有限责任公司"}, AT, AT),
                   SourceRecord("mr_business", "business_registrations", uscc, business, AT, AT)])
    assert defects(variant, "consistency") == []
    other = run([SourceRecord("tr_permit", "operating_permits", "P1", {**permit, "holder_name": "济南顺风物流有限公司"}, AT, AT),
                 SourceRecord("mr_business", "business_registrations", uscc, business, AT, AT)])
    assert {d.source for d in defects(other, "consistency")} == {"tr_permit", "mr_business"}


def test_a_lag_above_the_threshold_is_a_timeliness_defect_and_the_backlog_is_not_timed() -> None:
    late = SourceRecord("tp_vehicle", "vehicles", "V2", vehicle("V2").fields, AT - timedelta(hours=72), AT)
    backlog = SourceRecord("tp_vehicle", "vehicles", "V3", vehicle("V3").fields, datetime(2020, 5, 1, tzinfo=UTC), AT)
    m = run([vehicle("V1"), late, backlog], since={"tp_vehicle": datetime(2026, 6, 1, tzinfo=UTC)})
    source = m.sources["tp_vehicle"]
    assert (source.timed, source.late, source.lag_p50_s, source.lag_p95_s) == (2, 1, 2 * 3600, 72 * 3600)
    [defect] = defects(m, "timeliness")
    assert (defect.source_id, defect.field) == ("V2", quality.RECORD) and "72.0小时" in defect.detail_zh


def test_identical_runs_give_identical_measurements() -> None:
    records = [vehicle("V1"), vehicle("V2", vin=None), invoice("F1", buyer_id_number=OTHER_OWNER)]
    assert run(records) == run(list(reversed(records)))


def sync(id: int, status: str = "done", hours_ago: float = 1, read: int = 100, inserted: int = 100, unchanged: int = 0,
         quarantined: int = 0, error: str | None = None) -> quality.SyncInfo:
    at = AT - timedelta(hours=hours_ago)
    return quality.SyncInfo(id, status, at, at, read, inserted, 0, unchanged, quarantined, error)


def codes(found: list[quality.Alert]) -> dict[str, str]:
    return {a.code: a.level for a in found}


def test_alerts_for_a_silent_a_failed_and_a_schema_changed_source() -> None:
    assert codes(quality.alerts("tr_gps", [], None, None, RULES, AT)) == {"never_synced": "yellow"}
    assert codes(quality.alerts("tr_gps", [sync(1, hours_ago=40)], None, None, RULES, AT)) == {"silent": "red"}
    failed = quality.alerts("tr_gps", [sync(2, "failed", error="来源不可达 — HTTP 502"), sync(1)], None, None, RULES, AT)
    assert codes(failed) == {"failed": "red"} and "HTTP 502" in failed[0].message_zh
    schema = quality.alerts("tr_gps", [sync(2, "failed", error="数据来源结构已变化：所有记录均缺少字段 bjlx"), sync(1)], None, None, RULES, AT)
    assert codes(schema) == {"schema_changed": "red"}


def test_alerts_for_a_high_quarantine_share_and_a_sharp_completeness_drop() -> None:
    assert codes(quality.alerts("tr_gps", [sync(1, quarantined=6)], None, None, RULES, AT)) == {"quarantine_share": "yellow"}
    assert codes(quality.alerts("tr_gps", [sync(1, quarantined=5)], None, None, RULES, AT)) == {}
    now = quality.SourceQuality("tr_gps", 100, 0, 0, None, None, 0, (quality.FieldQuality("tr_gps", "kind", 100, 60, 60),))
    dropped = quality.alerts("tr_gps", [sync(1)], now, {"kind": 0.99}, RULES, AT)
    assert codes(dropped) == {"completeness_drop": "yellow"} and "99.0%" in dropped[0].message_zh
    assert codes(quality.alerts("tr_gps", [sync(1)], now, {"kind": 0.65}, RULES, AT)) == {}


def test_a_source_repeating_itself_is_said_but_is_not_an_alert() -> None:
    found = quality.alerts("tr_gps", [sync(2, read=500, inserted=0, unchanged=500), sync(1)], None, None, RULES, AT)
    assert codes(found) == {"repeats": "info"} and "不构成告警" in found[0].message_zh
