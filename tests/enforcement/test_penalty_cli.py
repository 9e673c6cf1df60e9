"""The batch contract: `penalty decide --cases FILE.jsonl` writes one JSON line per case, in order."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trafficgov.enforcement.cli import app

DECISION_FIELDS = {
    "case_id", "outcome", "fine_yuan", "fine_range_yuan", "points", "licence_action", "licence_months",
    "licence_bar_years", "detention_days_max", "education", "rule_ids", "legal_basis", "explanation_zh",
}


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _case(case_id: str, **extra) -> str:
    body = {"case_id": case_id, "occurred_at": "2024-06-01T10:00:00+08:00", "behavior": "red_light", **extra}
    return json.dumps(body, ensure_ascii=False)


def test_decide_writes_one_decision_per_line_in_order_and_exits_zero(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            _case("c1", region="110105"),
            "{not json",
            _case("c2", behavior="flying"),
            "",
            _case("c3", behavior="speeding", vehicle={"category": "small_passenger_car"}, road={"speed_limit_kmh": 50}, measured={"speed_kmh": 70}),
            json.dumps([1, 2]),
        ],
    )
    result = CliRunner().invoke(app, ["decide", "--cases", str(path), "--as-of", "2025-06-30"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["case_id"] for r in rows] == ["c1", None, "c2", "c3", None]
    assert set(rows[0]) == DECISION_FIELDS
    assert rows[0]["fine_yuan"] == 200 and rows[0]["points"] == 6
    assert set(rows[1]) == {"case_id", "error"} and rows[1]["error"]["field"] == "line"
    assert rows[2]["error"]["field"] == "behavior"
    assert rows[3]["outcome"] == "fine" and rows[3]["points"] == 3
    assert rows[4]["error"]["field"] == "case"


def test_decide_keeps_chinese_readable(tmp_path: Path) -> None:
    path = _write(tmp_path, [_case("c1")])
    result = CliRunner().invoke(app, ["decide", "--cases", str(path), "--as-of", "2025-06-30"])
    assert "闯红灯" in result.stdout


def test_decide_needs_an_existing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["decide", "--cases", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0


def test_future_cases_are_errors_not_decisions(tmp_path: Path) -> None:
    path = _write(tmp_path, [_case("late", occurred_at="2030-01-01T10:00:00+08:00")])
    result = CliRunner().invoke(app, ["decide", "--cases", str(path), "--as-of", "2025-06-30"])
    assert json.loads(result.stdout)["error"]["field"] == "occurred_at"
