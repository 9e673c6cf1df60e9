"""Use cases: import a file of one kind (validate, quarantine, upsert with history, audit) and export it.

An import is one transaction: a crash leaves the whole file or none of it. Rows stream through in
chunks, so memory stays bounded; progress is reported by bytes read.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel
from sqlalchemy import Date, Table, bindparam, insert, literal, select, update
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.errors import FieldError
from trafficgov.imports import fastpath
from trafficgov.imports.fastpath import FastRecord
from trafficgov.imports.kinds import ImportKind, get_ingest, get_kind
from trafficgov.imports.reader import CountingReader, RawRecord, detect_format, python_encoding, read_records
from trafficgov.imports.store import ImportJobRow, QuarantineRow
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.masking import mask_id_number, mask_phone
from trafficgov.store.db import Database

CHUNK = 5000
LOOKUP_CHUNK = 4000  # keys per IN (...) query; SQLite allows 32766 parameters
Progress = Callable[[int, int], None]


@dataclass
class ImportSummary:
    """导入结果 — the public `--json` summary (kind, read, inserted, updated, unchanged, quarantined)."""

    kind: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    job_id: int | None = None

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("job_id")
        return data


# Progress of jobs running in this process, for the job page: job id -> (bytes done, bytes total).
_live_progress: dict[int, tuple[int, int]] = {}
_live_lock = threading.Lock()


def live_progress(job_id: int) -> tuple[int, int] | None:
    with _live_lock:
        return _live_progress.get(job_id)


def _set_progress(job_id: int, done: int, total: int) -> None:
    with _live_lock:
        _live_progress[job_id] = (done, total)


def create_job(db: Database, kind: str, filename: str, actor: Actor, *, size_bytes: int, encoding: str, at: datetime) -> int:
    if get_ingest(kind) is None:
        get_kind(kind)
    file_format = detect_format(filename)
    with db.transaction(write=True) as session:
        job = ImportJobRow(
            kind=kind, filename=filename, file_format=file_format, encoding=encoding, status="queued",
            actor=actor.username, created_at=at, size_bytes=size_bytes,
        )
        session.add(job)
        session.flush()
        return job.id


def import_file(db: Database, kind: str, path: Path, actor: Actor, *, encoding: str = "utf-8", progress: Progress | None = None, at: datetime | None = None) -> ImportSummary:
    """trafficgov import — import one CSV/JSONL file of `kind` as `actor`."""
    at = at or datetime.now(UTC)
    job_id = create_job(db, kind, path.name, actor, size_bytes=path.stat().st_size, encoding=encoding, at=at)
    return run_job(db, job_id, path, actor, progress=progress, at=at)


def run_job(db: Database, job_id: int, path: Path, actor: Actor, *, progress: Progress | None = None, at: datetime | None = None) -> ImportSummary:
    """Run a created job over its file; on any error the data rolls back and the job says why."""
    at = at or datetime.now(UTC)
    with db.transaction(write=True) as session:
        job = session.get(ImportJobRow, job_id)
        assert job is not None
        kind, encoding, file_format = job.kind, job.encoding, job.file_format
        job.status = "running"
    total = path.stat().st_size

    def report(done: int) -> None:
        _set_progress(job_id, done, total)
        if progress:
            progress(done, total)

    try:
        with path.open("rb") as handle, db.transaction(write=True) as session, _gc_paused():
            summary = _import_stream(session, get_kind(kind), handle, file_format, encoding, job_id, actor, at, report)
            audit.append(
                session,
                AuditEntry(
                    actor=actor.username, role=str(actor.role), unit=actor.unit, action="import", entity=kind,
                    record_key=f"job:{job_id}", purpose=None, at=at, detail=summary.public(),
                ),
            )
            job = session.get(ImportJobRow, job_id)
            assert job is not None
            for name, value in summary.public().items():
                if name != "kind":
                    setattr(job, name, value)
            job.status = "done"
            job.finished_at = datetime.now(UTC)
    except Exception as exc:
        with db.transaction(write=True) as session:
            job = session.get(ImportJobRow, job_id)
            if job is not None:
                job.status = "failed"
                job.error = f"{type(exc).__name__}: {exc}"[:2000]
                job.finished_at = datetime.now(UTC)
        raise
    finally:
        with _live_lock:
            _live_progress.pop(job_id, None)
    summary.job_id = job_id
    return summary


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while an import runs: it allocates hundreds of thousands of short-lived
    containers, and collecting (full passes over the whole heap included) cost about a fifth of a 100 k-row
    import. Reference counting still frees everything; the collector runs again when the import ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import_stream(session: Session, kind: ImportKind, handle: BinaryIO, file_format: str, encoding: str, job_id: int, actor: Actor, at: datetime, report: Callable[[int], None]) -> ImportSummary:
    counter = CountingReader(handle)
    buffered = io.BufferedReader(counter, buffer_size=1 << 16)
    summary = ImportSummary(kind=kind.name)
    seen: dict[tuple, int] = {}
    seen_unique: dict[str, dict[Any, int]] = {column: {} for column in kind.unique}
    tables = code_tables()
    # A table empty when the import starts holds, later on, only rows of this file, whose keys and unique
    # values `seen` already tells apart: no need to look them up in the database.
    fresh = session.execute(select(literal(1)).select_from(kind.table).limit(1)).first() is None
    quarantine: list[dict[str, Any]] = []
    chunk: list[tuple[Any, dict[str, Any]]] = []

    def reject(record: RawRecord | FastRecord | tuple[fastpath.Batch, int], error: FieldError) -> None:
        if type(record) is tuple:  # a fast-path row: (batch, index), made a record only when needed
            record = FastRecord(*record)
        quarantine.append({
            "job_id": job_id, "kind": kind.name, "line_no": record.line_no, "field": error.field,
            "reason_zh": error.zh, "reason_en": error.en, "raw": record.raw[:4000],
        })
        summary.quarantined += 1

    def flush() -> None:
        if chunk:
            _write_chunk(session, kind, chunk, summary, reject, at, actor, job_id, fresh=fresh)
            chunk.clear()
        if quarantine:
            session.execute(insert(QuarantineRow.__table__), quarantine)
            quarantine.clear()
        report(counter.count)

    key_of = _key_getter(kind.key)
    unique = kind.unique

    def accept(record: RawRecord | tuple[fastpath.Batch, int], line_no: int, row: dict[str, Any]) -> None:
        key = key_of(row)
        if key in seen:
            reject(record, FieldError(
                ",".join(kind.file_column(c) for c in kind.key),
                f"与第{seen[key]}行的键重复：{'/'.join(map(str, key))}",
                f"duplicate key {'/'.join(map(str, key))} (first at line {seen[key]})",
            ))
            return
        for column in unique:
            value = row.get(column)
            if value is not None and value in seen_unique[column]:
                reject(record, FieldError(column, f"{column} 与第{seen_unique[column][value]}行重复：{value}", f"{column} {value} repeats line {seen_unique[column][value]}"))
                return
        seen[key] = line_no
        for column in unique:
            value = row.get(column)
            if value is not None:
                seen_unique[column][value] = line_no
        chunk.append((record, row))
        if len(chunk) >= CHUNK:
            flush()

    def one(record: RawRecord) -> None:
        summary.read += 1
        if record.error is not None:
            reject(record, record.error)
            return
        try:
            row = kind.parse(record.values or {}, tables)
        except FieldError as error:
            reject(record, error)
            return
        accept(record, record.line_no, row)

    if file_format == "csv" and kind.fast is not None:
        for item in fastpath.checked(buffered, encoding, kind.fast, tables):
            if isinstance(item, list):
                for record in item:
                    one(record)
                continue
            batch, rows = item
            first = batch.first_line
            for index, row in enumerate(rows):
                if row is None:
                    record = batch.record(index)
                    if record is not None:
                        one(record)
                else:
                    summary.read += 1
                    accept((batch, index), first + index, row)
    else:
        for record in read_records(buffered, file_format, encoding):
            one(record)
    flush()
    return summary


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing_values(session: Session, table: Table, column: str, values: set) -> set:
    """Which of `values` (strings) the column already holds: one driver-level query per chunk.

    Driver-level because SQLAlchemy's per-value handling of an expanding IN list cost more than the
    database's own work on a 100 k-row import.
    """
    found: set = set()
    if not values:
        return found
    connection = session.connection()
    preparer = connection.dialect.identifier_preparer
    name = f"{preparer.format_table(table)}"
    col = preparer.quote(column)
    ordered = sorted(values, key=str)
    cursor = connection.connection.cursor()  # the DBAPI cursor of this transaction's connection
    try:
        if connection.dialect.name == "postgresql":
            cursor.execute(f"SELECT {col} FROM {name} WHERE {col} = ANY(%s)", (ordered,))
            found.update(r[0] for r in cursor.fetchall())
            return found
        for part in _chunks(ordered):
            cursor.execute(f"SELECT {col} FROM {name} WHERE {col} IN ({', '.join('?' * len(part))})", tuple(part))
            found.update(r[0] for r in cursor.fetchall())
    finally:
        cursor.close()
    return found


def _write_chunk(session: Session, kind: ImportKind, chunk: list[tuple[Any, dict[str, Any]]], summary: ImportSummary, reject: Callable[[Any, FieldError], None], at: datetime, actor: Actor, job_id: int, *, fresh: bool = False) -> None:
    """Check references, find existing rows, insert or update. `fresh`: the table was empty when the
    import began, so no key or unique value of this chunk can be in it yet (duplicates in the file are
    already refused)."""
    table = kind.table
    accepted = chunk
    for reference in kind.references:
        column_name = reference.column
        wanted = {row.get(column_name) for _, row in accepted}
        wanted.discard(None)
        if not wanted:
            continue
        known: set = set()
        for target_table, target_column in reference.targets:
            known |= _existing_values(session, target_table, target_column, wanted - known)
        if not wanted - known:
            continue
        kept = []
        for record, row in accepted:
            value = row.get(reference.column)
            if value is not None and value not in known:
                column = kind.file_column(reference.column)
                reject(record, FieldError(column, f"{reference.label_zh}不存在：{value}", f"unknown {reference.label_en}: {value}"))
            else:
                kept.append((record, row))
        accepted = kept

    key_cols = [table.c[c] for c in kind.key]
    existing: dict[tuple, dict[str, Any]] = {}
    key_of = _key_getter(kind.key)
    keys = [] if fresh else [key_of(row) for _, row in accepted]
    wanted_keys = set(keys)
    # Look up by the key's first column only (SQLite does not use an index for a row-value IN list),
    # and fetch whole typed rows only for values already present: none, on a first import.
    present = set() if fresh else _existing_values(session, table, kind.key[0], {k[0] for k in keys})
    for part in _chunks(sorted(present, key=str)):
        condition = key_cols[0].in_(part)
        for found in session.execute(select(table).where(condition)).mappings():
            key = tuple(found[c] for c in kind.key)
            if key in wanted_keys:
                existing[key] = dict(found)

    for column in () if fresh else kind.unique:
        values = _existing_values(session, table, column, {row[column] for _, row in accepted if row.get(column) is not None})
        owners: dict[Any, tuple] = {}
        col = table.c[column]
        for part in _chunks(sorted(values)):
            for found in session.execute(select(col, *key_cols).where(col.in_(part))):
                owners[found[0]] = tuple(found[1:])
        if not owners:
            continue
        kept = []
        for record, row in accepted:
            key = tuple(row[c] for c in kind.key)
            owner = owners.get(row.get(column))
            if owner is not None and owner != key:
                reject(record, FieldError(column, f"{column} 已属于另一条记录 {'/'.join(map(str, owner))}", f"{column} already belongs to {'/'.join(map(str, owner))}"))
            else:
                kept.append((record, row))
        accepted = kept

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for _, row in accepted:
        if not existing:
            inserts.append(row)
            continue
        key = key_of(row)
        current = existing.get(key)
        if current is None:
            inserts.append(row)
            continue
        # An empty cell never erases a known value.
        changed = {c: v for c, v in row.items() if v is not None and current.get(c) != v}
        if not changed:
            summary.unchanged += 1
            continue
        merged = {c: (row[c] if row[c] is not None else current.get(c)) for c in row}
        updates.append({**merged, "_id": current["id"], "updated_at": at})
        history.append({
            "entity": kind.name, "entity_key": "/".join(map(str, key)), "changed_at": at, "actor": actor.username,
            "source": f"import:{job_id}",
            "old_values": {c: _jsonable(current.get(c)) for c in changed},
            "new_values": {c: _jsonable(v) for c, v in changed.items()},
        })
    if inserts:
        insert_rows(session, table, inserts, constants={"updated_at": at})
        summary.inserted += len(inserts)
    if updates:
        columns = [c for c in updates[0] if c != "_id"]
        statement = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in columns})
        session.connection().execute(statement, updates)
        summary.updated += len(updates)
    if history:
        from trafficgov.registry.store import HistoryRow

        session.execute(insert(HistoryRow.__table__), history)


def _key_getter(key: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple]:
    """row -> its key tuple (a 1-tuple too)."""
    if len(key) == 1:
        name = key[0]
        return lambda row: (row[name],)
    return itemgetter(*key)


_SQLITE_ISO = date(1, 2, 3)


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The column's bind processor; for SQLite dates, `date.isoformat` where it gives the same text."""
    process = column_type._cached_bind_processor(dialect)
    if process is None or dialect.name != "sqlite" or not isinstance(column_type, Date):
        return process
    if process(_SQLITE_ISO) != _SQLITE_ISO.isoformat():
        return process
    return _IsoDate(process)


