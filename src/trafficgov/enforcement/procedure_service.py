"""Use cases of the penalty procedure: prior notice, the party's statements and hearing requests and the
officer's answers, online objections (ProcReg Art. 5), service of the decision and payment.

Each command is one explicit transaction with an audit entry; time is an argument (`now`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.enforcement import procedure as proc
from trafficgov.enforcement.service import (
    CaseRow,
    Conflict,
    _audit,
    _check_case_access,
    _locked_case,
    _now,
    active_notice,
    behaviour_label,
    local_day,
)
from trafficgov.enforcement.store import CaptureRow, NoticeRow, SubmissionRow
from trafficgov.errors import FieldError, Forbidden, NotFound
from trafficgov.registry.store import VehicleRow
from trafficgov.store.db import Database

OPEN_STATUSES = ("proposed", "manual", "pending_approval")
KIND_ZH = {"statement": "陈述申辩", "hearing_request": "听证申请", "waiver": "放弃陈述申辩", "objection": "异议"}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoticeRequest(_In):
    facts_zh: str | None = Field(default=None, max_length=2000, description="违法事实; defaults to the case's time, place and behaviour")


class SubmissionRequest(_In):
    kind: Literal["statement", "hearing_request", "waiver"]
    text: str = Field(default="", max_length=4000)


class AnswerRequest(_In):
    answer: str = Field(min_length=2, max_length=4000, description="复核意见")
    accepted: bool = Field(description="whether the party's facts, reasons or evidence hold (APL Art. 45: then adopted)")


class ObjectionRequest(_In):
    case_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    capture_id: str | None = Field(default=None, max_length=64)
    text: str = Field(min_length=2, max_length=4000)


class ServeRequest(_In):
    served_on: date | None = Field(default=None, description="送达日期; defaults to today")


class NoticeView(BaseModel):
    id: int
    case_id: int
    intended: dict
    facts_zh: str
    text_zh: str
    legal_basis: list[str]
    hearing_offered: bool
    statement_due: date
    served_at: datetime
    served_by: str


class SubmissionView(BaseModel):
    id: int
    kind: str
    kind_label: str
    case_id: int | None
    capture_id: str | None
    text: str
    submitted_at: datetime
    answer_due: date | None
    answer: str | None
    accepted: bool | None
    answered_at: datetime | None
    overdue: bool


class PaymentView(BaseModel):
    case_id: int
    fine_yuan: Decimal
    served_on: date | None
    pay_by: date | None
    on: date
    days_late: int
    surcharge_yuan: Decimal
    capped: bool
    total_yuan: Decimal
    legal_basis: list[str]


class ProcedureView(BaseModel):
    case_id: int
    status: str
    procedure: str | None
    notice_required: bool
    hearing_offered: bool
    hearing_reason_zh: str | None
    legal_basis: list[str]
    notice: NoticeView | None
    submissions: list[SubmissionView]
    payment: PaymentView | None


def _notice_view(row: NoticeRow) -> NoticeView:
    return NoticeView(
        id=row.id, case_id=row.case_id, intended=row.intended, facts_zh=row.facts_zh, text_zh=row.text_zh, legal_basis=list(row.legal_basis or []),
        hearing_offered=row.hearing_offered, statement_due=row.statement_due, served_at=row.served_at, served_by=row.served_by,
    )


def _submission_view(row: SubmissionRow, day: date) -> SubmissionView:
    return SubmissionView(
        id=row.id, kind=row.kind, kind_label=KIND_ZH.get(row.kind, row.kind), case_id=row.case_id, capture_id=row.capture_id, text=row.text,
        submitted_at=row.submitted_at, answer_due=row.answer_due, answer=row.answer, accepted=row.accepted, answered_at=row.answered_at,
        overdue=bool(row.answered_at is None and row.answer_due is not None and row.answer_due < day),
    )


def _party(actor: Actor) -> str:
    party = actor.id_number if actor.role is Role.CITIZEN else actor.uscc if actor.role is Role.COMPANY else None
    if not party:
        raise Forbidden("仅当事人（群众或企业）可提交", "only the party (a citizen or company) may submit")
    return party


def _intended(row: CaseRow) -> dict:
    """The penalty the officer intends: a deviation awaiting review, else the engine's proposal."""
    intended = row.decision if row.status == "pending_approval" and row.decision else row.proposal
    if not intended:
        raise FieldError("proposal", "案件尚无拟作出的处罚，无法告知", "the case has no intended penalty to notify")
    return dict(intended)


