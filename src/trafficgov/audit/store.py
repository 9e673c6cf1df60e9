"""Tables of the audit log and the few queries that touch them (append, scan in chunks, search)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from trafficgov.audit.model import AuditRecord, Checkpoint
from trafficgov.store.base import Base

HEAD_ID = 1


class AuditLogRow(Base):
    """审计日志 — one row per audited action; rows are only ever appended (and purged by retention)."""

    __tablename__ = "audit_log"

    # Assigned from audit_head, never by the database, so that seq has no gaps.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str | None] = mapped_column(String(256))
    purpose: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, see chain.canonical_detail
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_entity_record_key", "entity", "record_key"),)


class AuditHeadRow(Base):
    """审计链头 — the single row (id=1) holding the last seq and hash; appenders serialise on it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class AuditCheckpointRow(Base):
    """审计签封点 — the head signed with the outside key ('seal'), or the anchor left by retention."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signature: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))

    __table_args__ = (CheckConstraint("kind IN ('seal', 'retention')", name="kind"),)


AUDIT_TABLES = [AuditLogRow.__table__, AuditHeadRow.__table__, AuditCheckpointRow.__table__]

_log = AuditLogRow.__table__
_head = AuditHeadRow.__table__
_checkpoints = AuditCheckpointRow.__table__

# Built once: append runs on every audited request, and building a statement costs more than running it.
_ADVANCE_HEAD = (
    update(_head)
    .where(_head.c.id == HEAD_ID)
    .values(seq=_head.c.seq + bindparam("step", type_=Integer))
    .returning(_head.c.seq, _head.c.hash)
)
_SET_HEAD_HASH = update(_head).where(_head.c.id == HEAD_ID).values(hash=bindparam("new_hash"))
_INSERT_ROW = insert(_log)

LOG_COLUMNS = (
    _log.c.seq,
    _log.c.at,
    _log.c.actor,
    _log.c.role,
    _log.c.unit,
    _log.c.action,
    _log.c.entity,
    _log.c.record_key,
    _log.c.purpose,
    _log.c.detail,
    _log.c.prev_hash,
    _log.c.hash,
)


def utc(value: datetime) -> datetime:
    """A time read back from the store, as aware UTC (SQLite hands back naive UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_store_time(value: datetime) -> datetime:
    """Aware UTC for PostgreSQL; SQLite keeps the wall time it is given, so that must be UTC too."""
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(UTC)


# --- head ---------------------------------------------------------------------------------------


def advance_head(session: Session, count: int) -> tuple[int, str] | None:
    """Move the head forward by `count` and return the (seq, hash) it had; None when there is no head.

    The UPDATE comes first so that it takes the write lock before anything is read: on PostgreSQL it
    locks the head row like SELECT ... FOR UPDATE (concurrent appenders wait for our commit and then
    see our head); on SQLite it takes the database's write lock before a stale snapshot can be read.
    """
    row = session.execute(_ADVANCE_HEAD, {"step": count}).first()
    if row is None:
        return None
    return row.seq - count, row.hash


def set_head_hash(session: Session, head_hash: str) -> None:
    session.execute(_SET_HEAD_HASH, {"new_hash": head_hash})


def create_head(session: Session, seq: int, head_hash: str) -> None:
    """Insert the head row unless a concurrent transaction already did."""
    values = {"id": HEAD_ID, "seq": seq, "hash": head_hash}
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(_head).values(values).on_conflict_do_nothing(index_elements=["id"])
    else:
        stmt = sqlite.insert(_head).values(values).on_conflict_do_nothing(index_elements=["id"])
    session.execute(stmt)


def get_head(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(_head.c.seq, _head.c.hash).where(_head.c.id == HEAD_ID)).first()
    return None if row is None else (row.seq, row.hash)


# --- log rows -----------------------------------------------------------------------------------


def insert_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(_INSERT_ROW, rows[0]) if len(rows) == 1 else session.execute(_INSERT_ROW, list(rows))


def last_row(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(_log.c.seq, _log.c.hash).order_by(_log.c.seq.desc()).limit(1)).first()
    return None if row is None else (row.seq, row.hash)


def first_seq_at_or_after(session: Session, when: datetime) -> int | None:
    return session.execute(select(func.min(_log.c.seq)).where(_log.c.at >= to_store_time(when))).scalar()


def row_at(session: Session, seq: int) -> AuditRecord | None:
    row = session.execute(select(*LOG_COLUMNS).where(_log.c.seq == seq)).first()
    return None if row is None else to_record(row)


def scan(
    session: Session, *, after: int = 0, through: int | None = None, chunk: int = 10_000
) -> Iterator[Any]:
    """Raw rows in seq order, fetched in keyset chunks so that memory stays flat on a large log."""
    last = after
    while True:
        stmt = select(*LOG_COLUMNS).where(_log.c.seq > last)
        if through is not None:
            stmt = stmt.where(_log.c.seq <= through)
        rows = session.execute(stmt.order_by(_log.c.seq).limit(chunk)).all()
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1].seq


