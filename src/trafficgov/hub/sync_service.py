"""Use cases of source syncs: take a source system's new and changed records into the hub, a page at a
time, and list the sources with their state.

Each page is one transaction together with the advance of the source's watermark: a sync killed
mid-way leaves whole pages and a watermark that points just after them, so the next run resumes with
nothing lost and nothing doubled. A record is known by (source, source id): the same content again is
`unchanged`, new content makes a new version (the old one goes to hub_record_versions). Records that
cannot be mapped go to hub_quarantine with the reason. A source that answers garbage, an HTTP error,
nothing in time, or rows that miss a required column altogether (its schema changed) fails the sync
before that page is written; the next run starts again from the watermark.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.hub.connectors import Connector, Cursor, SourceError, connector_for
from trafficgov.hub.mapping import UNPARSED, Mapping, get_mapping, map_record, mappings
from trafficgov.hub.model import Rejected, SourceRecord, SourceStatus, SyncSummary
from trafficgov.hub.standard import to_json_value
from trafficgov.hub.store import (
    HubQuarantineRow,
    HubRecordRow,
    HubRecordVersionRow,
    HubSyncRow,
    HubWatermarkRow,
)
from trafficgov.store.db import Database

PAGE_SIZE = 500
LOOKUP_CHUNK = 2000


class SyncFailed(Exception):
    """同步失败 — a sync stopped on a fault of its source; pages taken before it stay, and the next run resumes."""

    def __init__(self, sync_id: int, summary: SyncSummary, zh: str, en: str) -> None:
        super().__init__(en)
        self.sync_id = sync_id
        self.summary = summary
        self.zh = zh
        self.en = en


def content_hash(fields: dict[str, Any]) -> str:
    """A record's content fingerprint: SHA-256 of its standard fields as canonical JSON."""
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stored_fields(record: SourceRecord) -> dict[str, Any]:
    return {name: to_json_value(value) for name, value in record.fields.items()}


def sync_source(
    db: Database,
    source_code: str,
    actor: Actor,
    *,
    origin: str | Path | Connector,
    at: datetime,
    page_size: int = PAGE_SIZE,
    full: bool = False,
    on_page: Callable[[int, SyncSummary], None] | None = None,
    timeout: float = 30.0,
) -> SyncSummary:
    """数据同步 — read `source_code`'s records after its watermark from `origin` (a folder, a URL or a
    connector) and take them in; `full` reads the source from the start again (nothing changes that
    did not change at the source). `on_page(pages_done, summary_so_far)` runs after each committed page.

    Raises SyncFailed when the source misbehaves (status failed, error kept); any other exception also
    marks the run failed and is raised again.
    """
    mapping = get_mapping(source_code)
    if hasattr(origin, "fetch"):
        return _sync(db, mapping, actor, origin, at, page_size, full, on_page)  # type: ignore[arg-type]
    connector = connector_for(mapping, origin, timeout=timeout)  # type: ignore[arg-type]
    try:
        return _sync(db, mapping, actor, connector, at, page_size, full, on_page)
    finally:
        close = getattr(connector, "close", None)
        if close is not None:
            close()


