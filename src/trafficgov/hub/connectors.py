"""接入连接器 — reading a source system's records after a cursor, a page at a time, from its export
files (CSV or JSON lines) or from its HTTP service.

The source's order is (watermark, source id): the time the source last changed a record, then its id,
so that records sharing one watermark are neither skipped nor read twice across a page boundary. A
cursor is the position of the last record taken; a page holds the records strictly after it.
"""

from __future__ import annotations

import csv
import io
import json
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from trafficgov.hub.mapping import UNPARSED, Mapping, cursor_of

NO_ID = "#"  # cursor id of a record without an id of its own: "#" and its line number sort before real ids


class SourceError(Exception):
    """源系统异常 — the source answered something unusable (not JSON, an HTTP error, nothing in time)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


@dataclass(frozen=True, order=True)
class Cursor:
    """同步游标 — the (watermark, source id) of the last record taken; watermark is UTC text that sorts."""

    watermark: str
    after_id: str

    def as_params(self) -> dict[str, str]:
        return {"since": self.watermark, "after_id": self.after_id}


@dataclass(frozen=True)
class Page:
    """One page of raw records in source order and the cursor after it (None only when the page is empty:
    the source has nothing after the cursor asked for)."""

    records: list[dict[str, Any]]
    next: Cursor | None


class Connector(Protocol):
    origin: str

    def fetch(self, cursor: Cursor | None, limit: int) -> Page: ...


def record_cursor(mapping: Mapping, raw: dict[str, Any], line_no: int = 0) -> Cursor:
    """Where one raw record stands in the source's order (a record without an id: by its line)."""
    watermark, source_id = cursor_of(mapping, raw) if UNPARSED not in raw else ("", "")
    return Cursor(watermark, source_id or f"{NO_ID}{line_no:09d}")


def read_source_file(mapping: Mapping, folder: Path) -> list[dict[str, Any]]:
    """Every raw record of a source's export file `<folder>/<source>.<csv|jsonl>`, in file order.

    CSV cells stay text, as the source wrote them; a JSON line that does not parse becomes
    {UNPARSED: its text}, which the mapping quarantines.
    """
    path = Path(folder) / f"{mapping.source}.{mapping.format}"
    if not path.is_file():
        raise SourceError(f"找不到数据来源文件：{path}", f"source file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    if mapping.format == "csv":
        return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        records.append(value if isinstance(value, dict) else {UNPARSED: line[:4000]})
    return records


class FileConnector:
    """A source's export file in a folder: read once, ordered by (watermark, source id), paged by cursor."""

    def __init__(self, mapping: Mapping, folder: Path) -> None:
        self.mapping = mapping
        self.folder = Path(folder)
        self.origin = str(self.folder)
        self._rows: list[tuple[Cursor, dict[str, Any]]] | None = None

    def _ordered(self) -> list[tuple[Cursor, dict[str, Any]]]:
        if self._rows is None:
            rows = read_source_file(self.mapping, self.folder)
            self._rows = sorted(
                ((record_cursor(self.mapping, raw, line_no), raw) for line_no, raw in enumerate(rows, start=1)),
                key=lambda pair: pair[0],
            )
        return self._rows

    def fetch(self, cursor: Cursor | None, limit: int) -> Page:
        rows = self._ordered()
        start = 0 if cursor is None else bisect_right(rows, cursor, key=lambda pair: pair[0])
        chosen = rows[start:start + limit]
        return Page([raw for _, raw in chosen], chosen[-1][0] if chosen else None)


class HttpConnector:
    """A source's HTTP service: `GET {url}/records?since=&after_id=&limit=` -> {records, next}.

    `next` is the cursor after the records sent (null when there are none).
    """

    def __init__(self, mapping: Mapping, url: str, *, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.mapping = mapping
        self.url = url.rstrip("/")
        self.origin = self.url
        self.client = client or httpx.Client(timeout=timeout)

    def fetch(self, cursor: Cursor | None, limit: int) -> Page:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params.update(cursor.as_params())
        try:
            response = self.client.get(f"{self.url}/records", params=params)
        except httpx.TimeoutException:
            raise SourceError(f"数据来源无响应（超时）：{self.url}", f"the source did not answer in time: {self.url}") from None
        except httpx.HTTPError as error:
            raise SourceError(f"无法连接数据来源：{self.url}（{error}）", f"cannot reach the source {self.url}: {error}") from None
        if response.status_code != 200:
            raise SourceError(
                f"数据来源返回错误状态 {response.status_code}", f"the source answered HTTP {response.status_code}: {response.text[:200]!r}"
            )
        try:
            body = response.json()
        except ValueError:
            raise SourceError("数据来源返回的内容不是JSON", f"the source answered something that is not JSON: {response.text[:200]!r}") from None
        return _page_of(body)

    def close(self) -> None:
        self.client.close()


def _page_of(body: Any) -> Page:
    bad = SourceError("数据来源返回的数据结构不符合约定", "the source's answer does not have the agreed shape {records: [...], next: {...}|null}")
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise bad
    records = body["records"]
    if not all(isinstance(record, dict) for record in records):
        raise bad
    nxt = body.get("next")
    if nxt is None:
        if records:
            raise bad
        return Page(records, None)
    if not isinstance(nxt, dict) or not isinstance(nxt.get("since"), str) or not isinstance(nxt.get("after_id"), str):
        raise bad
    return Page(records, Cursor(nxt["since"], nxt["after_id"]))


def connector_for(mapping: Mapping, origin: str | Path, *, timeout: float = 30.0) -> Connector:
    """A folder of export files, or an http(s) URL of the source's service."""
    text = str(origin)
    if text.startswith(("http://", "https://")):
        return HttpConnector(mapping, text, timeout=timeout)
    return FileConnector(mapping, Path(text))
