"""Read CSV (header row) or JSONL files into raw records; a broken line becomes an error, not a crash."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from trafficgov.errors import FieldError

_SURROGATE = re.compile("[\udc80-\udcff]")
ENCODINGS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "gbk": "gb18030"}


@dataclass
class RawRecord:
    """One record as read: its line number, its values (or the error that prevented reading it)."""

    line_no: int
    values: dict[str, Any] | None
    raw: str
    error: FieldError | None = None


class CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read, for a progress bar by bytes."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


def detect_format(filename: str) -> str:
    """csv or jsonl, by extension."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise FieldError("file", f"无法识别的文件类型（应为 .csv 或 .jsonl）：{filename}", f"unknown file type (expected .csv or .jsonl): {filename}")


def python_encoding(encoding: str) -> str:
    try:
        return ENCODINGS[encoding.lower()]
    except KeyError:
        raise FieldError("encoding", f"不支持的编码：{encoding}（支持 utf-8、gb18030）", f"unsupported encoding {encoding!r} (utf-8 or gb18030)") from None


def _bad_encoding(line_no: int, raw: str, encoding: str) -> RawRecord:
    return RawRecord(
        line_no,
        None,
        raw.encode("utf-8", "backslashreplace").decode("utf-8"),
        FieldError("line", f"第{line_no}行编码错误（不是 {encoding}），请检查 --encoding", f"line {line_no} is not valid {encoding}; check --encoding"),
    )


def read_csv(stream: BinaryIO, encoding: str = "utf-8") -> Iterator[RawRecord]:
    text = io.TextIOWrapper(stream, encoding=python_encoding(encoding), errors="surrogateescape", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise FieldError("header", f"表头无法解析：{exc}", f"header row cannot be parsed: {exc}") from None
    columns = [h.strip().lstrip("\ufeff").lower() for h in header]
    if len(set(columns)) != len(columns):
        raise FieldError("header", "表头有重复的列名", "header row repeats a column name")
    line_no = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line_no = reader.line_num
            yield RawRecord(line_no, None, "", FieldError("line", f"第{line_no}行CSV格式错误：{exc}", f"line {line_no} is not valid CSV: {exc}"))
            continue
        line_no = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        raw = ",".join(row)
        if _SURROGATE.search(raw):
            yield _bad_encoding(line_no, raw, encoding)
            continue
        if len(row) != len(columns):
            yield RawRecord(
                line_no,
                None,
                raw,
                FieldError("line", f"第{line_no}行有{len(row)}列，表头有{len(columns)}列", f"line {line_no} has {len(row)} fields, the header has {len(columns)}"),
            )
            continue
        yield RawRecord(line_no, {c: (v.strip() or None) for c, v in zip(columns, row, strict=True)}, raw)


def read_jsonl(stream: BinaryIO, encoding: str = "utf-8") -> Iterator[RawRecord]:
    text = io.TextIOWrapper(stream, encoding=python_encoding(encoding), errors="surrogateescape")
    for line_no, line in enumerate(text, start=1):
        if not line.strip():
            continue
        if _SURROGATE.search(line):
            yield _bad_encoding(line_no, line.rstrip("\n"), encoding)
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRecord(line_no, None, line.rstrip("\n"), FieldError("line", f"第{line_no}行不是合法的JSON：{exc.msg}", f"line {line_no} is not valid JSON: {exc.msg}"))
            continue
        if not isinstance(value, dict):
            yield RawRecord(line_no, None, line.rstrip("\n"), FieldError("line", f"第{line_no}行应为JSON对象", f"line {line_no} must be a JSON object"))
            continue
        values = {str(k).strip().lower(): (v.strip() or None if isinstance(v, str) else v) for k, v in value.items()}
        yield RawRecord(line_no, values, line.rstrip("\n"))


def read_records(stream: BinaryIO, file_format: str, encoding: str = "utf-8") -> Iterator[RawRecord]:
    if file_format == "csv":
        return read_csv(stream, encoding)
    if file_format == "jsonl":
        return read_jsonl(stream, encoding)
    raise FieldError("format", f"不支持的格式：{file_format}", f"unsupported format: {file_format}")