def _sync(db: Database, mapping: Mapping, actor: Actor, connector: Connector, at: datetime, page_size: int, full: bool,
          on_page: Callable[[int, SyncSummary], None] | None) -> SyncSummary:
    sync_id, start = _begin(db, mapping, actor, str(connector.origin), at, full)
    counts = {"read": 0, "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "pages": 0}
    cursor = start

    def summary() -> SyncSummary:
        return SyncSummary(
            source=mapping.source, read=counts["read"], inserted=counts["inserted"], updated=counts["updated"],
            unchanged=counts["unchanged"], quarantined=counts["quarantined"],
            watermark_from=start.watermark if start else None, watermark_to=cursor.watermark if cursor else None,
        )

    try:
        while True:
            page = connector.fetch(cursor, page_size)
            if not page.records or page.next is None:
                break
            _check_schema(mapping, page.records)
            mapped = [map_record(mapping, raw, at) for raw in page.records]
            advance = cursor is None or page.next > cursor
            with db.transaction(write=True) as session:
                _check_watermark(session, mapping.source, cursor, full, sync_id)
                page_counts = _write_page(session, mapped, sync_id, at)
                if advance:
                    _set_watermark(session, mapping.source, page.next, sync_id, at)
                for name, value in page_counts.items():
                    counts[name] += value
                counts["read"] += len(page.records)
                counts["pages"] += 1
                if advance:
                    cursor = page.next
                _save_counts(session, sync_id, counts, cursor)
            if on_page is not None:
                on_page(counts["pages"], summary())
            if not advance:
                break  # the source repeats itself instead of moving on: what it sent is taken, and we stop
    except SourceError as error:
        _finish(db, sync_id, mapping, actor, summary(), counts, at, error=f"{error.en}", error_zh=error.zh)
        raise SyncFailed(sync_id, summary(), error.zh, error.en) from error
    except BaseException as error:
        _finish(db, sync_id, mapping, actor, summary(), counts, at, error=f"{type(error).__name__}: {error}", error_zh="同步中断")
        raise
    _finish(db, sync_id, mapping, actor, summary(), counts, at)
    return summary()


# ------------------------------------------------------------------------------------------ steps


def _begin(db: Database, mapping: Mapping, actor: Actor, origin: str, at: datetime, full: bool) -> tuple[int, Cursor | None]:
    with db.transaction(write=True) as session:
        # A run still "running" was killed (the process died): say so, it holds nothing.
        session.execute(
            update(HubSyncRow)
            .where(HubSyncRow.source == mapping.source, HubSyncRow.status == "running")
            .values(status="failed", error="interrupted: the run ended without finishing", finished_at=at)
        )
        mark = session.get(HubWatermarkRow, mapping.source)
        start = None if full or mark is None else Cursor(mark.watermark, mark.after_id)
        row = HubSyncRow(
            source=mapping.source, origin=origin[:512], actor=actor.username, status="running", started_at=at,
            pages=0, read=0, inserted=0, updated=0, unchanged=0, quarantined=0,
            watermark_from=start.watermark if start else None,
        )
        session.add(row)
        session.flush()
        return row.id, start


def _check_schema(mapping: Mapping, records: list[dict[str, Any]]) -> None:
    """A required column that no row of the page has at all: the source changed its schema."""
    rows = [raw for raw in records if UNPARSED not in raw]
    if not rows:
        return
    missing = [name for name in mapping.required_source_fields() if not any(name in raw for raw in rows)]
    if missing:
        names = "、".join(missing)
        raise SourceError(
            f"数据来源结构已变化：所有记录均缺少字段 {names}，请更新映射文件",
            f"the source's schema changed: no record has the field(s) {', '.join(missing)}; update its mapping",
        )


def _check_watermark(session: Session, source: str, expected: Cursor | None, full: bool, sync_id: int) -> None:
    """Another run of the same source moved the watermark under us: stop rather than interleave."""
    mark = session.get(HubWatermarkRow, source)
    if mark is None:
        return
    if mark.sync_id == sync_id:
        return
    current = Cursor(mark.watermark, mark.after_id)
    if not full and current != expected:
        raise SourceError("同一数据来源的另一同步任务正在运行", f"another sync of {source} moved its watermark")


def _set_watermark(session: Session, source: str, cursor: Cursor, sync_id: int, at: datetime) -> None:
    mark = session.get(HubWatermarkRow, source)
    if mark is None:
        session.add(HubWatermarkRow(source=source, watermark=cursor.watermark, after_id=cursor.after_id, sync_id=sync_id, updated_at=at))
        return
    if Cursor(mark.watermark, mark.after_id) < cursor:  # a full re-read never moves it back
        mark.watermark, mark.after_id = cursor.watermark, cursor.after_id
    mark.sync_id, mark.updated_at = sync_id, at


def _save_counts(session: Session, sync_id: int, counts: dict[str, int], cursor: Cursor | None) -> None:
    values: dict[str, Any] = dict(counts)
    if cursor is not None:
        values["watermark_to"] = cursor.watermark
    session.execute(update(HubSyncRow).where(HubSyncRow.id == sync_id).values(**values))


def _write_page(session: Session, mapped: list[SourceRecord | Rejected], sync_id: int, at: datetime) -> dict[str, int]:
    counts = {"inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0}
    quarantine: list[dict[str, Any]] = []
    latest: dict[tuple[str, str], SourceRecord] = {}
    for item in mapped:
        if isinstance(item, Rejected):
            raw = _jsonable_raw(item.raw)
            quarantine.append({
                "source": item.source, "source_id": item.source_id, "field": item.field, "reason_zh": item.reason_zh,
                "reason_en": item.reason_en, "raw": raw, "raw_hash": content_hash(raw), "sync_id": sync_id, "at": at,
            })
            counts["quarantined"] += 1
            continue
        key = (item.source, item.source_id)
        if key in latest:
            counts["unchanged"] += 1  # the same record twice in one page: the later one stands
        latest[key] = item
    quarantine = _new_in_quarantine(session, quarantine)
    if quarantine:
        session.execute(insert(HubQuarantineRow), quarantine)
    if not latest:
        return counts
    existing: dict[tuple[str, str], HubRecordRow] = {}
    by_source: dict[str, list[str]] = {}
    for source, source_id in latest:
        by_source.setdefault(source, []).append(source_id)
    for source, ids in by_source.items():
        for i in range(0, len(ids), LOOKUP_CHUNK):
            rows = session.scalars(
                select(HubRecordRow).where(HubRecordRow.source == source, HubRecordRow.source_id.in_(ids[i:i + LOOKUP_CHUNK]))
            )
            existing.update({(row.source, row.source_id): row for row in rows})
    new_rows: list[dict[str, Any]] = []
    seen_ids: list[int] = []
    for key, record in latest.items():
        fields = stored_fields(record)
        digest = content_hash(fields)
        row = existing.get(key)
        if row is None:
            new_rows.append({
                "source": record.source, "source_id": record.source_id, "kind": record.kind, "fields": fields,
                "content_hash": digest, "version": 1, "source_updated_at": record.source_updated_at,
                "first_synced_at": at, "last_synced_at": at, "sync_id": sync_id,
            })
            counts["inserted"] += 1
            continue
        stale = (row.source_updated_at is not None and record.source_updated_at is not None
                 and record.source_updated_at < row.source_updated_at)
        if row.content_hash == digest or stale:
            counts["unchanged"] += 1
            seen_ids.append(row.id)
            continue
        session.add(HubRecordVersionRow(
            record_id=row.id, version=row.version, fields=row.fields, content_hash=row.content_hash,
            source_updated_at=row.source_updated_at, replaced_at=at, replaced_by_sync=sync_id,
        ))
        row.fields, row.content_hash, row.kind = fields, digest, record.kind
        row.version += 1
        row.source_updated_at, row.last_synced_at, row.sync_id = record.source_updated_at, at, sync_id
        counts["updated"] += 1
    if new_rows:
        session.execute(insert(HubRecordRow), new_rows)
    for i in range(0, len(seen_ids), LOOKUP_CHUNK):
        session.execute(update(HubRecordRow).where(HubRecordRow.id.in_(seen_ids[i:i + LOOKUP_CHUNK])).values(last_synced_at=at))
    return counts


def _new_in_quarantine(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rejected records not in quarantine already: a source re-sending a bad record adds nothing."""
    if not rows:
        return rows
    fresh: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        fresh.setdefault((row["source"], row["raw_hash"]), row)
    known: set[tuple[str, str]] = set()
    keys = list(fresh)
    for i in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[i:i + LOOKUP_CHUNK]
        sources = {source for source, _ in chunk}
        found = session.execute(
            select(HubQuarantineRow.source, HubQuarantineRow.raw_hash).where(
                HubQuarantineRow.source.in_(sources), HubQuarantineRow.raw_hash.in_([h for _, h in chunk])
            )
        )
        known.update((source, raw_hash) for source, raw_hash in found)
    return [row for key, row in fresh.items() if key not in known]


def _jsonable_raw(raw: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(raw, ensure_ascii=False, default=str)
    if len(text) > 8000:
        return {UNPARSED: text[:8000]}
    return json.loads(text)


def _finish(db: Database, sync_id: int, mapping: Mapping, actor: Actor, summary: SyncSummary, counts: dict[str, int],
            at: datetime, *, error: str | None = None, error_zh: str | None = None) -> None:
    status = "failed" if error else "done"
    detail: dict[str, Any] = {**asdict(summary), "status": status, "sync_id": sync_id, "pages": counts["pages"]}
    if error:
        detail["error"] = error[:500]
    with db.transaction(write=True) as session:
        session.execute(
            update(HubSyncRow).where(HubSyncRow.id == sync_id).values(
                status=status, finished_at=datetime.now(UTC), error=(f"{error_zh} — {error}"[:2000] if error else None),
                **{k: v for k, v in counts.items()},
            )
        )
        audit.append(session, AuditEntry(
            actor=actor.username, role=str(actor.role), unit=actor.unit, action="import", entity="hub_source",
            record_key=f"{mapping.source}:sync:{sync_id}", purpose=None, at=at, detail=detail,
        ))


# ------------------------------------------------------------------------------------------ reading


def list_sources(db: Database) -> list[SourceStatus]:
    """数据来源 — every declared source with its record and quarantine counts, watermark and last sync."""
    with db.transaction() as session:
        records = dict(session.execute(select(HubRecordRow.source, func.count()).group_by(HubRecordRow.source)).all())
        quarantined = dict(session.execute(select(HubQuarantineRow.source, func.count()).group_by(HubQuarantineRow.source)).all())
        marks = {row.source: row for row in session.scalars(select(HubWatermarkRow))}
        last_ids = select(func.max(HubSyncRow.id)).group_by(HubSyncRow.source)
        last = {row.source: row for row in session.scalars(select(HubSyncRow).where(HubSyncRow.id.in_(last_ids)))}
    result = []
    for code, mapping in mappings().items():
        run = last.get(code)
        mark = marks.get(code)
        result.append(SourceStatus(
            source=code, name_zh=mapping.name_zh, department=mapping.department, kind=mapping.kind,
            records=records.get(code, 0), quarantined=quarantined.get(code, 0),
            watermark=mark.watermark if mark else None,
            last_sync_id=run.id if run else None, last_sync_status=run.status if run else None,
            last_sync_started_at=run.started_at if run else None, last_sync_finished_at=run.finished_at if run else None,
            last_sync_error=run.error if run else None,
        ))
    return result


def list_quarantine(db: Database, source: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """The latest records a source's syncs quarantined, newest first, with their reasons."""
    with db.transaction() as session:
        rows = session.scalars(
            select(HubQuarantineRow).where(HubQuarantineRow.source == source).order_by(HubQuarantineRow.id.desc()).limit(limit)
        ).all()
        return [
            {"id": r.id, "source_id": r.source_id, "field": r.field, "reason_zh": r.reason_zh, "reason_en": r.reason_en,
             "raw": r.raw, "sync_id": r.sync_id, "at": r.at}
            for r in rows
        ]