def _requirements(row: CaseRow, decision: dict, day: date) -> proc.Requirements:
    rules = proc.procedure_rules().at(day)
    return proc.requirements(decision, rules, region=row.region, party="company" if row.owner_kind == "company" else "person")


def _payment(row: CaseRow, on: date) -> PaymentView | None:
    decision = row.decision or {}
    fine = decision.get("fine_yuan") if row.status == "issued" else None
    if not fine:
        return None
    rules = proc.procedure_rules().at(on)
    served = date.fromisoformat(decision["served_on"]) if decision.get("served_on") else None
    if served is None:
        return PaymentView(case_id=row.id, fine_yuan=Decimal(fine), served_on=None, pay_by=None, on=on, days_late=0, surcharge_yuan=Decimal("0.00"),
                           capped=False, total_yuan=Decimal(fine), legal_basis=rules.legal_basis.get("payment", []))
    due = proc.pay_by(served, rules)
    paid = proc.late_surcharge(fine, due, on, per_day_pct=rules.surcharge_per_day_pct)
    return PaymentView(case_id=row.id, fine_yuan=paid.fine_yuan, served_on=served, pay_by=due, on=on, days_late=paid.days_late, surcharge_yuan=paid.surcharge_yuan,
                       capped=paid.capped, total_yuan=paid.total_yuan, legal_basis=rules.legal_basis.get("payment", []))


def _view(session: Session, row: CaseRow, day: date) -> ProcedureView:
    decision = row.decision if row.status in ("issued", "pending_approval") and row.decision else row.proposal
    req = _requirements(row, decision, day) if decision else None
    notice = active_notice(session, row.id)
    subs = session.scalars(select(SubmissionRow).where(SubmissionRow.case_id == row.id).order_by(SubmissionRow.id))
    return ProcedureView(
        case_id=row.id,
        status=row.status,
        procedure=req.procedure if req else None,
        notice_required=bool(req and req.notice_required),
        hearing_offered=bool(req and req.hearing_offered),
        hearing_reason_zh=req.hearing_reason_zh if req else None,
        legal_basis=list(req.legal_basis) if req else [],
        notice=_notice_view(notice) if notice else None,
        submissions=[_submission_view(s, day) for s in subs],
        payment=_payment(row, day),
    )


def get_procedure(db: Database, actor: Actor, case_id: int, *, now: datetime | None = None) -> ProcedureView:
    """程序 — what the case's decision needs, the notice, the party's statements and answers, payment."""
    day = local_day(_now(now))
    with db.transaction() as session:
        row = session.get(CaseRow, case_id)
        if row is None:
            raise NotFound(f"case {case_id}")
        _check_case_access(actor, row)
        return _view(session, row, day)


def serve_notice(db: Database, actor: Actor, case_id: int, request: NoticeRequest, *, now: datetime | None = None) -> ProcedureView:
    """处罚前告知 — facts, grounds, the intended penalty and the party's rights; a new notice supersedes the old."""
    at = _now(now)
    day = local_day(at)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        if row.status not in OPEN_STATUSES:
            raise Conflict("案件已作出决定，不能再告知", f"case {case_id} is {row.status}")
        intended = _intended(row)
        req = _requirements(row, intended, day)
        if not req.notice_required:
            raise FieldError("procedure", "简易程序案件无需处罚前书面告知", "simple procedure: no prior written notice")
        rules = proc.procedure_rules().at(day)
        due = proc.statement_due(day, rules)
        facts = (request.facts_zh or "").strip() or (
            f"{local_day(row.occurred_at).isoformat()}，号牌号码{row.plate_number}的机动车在{row.road or row.stretch}有{behaviour_label(row.behavior, local_day(row.occurred_at))}的违法行为"
        )
        old = active_notice(session, row.id)
        if old is not None:
            old.superseded = True
        notice = NoticeRow(
            case_id=row.id, intended=intended, facts_zh=facts, text_zh=proc.notice_text_zh(intended, facts, req, due),
            legal_basis=list(req.legal_basis) + list(intended.get("legal_basis") or []), hearing_offered=req.hearing_offered, statement_due=due,
            served_at=at, served_by=actor.username, rules_version=rules.version_id, superseded=False,
        )
        session.add(notice)
        session.flush()
        _audit(session, actor, "create", "enforcement_notices", str(notice.id), at, case_id=row.id, hearing_offered=req.hearing_offered, statement_due=due.isoformat())
        return _view(session, row, day)


