"""Mapping files: validated on load, and one raw record mapped onto the standard model or rejected with the reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from trafficgov.hub.mapping import (
    SOURCES_DIR,
    UNPARSED,
    MappingError,
    get_mapping,
    load_mapping,
    map_record,
    mappings,
)
from trafficgov.hub.model import DEPARTMENT_LABELS_ZH, Rejected, SourceRecord

AT = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def test_every_shipped_mapping_loads_and_names_its_department() -> None:
    found = mappings()
    assert set(found) == {"tp_violation", "tp_vehicle", "tp_accident", "tr_permit", "tr_gps", "mr_business", "tax_invoice",
                          "ins_ctpl", "insp_truck"}
    assert {m.department for m in found.values()} <= set(DEPARTMENT_LABELS_ZH)


def _variant(tmp_path: Path, change) -> Path:  # noqa: ANN001
    data = yaml.safe_load((SOURCES_DIR / "tr_permit.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "tr_permit.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(kind="lorries"), "unknown standard kind 'lorries'"),
        (lambda d: d["fields"]["yhmc"].update(to="holder"), "unknown standard field 'holder'"),
        (lambda d: d.update(department="police"), "unknown department 'police'"),
        (lambda d: d["fields"]["hdzzl"].update(unit="lb"), "no conversion from 'lb' to 'kg'"),
        (lambda d: d["fields"]["yhmc"].update(unit="t"), "has no unit"),
        (lambda d: d["fields"]["zt"]["codes"].update({"停运": "stopped"}), "translates to 'stopped'"),
        (lambda d: d["fields"].pop("yszh"), "subject key field 'permit_number'"),
        (lambda d: d["fields"]["cph"].update(to="holder_name"), "both map to 'holder_name'"),
        (lambda d: d.update(hooks=[{"name": "eval"}]), "unknown hook 'eval'"),
        (lambda d: d.update(default_province="X"), "not a province abbreviation"),
        (lambda d: d.update(surprise=1), "Extra inputs are not permitted"),
    ],
)
def test_a_bad_mapping_file_is_refused_with_a_clear_message(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    with pytest.raises(MappingError, match=message) as error:
        load_mapping(_variant(tmp_path, change))
    assert "tr_permit.yaml" in str(error.value)


def _permit(**changes: str) -> dict[str, str]:
    raw = {"yszh": "鲁交运管济字370100000001号", "jyxkzh": "鲁交运管许可济字370100107919号", "yhmc": "济南疾风物流",
           "tyshxydm": "", "cph": "ａ３４０Ｕ３", "cpys": "黄", "hdzzl": "12.5", "zws": "3", "fzrq": "2021年3月5日",
           "yxqz": "20270305", "zt": "营运", "gxsj": "2021-03-06 01:00:00"}
    raw.update(changes)
    return raw


def test_a_permit_gets_its_province_character_its_plate_type_and_kilograms() -> None:
    record = map_record(get_mapping("tr_permit"), _permit(), AT)
    assert isinstance(record, SourceRecord), record
    assert record.source == "tr_permit" and record.source_id == "鲁交运管济字370100000001号"
    fields = record.fields
    assert fields["plate_number"] == "鲁A340U3"
    assert fields["plate_type"] == "01"
    assert fields["rated_load_kg"] == 12_500
    assert fields["issued_on"] == date(2021, 3, 5) and fields["valid_to"] == date(2027, 3, 5)
    assert fields["status"] == "valid"
    assert fields["holder_uscc"] is None  # missing, not an error
    assert record.source_updated_at == datetime(2021, 3, 5, 17, 0, tzinfo=UTC)  # 01:00 Beijing time


def test_a_trailer_or_new_energy_plate_names_its_own_type() -> None:
    mapping = get_mapping("tr_permit")
    trailer = map_record(mapping, _permit(cph="A0311挂"), AT)
    nev = map_record(mapping, _permit(cph="鲁A52057D", cpys="黄绿"), AT)
    assert isinstance(trailer, SourceRecord) and trailer.fields["plate_type"] == "15"
    assert isinstance(nev, SourceRecord) and nev.fields["plate_type"] == "51"


def test_a_policy_splits_the_holder_id_and_converts_fen_to_yuan() -> None:
    raw = {"bdh": "PDZA202537010000001", "bxgs": "中国人民财产保险股份有限公司济南市分公司", "hphm": "鲁Ａ００６５Ｚ", "hpzl": "小型汽车",
           "cjh": "LBV2BY3P7JA104729", "tbr": "吴欣", "tbrzjhm": "370125197003229002", "qbrq": "2025/11/30",
           "zbrq": "2026/11/30", "bf": "95000", "gxsj": "2025-11-29 16:00:00"}
    record = map_record(get_mapping("ins_ctpl"), raw, AT)
    assert isinstance(record, SourceRecord), record
    assert record.fields["plate_number"] == "鲁A0065Z" and record.fields["plate_type"] == "02"
    assert record.fields["policyholder_id_number"] == "370125197003229002"
    assert record.fields["policyholder_uscc"] is None
    assert record.fields["premium_yuan"] == Decimal(950)
    company = map_record(get_mapping("ins_ctpl"), {**raw, "tbrzjhm": "91370100MAGH26105U"}, AT)
    assert isinstance(company, SourceRecord)
    assert company.fields["policyholder_uscc"] == "91370100MAGH26105U" and company.fields["policyholder_id_number"] is None


def test_an_accident_maps_its_nested_parties() -> None:
    raw = {"sgbh": "A000000001", "sgsj": "2025年02月23日18时49分", "sgdj": "3", "ssrs": 0, "swrs": 0, "jd": 116.867848,
           "wd": 36.659818, "gxsj": "2025-02-23 18:53:52",
           "dsr": [{"hphm": "鲁A1732U", "hpzl": "02", "sfzmhm": "370112198011269445", "zrlx": "2"},
                   {"hphm": "A1732U", "hpzl": "02", "sfzmhm": "", "zrlx": "4"}]}
    record = map_record(get_mapping("tp_accident"), raw, AT)
    assert isinstance(record, SourceRecord), record
    assert record.fields["occurred_at"] == datetime(2025, 2, 23, 10, 49, tzinfo=UTC)
    assert record.fields["party1_liability"] == "main" and record.fields["party2_liability"] == "minor"
    assert record.fields["party2_plate_number"] == "鲁A1732U" and record.fields["party2_id_number"] is None
    assert record.fields["lon"] == Decimal("116.867848")


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"yszh": ""}, "yszh", "缺少记录编号"),
        ({"gxsj": "昨天"}, "gxsj", "更新时间"),
        ({"cpys": "紫"}, "plate_type", "无对应标准代码"),
        ({"zt": "停运"}, "status", "无对应标准代码"),
        ({"yhmc": " "}, "holder_name", "必填字段"),
        ({"hdzzl": "十吨"}, "rated_load_kg", "不是数值"),
        ({"cph": "鲁A12"}, "plate_number", "号牌号码"),
    ],
)
def test_a_record_that_cannot_be_mapped_is_rejected_with_the_reason(changes: dict, field: str, reason: str) -> None:
    rejected = map_record(get_mapping("tr_permit"), _permit(**changes), AT)
    assert isinstance(rejected, Rejected)
    assert rejected.field == field
    assert reason in rejected.reason_zh and rejected.reason_en
    assert rejected.raw["cph"] == _permit(**changes)["cph"]


def test_a_line_that_is_not_json_is_rejected() -> None:
    rejected = map_record(get_mapping("tp_accident"), {UNPARSED: '{"sgbh": "A1", '}, AT)
    assert isinstance(rejected, Rejected) and rejected.source_id is None and "JSON" in rejected.reason_zh


def test_mapping_is_pure_and_repeatable() -> None:
    mapping = get_mapping("tr_permit")
    assert map_record(mapping, _permit(), AT) == map_record(mapping, _permit(), AT)
