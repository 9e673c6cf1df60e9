"""主动预警 use cases: raise the warnings due on a day (idempotent by dedupe key), list them for a company or
for the bureau, acknowledge and close them.

States: open -> acknowledged (the company or an officer has seen it) -> closed (an officer, with a note);
open -> closed directly. A closed warning is never acknowledged again (409). Every write is audited; a
detection run writes one audit entry however many warnings it raised.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit import frames
from trafficgov.credit import warnings as rules
from trafficgov.credit.store import CreditWarningRow
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.registry.masking import mask_id_number
from trafficgov.registry.store import VehicleRow
from trafficgov.store.db import Database

RUN_ROLES = frozenset({Role.ADMIN, Role.OFFICER, Role.SUPERVISOR})
READ_ROLES = frozenset({Role.COMPANY, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN})
ACK_ROLES = frozenset({Role.COMPANY, Role.OFFICER, Role.SUPERVISOR})
CLOSE_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR})
STATES = ("open", "acknowledged", "closed")
STATE_ZH = {"open": "待处理", "acknowledged": "已知悉", "closed": "已关闭"}
CHUNK = 500


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = Field(default=None, ge=date(2000, 1, 1), le=date(2100, 12, 31), description="预警日（北京时间）；缺省为今天")


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="关闭说明（整改情况、核查结论）")


class RunSummary(BaseModel):
    as_of: date
    rules_version: str
    detected: int
    raised: int
    already_known: int
    by_kind: dict[str, int]


class WarningView(BaseModel):
    id: int
    kind: str
    kind_zh: str
    subject_kind: str
    subject_kind_zh: str
    subject_id: str
    company_uscc: str | None
    reason_zh: str
    detail: dict[str, Any]
    raised_on: date
    state: str
    state_zh: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def local_day(at: datetime) -> date:
    return (at.astimezone(UTC) + timedelta(hours=8)).date()


def _audit(session: Session, actor: Actor, action: str, key: str | None, at: datetime, **detail: Any) -> None:
    audit.append(session, AuditEntry(
        actor=actor.username, role=str(actor.role), unit=actor.unit, action=action, entity="credit_warnings",
        record_key=key, purpose="credit_supervision", at=at, detail=detail,
    ))


def _view(row: CreditWarningRow) -> WarningView:
    # A driver is a person: lists show the ID number masked for every role (the registry's audited
    # look-up gives it in clear to those allowed), so listing warnings is not a read of personal data.
    subject = mask_id_number(row.subject_id) or row.subject_id if row.subject_kind == "driver" else row.subject_id
    return WarningView(
        id=row.id, kind=row.kind, kind_zh=rules.KIND_LABELS_ZH.get(row.kind, row.kind), subject_kind=row.subject_kind,
        subject_kind_zh=rules.SUBJECT_LABELS_ZH.get(row.subject_kind, row.subject_kind), subject_id=subject,
        company_uscc=row.company_uscc, reason_zh=row.reason_zh, detail=row.detail or {}, raised_on=row.raised_on,
        state=row.state, state_zh=STATE_ZH.get(row.state, row.state), acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by, closed_at=row.closed_at, closed_by=row.closed_by, close_note=row.close_note,
    )


def vehicle_dates(db: Database) -> pl.DataFrame:
    """检验、交强险到期日 — the registry's due dates per vehicle ("PLATE:TYPE"), which the CreditData
    vehicles frame does not carry."""
    table = VehicleRow.__table__
    with db.transaction() as session:
        rows = session.execute(select(table.c.plate_number, table.c.plate_type, table.c.inspection_due, table.c.insurance_expiry, table.c.status)).all()
    frame = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"plate_number": pl.String, "plate_type": pl.String, "inspection_due": pl.Date, "insurance_expiry": pl.Date, "status": pl.String},
        orient="row",
    )
    return frame.select(
        vehicle=pl.concat_str([pl.col("plate_number"), pl.lit(":"), pl.col("plate_type")]),
        inspection_due=pl.col("inspection_due"), insurance_expiry=pl.col("insurance_expiry"), status=pl.col("status"),
    )


def raise_warnings(db: Database, actor: Actor, as_of: date | None = None, *, now: datetime | None = None, data: frames.CreditData | None = None) -> RunSummary:
    """预警检测 — detect every warning due on `as_of` and store the new ones (state open); a warning whose
    dedupe key is already stored (whatever its state) is not raised again. One audit entry per run.
    `data`: the credit inputs when the caller has read them already (the daily job)."""
    if Role(actor.role) not in RUN_ROLES:
        raise Forbidden("仅民警、督察或管理员可运行预警检测", "only officers, supervisors and admins run warning detection")
    at = _now(now)
    day = as_of or local_day(at)
    version = rules.warning_rules().at(day)
    found = rules.detect(data if data is not None else frames.load(db), vehicle_dates(db), day, version)
    raised: list[rules.Warning] = []
    with db.transaction(write=True) as session:
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
        for start in range(0, len(found), CHUNK):
            chunk = found[start:start + CHUNK]
            known = set(session.scalars(select(CreditWarningRow.dedupe_key).where(CreditWarningRow.dedupe_key.in_([w.dedupe_key for w in chunk]))))
            fresh = [w for w in chunk if w.dedupe_key not in known]
            if not fresh:
                continue
            # ON CONFLICT: a run in another process may have stored the same key since the look-up.
            statement = insert(CreditWarningRow).values([
                {
                    "dedupe_key": w.dedupe_key, "kind": w.kind, "subject_kind": w.subject_kind, "subject_id": w.subject_id,
                    "company_uscc": w.company_uscc, "reason_zh": w.reason_zh, "detail": w.detail, "raised_on": day, "state": "open",
                }
                for w in fresh
            ]).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(CreditWarningRow.dedupe_key)
            stored = set(session.scalars(statement))
            raised += [w for w in fresh if w.dedupe_key in stored]
        by_kind: dict[str, int] = {}
        for w in raised:
            by_kind[w.kind] = by_kind.get(w.kind, 0) + 1
        summary = RunSummary(
            as_of=day, rules_version=version.version_id, detected=len(found), raised=len(raised),
            already_known=len(found) - len(raised), by_kind=dict(sorted(by_kind.items())),
        )
        _audit(session, actor, "create", None, at, **summary.model_dump(mode="json"))
    return summary


def list_warnings(db: Database, actor: Actor, state: str | None = None, kind: str | None = None, *, limit: int = 1000) -> list[WarningView]:
    """预警列表 — a company sees only its own (company_uscc); the bureau's staff see all. Newest first."""
    if Role(actor.role) not in READ_ROLES:
        raise Forbidden("您的角色无权查看预警", "this role may not read warnings")
    if state is not None and state not in STATES:
        raise FieldError("state", "状态只能是 open、acknowledged 或 closed", "state must be open, acknowledged or closed")
    if kind is not None and kind not in rules.KINDS:
        raise FieldError("kind", "未知的预警类型", f"unknown warning kind {kind!r}")
    query = select(CreditWarningRow).order_by(CreditWarningRow.raised_on.desc(), CreditWarningRow.id.desc()).limit(limit)
    if actor.role is Role.COMPANY:
        if not actor.uscc:
            return []
        query = query.where(CreditWarningRow.company_uscc == actor.uscc)
    if state is not None:
        query = query.where(CreditWarningRow.state == state)
    if kind is not None:
        query = query.where(CreditWarningRow.kind == kind)
    with db.transaction() as session:
        return [_view(r) for r in session.scalars(query)]