def submit(db: Database, actor: Actor, case_id: int, request: SubmissionRequest, *, now: datetime | None = None) -> ProcedureView:
    """陈述申辩 / 听证申请 / 放弃 — the party answers the notice (a hearing only where offered, within its days)."""
    at = _now(now)
    day = local_day(at)
    party = _party(actor)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        _check_case_access(actor, row)
        if row.status not in OPEN_STATUSES:
            raise Conflict("案件已作出决定", f"case {case_id} is {row.status}")
        notice = active_notice(session, row.id)
        if notice is None:
            raise FieldError("notice", "本案尚未告知，暂不能提交", "no notice served on this case")
        if request.kind == "statement" and len(request.text.strip()) < 2:
            raise FieldError("text", "请填写陈述申辩的内容", "a statement needs text")
        if request.kind == "hearing_request":
            if not notice.hearing_offered:
                raise FieldError("kind", "本案不属于可以要求听证的情形", "no hearing is offered for this case")
            if day > notice.statement_due:
                raise FieldError("kind", f"要求听证应在{notice.statement_due.isoformat()}前提出（《行政处罚法》第六十四条）", "a hearing must be asked for within 5 days of the notice")
        sub = SubmissionRow(
            kind=request.kind, case_id=row.id, notice_id=notice.id, party_id=party, text=request.text.strip(), submitted_at=at, submitted_by=actor.username,
            answer_due=notice.statement_due if request.kind != "waiver" else None,
        )
        session.add(sub)
        session.flush()
        _audit(session, actor, "create", "enforcement_submissions", str(sub.id), at, case_id=row.id, kind=request.kind)
        return _view(session, row, day)


def answer(db: Database, actor: Actor, submission_id: int, request: AnswerRequest, *, now: datetime | None = None) -> SubmissionView:
    """复核答复 — the officer answers a statement, hearing request or objection (APL Art. 45; ProcReg Art. 5)."""
    at = _now(now)
    with db.transaction(write=True) as session:
        sub = session.scalars(select(SubmissionRow).where(SubmissionRow.id == submission_id).with_for_update()).first()
        if sub is None:
            raise NotFound(f"submission {submission_id}")
        if sub.kind == "waiver":
            raise FieldError("kind", "放弃陈述申辩无需答复", "a waiver needs no answer")
        if sub.answered_at is not None:
            raise Conflict("该意见已答复", f"submission {submission_id} is answered")
        sub.answer = request.answer.strip()
        sub.accepted = request.accepted
        sub.answered_at = at
        sub.answered_by = actor.username
        session.flush()
        _audit(session, actor, "decide", "enforcement_submissions", str(sub.id), at, kind=sub.kind, accepted=request.accepted, case_id=sub.case_id)
        return _submission_view(sub, local_day(at))