def count_rows(session: Session, *, through: int | None = None) -> int:
    stmt = select(func.count()).select_from(_log)
    if through is not None:
        stmt = stmt.where(_log.c.seq <= through)
    return session.execute(stmt).scalar_one()


def delete_through(session: Session, seq: int) -> int:
    result = session.execute(_log.delete().where(_log.c.seq <= seq))
    return result.rowcount


def filtered(
    *,
    actor: str | None = None,
    entity: str | None = None,
    record_key: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """A SELECT of log rows matching every filter given (`since` inclusive, `until` exclusive)."""
    stmt = select(*LOG_COLUMNS)
    if actor is not None:
        stmt = stmt.where(_log.c.actor == actor)
    if entity is not None:
        stmt = stmt.where(_log.c.entity == entity)
    if record_key is not None:
        stmt = stmt.where(_log.c.record_key == record_key)
    if action is not None:
        stmt = stmt.where(_log.c.action == action)
    if since is not None:
        stmt = stmt.where(_log.c.at >= to_store_time(since))
    if until is not None:
        stmt = stmt.where(_log.c.at < to_store_time(until))
    return stmt


def to_record(row: Any) -> AuditRecord:
    import json

    return AuditRecord(
        seq=row.seq,
        at=utc(row.at),
        actor=row.actor,
        role=row.role,
        unit=row.unit,
        action=row.action,
        entity=row.entity,
        record_key=row.record_key,
        purpose=row.purpose,
        detail=json.loads(row.detail),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


# --- checkpoints --------------------------------------------------------------------------------


def insert_checkpoint(session: Session, checkpoint: Checkpoint) -> Checkpoint:
    new_id = session.execute(
        insert(_checkpoints)
        .values(
            seq=checkpoint.seq,
            head_hash=checkpoint.head_hash,
            signed_at=to_store_time(checkpoint.signed_at),
            signature=checkpoint.signature,
            kind=checkpoint.kind,
        )
        .returning(_checkpoints.c.id)
    ).scalar_one()
    return Checkpoint(
        id=new_id,
        seq=checkpoint.seq,
        head_hash=checkpoint.head_hash,
        signed_at=checkpoint.signed_at,
        signature=checkpoint.signature,
        kind=checkpoint.kind,
    )


def list_checkpoints(session: Session) -> list[Checkpoint]:
    rows = session.execute(select(_checkpoints).order_by(_checkpoints.c.seq, _checkpoints.c.id)).all()
    return [
        Checkpoint(
            id=row.id,
            seq=row.seq,
            head_hash=row.head_hash,
            signed_at=utc(row.signed_at),
            signature=row.signature,
            kind=row.kind,
        )
        for row in rows
    ]


def latest_checkpoint(session: Session) -> Checkpoint | None:
    row = session.execute(
        select(_checkpoints).order_by(_checkpoints.c.seq.desc(), _checkpoints.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return Checkpoint(
        id=row.id,
        seq=row.seq,
        head_hash=row.head_hash,
        signed_at=utc(row.signed_at),
        signature=row.signature,
        kind=row.kind,
    )
