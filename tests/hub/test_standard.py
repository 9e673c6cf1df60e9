"""The hub's standard model: kinds validated on load, one value checked and normalised against its type."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from trafficgov.errors import FieldError
from trafficgov.hub.standard import (
    STANDARD_FILE,
    StandardError,
    check_value,
    load_standard,
    standard,
    to_json_value,
)


def test_every_kind_names_its_subject_key_among_its_fields() -> None:
    kinds = standard().kinds
    assert {"people", "companies", "vehicles", "licences", "violations", "accidents", "operating_permits", "gps_alarms",
            "business_registrations", "purchase_invoices", "insurance_policies", "inspection_reports"} <= set(kinds)
    assert kinds["vehicles"].key == ["plate_number", "plate_type"]
    assert kinds["companies"].key == ["uscc"]
    for kind in kinds.values():
        assert all(name in kind.fields for name in kind.key)
        assert all(spec.label_zh for spec in kind.fields.values())


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("text", "  张伟 ", "张伟"),
        ("date", "2021年3月5日", date(2021, 3, 5)),
        ("date", "2021/3/5", date(2021, 3, 5)),
        ("date", "20210305", date(2021, 3, 5)),
        ("date", "２０２１－０３－０５", date(2021, 3, 5)),
        ("datetime", "2021-03-05 14:30:00", datetime(2021, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=8)))),
        ("int", "１２", 12),
        ("int", "3.0", 3),
        ("decimal", "1,234.50元", Decimal("1234.50")),
        ("bool", "是", True),
        ("id_number", "370125700322900", "370125197003229002"),
        ("id_number", "37012519640713964x", "37012519640713964X"),
        ("uscc", "９１３７０１００ＭＡＧＨ２６１０５Ｕ", "91370100MAGH26105U"),
        ("vin", "lbv2by3p7ja104729", "LBV2BY3P7JA104729"),
        ("plate", "鲁ａ·１２３４５", "鲁A12345"),
        ("plate_type", "２", None),
        ("plate_type", "02", "02"),
        ("code:use_natures", "f", "F"),
        ("code:violation_behaviours", "speeding", "speeding"),
    ],
)
def test_check_value_normalises_what_other_systems_send(field_type: str, value: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(FieldError):
            check_value(field_type, value)
        return
    assert check_value(field_type, value) == expected


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        ("id_number", "370125197003229003"),  # check digit wrong
        ("uscc", "91370100MAGH26105X"),
        ("vin", "LBV2BY3P0JA104729"),
        ("plate", "ABC"),
        ("date", "2021年13月5日"),
        ("datetime", "yesterday"),
        ("int", "2.5"),
        ("decimal", "伍佰万"),
        ("code:accident_severities", "minor"),
        ("code:vehicle_types", "ZZZ"),
        ("text", "   "),
    ],
)
def test_check_value_refuses_a_bad_value_naming_the_field(field_type: str, value: str) -> None:
    with pytest.raises(FieldError) as error:
        check_value(field_type, value, "some_field")
    assert error.value.field == "some_field"
    assert error.value.zh and error.value.en


def test_json_form_of_checked_values_is_exact() -> None:
    assert to_json_value(Decimal("1234.50")) == "1234.5"
    assert to_json_value(date(2021, 3, 5)) == "2021-03-05"
    assert to_json_value(datetime(2021, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=8)))) == "2021-03-05T06:30:00+00:00"


def _variant(tmp_path: Path, change) -> Path:  # noqa: ANN001
    data = yaml.safe_load(STANDARD_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "standard.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["kinds"]["people"]["fields"]["name"].update(type="string"), "unknown field type"),
        (lambda d: d["kinds"]["people"]["fields"]["name"].update(type="code:colours"), "unknown code table"),
        (lambda d: d["kinds"]["people"].update(key=["passport"]), "key names unknown fields"),
        (lambda d: d["kinds"]["vehicles"]["fields"]["rated_load_kg"].update(unit="lb"), "no conversion factors"),
    ],
)
def test_a_bad_standard_file_is_refused_with_a_clear_message(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    with pytest.raises(StandardError, match=message):
        load_standard(_variant(tmp_path, change))