def object_online(db: Database, actor: Actor, request: ObjectionRequest, *, now: datetime | None = None) -> SubmissionView:
    """网上异议 — a party objects to a capture or case of their own vehicle; reviewed within 5 working days."""
    at = _now(now)
    day = local_day(at)
    party = _party(actor)
    if (request.case_id is None) == (request.capture_id is None):
        raise FieldError("case_id", "请指明一个案件或一条抓拍记录", "name exactly one of case_id and capture_id")
    with db.transaction(write=True) as session:
        case_id = request.case_id
        if request.capture_id is not None:
            capture = session.scalars(select(CaptureRow).where(CaptureRow.capture_id == request.capture_id)).first()
            owner = None
            if capture is not None:
                owner = session.scalar(select(VehicleRow.owner_id).where(VehicleRow.plate_number == capture.plate_number, VehicleRow.plate_type == capture.plate_type))
            if capture is None or owner != party:
                raise NotFound(f"capture {request.capture_id}")
            case_id = capture.case_id
        else:
            row = session.get(CaseRow, case_id)
            if row is None:
                raise NotFound(f"case {case_id}")
            _check_case_access(actor, row)
        rules = proc.procedure_rules().at(day)
        sub = SubmissionRow(
            kind="objection", case_id=case_id, capture_id=request.capture_id, party_id=party, text=request.text.strip(), submitted_at=at,
            submitted_by=actor.username, answer_due=proc.objection_due(day, rules),
        )
        session.add(sub)
        session.flush()
        _audit(session, actor, "create", "enforcement_submissions", str(sub.id), at, kind="objection", case_id=case_id, capture_id=request.capture_id)
        return _submission_view(sub, day)


def my_submissions(db: Database, actor: Actor, *, now: datetime | None = None) -> list[SubmissionView]:
    """我的异议与陈述 — the party's own objections and statements with the answers."""
    day = local_day(_now(now))
    party = _party(actor)
    with db.transaction() as session:
        rows = session.scalars(select(SubmissionRow).where(SubmissionRow.party_id == party).order_by(SubmissionRow.id.desc()).limit(500))
        return [_submission_view(r, day) for r in rows]


def open_submissions(db: Database, actor: Actor, *, now: datetime | None = None) -> list[SubmissionView]:
    """待答复 — objections, statements and hearing requests awaiting the officer's answer, oldest due first."""
    day = local_day(_now(now))
    with db.transaction() as session:
        rows = session.scalars(
            select(SubmissionRow).where(SubmissionRow.answered_at.is_(None), SubmissionRow.kind != "waiver").order_by(SubmissionRow.answer_due, SubmissionRow.id).limit(500)
        )
        return [_submission_view(r, day) for r in rows]


def serve_decision(db: Database, actor: Actor, case_id: int, request: ServeRequest, *, now: datetime | None = None) -> ProcedureView:
    """决定书送达 — the day of service starts the 15 days to pay (APL Art. 67; ProcReg Art. 55)."""
    at = _now(now)
    day = local_day(at)
    served = request.served_on or day
    if served > day:
        raise FieldError("served_on", "送达日期不能晚于今天", "served_on is in the future")
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        if row.status != "issued" or not row.decision:
            raise Conflict("案件尚未签发决定", f"case {case_id} is {row.status}")
        if served < local_day(row.issued_at or at):
            raise FieldError("served_on", "送达日期不能早于签发日期", "served_on is before the decision was issued")
        rules = proc.procedure_rules().at(served)
        decision = dict(row.decision)
        decision["served_on"] = served.isoformat()
        if decision.get("fine_yuan"):
            decision["pay_by"] = proc.pay_by(served, rules).isoformat()
        row.decision = decision
        row.version += 1
        session.flush()
        _audit(session, actor, "update", "enforcement_cases", str(row.id), at, outcome="served", served_on=served.isoformat(), pay_by=decision.get("pay_by"))
        return _view(session, row, day)


def payment(db: Database, actor: Actor, case_id: int, on: date | None = None, *, now: datetime | None = None) -> PaymentView:
    """应缴金额 — the fine and the late surcharge owed on a day (APL Art. 72 (一))."""
    day = on or local_day(_now(now))
    with db.transaction() as session:
        row = session.get(CaseRow, case_id)
        if row is None:
            raise NotFound(f"case {case_id}")
        _check_case_access(actor, row)
        view = _payment(row, day)
        if view is None:
            raise FieldError("case_id", "本案无应缴罚款", "no fine to pay on this case")
        return view
