"""`trafficgov hub link`: the public contract (JSON lines of three keys, the threshold, exit 2 on bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficgov.hub.cli import app
from trafficgov.registry.identifiers import id_check_digit


def resident_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


ZHANG = resident_id("37010219850312123")
ZHAO = resident_id("37010519681004468")
LI = resident_id("37010319900701246")
SWAPPED = ZHAO[:14] + ZHAO[15] + ZHAO[14] + ZHAO[16:]

LEFT_CSV = (
    "record_id,id_number,name,phone,address\n"
    f"L1,{ZHANG},张伟,13800001234,济南市历下区经十路1号\n"
    f"L2,{ZHAO},赵刚,13900001111,济南市天桥区北园大街8号\n"
    f"L3,{LI},李娜,13700002222,济南市市中区经七路3号\n"
)
RIGHT_ROWS = [
    {"record_id": "R9", "id_number": ZHANG, "name": "章伟"},
    {"record_id": "R2", "id_number": SWAPPED, "name": "赵刚", "phone": "18600002222", "address": "济南市天桥区北园大街8号"},
    {"record_id": "R5", "name": "郭敏", "phone": "13200007777"},
]


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    left = tmp_path / "left.csv"
    left.write_text(LEFT_CSV, encoding="utf-8-sig")  # with a BOM, as Excel writes it
    right = tmp_path / "right.jsonl"
    right.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in RIGHT_ROWS), encoding="utf-8")
    return left, right


def run(*args: str):
    return CliRunner().invoke(app, ["link", *args])


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_writes_one_json_line_per_pair_with_exactly_three_keys(files) -> None:
    result = run("--kind", "people", str(files[0]), str(files[1]))
    assert result.exit_code == 0, result.output
    rows = lines(result.stdout)
    assert [(r["left_id"], r["right_id"]) for r in rows] == [("L1", "R9"), ("L2", "R2")]
    assert all(set(r) == {"left_id", "right_id", "match_probability"} for r in rows)
    assert rows[0]["match_probability"] == 1.0
    assert 0.99 <= rows[1]["match_probability"] <= 1.0


def test_threshold_is_respected(files) -> None:
    everything = lines(run("--kind", "people", "--threshold", "0.000001", str(files[0]), str(files[1])).stdout)
    keys_only = lines(run("--kind", "people", "--threshold", "1", str(files[0]), str(files[1])).stdout)
    assert [(r["left_id"], r["right_id"]) for r in keys_only] == [("L1", "R9")]
    assert all(r["match_probability"] >= 0.000001 for r in everything)
    assert len(everything) >= 2


def test_gb18030_files_are_read_with_the_option(tmp_path: Path, files) -> None:
    left = tmp_path / "left_gb.csv"
    left.write_bytes(LEFT_CSV.encode("gb18030"))
    right = tmp_path / "right_gb.jsonl"
    right.write_bytes(files[1].read_text(encoding="utf-8").encode("gb18030"))
    result = run("--kind", "people", "--encoding", "gb18030", str(left), str(right))
    assert result.exit_code == 0, result.output
    assert [(r["left_id"], r["right_id"]) for r in lines(result.stdout)] == [("L1", "R9"), ("L2", "R2")]


@pytest.mark.parametrize(
    ("make", "args", "zh"),
    [
        (lambda d: (d / "a.csv").write_text("record_id,name\n1,张伟\n1,李娜\n", encoding="utf-8"), ("--kind", "people"), "record_id 重复"),
        (lambda d: (d / "a.csv").write_text("name\n张伟\n", encoding="utf-8"), ("--kind", "people"), "缺少 record_id"),
        (lambda d: (d / "a.csv").write_text("record_id,name\n1,张伟,多余\n", encoding="utf-8"), ("--kind", "people"), "第2行有3列"),
        (lambda d: (d / "a.csv").write_bytes("record_id,name\n1,张伟\n".encode("gb18030")), ("--kind", "people"), "编码错误"),
        (lambda d: (d / "a.csv").write_text("record_id,name\n1,张伟\n", encoding="utf-8"), ("--kind", "persons"), "未知的实体类型"),
        (lambda d: (d / "a.csv").write_text("record_id,name\n1,张伟\n", encoding="utf-8"), ("--kind", "people", "--threshold", "2"), "阈值"),
        (lambda d: (d / "a.txt").write_text("x", encoding="utf-8"), ("--kind", "people"), "无法识别的文件类型"),
        (lambda d: None, ("--kind", "people"), "文件不存在"),
    ],
)
def test_bad_input_exits_2_with_a_chinese_message(tmp_path: Path, files, make, args, zh) -> None:
    make(tmp_path)
    bad = tmp_path / ("a.txt" if (tmp_path / "a.txt").exists() else "a.csv")
    result = run(*args, str(bad), str(files[1]))
    assert result.exit_code == 2
    assert zh in result.stderr.replace("\n", "")
    assert result.stdout == ""