class _IsoDate:
    """SQLite's date bind processor, known to give `date.isoformat()` for plain dates."""

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self.process = process

    def __call__(self, value: Any) -> Any:
        return value.isoformat() if type(value) is date else self.process(value)


def _convert_column(values: tuple, convert: Callable[[Any], Any]) -> list[Any]:
    if isinstance(convert, _IsoDate):
        kinds = set(map(type, values))
        if kinds == {date}:
            return list(map(date.isoformat, values))
        if kinds == {date, type(None)}:
            iso = date.isoformat
            return [None if v is None else iso(v) for v in values]
    return [None if v is None else convert(v) for v in values]


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]], *, constants: dict[str, Any] | None = None) -> None:
    """INSERT many rows through the driver's executemany, with each column's own value conversion.

    The same SQL SQLAlchemy would emit, without its per-row parameter bookkeeping: on bulk imports
    that bookkeeping cost more than the database's own work. `constants` are columns with one value
    for every row (converted once). Values are converted column by column.
    """
    connection = session.connection()
    dialect = connection.dialect
    constants = constants or {}
    columns = [c for c in rows[0] if c not in constants]
    fixed: list[Any] = []
    for name, value in constants.items():
        process = table.c[name].type._cached_bind_processor(dialect)
        fixed.append(process(value) if process is not None and value is not None else value)
    names = columns + list(constants)
    marker = {"qmark": "?", "format": "%s", "pyformat": "%s", "numeric": "?", "named": "?"}[dialect.paramstyle]
    preparer = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in names)}) "
        f"VALUES ({', '.join([marker] * len(names))})"
    )
    converters = [(i, p) for i, c in enumerate(columns) if (p := _converter(table.c[c].type, dialect)) is not None]
    if len(columns) == 1:
        only = columns[0]
        values: list[Any] = [(row[only],) for row in rows]
    else:
        getter = itemgetter(*columns)
        values = [getter(row) for row in rows]
    if converters:
        by_column: list[Any] = list(zip(*values, strict=True))
        for i, convert in converters:
            by_column[i] = _convert_column(by_column[i], convert)
        values = list(zip(*by_column, strict=True))
    if fixed:
        tail = tuple(fixed)
        params = [v + tail for v in values]
    else:
        params = values
    connection.exec_driver_sql(sql, params)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def export_records(db: Database, kind_name: str, actor: Actor, *, unmasked: bool, at: datetime | None = None) -> Iterator[dict[str, str]]:
    """Rows of `kind` in its import columns; personal numbers masked unless `unmasked`. Audited."""
    at = at or datetime.now(UTC)
    kind = get_kind(kind_name)
    count = 0
    with db.transaction(write=True) as session:
        result = session.execute(select(kind.table).order_by(kind.table.c.id)).mappings()
        for found in result:
            record = {}
            for column in kind.columns:
                value = _text(found.get(kind.table_column(column)))
                if not unmasked and value:
                    if column in kind.personal and not _looks_like_uscc(value):
                        value = mask_id_number(value)
                    elif column in kind.phones:
                        value = mask_phone(value)
                record[column] = value
            count += 1
            yield record
        audit.append(
            session,
            AuditEntry(
                actor=actor.username, role=str(actor.role), unit=actor.unit, action="export", entity=kind.name,
                record_key=None, purpose=None, at=at, detail={"rows": count, "unmasked": unmasked},
            ),
        )


