"""Use cases of the hub's data quality: measure every source (one audited run, written in one transaction),
the report a department's page shows (its own sources' alerts, figures per field and their trend), and the
defects of a source with the records behind them.

Who sees what: the bureau's staff (admin, supervisor, clerk, command) every source; a partner department's
account only the sources its own department feeds (hub/data/sources/<source>.yaml `department`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.errors import Forbidden
from trafficgov.hub import quality
from trafficgov.hub.mapping import get_mapping, mappings
from trafficgov.hub.model import DEPARTMENT_LABELS_ZH, Rejected, SourceRecord
from trafficgov.hub.quality_store import HubDefectRow, HubQualityRow, HubQualityRunRow
from trafficgov.hub.sharing_service import department_of
from trafficgov.hub.standard import standard
from trafficgov.hub.store import HubQuarantineRow, HubRecordRow, HubSyncRow
from trafficgov.hub.sync_service import list_sources
from trafficgov.store.db import Database

STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.COMMAND})
MEASURERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
BATCH = 2000
SYNCS_FOR_ALERTS = 20


@dataclass(frozen=True)
class QualityRun:
    """一次数据质量评估 — its id, time, actor, the rules version and what it found."""

    id: int
    at: datetime
    actor: str
    rules_version: str
    sources: int
    records: int
    defects: int  # every defect found
    defects_kept: int  # the ones listed (at most defects_kept_per_field per source, field and kind)


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    at: datetime
    completeness: float | None
    validity: float | None
    consistency: float | None


@dataclass(frozen=True)
class FieldReport:
    """字段质量 — the latest figures of one field and its trend over the last runs (oldest first)."""

    field: str
    label_zh: str
    records: int
    filled: int
    valid: int
    compared: int
    inconsistent: int
    completeness: float | None
    validity: float | None
    consistency: float | None
    defects: int
    trend: list[TrendPoint] = field(default_factory=list)


@dataclass(frozen=True)
class SourceReport:
    """来源质量 — one source as the quality page shows it."""

    source: str
    name_zh: str
    department: str
    department_zh: str
    kind: str
    kind_zh: str
    records: int
    quarantined: int
    last_sync_status: str | None
    last_sync_at: datetime | None
    last_sync_error: str | None
    alerts: list[quality.Alert]
    notes: list[quality.Alert]  # said, but not alerts (a source repeating itself)
    measured_at: datetime | None
    timed: int
    late: int
    lag_p50_s: float | None
    lag_p95_s: float | None
    defects: dict[str, int]  # kind -> count in the latest run
    fields: list[FieldReport]


@dataclass(frozen=True)
class QualityReport:
    """数据质量报告 — the latest run and the sources the caller may see, those with red alerts first."""

    run_id: int | None
    at: datetime | None
    rules_version: str | None
    sources: list[SourceReport]


@dataclass(frozen=True)
class DefectRecord:
    """A defect with the record behind it: its standard fields, or (quarantined) the raw record as sent."""

    source: str
    source_id: str | None
    field: str
    field_zh: str
    kind: str
    kind_zh: str
    detail_zh: str
    other_source: str | None
    other_source_id: str | None
    quarantined: bool
    record: dict[str, Any] | None


# ---------------------------------------------------------------- scope


def visible_sources(db: Database, actor: Actor) -> list[str]:
    """The sources `actor` may see: all for the bureau's staff, its department's own for a partner."""
    if actor.role in STAFF:
        return list(mappings())
    if actor.role is Role.PARTNER:
        department = department_of(db, actor)
        return [code for code, m in mappings().items() if department is not None and m.department == department]
    raise Forbidden("无权查看数据质量", "only the bureau's staff and partner departments see data quality")


def _require_source(db: Database, actor: Actor, source: str) -> None:
    get_mapping(source)  # FieldError for an unknown source
    if source not in visible_sources(db, actor):
        raise Forbidden("只能查看本部门数据来源的数据质量", f"{source} is another department's source")


# ---------------------------------------------------------------- measuring


def _since(session: Session) -> dict[str, datetime]:
    return dict(session.execute(select(HubSyncRow.source, func.min(HubSyncRow.started_at)).group_by(HubSyncRow.source)).all())


def _feed(session: Session, meter: quality.Meter) -> int:
    sync_at = dict(session.execute(select(HubSyncRow.id, HubSyncRow.started_at)).all())
    count = 0
    rows = session.execute(
        select(HubRecordRow.source, HubRecordRow.kind, HubRecordRow.source_id, HubRecordRow.fields, HubRecordRow.source_updated_at,
               HubRecordRow.first_synced_at, HubRecordRow.sync_id).order_by(HubRecordRow.id).execution_options(yield_per=BATCH)
    )
    for source, kind, source_id, fields, updated, first, sync_id in rows:
        # when the hub took the record's current content in: the start of the sync that last changed it
        synced = sync_at.get(sync_id, first) if sync_id is not None else first
        meter.add(SourceRecord(source, kind, source_id, fields, updated, synced))
        count += 1
    resolved = exists().where(HubRecordRow.source == HubQuarantineRow.source, HubRecordRow.source_id == HubQuarantineRow.source_id)
    latest: dict[tuple[str, str], Rejected] = {}
    rejected = session.execute(
        select(HubQuarantineRow.source, HubQuarantineRow.source_id, HubQuarantineRow.field, HubQuarantineRow.reason_zh, HubQuarantineRow.reason_en)
        .where(~resolved).order_by(HubQuarantineRow.id).execution_options(yield_per=BATCH)
    )
    for source, source_id, name, reason_zh, reason_en in rejected:
        item = Rejected(source, source_id, name, reason_zh, reason_en)
        if source_id is None:
            meter.reject(item)
        else:
            latest[(source, source_id)] = item  # sent bad more than once: the latest reason stands
    for item in latest.values():
        meter.reject(item)
    return count


def measure(db: Database, actor: Actor, *, at: datetime | None = None) -> QualityRun:
    """数据质量评估 — measure every source's records; one run written with its figures and defects in one
    transaction (the defects replace the previous run's), audited."""
    if actor.role not in MEASURERS:
        raise Forbidden("只有系统管理员或督察人员可以发起数据质量评估", "only an administrator or a supervisor may measure data quality")
    at = at or datetime.now(UTC)
    version = quality.rules().at(at.date())
    specs = {code: quality.spec_of(m) for code, m in mappings().items()}
    with db.transaction() as session:
        meter = quality.Meter(version, specs, since=_since(session))
        records = _feed(session, meter)
    result = meter.result()
    counts_by_field: dict[tuple[str, str], int] = {}
    for (source, name, _kind), n in result.defect_counts.items():
        counts_by_field[(source, name)] = counts_by_field.get((source, name), 0) + n
    with db.transaction(write=True) as session:
        run = HubQualityRunRow(at=at, actor=actor.username, rules_version=version.version_id)
        session.add(run)
        session.flush()
        rows = []
        for code, sq in result.sources.items():
            rows.append({
                "run_id": run.id, "at": at, "source": code, "field": quality.RECORD, "records": sq.records, "filled": sq.records,
                "valid": sq.records, "compared": 0, "inconsistent": 0, "completeness": None, "validity": None, "consistency": None,
                "quarantined": sq.quarantined, "timed": sq.timed, "late": sq.late, "lag_p50_s": sq.lag_p50_s, "lag_p95_s": sq.lag_p95_s,
                "defects": counts_by_field.get((code, quality.RECORD), 0),
            })
            for fq in sq.fields:
                rows.append({
                    "run_id": run.id, "at": at, "source": code, "field": fq.field, "records": fq.records, "filled": fq.filled,
                    "valid": fq.valid, "compared": fq.compared, "inconsistent": fq.inconsistent, "completeness": fq.completeness,
                    "validity": fq.validity, "consistency": fq.consistency, "quarantined": 0, "timed": 0, "late": 0,
                    "lag_p50_s": None, "lag_p95_s": None, "defects": counts_by_field.get((code, fq.field), 0),
                })
        session.execute(insert(HubQualityRow), rows)
        session.execute(delete(HubDefectRow))
        defects = [
            {"run_id": run.id, "source": d.source, "source_id": d.source_id, "field": d.field, "kind": d.kind,
             "detail_zh": d.detail_zh, "other_source": d.other_source, "other_source_id": d.other_source_id}
            for d in result.defects
        ]
        for i in range(0, len(defects), BATCH):
            session.execute(insert(HubDefectRow), defects[i:i + BATCH])
        total = sum(result.defect_counts.values())
        audit.append(session, AuditEntry(
            actor=actor.username, role=str(actor.role), unit=actor.unit, action="create", entity="hub_quality",
            record_key=f"quality:run:{run.id}", purpose=None, at=at,
            detail={"run_id": run.id, "rules_version": version.version_id, "sources": len(result.sources), "records": records,
                    "defects": total, "defects_kept": len(defects)},
        ))
        return QualityRun(run.id, at, actor.username, version.version_id, len(result.sources), records, total, len(defects))


# ---------------------------------------------------------------- the report


def _syncs(session: Session, source: str) -> list[quality.SyncInfo]:
    rows = list(session.scalars(select(HubSyncRow).where(HubSyncRow.source == source).order_by(HubSyncRow.id.desc()).limit(SYNCS_FOR_ALERTS)))
    if rows and not any(r.status == "done" for r in rows):
        done = session.scalars(select(HubSyncRow).where(HubSyncRow.source == source, HubSyncRow.status == "done")
                               .order_by(HubSyncRow.id.desc()).limit(1)).first()
        if done is not None:
            rows.append(done)
    return [quality.SyncInfo(r.id, r.status, r.started_at, r.finished_at, r.read, r.inserted, r.updated, r.unchanged, r.quarantined, r.error)
            for r in rows]


def _source_quality(source: str, rows: list[HubQualityRow]) -> quality.SourceQuality | None:
    whole = next((r for r in rows if r.field == quality.RECORD), None)
    if whole is None:
        return None
    fields = tuple(quality.FieldQuality(source, r.field, r.records, r.filled, r.valid, r.compared, r.inconsistent) for r in rows if r.field != quality.RECORD)
    return quality.SourceQuality(source, whole.records, whole.quarantined, whole.timed, whole.lag_p50_s, whole.lag_p95_s, whole.late, fields)


def report(db: Database, actor: Actor, *, source: str | None = None, now: datetime | None = None) -> QualityReport:
    """数据质量报告 — per visible source: department, name, last sync, records, quarantine, alerts, and per field
    the latest completeness, validity and consistency with their trend over the last runs."""
    codes = visible_sources(db, actor)
    if source is not None:
        _require_source(db, actor, source)
        codes = [source]
    now = now or datetime.now(UTC)
    version = quality.rules().at(now.date())
    std = standard()
    status = {s.source: s for s in list_sources(db)}
    with db.transaction() as session:
        runs = list(session.scalars(select(HubQualityRunRow).order_by(HubQualityRunRow.id.desc()).limit(int(version.trend_runs.value))))
        run_ids = [r.id for r in runs]
        by_run: dict[tuple[int, str], list[HubQualityRow]] = {}
        if run_ids and codes:
            for row in session.scalars(select(HubQualityRow).where(HubQualityRow.run_id.in_(run_ids), HubQualityRow.source.in_(codes))
                                       .order_by(HubQualityRow.id)):
                by_run.setdefault((row.run_id, row.source), []).append(row)
        defect_counts: dict[str, dict[str, int]] = {}
        if run_ids and codes:
            for src, kind, n in session.execute(
                select(HubDefectRow.source, HubDefectRow.kind, func.count()).where(HubDefectRow.source.in_(codes)).group_by(HubDefectRow.source, HubDefectRow.kind)
            ):
                defect_counts.setdefault(src, {})[kind] = n
        syncs = {code: _syncs(session, code) for code in codes}
    result = []
    for code in codes:
        mapping = get_mapping(code)
        kind = std.kinds[mapping.kind]
        latest = by_run.get((run_ids[0], code), []) if run_ids else []
        previous = by_run.get((run_ids[1], code), []) if len(run_ids) > 1 else []
        current = _source_quality(code, latest)
        found = quality.alerts(code, syncs[code], current, {r.field: r.completeness for r in previous} or None, version, now)
        fields = []
        for row in latest:
            if row.field == quality.RECORD:
                continue
            trend = [TrendPoint(run.id, run.at, r.completeness, r.validity, r.consistency)
                     for run in reversed(runs) for r in by_run.get((run.id, code), []) if r.field == row.field]
            label = kind.fields[row.field].label_zh if row.field in kind.fields else row.field
            fields.append(FieldReport(row.field, label, row.records, row.filled, row.valid, row.compared, row.inconsistent,
                                      row.completeness, row.validity, row.consistency, row.defects, trend))
        st = status.get(code)
        result.append(SourceReport(
            source=code, name_zh=mapping.name_zh, department=mapping.department, department_zh=DEPARTMENT_LABELS_ZH[mapping.department],
            kind=mapping.kind, kind_zh=kind.label_zh, records=st.records if st else 0, quarantined=st.quarantined if st else 0,
            last_sync_status=st.last_sync_status if st else None,
            last_sync_at=st.last_sync_started_at if st else None,
            last_sync_error=st.last_sync_error if st else None,
            alerts=[a for a in found if a.level != "info"], notes=[a for a in found if a.level == "info"],
            measured_at=runs[0].at if runs and current is not None else None,
            timed=current.timed if current else 0, late=current.late if current else 0,
            lag_p50_s=current.lag_p50_s if current else None, lag_p95_s=current.lag_p95_s if current else None,
            defects=defect_counts.get(code, {}), fields=fields,
        ))
    result.sort(key=lambda s: (0 if any(a.level == "red" for a in s.alerts) else 1 if s.alerts else 2, s.department, s.source))
    return QualityReport(runs[0].id if runs else None, runs[0].at if runs else None, runs[0].rules_version if runs else None, result)


def defects(db: Database, actor: Actor, source: str, *, field: str | None = None, kind: str | None = None, limit: int = 100) -> list[DefectRecord]:
    """A source's defects in the latest run, with the records behind them (a quarantined one: as sent)."""
    _require_source(db, actor, source)
    mapping = get_mapping(source)
    labels = {name: spec.label_zh for name, spec in standard().kinds[mapping.kind].fields.items()}
    labels[quality.RECORD] = "整条记录"
    query = select(HubDefectRow).where(HubDefectRow.source == source)
    if field is not None:
        query = query.where(HubDefectRow.field == field)
    if kind is not None:
        query = query.where(HubDefectRow.kind == kind)
    with db.transaction() as session:
        rows = list(session.scalars(query.order_by(HubDefectRow.id).limit(max(1, min(limit, 1000)))))
        ids = sorted({r.source_id for r in rows if r.source_id is not None})
        records = {}
        for i in range(0, len(ids), BATCH):
            records.update(session.execute(select(HubRecordRow.source_id, HubRecordRow.fields).where(
                HubRecordRow.source == source, HubRecordRow.source_id.in_(ids[i:i + BATCH]))).all())
        missing = [i for i in ids if i not in records]
        raws: dict[str, dict[str, Any]] = {}
        for i in range(0, len(missing), BATCH):
            for source_id, raw in session.execute(select(HubQuarantineRow.source_id, HubQuarantineRow.raw).where(
                    HubQuarantineRow.source == source, HubQuarantineRow.source_id.in_(missing[i:i + BATCH])).order_by(HubQuarantineRow.id)):
                raws[source_id] = raw
    return [
        DefectRecord(
            source=r.source, source_id=r.source_id, field=r.field, field_zh=labels.get(r.field, r.field), kind=r.kind,
            kind_zh=quality.DEFECT_KINDS_ZH.get(r.kind, r.kind), detail_zh=r.detail_zh, other_source=r.other_source,
            other_source_id=r.other_source_id, quarantined=r.source_id not in records,
            record=records.get(r.source_id) if r.source_id in records else raws.get(r.source_id or ""),
        )
        for r in rows
    ]