def _locked(session: Session, actor: Actor, warning_id: int) -> CreditWarningRow:
    row = session.scalars(select(CreditWarningRow).where(CreditWarningRow.id == warning_id).with_for_update()).first()
    # A company never learns that another company's warning exists.
    if row is None or (actor.role is Role.COMPANY and (not actor.uscc or row.company_uscc != actor.uscc)):
        raise NotFound(f"warning {warning_id}")
    return row


def acknowledge(db: Database, actor: Actor, warning_id: int, *, now: datetime | None = None) -> WarningView:
    """知悉 — the company (its own warning) or an officer acknowledges an open warning. Acknowledging an
    acknowledged warning changes nothing; a closed one cannot be acknowledged (409)."""
    if Role(actor.role) not in ACK_ROLES:
        raise Forbidden("仅企业或民警可确认知悉预警", "only the company or an officer acknowledges a warning")
    at = _now(now)
    with db.transaction(write=True) as session:
        row = _locked(session, actor, warning_id)
        if row.state == "closed":
            raise Conflict("该预警已关闭，不能再确认知悉", "the warning is closed")
        if row.state == "open":
            row.state, row.acknowledged_at, row.acknowledged_by = "acknowledged", at, actor.username
            _audit(session, actor, "update", str(row.id), at, state="acknowledged", kind=row.kind)
        return _view(row)


def close(db: Database, actor: Actor, warning_id: int, note: str, *, now: datetime | None = None) -> WarningView:
    """关闭 — an officer closes a warning with a note (what was done, what was found)."""
    if Role(actor.role) not in CLOSE_ROLES:
        raise Forbidden("仅民警可关闭预警", "only an officer closes a warning")
    note = (note or "").strip()
    if not note:
        raise FieldError("note", "关闭预警须填写说明", "a note is required to close a warning")
    at = _now(now)
    with db.transaction(write=True) as session:
        row = _locked(session, actor, warning_id)
        if row.state == "closed":
            raise Conflict("该预警已关闭", "the warning is already closed")
        row.state, row.closed_at, row.closed_by, row.close_note = "closed", at, actor.username, note
        _audit(session, actor, "update", str(row.id), at, state="closed", kind=row.kind)
        return _view(row)
