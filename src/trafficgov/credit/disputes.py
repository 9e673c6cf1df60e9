"""异议申诉 — a company disputes a violation, crash or inspection attributed to it (wrong vehicle, not its
driver at the time, not preventable); an officer or legal reviewer decides with a written note, and an
upheld dispute takes the record out of the scoring (`upheld_records`). The outcome is shown to the
company either way (FMCSA DataQs: a record challenged and corrected must leave the score, visibly).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit.store import (
    CreditAccidentPartyRow,
    CreditAccidentRow,
    CreditDisputeRow,
    CreditInspectionRow,
    CreditViolationRow,
)
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.registry.store import VehicleRow
from trafficgov.store.db import Database

RECORD_KINDS = ("violation", "accident", "inspection")
GROUNDS = ("wrong_vehicle", "not_our_driver", "not_preventable", "other")
RECORD_KIND_LABELS_ZH = {"violation": "交通违法", "accident": "交通事故", "inspection": "检查记录"}
GROUND_LABELS_ZH = {"wrong_vehicle": "非本单位车辆（号牌错误、套牌等）", "not_our_driver": "当时驾驶人非本单位人员",
                    "not_preventable": "事故不可预防（本方无过错）", "other": "其他"}
STATE_LABELS_ZH = {"open": "待处理", "upheld": "异议成立（该记录不计入信用与风险评价）", "rejected": "异议不成立（记录保留）"}
DECIDING_ROLES = frozenset({Role.OFFICER, Role.LEGAL_REVIEWER})
READING_ROLES = frozenset({Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN})
PURPOSE = "credit_disputes"


class DisputeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_kind: Literal["violation", "accident", "inspection"] = Field(description="记录类型")
    record_id: str = Field(min_length=1, max_length=64, description="违法、事故或检查记录编号")
    ground: Literal["wrong_vehicle", "not_our_driver", "not_preventable", "other"] = Field(description="异议理由")
    text: str = Field(max_length=4000, description="事实与理由（必填）")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool = Field(description="异议是否成立")
    note: str = Field(max_length=4000, description="处理意见（必填）")


class DisputeView(BaseModel):
    id: int
    uscc: str
    record_kind: str
    record_kind_zh: str
    record_id: str
    record_summary_zh: str | None
    ground: str
    ground_zh: str
    text: str
    filed_at: datetime
    filed_by: str
    state: str
    state_zh: str
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _audit(session: Session, actor: Actor, action: str, key: str, at: datetime, **detail: Any) -> None:
    audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action=action,
                                     entity="credit_disputes", record_key=key, purpose=PURPOSE, at=at, detail=detail))


def _company_vehicle(uscc: str):
    """A vehicle row of the company: it owns it or it operates it (issue 5: a vehicle's company)."""
    return or_(VehicleRow.operator_uscc == uscc, VehicleRow.owner_id == uscc)


def _attributed(session: Session, uscc: str, kind: str, record_id: str) -> str | None:
    """The record's summary when it exists and is attributed to the company, else None."""
    if kind == "violation":
        v = session.scalars(select(CreditViolationRow).where(CreditViolationRow.violation_id == record_id)).first()
        if v is None:
            return None
        owned = session.scalar(select(VehicleRow.id).where(VehicleRow.plate_number == v.plate_number, VehicleRow.plate_type == v.plate_type, _company_vehicle(uscc)))
        return f"{v.occurred_at.date().isoformat()} {v.plate_number} {v.behavior}" if owned is not None else None
    if kind == "accident":
        a = session.scalars(select(CreditAccidentRow).where(CreditAccidentRow.accident_id == record_id)).first()
        if a is None:
            return None
        plate = session.scalar(
            select(CreditAccidentPartyRow.plate_number)
            .join(VehicleRow, (VehicleRow.plate_number == CreditAccidentPartyRow.plate_number) & (VehicleRow.plate_type == CreditAccidentPartyRow.plate_type))
            .where(CreditAccidentPartyRow.accident_id == record_id, _company_vehicle(uscc))
        )
        return f"{a.occurred_at.date().isoformat()} {plate} {a.severity}" if plate is not None else None
    i = session.scalars(select(CreditInspectionRow).where(CreditInspectionRow.inspection_id == record_id)).first()
    if i is None:
        return None
    owned = i.uscc == uscc or (i.plate_number is not None and session.scalar(
        select(VehicleRow.id).where(VehicleRow.plate_number == i.plate_number, VehicleRow.plate_type == i.plate_type, _company_vehicle(uscc))) is not None)
    return f"{i.date.isoformat()} {i.plate_number or i.uscc or ''} {i.kind}{'（责令停驶）' if i.out_of_service else ''}" if owned else None


def _view(row: CreditDisputeRow, summary: str | None = None) -> DisputeView:
    return DisputeView(
        id=row.id, uscc=row.uscc, record_kind=row.record_kind, record_kind_zh=RECORD_KIND_LABELS_ZH[row.record_kind], record_id=row.record_id,
        record_summary_zh=summary, ground=row.ground, ground_zh=GROUND_LABELS_ZH[row.ground], text=row.text, filed_at=row.filed_at,
        filed_by=row.filed_by, state=row.state, state_zh=STATE_LABELS_ZH[row.state], decided_at=row.decided_at,
        decided_by=row.decided_by, decision_note=row.decision_note,
    )


def file(db: Database, actor: Actor, request: DisputeRequest, *, now: datetime | None = None) -> DisputeView:
    """提出异议 — by a company account, on a record of its own vehicle (or, for an inspection, of itself);
    one open dispute per record, and none once a dispute on it has been upheld."""
    at = _now(now)
    if actor.role is not Role.COMPANY or not actor.uscc:
        raise Forbidden("只有企业账户可以对记录提出异议", "only a company account may dispute a record")
    text = request.text.strip()
    if not text:
        raise FieldError("text", "请填写异议的事实与理由", "text is required")
    record_id = request.record_id.strip()
    with db.transaction(write=True) as session:
        summary = _attributed(session, actor.uscc, request.record_kind, record_id)
        if summary is None:
            raise FieldError("record_id", f"未找到本单位名下的该{RECORD_KIND_LABELS_ZH[request.record_kind]}记录：{record_id}",
                             f"no {request.record_kind} {record_id!r} attributed to this company")
        pending = session.scalars(select(CreditDisputeRow).where(
            CreditDisputeRow.record_kind == request.record_kind, CreditDisputeRow.record_id == record_id,
            CreditDisputeRow.state.in_(("open", "upheld")))).first()
        if pending is not None:
            if pending.state == "open":
                raise Conflict("该记录已有待处理的异议", f"{request.record_kind} {record_id} already has an open dispute")
            raise Conflict("该记录的异议已成立，已不计入评价", f"a dispute on {request.record_kind} {record_id} was already upheld")
        row = CreditDisputeRow(uscc=actor.uscc, record_kind=request.record_kind, record_id=record_id, ground=request.ground, text=text,
                               filed_at=at, filed_by=actor.username, state="open")
        session.add(row)
        session.flush()
        _audit(session, actor, "create", str(row.id), at, record_kind=row.record_kind, record_id=record_id, ground=row.ground)
        return _view(row, summary)


def decide(db: Database, actor: Actor, dispute_id: int, upheld: bool, note: str, *, now: datetime | None = None) -> DisputeView:
    """处理异议 — an officer or a legal reviewer upholds (the record leaves the scoring) or rejects, with a note."""
    at = _now(now)
    if actor.role not in DECIDING_ROLES:
        raise Forbidden("只有执勤民警或法制审核员可以处理异议", "only an officer or a legal reviewer decides disputes")
    note = (note or "").strip()
    if not note:
        raise FieldError("note", "请填写处理意见", "note is required")
    with db.transaction(write=True) as session:
        row = session.scalars(select(CreditDisputeRow).where(CreditDisputeRow.id == dispute_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"dispute {dispute_id}")
        if row.state != "open":
            raise Conflict("该异议已处理", f"dispute {dispute_id} was already decided")
        row.state = "upheld" if upheld else "rejected"
        row.decided_at, row.decided_by, row.decision_note = at, actor.username, note
        _audit(session, actor, "decide", str(row.id), at, record_kind=row.record_kind, record_id=row.record_id, upheld=upheld)
        return _view(row, _attributed(session, row.uscc, row.record_kind, row.record_id))


def list_disputes(db: Database, actor: Actor, state: str | None = None, limit: int = 500) -> list[DisputeView]:
    """异议 — a company sees its own; officers, legal reviewers, supervisors and administrators all."""
    if state is not None and state not in STATE_LABELS_ZH:
        raise FieldError("state", "异议状态应为open、upheld或rejected", f"unknown state {state!r}")
    query = select(CreditDisputeRow).order_by(CreditDisputeRow.id.desc()).limit(limit)
    if actor.role is Role.COMPANY:
        query = query.where(CreditDisputeRow.uscc == (actor.uscc or ""))
    elif actor.role not in READING_ROLES:
        raise Forbidden("您的角色无权查看异议", f"role {actor.role} may not read disputes")
    if state is not None:
        query = query.where(CreditDisputeRow.state == state)
    with db.transaction() as session:
        return [_view(row, _attributed(session, row.uscc, row.record_kind, row.record_id)) for row in session.scalars(query)]


def upheld_records(session: Session) -> dict[str, set[str]]:
    """Records taken out of the scoring: {"violation": {...}, "accident": {...}, "inspection": {...}} of record ids
    with an upheld dispute."""
    out: dict[str, set[str]] = {kind: set() for kind in RECORD_KINDS}
    for kind, record_id in session.execute(select(CreditDisputeRow.record_kind, CreditDisputeRow.record_id).where(CreditDisputeRow.state == "upheld")):
        out.setdefault(kind, set()).add(record_id)
    return out
