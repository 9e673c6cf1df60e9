"""Use cases of golden records: build them from every source's records, look one up with each field's
provenance, list the doubtful links, and keep a clerk's confirm/split decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, delete, func, or_, select, tuple_

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.hub import golden
from trafficgov.hub.golden_store import GoldenRecordRow, LinkReviewRow
from trafficgov.hub.model import SourceRecord
from trafficgov.hub.store import HubRecordRow
from trafficgov.store.db import Database

READERS = frozenset({Role.CLERK, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN, Role.COMMAND, Role.LEGAL_REVIEWER})
DECIDERS = frozenset({Role.CLERK, Role.SUPERVISOR, Role.ADMIN})
DECISION_LABELS_ZH = {"pending": "待确认", "confirm": "确认为同一对象", "split": "确认为不同对象"}


@dataclass(frozen=True)
class RunSummary:
    """主数据构建结果 — per entity kind: mentions read, golden records, records joined from 2+ sources, doubtful pairs."""

    entity: str
    mentions: int
    records: int
    multi_source: int
    doubtful: int


def _require(actor: Actor, allowed: frozenset[Role]) -> None:
    if actor.role not in allowed:
        raise Forbidden("您的角色无权操作主数据", "your role may not use golden records")


def _records_of(session, refs: list[str]) -> dict[str, HubRecordRow]:  # noqa: ANN001
    """The hub records named by `source/source_id` refs, in one query."""
    pairs = [tuple(ref.split("/", 1)) for ref in refs if "/" in ref]
    if not pairs:
        return {}
    rows = session.scalars(select(HubRecordRow).where(tuple_(HubRecordRow.source, HubRecordRow.source_id).in_(pairs)))
    return {f"{r.source}/{r.source_id}": r for r in rows}


def load_records(db: Database) -> list[SourceRecord]:
    """Every record the hub holds, as plain values."""
    with db.transaction() as session:
        return [
            SourceRecord(r.source, r.kind, r.source_id, r.fields or {}, r.source_updated_at, r.last_synced_at)
            for r in session.execute(select(
                HubRecordRow.source, HubRecordRow.kind, HubRecordRow.source_id, HubRecordRow.fields,
                HubRecordRow.source_updated_at, HubRecordRow.last_synced_at,
            ).order_by(HubRecordRow.id))
        ]


def linker(entity: str, left: list[dict], right: list[dict], floor: float) -> list[tuple[str, str, float]]:
    from trafficgov.hub.link import link

    return [(m.left_id, m.right_id, m.match_probability) for m in link(entity, left, right, threshold=floor)]


def decisions_of(db: Database) -> dict[str, dict[frozenset[str], str]]:
    with db.transaction() as session:
        found: dict[str, dict[frozenset[str], str]] = {}
        for r in session.scalars(select(LinkReviewRow).where(LinkReviewRow.status.in_(("confirm", "split")))):
            found.setdefault(r.entity, {})[frozenset({r.left_ref, r.right_ref})] = r.status
        return found


def build(records: list[SourceRecord], decisions: dict[str, dict[frozenset[str], str]], *, as_of, entities=golden.ENTITY_KINDS) -> dict[str, golden.Resolution]:
    """Golden records of each entity kind from plain records (no store): what `run` keeps, and what the
    evaluation against the demo's planted truth measures."""
    from trafficgov.hub.link import settings_at

    version = golden.golden_settings(as_of)
    link_version = settings_at(as_of)
    mentions = [m for r in records for m in golden.mentions_of(r, version)]
    return {
        entity: golden.resolve(entity, mentions, linker, threshold=link_version.kinds[entity].threshold, version=version,
                               decisions=decisions.get(entity, {}))
        for entity in entities
    }


def _fields_json(cluster: golden.Cluster) -> dict[str, Any]:
    return {c: {"value": fv.value, "source": fv.source, "source_id": fv.source_id,
                "updated_at": fv.updated_at.isoformat() if fv.updated_at else None} for c, fv in cluster.golden.items()}