def _looks_like_uscc(value: str) -> bool:
    return len(value) == 18 and not value[:17].isdigit()


def write_export(records: Iterable[dict[str, str]], columns: tuple[str, ...], file_format: str, out: io.TextIOBase) -> int:
    count = 0
    if file_format == "csv":
        writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(record)
            count += 1
    else:
        for record in records:
            out.write(json.dumps({k: (v or None) for k, v in record.items()}, ensure_ascii=False) + "\n")
            count += 1
    return count


# ---------------------------------------------------------------- jobs and quarantine, for pages and API


class JobView(BaseModel):
    """导入任务 as pages and the API show it (bytes_done of size_bytes while it runs)."""

    id: int
    kind: str
    filename: str
    status: str
    actor: str
    created_at: datetime
    finished_at: datetime | None
    size_bytes: int
    bytes_done: int
    read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    error: str | None


def _job_view(row: ImportJobRow) -> JobView:
    live = live_progress(row.id)
    done = live[0] if live else (row.size_bytes if row.status == "done" else 0)
    return JobView(
        id=row.id, kind=row.kind, filename=row.filename, status=row.status, actor=row.actor,
        created_at=row.created_at, finished_at=row.finished_at, size_bytes=row.size_bytes, bytes_done=done,
        read=row.read, inserted=row.inserted, updated=row.updated, unchanged=row.unchanged,
        quarantined=row.quarantined, error=row.error,
    )


