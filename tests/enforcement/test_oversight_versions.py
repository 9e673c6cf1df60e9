"""清单新版本 from the 定期评估: the pure builder, and validation through the same rule loader as on startup
(refusals named by field), then the engine deciding across the new version's first day."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement import oversight_service as svc
from trafficgov.enforcement.decide import decide
from trafficgov.errors import FieldError
from trafficgov.rules import loader
from trafficgov.rules.loader import Rulebook

BASE = "jn.first_warning.demo"
TODAY = date(2026, 11, 25)
NEW_DAY = date(2027, 1, 1)


def request(**changes) -> svc.LeniencyVersionRequest:
    values = {"base_rule_id": BASE, "effective_from": NEW_DAY, "add": ["phone_use"], "remove": ["no_seatbelt"], "reason": "未系安全带从宽后再犯率高于罚款后；拨打手持电话罚款后肇事率低"}
    values.update(changes)
    return svc.LeniencyVersionRequest(**values)


def case(behaviour: str, day: str) -> dict:
    return {
        "case_id": "c1", "occurred_at": f"{day}T10:00:00+08:00", "region": "370102", "behavior": behaviour,
        "vehicle": {"category": "small_passenger_car"}, "circumstances": {"on_site": True, "corrected": True},
    }


@pytest.fixture(scope="module")
def accepted(tmp_path_factory) -> tuple[svc.Validated, Rulebook, Path]:
    checked = svc.validate_leniency_version(request(), today=TODAY, accepted_by="legal_reviewer")
    folder = tmp_path_factory.mktemp("rules") / "data"
    shutil.copytree(loader.DATA_DIR, folder)
    (folder / checked.file_path).write_text(checked.version.yaml_text, encoding="utf-8")
    return checked, Rulebook.load([folder]), folder


def test_new_version_is_a_dated_copy_that_succeeds_the_list_in_force(accepted):
    checked, book, _ = accepted
    version = checked.version
    assert checked.file_path == "regions/370100.yaml"
    assert (version.new_rule_id, version.added, version.removed) == ("jn.first_warning.demo.v2027-01-01", ("phone_use",), ("no_seatbelt",))
    doc = yaml.safe_load(version.yaml_text)
    old, new = doc["leniency"]
    assert (old["rule_id"], old["effective_from"], old["effective_to"]) == (BASE, date(2022, 4, 1), date(2026, 12, 31))
    assert (new["rule_id"], new["effective_from"], "effective_to" in new) == (version.new_rule_id, NEW_DAY, False)
    assert new["conditions"] == old["conditions"] and new["outcome"] == old["outcome"] and new["legal_basis"] == old["legal_basis"]
    assert [i["behaviour"] for i in new["items"]] == [i["behaviour"] for i in old["items"] if i["behaviour"] != "no_seatbelt"] + ["phone_use"]
    assert "定期评估" in new["note"] and "驾驶人未按规定使用安全带" in new["note"]
    assert version.yaml_text.startswith("# 济南市") and "&id" not in version.yaml_text  # comments kept, no YAML aliases
    assert [e.rule_id for e in book.at(date(2026, 12, 31), "370102").leniency_list()[1]] == [BASE]
    assert [e.rule_id for e in book.at(NEW_DAY, "370102").leniency_list()[1]] == [version.new_rule_id]


def test_engine_decides_across_the_new_versions_first_day(accepted):
    _, book, _ = accepted
    golden = [
        ("no_seatbelt", "2026-12-31", "warning"),  # still on the list the day before
        ("no_seatbelt", "2027-01-01", "fine"),  # removed from the first day
        ("phone_use", "2026-12-31", "fine"),
        ("phone_use", "2027-01-01", "warning"),  # added from the first day
        ("illegal_parking", "2027-01-01", "warning"),  # unchanged items carry over
    ]
    for behaviour, day, outcome in golden:
        decision = decide(case(behaviour, day), date(2027, 1, 5), book)
        assert decision.outcome == outcome, (behaviour, day, decision.explanation_zh)
    # the shipped rulebook (what the engine loads) is untouched by a draft
    assert decide(case("phone_use", "2027-01-01"), date(2027, 1, 5)).outcome == "fine"


def test_a_shipped_version_is_the_base_of_the_next_one(accepted):
    checked, _, folder = accepted
    again = svc.validate_leniency_version(
        request(base_rule_id=checked.version.new_rule_id, effective_from=date(2028, 1, 1), add=["no_seatbelt"], remove=[]), today=TODAY, data_dir=folder
    )
    assert again.version.new_rule_id == "jn.first_warning.demo.v2028-01-01"
    ids = [(r["rule_id"], r.get("effective_to")) for r in yaml.safe_load(again.version.yaml_text)["leniency"]]
    assert ids == [(BASE, date(2026, 12, 31)), ("jn.first_warning.demo.v2027-01-01", date(2027, 12, 31)), ("jn.first_warning.demo.v2028-01-01", None)]


REFUSALS = [
    ({"effective_from": date(2026, 11, 24)}, "effective_from", "不能早于今天"),
    ({"effective_from": date(2022, 4, 1), "today": date(2022, 1, 1)}, "effective_from", "须晚于"),  # not after the base's start
    ({"add": [], "remove": []}, "add", "至少选择"),
    ({"add": ["no_seatbelt"], "remove": ["no_seatbelt"]}, "add", "既纳入又移出"),
    ({"add": ["illegal_parking"], "remove": []}, "add", "已在清单中"),
    ({"add": ["drunk_driving"], "remove": []}, "add", "明确排除"),
    ({"add": ["overload_freight"], "remove": []}, "add", "测量值区间"),
    ({"add": [], "remove": ["phone_use"]}, "remove", "不在清单中"),
    ({"add": ["Bad-Code"], "remove": []}, "add", "格式不正确"),
    ({"reason": "   "}, "reason", "调整理由"),
    ({"base_rule_id": "jn.no_such_list"}, "base_rule_id", "没有清单版本"),
    # what only the loader knows, refused with its message exactly as on startup
    ({"add": ["made_up_behaviour"], "remove": []}, "list", "unknown behaviour 'made_up_behaviour'"),
    ({"add": [], "remove": ["illegal_parking", "not_carrying_licence", "no_seatbelt", "enlarged_plate_number_missing", "violating_markings", "doors_not_closed", "speeding"]}, "list", "items"),
]


@pytest.mark.parametrize(("changes", "field", "words"), REFUSALS, ids=[f"{r[1]}-{i}" for i, r in enumerate(REFUSALS)])
def test_an_invalid_version_is_refused_naming_the_field(changes, field, words):
    changes = dict(changes)
    today = changes.pop("today", TODAY)
    with pytest.raises(FieldError) as caught:
        svc.validate_leniency_version(request(**changes), today=today)
    assert caught.value.field == field
    assert words in caught.value.zh or words in caught.value.en


def test_overlapping_dates_of_one_rule_id_are_refused_by_the_loader(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(loader.DATA_DIR, folder)
    # a version with the same id is already in the data from an earlier day: the dates overlap
    (folder / "regions" / "370100-extra.yaml").write_text(
        "region: '370100'\nleniency:\n  - {rule_id: jn.first_warning.demo.v2027-01-01, list_id: 其他清单, effective_from: 2020-01-01, effective_to: 2021-12-31, "
        "legal_basis: {document: 行政处罚法, article: 第三十三条}, label_zh: 测试, outcome: warning, conditions: {}, items: [{behaviour: illegal_parking}]}\n"
        "  - {rule_id: jn.first_warning.demo.v2027-01-01, list_id: 其他清单, effective_from: 2027-06-01, "
        "legal_basis: {document: 行政处罚法, article: 第三十三条}, label_zh: 测试, outcome: warning, conditions: {}, items: [{behaviour: illegal_parking}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(FieldError) as caught:
        svc.validate_leniency_version(request(), today=TODAY, data_dir=folder)
    assert caught.value.field == "list" and "dates overlap" in caught.value.en


def test_new_rule_id_replaces_an_earlier_version_suffix():
    assert ov.new_rule_id("nm.minor_no_penalty.2021", NEW_DAY) == "nm.minor_no_penalty.2021.v2027-01-01"
    assert ov.new_rule_id("jn.first_warning.demo.v2027-01-01", date(2028, 3, 1)) == "jn.first_warning.demo.v2028-03-01"