def run(db: Database, actor: Actor, *, at: datetime | None = None, entities: tuple[str, ...] = golden.ENTITY_KINDS) -> list[RunSummary]:
    """主数据构建 — rebuild the golden records of `entities` (all kinds by default) from the hub's records in one
    transaction; doubtful pairs join the clerk's queue (a pair already decided keeps its decision)."""
    _require(actor, frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CLERK}))
    at = at or datetime.now(UTC)
    resolutions = build(load_records(db), decisions_of(db), as_of=at.date(), entities=entities)
    summaries = []
    with db.transaction(write=True) as session:
        for entity, result in resolutions.items():
            session.execute(delete(GoldenRecordRow).where(GoldenRecordRow.entity == entity))
            used: set[str] = set()
            rows = []
            for cluster in result.clusters:
                key = golden.golden_key(cluster)
                n = 2
                base = key
                while key in used:
                    key, n = f"{base}#{n}", n + 1
                used.add(key)
                members = sorted(cluster.refs())
                rows.append({"entity": entity, "golden_key": key[:160], "fields": _fields_json(cluster), "members": members,
                             "sources": len({m.source for m in cluster.members}), "run_at": at})
            if rows:
                session.execute(GoldenRecordRow.__table__.insert(), rows)
            known = {(r.left_ref, r.right_ref): r for r in session.scalars(select(LinkReviewRow).where(LinkReviewRow.entity == entity))}
            for d in result.doubtful:
                row = known.get((d.left_ref, d.right_ref))
                if row is None:
                    session.add(LinkReviewRow(entity=entity, left_ref=d.left_ref[:176], right_ref=d.right_ref[:176], probability=d.probability,
                                              status="pending", first_seen_at=at, last_seen_at=at))
                else:
                    row.probability, row.last_seen_at = d.probability, at
            summaries.append(RunSummary(entity, sum(len(c.members) for c in result.clusters), len(rows),
                                        sum(1 for r in rows if r["sources"] > 1), len(result.doubtful)))
        audit.append(session, AuditEntry(
            actor=actor.username, role=str(actor.role), unit=actor.unit, action="create", entity="hub_golden", record_key=None,
            purpose=None, at=at, detail={s.entity: {"records": s.records, "doubtful": s.doubtful} for s in summaries},
        ))
    return summaries


def get_record(db: Database, actor: Actor, entity: str, key: str) -> dict[str, Any]:
    """One golden record with each field's source, and the source records it was built from."""
    _require(actor, READERS)
    if entity not in golden.ENTITY_KINDS:
        raise FieldError("entity", f"未知的主数据类型：{entity}", f"unknown entity kind {entity!r}")
    with db.transaction() as session:
        row = session.scalar(select(GoldenRecordRow).where(GoldenRecordRow.entity == entity, GoldenRecordRow.golden_key == key))
        if row is None:
            raise NotFound(key)
        members = list(row.members)
        found = _records_of(session, members[:200])
        records = [{"source": rec.source, "source_id": rec.source_id, "kind": rec.kind, "fields": rec.fields,
                    "source_updated_at": rec.source_updated_at} for ref in members[:200] if (rec := found.get(ref)) is not None]
        return {"entity": entity, "key": row.golden_key, "fields": row.fields, "members": members, "sources": row.sources,
                "run_at": row.run_at, "records": records}