def list_jobs(db: Database, limit: int = 50) -> list[JobView]:
    with db.transaction() as session:
        return [_job_view(r) for r in session.scalars(select(ImportJobRow).order_by(ImportJobRow.id.desc()).limit(limit))]


def get_job(db: Database, job_id: int) -> JobView:
    from trafficgov.errors import NotFound

    with db.transaction() as session:
        row = session.get(ImportJobRow, job_id)
        if row is None:
            raise NotFound(str(job_id))
        return _job_view(row)


class QuarantineView(BaseModel):
    """隔离记录 as pages and the API show it."""

    line_no: int
    field: str | None
    reason_zh: str
    reason_en: str
    raw: str


def list_quarantine(db: Database, job_id: int, *, limit: int = 200, offset: int = 0) -> list[QuarantineView]:
    get_job(db, job_id)
    with db.transaction() as session:
        rows = session.scalars(select(QuarantineRow).where(QuarantineRow.job_id == job_id).order_by(QuarantineRow.line_no).limit(limit).offset(offset))
        return [QuarantineView(line_no=r.line_no, field=r.field, reason_zh=r.reason_zh, reason_en=r.reason_en, raw=r.raw) for r in rows]


# ---------------------------------------------------------------- event kinds (captures …)


def ingest_file(db: Database, kind: str, path: Path, actor: Actor, *, encoding: str = "utf-8", progress: Progress | None = None, at: datetime | None = None) -> ImportSummary:
    """Import a JSONL file of events through its context's ingest, in batches; rejects go to quarantine.

    Events have stable ids, so each batch is its own transaction and a re-run after a crash completes
    the file without duplicating anything. `inserted` counts accepted events, `unchanged` duplicates.
    """
    ingest = get_ingest(kind)
    if ingest is None:
        raise FieldError("kind", f"未知的事件类型：{kind}", f"unknown event kind: {kind}")
    file_format = detect_format(path.name)
    if file_format != "jsonl" and not (file_format == "csv" and ingest.group_csv is not None):
        raise FieldError("file", f"{ingest.label_zh}只接受 JSONL 文件", f"{kind} are imported from JSONL files only")
    at = at or datetime.now(UTC)
    job_id = create_job(db, kind, path.name, actor, size_bytes=path.stat().st_size, encoding=encoding, at=at)
    summary = ImportSummary(kind=kind, job_id=job_id)
    total = path.stat().st_size
    batch: list[Any] = []
    lines: list[list[tuple[int, str]]] = []  # per event: its (line number, raw line)s

    def flush() -> None:
        if not batch:
            return
        result = ingest.ingest(db, actor, batch)
        summary.inserted += result.accepted
        summary.unchanged += result.duplicates
        quarantine = [
            {"job_id": job_id, "kind": kind, "line_no": line_no, "field": r.field,
             "reason_zh": r.reason_zh, "reason_en": r.reason_en, "raw": raw[:4000]}
            for r in result.rejected for line_no, raw in lines[r.index]
        ]
        summary.quarantined += len(quarantine)
        if quarantine:
            with db.transaction(write=True) as session:
                session.execute(insert(QuarantineRow.__table__), quarantine)
        batch.clear()
        lines.clear()

    try:
        if file_format == "csv":
            _ingest_csv_groups(db, ingest, path, encoding, job_id, summary, batch, lines, flush)
        else:
            with path.open("rb") as handle:
                counter = CountingReader(handle)
                text = io.TextIOWrapper(io.BufferedReader(counter), encoding=python_encoding(encoding), errors="replace")
                for line_no, line in enumerate(text, start=1):
                    if not line.strip():
                        continue
                    summary.read += 1
                    try:
                        batch.append(json.loads(line))
                    except json.JSONDecodeError:
                        batch.append(line.rstrip("\n"))
                    lines.append([(line_no, line.rstrip("\n"))])
                    if len(batch) >= ingest.batch:
                        flush()
                        _set_progress(job_id, counter.count, total)
                        if progress:
                            progress(counter.count, total)
                flush()
    except Exception as exc:
        _finish_job(db, job_id, summary, f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        with _live_lock:
            _live_progress.pop(job_id, None)
    if progress:
        progress(total, total)
    with db.transaction(write=True) as session:
        audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action="import", entity=kind, record_key=f"job:{job_id}", purpose=None, at=at, detail=summary.public()))
    _finish_job(db, job_id, summary, None)
    return summary


