"""Golden cases: every YAML table under tests/cases/enforcement/ (name / as_of / input / expected)."""

from __future__ import annotations

import copy
import functools
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from trafficgov.enforcement.decide import DecisionError, decide
from trafficgov.rules import DATA_DIR, Rulebook

CASES_DIR = Path(__file__).parents[1] / "cases" / "enforcement"
DEFAULT_INPUT = {"occurred_at": "2024-06-01T10:00:00+08:00"}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and value:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@functools.cache
def _rulebook(extra: str | None) -> Rulebook:
    if extra is None:
        return Rulebook.load()
    return Rulebook.load([DATA_DIR, CASES_DIR / "rules" / extra])


def _golden() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        defaults = doc.get("defaults", {})
        for case in doc["cases"]:
            merged = {
                "name": case["name"],
                "as_of": case.get("as_of", defaults.get("as_of")),
                "input": _merge(_merge(DEFAULT_INPUT, defaults.get("input", {})), case.get("input", {})),
                "expected": case["expected"],
                "rules": doc.get("rules"),
            }
            merged["input"].setdefault("case_id", case["name"])
            params.append(pytest.param(merged, id=f"{path.stem}::{case['name']}"))
    return params


GOLDEN = _golden()


def test_golden_tables_are_not_empty() -> None:
    assert len(GOLDEN) > 100


@pytest.mark.parametrize("case", GOLDEN)
def test_golden_case(case: dict[str, Any]) -> None:
    as_of = case["as_of"] if isinstance(case["as_of"], date) else date.fromisoformat(str(case["as_of"]))
    expected = dict(case["expected"])
    book = _rulebook(case["rules"])
    if "error" in expected:
        with pytest.raises(DecisionError) as info:
            decide(case["input"], as_of, book)
        assert info.value.field == expected["error"], info.value
        return
    decision = decide(case["input"], as_of, book).model_dump(mode="json")
    for rule_id in expected.pop("rule_ids_include", []):
        assert rule_id in decision["rule_ids"], decision
    for basis in expected.pop("legal_basis_include", []):
        assert basis in decision["legal_basis"], decision
    for key, value in expected.items():
        assert decision[key] == value, f"{key}: {decision[key]!r} != {value!r}\n{decision['explanation_zh']}"
    assert decision["explanation_zh"]
    assert decision["rule_ids"] and decision["legal_basis"]
    if decision["outcome"] in {"warning", "no_penalty"}:
        assert decision["points"] == 0