def search(db: Database, actor: Actor, entity: str, text: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Golden records whose key starts with, or whose member refs contain, the text."""
    _require(actor, READERS)
    text = text.strip()
    if not text:
        return []
    with db.transaction() as session:
        stmt = select(GoldenRecordRow).where(GoldenRecordRow.entity == entity).where(
            or_(GoldenRecordRow.golden_key.startswith(text.upper()), GoldenRecordRow.golden_key.startswith(text))
        ).order_by(GoldenRecordRow.golden_key).limit(limit)
        return [{"key": r.golden_key, "fields": r.fields, "sources": r.sources, "members": len(r.members)} for r in session.scalars(stmt)]


def counts(db: Database) -> dict[str, dict[str, int]]:
    with db.transaction() as session:
        out: dict[str, dict[str, int]] = {}
        for entity, total, multi in session.execute(
            select(GoldenRecordRow.entity, func.count(), func.sum(case((GoldenRecordRow.sources > 1, 1), else_=0)))
            .group_by(GoldenRecordRow.entity)
        ):
            out[entity] = {"records": total, "multi_source": int(multi or 0)}
        for entity, status, n in session.execute(select(LinkReviewRow.entity, LinkReviewRow.status, func.count()).group_by(LinkReviewRow.entity, LinkReviewRow.status)):
            out.setdefault(entity, {"records": 0, "multi_source": 0})[status] = n
        return out


def list_reviews(db: Database, actor: Actor, *, status: str | None = "pending", limit: int = 200) -> list[dict[str, Any]]:
    """The doubtful pairs with both sides' source records, for a clerk to decide."""
    _require(actor, READERS)
    with db.transaction() as session:
        stmt = select(LinkReviewRow).order_by(LinkReviewRow.probability.desc(), LinkReviewRow.id).limit(limit)
        if status:
            stmt = stmt.where(LinkReviewRow.status == status)
        reviews = list(session.scalars(stmt))
        found = _records_of(session, [ref for r in reviews for ref in (r.left_ref, r.right_ref)])
        out = []
        for r in reviews:
            sides = []
            for ref in (r.left_ref, r.right_ref):
                source, _, source_id = ref.partition("/")
                rec = found.get(ref)
                sides.append({"ref": ref, "source": source, "source_id": source_id, "fields": (rec.fields if rec else None) or {}})
            out.append({"id": r.id, "entity": r.entity, "probability": r.probability, "status": r.status,
                        "status_zh": DECISION_LABELS_ZH[r.status], "left": sides[0], "right": sides[1],
                        "decided_by": r.decided_by, "decided_at": r.decided_at, "note": r.note})
        return out


def decide_review(db: Database, actor: Actor, review_id: int, decision: str, *, note: str = "", at: datetime | None = None) -> dict[str, Any]:
    """人工确认 — a clerk says the pair is one entity (confirm) or two (split); the next build follows it."""
    _require(actor, DECIDERS)
    at = at or datetime.now(UTC)
    if decision not in ("confirm", "split"):
        raise FieldError("decision", "只能确认为同一对象（confirm）或不同对象（split）", "decision is confirm or split")
    with db.transaction(write=True) as session:
        row = session.get(LinkReviewRow, review_id)
        if row is None:
            raise NotFound(str(review_id))
        if row.status != "pending":
            raise Conflict(f"该关联已{DECISION_LABELS_ZH[row.status]}", f"the pair is already decided ({row.status})")
        row.status, row.decided_by, row.decided_at, row.note = decision, actor.username, at, note.strip()[:512] or None
        audit.append(session, AuditEntry(
            actor=actor.username, role=str(actor.role), unit=actor.unit, action="decide", entity="hub_link", record_key=str(row.id),
            purpose=None, at=at, detail={"entity": row.entity, "left": row.left_ref, "right": row.right_ref, "decision": decision},
        ))
        return {"id": row.id, "status": row.status, "status_zh": DECISION_LABELS_ZH[row.status]}


def split_member(db: Database, actor: Actor, entity: str, key: str, member: str, *, note: str, at: datetime | None = None) -> dict[str, Any]:
    """拆出 — a clerk says one record of a golden record is another entity (a plate handed on, a namesake); kept
    as a split decision against the record's other members, so every later build keeps them apart."""
    _require(actor, DECIDERS)
    at = at or datetime.now(UTC)
    if not note.strip():
        raise FieldError("note", "拆分须说明理由", "state why the record is another entity")
    with db.transaction(write=True) as session:
        row = session.scalar(select(GoldenRecordRow).where(GoldenRecordRow.entity == entity, GoldenRecordRow.golden_key == key))
        if row is None:
            raise NotFound(key)
        others = [ref for ref in row.members if ref != member]
        if member not in row.members or not others:
            raise FieldError("member", "该记录不在此主数据中，或是其唯一的记录", "the record is not a member, or the only one")
        for other in others:
            left, right = sorted((other, member))
            review = session.scalar(select(LinkReviewRow).where(
                LinkReviewRow.entity == entity, LinkReviewRow.left_ref == left, LinkReviewRow.right_ref == right))
            if review is None:
                review = LinkReviewRow(entity=entity, left_ref=left, right_ref=right, probability=1.0, first_seen_at=at, last_seen_at=at, status="split")
                session.add(review)
            review.status, review.decided_by, review.decided_at, review.note = "split", actor.username, at, note.strip()[:512]
        audit.append(session, AuditEntry(
            actor=actor.username, role=str(actor.role), unit=actor.unit, action="decide", entity="hub_link", record_key=key[:256],
            purpose=None, at=at, detail={"entity": entity, "split": member, "from": len(others)},
        ))
        return {"key": key, "member": member, "pairs": len(others)}