def _ingest_csv_groups(db: Database, ingest: Any, path: Path, encoding: str, job_id: int, summary: ImportSummary, batch: list[Any], lines: list[list[tuple[int, str]]], flush: Callable[[], None]) -> None:
    """An event kind's CSV form: rows grouped into events by the kind's `group_csv`; a group that does not
    make an event quarantines all its rows. The file is read whole (event files are small)."""
    with path.open("rb") as handle:
        records = list(read_records(io.BufferedReader(CountingReader(handle)), "csv", encoding))
    summary.read += len(records)
    quarantine: list[dict[str, Any]] = []
    for record, rows in ingest.group_csv(records):
        if isinstance(record, FieldError):
            quarantine.extend(
                {"job_id": job_id, "kind": ingest.name, "line_no": r.line_no, "field": record.field,
                 "reason_zh": record.zh, "reason_en": record.en, "raw": r.raw[:4000]}
                for r in rows
            )
            continue
        batch.append(record)
        lines.append([(r.line_no, r.raw) for r in rows])
        if len(batch) >= ingest.batch:
            flush()
    flush()
    summary.quarantined += len(quarantine)
    if quarantine:
        with db.transaction(write=True) as session:
            session.execute(insert(QuarantineRow.__table__), quarantine)


def _finish_job(db: Database, job_id: int, summary: ImportSummary, error: str | None) -> None:
    with db.transaction(write=True) as session:
        job = session.get(ImportJobRow, job_id)
        assert job is not None
        for name, value in summary.public().items():
            if name != "kind":
                setattr(job, name, value)
        job.status = "failed" if error else "done"
        job.error = error
        job.finished_at = datetime.now(UTC)
