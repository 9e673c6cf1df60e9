"""What an importable kind is: its table, file columns, key, validator, references and personal fields.

Contexts register their kinds (the registry: people, licences, companies, vehicles, employments);
the import engine and the exporter work on any registered kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table

KIND_MODULES = ["trafficgov.registry.kinds", "trafficgov.enforcement.kinds", "trafficgov.credit.kinds"]


@dataclass(frozen=True)
class Reference:
    """A column whose value must already exist in one of the target (table, column) pairs."""

    column: str
    targets: tuple[tuple[Table, str], ...]
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class ImportKind:
    name: str
    label_zh: str
    table: Table
    columns: tuple[str, ...]  # file columns, in export order
    key: tuple[str, ...]  # table columns of the natural key
    parse: Callable[[dict[str, Any], Any], dict[str, Any]]
    references: tuple[Reference, ...] = ()
    unique: tuple[str, ...] = ()  # other table columns that must be unique (e.g. VIN)
    renames: dict[str, str] = field(default_factory=dict)  # table column -> file column where they differ
    personal: tuple[str, ...] = ()  # file columns holding personal numbers (masked on export)
    phones: tuple[str, ...] = ()
    # Optional vectorised checker of CSV blocks (see imports.fastpath): frame -> parse's dict or None per row.
    fast: Callable[[Any, Any], list[dict[str, Any] | None]] | None = None

    def file_column(self, column: str) -> str:
        return self.renames.get(column, column)

    def table_column(self, column: str) -> str:
        for table_col, file_col in self.renames.items():
            if file_col == column:
                return table_col
        return column


_KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    _KINDS[kind.name] = kind


def all_kinds() -> dict[str, ImportKind]:
    for module in KIND_MODULES:
        importlib.import_module(module)
    return dict(_KINDS)


def get_kind(name: str) -> ImportKind:
    kinds = all_kinds()
    if name not in kinds:
        from trafficgov.errors import FieldError

        raise FieldError("kind", f"未知的导入类型：{name}（可用：{'、'.join([*kinds, *_INGESTS])}）", f"unknown kind {name!r}; known: {', '.join([*kinds, *_INGESTS])}")
    return kinds[name]


@dataclass(frozen=True)
class EventIngest:
    """An importable kind of events (captures …) that its own context ingests in batches of records.

    `ingest(db, actor, records)` takes parsed JSON objects (or a raw line that is not JSON) and returns
    a summary with `accepted`, `duplicates` and `rejected` ([{index, field, reason_zh, reason_en}]).
    Each call is one transaction; events carry a stable id, so a re-run after a crash completes the file.
    """

    name: str
    label_zh: str
    ingest: Callable[..., Any]
    batch: int = 1000
    # Optional: CSV rows (imports.reader.RawRecord, in file order) -> [(record, rows)], one per event made
    # of one or more rows; a FieldError for `record` quarantines all its rows. Without it, JSONL only.
    group_csv: Callable[[list[Any]], list[tuple[Any, list[Any]]]] | None = None


_INGESTS: dict[str, EventIngest] = {}


def register_ingest(ingest: EventIngest) -> None:
    _INGESTS[ingest.name] = ingest


def get_ingest(name: str) -> EventIngest | None:
    all_kinds()
    return _INGESTS.get(name)
