"""Normalisers: values as other departments' systems send them become comparable keys."""

from __future__ import annotations

from datetime import date

import pytest

from trafficgov.hub import normalise as nz
from trafficgov.registry.identifiers import id_check_digit

ID18 = "11010519491231002X"


def test_text_folds_full_width_and_whitespace() -> None:
    assert nz.text("  ＡＢＣ\u3000１２３  x ") == "ABC 123 x"
    assert nz.text("   ") is None
    assert nz.text(None) is None
    assert nz.compact("济南市 历下区") == "济南市历下区"


@pytest.mark.parametrize(("a", "b"), [("张伟", "章伟"), ("刘静", "柳静"), ("张 伟", "张伟"), ("王磊", "汪垒")])
def test_homophones_share_a_name_key(a: str, b: str) -> None:
    assert nz.name_key(a) == nz.name_key(b)


def test_name_key_is_toneless_pinyin_and_latin_stays_latin() -> None:
    assert nz.name_key("张伟") == "zhangwei"
    assert nz.name_key("Smith John") == "smithjohn"
    assert nz.name_key("阿依古丽·买买提") == nz.name_key("阿依古丽买买提")
    assert nz.name_key("张伟") != nz.name_key("张维民")
    assert nz.name_key(None) is None


@pytest.mark.parametrize(
    "name",
    ["济南顺达物流有限公司", "山东省济南市顺达物流有限公司", "顺达物流", "顺达物流有限责任公司", "顺达物流股份有限公司",
     "济南市顺达物流集团有限公司", "顺达物流有限公司(济南)", "  济南 顺达物流有限公司 ", "顺达物流有限公司（济南）"],
)
def test_company_core_drops_legal_form_and_place(name: str) -> None:
    assert nz.company_core(name) == "顺达物流"


def test_company_core_keeps_a_branch_apart_and_a_short_name_whole() -> None:
    assert nz.company_core("顺达物流有限公司历下分公司") != "顺达物流"
    assert nz.company_core("济南有限公司") == "济南"  # a place that is the whole name stays
    assert nz.company_core("历城区顺达物流有限公司") == "顺达物流"  # district names from the code tables


@pytest.mark.parametrize(("raw", "expected"), [
    ("+86 138-0000-1234", "13800001234"), ("8613800001234", "13800001234"), ("0086 13800001234", "13800001234"),
    ("１３８００００１２３４", "13800001234"), ("0531-86001234", "053186001234"), ("", None),
])
def test_phone_is_digits_without_country_code(raw: str, expected: str | None) -> None:
    assert nz.phone(raw) == expected


@pytest.mark.parametrize("raw", ["鲁A12345", "A12345", "鲁a12345", "鲁Ａ１２３４５", "鲁A·12345", " 鲁A 12345"])
def test_plate_tail_drops_the_province_character(raw: str) -> None:
    assert nz.plate_tail(raw) == "A12345"


def test_plate_keeps_the_province_character() -> None:
    assert nz.plate("鲁a·12345") == "鲁A12345"
    assert nz.plate(None) is None


def test_resident_id_is_valid_or_none_and_upgrades_15_digits() -> None:
    first17 = "110105491231002"[:6] + "19" + "110105491231002"[6:]
    assert nz.resident_id("110105491231002") == first17 + id_check_digit(first17)
    assert nz.resident_id(ID18.lower()) == ID18
    assert nz.resident_id("１１０１０５１９４９１２３１００２Ｘ") == ID18
    assert nz.resident_id("11010519491213002X") is None  # two digits swapped: the check digit fails
    assert nz.resident_id("1101051949123102X") is None  # a digit dropped
    assert nz.id_text("1101051949123102x") == "1101051949123102X"


def test_uscc_and_vin_are_valid_or_none() -> None:
    assert nz.uscc("91350100m000100y43") == "91350100M000100Y43"
    assert nz.uscc("91350100M000100Y44") is None
    assert nz.vin("lvsfkaml4gf423558") == "LVSFKAML4GF423558"
    assert nz.vin("LVSFKAML5GF423558") is None


@pytest.mark.parametrize("raw", ["2021年3月5日", "2021/3/5", "20210305", "2021-03-05", "2021.03.05", "２０２１年３月５日", date(2021, 3, 5)])
def test_day_reads_the_formats_systems_write(raw) -> None:
    assert nz.day(raw) == "2021-03-05"


@pytest.mark.parametrize("raw", ["2021年2月30日", "not a date", "", None, "2021-13-01"])
def test_day_of_something_else_is_none(raw) -> None:
    assert nz.day(raw) is None


def test_sex_codes() -> None:
    assert [nz.sex(v) for v in ("男", "女", "m", "F", "1", "2", "未知", None)] == ["M", "F", "M", "F", "M", "F", None, None]
