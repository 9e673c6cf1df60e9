"""Code tables: the shipped data loads, answers labels and codes, and a broken file is refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from trafficgov.errors import FieldError
from trafficgov.registry.codetables import DATA_DIR, CodeEntry, CodeTableError, code_tables, load_code_tables

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_TYPES_OF_THE_NOTES = (
    "01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 31 32 33 41 42 43 51 52 99"
).split()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(directory: Path, table: str, change) -> None:
    path = directory / f"{table}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def test_shipped_tables_load_and_every_entry_has_a_label():
    tables = code_tables()
    for name in tables.info:
        entries = tables.entries(name)
        assert entries, name
        assert all(isinstance(e, CodeEntry) and e.label_zh for e in entries.values())
        assert tables.info[name].source.strip()


def test_plate_types_cover_every_code_of_the_research_notes():
    tables = code_tables()
    assert sorted(tables.plate_types) == sorted(PLATE_TYPES_OF_THE_NOTES)
    assert tables.label("plate_types", "51") == "大型新能源汽车号牌"
    assert tables.label("plate_types", "52") == "小型新能源汽车号牌"


def test_provinces_are_the_31_abbreviations():
    tables = code_tables()
    assert sorted(tables.provinces) == sorted(PROVINCES)
    assert tables.label("provinces", "鲁") == "山东省"


def test_fixed_code_lists_are_exactly_as_agreed():
    tables = code_tables()
    assert list(tables.company_kinds) == [
        "passenger_transport",
        "freight_transport",
        "dangerous_goods",
        "driving_school",
        "bus",
        "other",
    ]
    assert list(tables.employment_roles) == ["driver", "escort", "instructor", "safety_manager"]
    assert set(tables.query_purposes) >= {
        "case_handling",
        "service_handling",
        "accident_handling",
        "supervision",
        "audit",
        "citizen_request",
    }
    assert all(re.fullmatch(r"[a-z_]+", code) for code in tables.query_purposes)


def test_licence_classes_follow_the_licence_rules():
    tables = code_tables()
    assert list(tables.licence_classes) == "A1 A2 A3 B1 B2 C1 C2 C3 C4 C5 C6 D E F M N P".split()
    assert str(tables.licence_classes["C6"].effective_from) == "2022-04-01"


def test_use_natures_and_statuses_mark_what_is_unconfirmed():
    tables = code_tables()
    assert [c for c in tables.use_natures] == list("ABCDEFGHIJKLMNOPQRSZ")
    assert tables.use_natures["S"].unconfirmed and not tables.use_natures["R"].unconfirmed
    assert not tables.vehicle_statuses["A"].unconfirmed
    assert all(e.unconfirmed for code, e in tables.vehicle_statuses.items() if code != "A")
    assert not tables.licence_statuses["A"].unconfirmed
    assert tables.vehicle_types["K33"].unconfirmed and tables.vehicle_types["Q11"].unconfirmed
    assert all(e.unconfirmed for code, e in tables.vehicle_types.items() if code.startswith("B"))


def test_vehicle_types_carry_family_and_size():
    types = code_tables().vehicle_types
    assert (types["K11"].family, types["K11"].size) == ("passenger", "large")
    assert (types["K21"].family, types["K21"].size) == ("passenger", "medium")
    assert (types["K31"].family, types["K31"].size) == ("passenger", "small")
    assert (types["K41"].family, types["K41"].size) == ("passenger", "mini")
    assert (types["H11"].family, types["H11"].size) == ("truck", "heavy")
    assert (types["H41"].family, types["H41"].size) == ("truck", "mini")
    assert (types["Q11"].family, types["Q11"].size) == ("tractor", "heavy")
    assert (types["B11"].family, types["G31"].family) == ("trailer", "trailer")
    assert (
        types["M21"].family == "motorcycle"
        and types["Z11"].family == "special"
        and types["X99"].family == "other"
    )


def test_divisions_include_jinan_and_the_demo_divisions():
    divisions = code_tables().divisions
    for code in [
        "370000",
        "370100",
        "370102",
        "370112",
        "370114",
        "370124",
        "110000",
        "110105",
        "150000",
        "330000",
        "330800",
    ]:
        assert code in divisions
    assert divisions["370102"].parent == "370100"
    assert divisions["371200"].abolished


def test_document_types_check_the_shape_of_numbers():
    documents = code_tables().document_types
    assert documents["A"].matches("11010519491231002X")
    assert not documents["A"].matches("1101051949123100")
    assert documents["hk_macau_permit"].matches("H12345678")
    assert not documents["hk_macau_permit"].matches("C12345678")
    assert documents["hmt_residence_permit"].matches("810000199001011234")
    assert documents["foreign_passport"].matches("E12345678")
    assert documents["taiwan_permit"].pattern_re.fullmatch("12345678")


def test_label_of_an_unknown_code_is_the_code_itself():
    assert code_tables().label("use_natures", "?") == "?"


def test_require_returns_a_known_code():
    assert code_tables().require("company_kinds", "bus", "kind") == "bus"


def test_require_refuses_an_unknown_code_naming_field_table_and_code():
    with pytest.raises(FieldError) as error:
        code_tables().require("use_natures", "Y", "use_nature")
    assert error.value.field == "use_nature"
    assert "使用性质" in error.value.zh and "Y" in error.value.zh
    assert "use_natures" in error.value.en and "Y" in error.value.en


def test_unknown_table_name_is_a_programming_error():
    with pytest.raises(KeyError):
        code_tables().label("colours", "A")


def test_a_clean_copy_loads(data_copy):
    assert load_code_tables(data_copy).label("divisions", "370100") == "济南市"


@pytest.mark.parametrize(
    ("table", "change", "message"),
    [
        ("use_natures", lambda d: d["entries"].append({"code": "A", "label_zh": "重复"}), "duplicate code"),
        ("use_natures", lambda d: d["entries"][0].pop("label_zh"), "label_zh"),
        ("use_natures", lambda d: d["entries"][0].update(label_zh=""), "label_zh"),
        ("use_natures", lambda d: d.pop("source"), "source"),
        ("use_natures", lambda d: d["entries"][0].update(colour="red"), "colour"),
        ("use_natures", lambda d: d["entries"][0].update(code=1), "code"),
        ("use_natures", lambda d: d.update(table="statuses"), "expected 'use_natures'"),
        ("plate_types", lambda d: d["entries"][0].update(patterns=["{province}[A-Z"]), "bad regex"),
        ("plate_types", lambda d: d["entries"][0].update(patterns=["{provinse}[A-Z]"]), "placeholder"),
        ("plate_types", lambda d: d["entries"][0].update(patterns=[]), "no patterns"),
        ("document_types", lambda d: d["entries"][0].update(pattern="[0-9"), "bad regex"),
        (
            "plate_types",
            lambda d: next(e for e in d["entries"] if e["code"] == "52")["dated_patterns"].append(
                {"effective_from": "2020-01-01", "patterns": ["{province}[A-Z][ABCDEFGHJK][0-9]{5}"]}
            ),
            "overlap",
        ),
        ("licence_classes", lambda d: d["entries"][10].update(effective_to="2020-01-01"), "not after"),
        ("vehicle_types", lambda d: d["entries"][0].update(size="large"), "does not apply"),
        (
            "divisions",
            lambda d: d["entries"].append(
                {"code": "370199", "label_zh": "虚构区", "level": "district", "parent": "379900"}
            ),
            "unknown division",
        ),
        ("provinces", lambda d: d["entries"][0].update(division="990000"), "unknown division"),
    ],
)
def test_an_invalid_table_file_is_refused(data_copy, table, change, message):
    edit(data_copy, table, change)
    with pytest.raises(CodeTableError) as error:
        load_code_tables(data_copy)
    assert message in str(error.value)
    assert f"{table}.yaml" in str(error.value)


def test_a_missing_table_file_is_refused(data_copy):
    (data_copy / "divisions.yaml").unlink()
    with pytest.raises(CodeTableError, match="missing"):
        load_code_tables(data_copy)


def test_a_file_that_is_not_yaml_is_refused(data_copy):
    (data_copy / "query_purposes.yaml").write_text("entries: [unclosed", encoding="utf-8")
    with pytest.raises(CodeTableError, match="YAML"):
        load_code_tables(data_copy)


def test_a_later_dated_format_that_does_not_overlap_is_accepted(data_copy):
    def close_and_add(document):
        entry = next(e for e in document["entries"] if e["code"] == "52")
        entry["dated_patterns"][0]["effective_to"] = "2030-01-01"
        entry["dated_patterns"].append(
            {"effective_from": "2030-01-01", "patterns": ["{province}[A-Z][ABCDEFGHJK][0-9]{5}"]}
        )

    edit(data_copy, "plate_types", close_and_add)
    tables = load_code_tables(data_copy)
    from datetime import date

    assert tables.plate_types["52"].matches("鲁AA12345", date(2030, 1, 1))
    assert not tables.plate_types["52"].matches("鲁AA12345", date(2029, 12, 31))
    assert tables.plate_types["52"].matches("鲁AFA1234", date(2029, 12, 31))
    assert not tables.plate_types["52"].matches("鲁AFA1234", date(2030, 1, 1))
