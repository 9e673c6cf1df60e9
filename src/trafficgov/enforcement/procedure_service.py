"""Use cases of the penalty procedure: prior notice, the party's statements and hearing requests and the
officer's answers, online objections (ProcReg Art. 5), hearings (APL Arts. 63-65), service of the
decision (by public notice: ProcReg Arts. 55-56), payments, deferral and instalment plans of fines (APL
Art. 66 para 2), and vehicles with five or more unhandled records (ProcReg Art. 54).

Each command is one explicit transaction with an audit entry; time is an argument (`now`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trafficgov.accounts import service as accounts
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
from trafficgov.enforcement.store import (
    CaptureRow,
    HearingRow,
    NoticeRow,
    PaymentPlanRow,
    PaymentRow,
    ServiceNoticeRow,
    SubmissionRow,
    VehicleNoticeRow,
)
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


class PaidView(BaseModel):
    receipt_number: str
    instalment: int | None = Field(default=None, description="分期缴纳的第几期; null for a payment in full")
    channel: str
    channel_label: str
    paid_on: date
    amount_yuan: Decimal
    fine_yuan: Decimal
    surcharge_yuan: Decimal
    days_late: int
    recorded_at: datetime
    recorded_by: str


class InstalmentView(BaseModel):
    number: int
    due: date
    amount_yuan: Decimal
    paid: bool
    paid_on: date | None
    receipt_number: str | None
    days_late: int = Field(description="逾期日数（已缴的，截至缴款日）")
    surcharge_yuan: Decimal = Field(description="该期加处罚款：按该期金额每日百分之三，以该期金额为限")
    capped: bool
    total_yuan: Decimal
    overdue: bool


class PaymentPlanView(BaseModel):
    id: int
    case_id: int
    kind: str = Field(description="defer or instalments")
    kind_label: str
    reason: str
    status: str = Field(description="pending, approved or rejected")
    status_label: str
    schedule: list[InstalmentView]
    end: date = Field(description="暂缓或者分期缴纳罚款期限结束之日 (APL Art. 72 para 2)")
    applied_by: str
    applied_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    version: int
    legal_basis: list[str]


class PaymentView(BaseModel):
    case_id: int
    fine_yuan: Decimal
    served_on: date | None
    pay_by: date | None
    on: date
    days_late: int
    surcharge_yuan: Decimal
    capped: bool
    total_yuan: Decimal = Field(description="应缴合计；under an approved plan what is still owed (unpaid instalments and their surcharge)")
    legal_basis: list[str]
    status: str = Field(description="not_served, unpaid, overdue, paid, or under an approved plan deferred / instalments")
    status_label: str
    paid: PaidView | None = None
    decision_number: str | None = None
    plan: PaymentPlanView | None = Field(default=None, description="暂缓或分期缴纳的申请及决定")
    plan_end: date | None = Field(default=None, description="批准的暂缓或分期缴纳期限结束之日; the court-enforcement period counts from it (APL Art. 72 para 2)")
    instalment_payments: list[PaidView] = []
    next_instalment: int | None = Field(default=None, description="下一期（登记缴款时须缴该期）")
    next_total_yuan: Decimal | None = Field(default=None, description="下一期于当日应缴：该期金额加该期加处罚款")


class HearingView(BaseModel):
    id: int
    case_id: int
    submission_id: int
    notified_on: date
    earliest_day: date
    starts_at: datetime
    place: str
    presiding: str
    public: bool
    secrecy_reason: str | None
    secrecy_label: str | None
    secrecy_note: str | None
    scheduled_at: datetime
    scheduled_by: str
    outcome: str | None
    outcome_label: str
    minutes: str | None
    party_signed: bool | None
    refusal_note: str | None
    closed_at: datetime | None


class ServiceNoticeView(BaseModel):
    case_id: int
    failed_channel: str
    failure_note: str
    published_on: date
    served_on: date
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
    hearings: list[HearingView] = []
    service_notice: ServiceNoticeView | None = None
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


STATUS_ZH = {
    "none": "无罚款", "not_served": "决定书待送达", "unpaid": "未缴", "overdue": "逾期未缴", "paid": "已缴清",
    "deferred": "暂缓缴纳中", "instalments": "分期缴纳中",
}
PLAN_STATUS_ZH = {"pending": "待审批", "approved": "已批准", "rejected": "不予批准"}
CHANNEL_ZH = {"bank": "银行", "online": "网上缴款（电子支付）", "window": "办事大厅代收窗口"}
OUTCOME_ZH = {None: "待举行", "held": "已举行", "absent": "当事人无正当理由不到场，视为放弃听证", "withdrawn": "当事人撤回听证申请"}


def _paid_view(p: PaymentRow) -> PaidView:
    return PaidView(
        receipt_number=p.receipt_number, instalment=p.instalment, channel=p.channel, channel_label=CHANNEL_ZH.get(p.channel, p.channel), paid_on=p.paid_on, amount_yuan=p.amount_yuan,
        fine_yuan=p.fine_yuan, surcharge_yuan=p.surcharge_yuan, days_late=p.days_late, recorded_at=p.recorded_at, recorded_by=p.recorded_by,
    )


def _schedule(plan: PaymentPlanRow) -> list[proc.Instalment]:
    return [proc.Instalment(date.fromisoformat(e["due"]), Decimal(e["amount_yuan"])) for e in plan.schedule]


def _plan_view(plan: PaymentPlanRow, owed: proc.PlanOwed, receipts: dict[int, str], on: date) -> PaymentPlanView:
    rules = proc.procedure_rules().at(local_day(plan.applied_at))
    return PaymentPlanView(
        id=plan.id, case_id=plan.case_id, kind=plan.kind, kind_label=proc.PLAN_KIND_ZH.get(plan.kind, plan.kind), reason=plan.reason, status=plan.status,
        status_label=PLAN_STATUS_ZH.get(plan.status, plan.status),
        schedule=[
            InstalmentView(number=i.number, due=i.due, amount_yuan=i.amount_yuan, paid=i.paid, paid_on=i.paid_on, receipt_number=receipts.get(i.number), days_late=i.days_late,
                           surcharge_yuan=i.surcharge_yuan, capped=i.capped, total_yuan=i.total_yuan, overdue=not i.paid and i.due < on)
            for i in owed.instalments
        ],
        end=owed.end, applied_by=plan.applied_by, applied_at=plan.applied_at, decided_by=plan.decided_by, decided_at=plan.decided_at, decision_note=plan.decision_note,
        version=plan.version, legal_basis=rules.legal_basis.get("payment_relief", []),
    )


def _payment(row: CaseRow, on: date, paid: PaymentRow | None = None, plan: PaymentPlanRow | None = None, instalments: list[PaymentRow] | None = None) -> PaymentView | None:
    """应缴 — what the case owes on `on`: the fine and its surcharge, or under an approved plan (APL Art. 66
    para 2) each instalment with its own surcharge (`proc.plan_owed`)."""
    decision = row.decision or {}
    fine = decision.get("fine_yuan") if row.status == "issued" else None
    if not fine:
        return None
    rules = proc.procedure_rules().at(on)
    served = date.fromisoformat(decision["served_on"]) if decision.get("served_on") else None
    due = proc.pay_by(served, rules) if served else None
    status = proc.payment_status(fine_yuan=fine, served_on=served, pay_by_day=due, paid=paid is not None, on=on)
    extra: dict = {"status": status, "status_label": STATUS_ZH[status], "paid": _paid_view(paid) if paid else None, "decision_number": row.decision_number}
    if plan is not None:
        done = sorted(instalments or [], key=lambda p: p.instalment or 0)
        owed = proc.plan_owed(_schedule(plan), {p.instalment: p.paid_on for p in done if p.instalment}, on, per_day_pct=rules.surcharge_per_day_pct)
        extra["plan"] = _plan_view(plan, owed, {p.instalment: p.receipt_number for p in done if p.instalment}, on)
        if plan.status == "approved" and paid is None:
            status = "paid" if owed.paid_in_full else "overdue" if owed.overdue else "deferred" if plan.kind == "defer" else "instalments"
            unpaid = [i for i in owed.instalments if not i.paid]
            nxt = unpaid[0] if unpaid else None
            extra.update(status=status, status_label=STATUS_ZH[status], plan_end=owed.end, instalment_payments=[_paid_view(p) for p in done],
                         next_instalment=nxt.number if nxt else None, next_total_yuan=nxt.total_yuan if nxt else None)
            surcharge = sum((i.surcharge_yuan for i in unpaid), Decimal("0.00"))
            return PaymentView(
                case_id=row.id, fine_yuan=Decimal(fine), served_on=served, pay_by=due, on=on, days_late=max((i.days_late for i in unpaid), default=0),
                surcharge_yuan=surcharge, capped=any(i.capped for i in unpaid), total_yuan=sum((i.total_yuan for i in unpaid), Decimal("0.00")),
                legal_basis=rules.legal_basis.get("payment", []) + rules.legal_basis.get("payment_relief", []), **extra,
            )
    if due is None:
        return PaymentView(case_id=row.id, fine_yuan=Decimal(fine), served_on=None, pay_by=None, on=on, days_late=0, surcharge_yuan=Decimal("0.00"),
                           capped=False, total_yuan=Decimal(fine), legal_basis=rules.legal_basis.get("payment", []), **extra)
    owed = proc.late_surcharge(fine, due, on, per_day_pct=rules.surcharge_per_day_pct)
    return PaymentView(case_id=row.id, fine_yuan=owed.fine_yuan, served_on=served, pay_by=due, on=on, days_late=owed.days_late, surcharge_yuan=owed.surcharge_yuan,
                       capped=owed.capped, total_yuan=owed.total_yuan, legal_basis=rules.legal_basis.get("payment", []), **extra)


def _hearing_view(h: HearingRow) -> HearingView:
    rules = proc.procedure_rules().at(h.notified_on)
    return HearingView(
        id=h.id, case_id=h.case_id, submission_id=h.submission_id, notified_on=h.notified_on, earliest_day=proc.hearing_earliest_day(h.notified_on, rules),
        starts_at=h.starts_at, place=h.place, presiding=h.presiding, public=h.public, secrecy_reason=h.secrecy_reason,
        secrecy_label=proc.SECRECY_REASONS_ZH.get(h.secrecy_reason or ""), secrecy_note=h.secrecy_note, scheduled_at=h.scheduled_at, scheduled_by=h.scheduled_by,
        outcome=h.outcome, outcome_label=OUTCOME_ZH.get(h.outcome, h.outcome or ""), minutes=h.minutes, party_signed=h.party_signed, refusal_note=h.refusal_note,
        closed_at=h.closed_at,
    )


def _service_view(n: ServiceNoticeRow) -> ServiceNoticeView:
    rules = proc.procedure_rules().at(n.published_on)
    return ServiceNoticeView(case_id=n.case_id, failed_channel=n.failed_channel, failure_note=n.failure_note, published_on=n.published_on, served_on=n.served_on,
                             legal_basis=rules.legal_basis.get("service", []))


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
        hearings=[_hearing_view(h) for h in session.scalars(select(HearingRow).where(HearingRow.case_id == row.id).order_by(HearingRow.id))],
        service_notice=_service_view(served) if (served := session.scalars(select(ServiceNoticeRow).where(ServiceNoticeRow.case_id == row.id)).first()) else None,
        payment=_payment_of(session, row, day),
    )


def _paid(session: Session, case_id: int) -> PaymentRow | None:
    """The payment in full of a case (not an instalment)."""
    return session.scalars(select(PaymentRow).where(PaymentRow.case_id == case_id, PaymentRow.instalment.is_(None))).first()


def _plan(session: Session, case_id: int, *, lock: bool = False) -> PaymentPlanRow | None:
    query = select(PaymentPlanRow).where(PaymentPlanRow.case_id == case_id)
    return session.scalars(query.with_for_update() if lock else query).first()


def _instalments_paid(session: Session, case_id: int) -> list[PaymentRow]:
    return list(session.scalars(select(PaymentRow).where(PaymentRow.case_id == case_id, PaymentRow.instalment.is_not(None)).order_by(PaymentRow.instalment)))


def _payment_of(session: Session, row: CaseRow, on: date) -> PaymentView | None:
    """`_payment` with what the store holds of the case: its payment in full, its plan and instalments paid."""
    plan = _plan(session, row.id)
    return _payment(row, on, _paid(session, row.id), plan, _instalments_paid(session, row.id) if plan is not None else None)


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


def _issued_case(session: Session, case_id: int) -> CaseRow:
    """The case, locked, once its decision is issued (409 before)."""
    row = _locked_case(session, case_id)
    if row.status != "issued" or not row.decision:
        raise Conflict("案件尚未签发决定", f"case {case_id} is {row.status}")
    return row


def serve_decision(db: Database, actor: Actor, case_id: int, request: ServeRequest, *, now: datetime | None = None) -> ProcedureView:
    """决定书送达 — the day of service starts the 15 days to pay (APL Art. 67; ProcReg Art. 55)."""
    at = _now(now)
    day = local_day(at)
    served = request.served_on or day
    if served > day:
        raise FieldError("served_on", "送达日期不能晚于今天", "served_on is in the future")
    with db.transaction(write=True) as session:
        row = _issued_case(session, case_id)
        if served < local_day(row.issued_at or at):
            raise FieldError("served_on", "送达日期不能早于签发日期", "served_on is before the decision was issued")
        if row.decision.get("served_by") == "public_notice":
            raise Conflict("决定书已公告送达", f"case {case_id} is served by public notice")
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


def payments(db: Database, actor: Actor, case_ids: list[int], on: date | None = None, *, now: datetime | None = None) -> dict[int, PaymentView]:
    """The payment of each of these cases that has a fine to pay, by case id (a party's list of cases);
    cases the actor may not see, and cases without a fine, are left out."""
    day = on or local_day(_now(now))
    found: dict[int, PaymentView] = {}
    if not case_ids:
        return found
    with db.transaction() as session:
        for row in session.scalars(select(CaseRow).where(CaseRow.id.in_(case_ids))):
            try:
                _check_case_access(actor, row)
            except NotFound:
                continue
            view = _payment_of(session, row, day)
            if view is not None:
                found[row.id] = view
    return found


def payment(db: Database, actor: Actor, case_id: int, on: date | None = None, *, now: datetime | None = None) -> PaymentView:
    """应缴金额 — the fine and the late surcharge owed on a day (APL Art. 72 (一))."""
    day = on or local_day(_now(now))
    with db.transaction() as session:
        row = session.get(CaseRow, case_id)
        if row is None:
            raise NotFound(f"case {case_id}")
        _check_case_access(actor, row)
        view = _payment_of(session, row, day)
        if view is None:
            raise FieldError("case_id", "本案无应缴罚款", "no fine to pay on this case")
        return view


# ---------------------------------------------------------------- hearings (听证, APL Arts. 63-65)


class HearingRequest(_In):
    notified_on: date | None = Field(default=None, description="通知当事人听证时间、地点的日期; defaults to today")
    starts_at: AwareDatetime = Field(description="举行听证的时间")
    place: str = Field(min_length=2, max_length=200, description="听证地点")
    presiding: str = Field(min_length=1, max_length=64, description="听证主持人（账户名，非本案调查人员）")
    public: bool = Field(default=True, description="公开举行 (APL Art. 64 (三))")
    secrecy_reason: Literal["state_secret", "trade_secret", "privacy"] | None = Field(default=None, description="不公开的理由")
    secrecy_note: str = Field(default="", max_length=1000)


class HearingOutcomeRequest(_In):
    outcome: Literal["held", "absent", "withdrawn"]
    minutes: str = Field(default="", max_length=20000, description="听证笔录")
    party_signed: bool | None = Field(default=None, description="当事人或其代理人核对笔录后签字或者盖章")
    refusal_note: str = Field(default="", max_length=1000, description="拒绝签字的，主持人在笔录中注明")


def _investigators(session: Session, row: CaseRow) -> list[str | None]:
    """本案调查人员 — who entered, confirmed, proposed or reviewed the case (and confirmed its captures)."""
    people: list[str | None] = [row.entered_by, row.reviewed_by, row.requested_by]
    people += list(session.scalars(select(CaptureRow.reviewed_by).where(CaptureRow.case_id == row.id)))
    return people


def schedule_hearing(db: Database, actor: Actor, submission_id: int, request: HearingRequest, *, now: datetime | None = None) -> HearingView:
    """安排听证 — time and place notified at least 7 working days before (APL Art. 64 (二)), a presiding officer
    who did not investigate the case (64 (四)), public unless a secret or privacy is at stake (64 (三)).
    Scheduling again before the hearing is held moves it (the 7 days count from the new notice)."""
    at = _now(now)
    day = local_day(at)
    notified_on = request.notified_on or day
    if notified_on > day:
        raise FieldError("notified_on", "通知日期不能晚于今天", "notified_on is in the future")
    if not request.public and request.secrecy_reason is None:
        raise FieldError("secrecy_reason", "听证应当公开举行；不公开的，须写明涉及国家秘密、商业秘密或者个人隐私（《行政处罚法》第六十四条第三项）", "a closed hearing needs a secrecy or privacy reason (APL Art. 64 (3))")
    if request.public and request.secrecy_reason is not None:
        raise FieldError("public", "写明保密理由的听证应不公开举行", "a secrecy reason is given: the hearing is not public")
    presiding = request.presiding.strip()
    chair = accounts.get_user(db, presiding)
    if chair is None or chair.role not in (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR):
        raise FieldError("presiding", f"听证主持人“{presiding}”不是本机关的执法或法制人员账户", f"presiding officer {presiding!r} is not a staff account")
    with db.transaction(write=True) as session:
        sub = session.scalars(select(SubmissionRow).where(SubmissionRow.id == submission_id).with_for_update()).first()
        if sub is None or sub.kind != "hearing_request" or sub.case_id is None:
            raise NotFound(f"hearing request {submission_id}")
        row = _locked_case(session, sub.case_id)
        if row.status not in OPEN_STATUSES:
            raise Conflict("案件已作出决定", f"case {row.id} is {row.status}")
        notice = active_notice(session, row.id)
        if notice is None or sub.notice_id != notice.id:
            raise Conflict("该听证申请所依据的告知已被重新告知取代", f"submission {submission_id} answers a superseded notice")
        if proc.presiding_conflict(presiding, _investigators(session, row)):
            raise FieldError("presiding", "听证由非本案调查人员主持（《行政处罚法》第六十四条第四项），请另行指定主持人", "the presiding officer investigated this case (APL Art. 64 (4))")
        rules = proc.procedure_rules().at(notified_on)
        earliest = proc.hearing_earliest_day(notified_on, rules)
        if local_day(request.starts_at) < earliest:
            raise FieldError("starts_at", f"应当在举行听证的七日（工作日）前通知当事人；{notified_on.isoformat()}通知的，最早{earliest.isoformat()}举行（《行政处罚法》第六十四条第二项、第八十五条）",
                             f"notify at least 7 working days before the hearing: earliest {earliest.isoformat()}")
        hearing = session.scalars(select(HearingRow).where(HearingRow.submission_id == sub.id)).first()
        if hearing is not None and hearing.outcome is not None:
            raise Conflict("听证已结束", f"hearing {hearing.id} is closed")
        action = "update" if hearing is not None else "create"
        if hearing is None:
            hearing = HearingRow(case_id=row.id, submission_id=sub.id)
            session.add(hearing)
        hearing.notified_on = notified_on
        hearing.starts_at = request.starts_at
        hearing.place = request.place.strip()
        hearing.presiding = presiding
        hearing.public = request.public
        hearing.secrecy_reason = request.secrecy_reason
        hearing.secrecy_note = request.secrecy_note.strip() or None
        hearing.scheduled_at = at
        hearing.scheduled_by = actor.username
        hearing.rules_version = rules.version_id
        if sub.answered_at is None:
            sub.answer = f"同意举行听证：{local_day(request.starts_at).isoformat()}在{hearing.place}举行，主持人{presiding}。"
            sub.accepted = True
            sub.answered_at = at
            sub.answered_by = actor.username
        session.flush()
        _audit(session, actor, action, "enforcement_hearings", str(hearing.id), at, case_id=row.id, submission_id=sub.id, notified_on=notified_on.isoformat(),
               starts_at=request.starts_at.isoformat(), presiding=presiding, public=request.public, secrecy_reason=request.secrecy_reason)
        return _hearing_view(hearing)


def close_hearing(db: Database, actor: Actor, hearing_id: int, request: HearingOutcomeRequest, *, now: datetime | None = None) -> HearingView:
    """听证结果 — held, with the minutes checked and signed by the party or the refusal noted (APL Art. 64 (八));
    the party absent without good reason (视为放弃, 64 (六)); or the request withdrawn. The decision is then
    made on the minutes (Art. 65)."""
    at = _now(now)
    day = local_day(at)
    with db.transaction(write=True) as session:
        hearing = session.scalars(select(HearingRow).where(HearingRow.id == hearing_id).with_for_update()).first()
        if hearing is None:
            raise NotFound(f"hearing {hearing_id}")
        if hearing.outcome is not None:
            raise Conflict("听证结果已登记", f"hearing {hearing_id} is closed")
        if request.outcome in ("held", "absent") and day < local_day(hearing.starts_at):
            raise FieldError("outcome", f"听证定于{local_day(hearing.starts_at).isoformat()}举行，届时方可登记结果", "the hearing has not taken place yet")
        minutes = request.minutes.strip()
        if request.outcome == "held":
            if len(minutes) < 10:
                raise FieldError("minutes", "听证应当制作笔录（《行政处罚法》第六十四条第八项），请录入听证笔录", "a held hearing needs its minutes (APL Art. 64 (8))")
            if request.party_signed is None:
                raise FieldError("party_signed", "请登记当事人是否核对笔录并签字或者盖章", "say whether the party signed the minutes")
            if not request.party_signed and len(request.refusal_note.strip()) < 2:
                raise FieldError("refusal_note", "当事人拒绝签字或者盖章的，由听证主持人在笔录中注明", "a refusal to sign is noted by the presiding officer")
        hearing.outcome = request.outcome
        hearing.minutes = minutes or None
        hearing.party_signed = request.party_signed if request.outcome == "held" else None
        hearing.refusal_note = request.refusal_note.strip() or None
        hearing.closed_at = at
        hearing.closed_by = actor.username
        session.flush()
        _audit(session, actor, "decide", "enforcement_hearings", str(hearing.id), at, case_id=hearing.case_id, outcome=request.outcome, party_signed=hearing.party_signed)
        return _hearing_view(hearing)


def list_hearings(db: Database, actor: Actor, *, open_only: bool = True) -> list[HearingView]:
    """听证安排 — hearings scheduled and not yet closed (or all), soonest first."""
    with db.transaction() as session:
        query = select(HearingRow).order_by(HearingRow.starts_at, HearingRow.id).limit(500)
        if open_only:
            query = query.where(HearingRow.outcome.is_(None))
        return [_hearing_view(h) for h in session.scalars(query)]


# ---------------------------------------------------------------- payments (缴款)


class PaymentRequest(_In):
    receipt_number: str = Field(min_length=4, max_length=64, pattern=r"^[0-9A-Za-z-]+$", description="缴款书/票据号码")
    amount_yuan: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    paid_on: date
    channel: Literal["bank", "online", "window"]


def record_payment(db: Database, actor: Actor, case_id: int, request: PaymentRequest, *, now: datetime | None = None) -> PaymentView:
    """登记缴款 — the fine plus the surcharge owed on the day paid (APL Arts. 67, 72 (一)); idempotent by receipt
    number. An amount short of what is owed is refused (no approved instalment: APL Art. 66), and so is
    an amount above it (a refund is not the bureau's to make here). Under an approved deferral or
    instalment plan the payment is the next unpaid instalment plus its own surcharge that day."""
    at = _now(now)
    day = local_day(at)
    if request.paid_on > day:
        raise FieldError("paid_on", "缴款日期不能晚于今天", "paid_on is in the future")
    with db.transaction(write=True) as session:
        same = session.scalars(select(PaymentRow).where(PaymentRow.receipt_number == request.receipt_number)).first()
        if same is not None:
            if (same.case_id, same.amount_yuan, same.paid_on, same.channel) != (case_id, request.amount_yuan, request.paid_on, request.channel):
                raise Conflict("该票据号已登记为另一笔缴款", f"receipt {request.receipt_number} is recorded with other details")
            row = session.get(CaseRow, case_id)
            assert row is not None
            view = _payment_of(session, row, day)
            assert view is not None
            return view
        row = _locked_case(session, case_id)
        fine = (row.decision or {}).get("fine_yuan") if row.status == "issued" else None
        if not fine:
            raise FieldError("case_id", "本案无已签发的罚款决定", "no issued fine on this case")
        if _paid(session, row.id) is not None:
            raise Conflict("本案罚款已缴清", f"case {case_id} is paid")
        if request.paid_on < local_day(row.issued_at or at):
            raise FieldError("paid_on", "缴款日期不能早于决定签发日期", "paid_on is before the decision was issued")
        plan = _plan(session, row.id)
        if plan is not None and plan.status == "approved":
            paid = _record_instalment(session, actor, row, plan, request, at)
        else:
            owed = _payment(row, request.paid_on)
            assert owed is not None
            total, surcharge = owed.total_yuan.quantize(Decimal("0.01")), owed.surcharge_yuan
            if request.amount_yuan < total:
                raise FieldError("amount_yuan", f"{request.paid_on.isoformat()}应缴{total}元（罚款{fine}元、加处罚款{surcharge}元），缴款{request.amount_yuan}元不足；未经批准分期缴纳的，不能部分缴纳（《行政处罚法》第六十六条、第七十二条）",
                                 f"{request.amount_yuan} does not cover {total} owed on {request.paid_on.isoformat()}")
            if request.amount_yuan > total:
                raise FieldError("amount_yuan", f"{request.paid_on.isoformat()}应缴{total}元，缴款{request.amount_yuan}元超出应缴金额", f"{request.amount_yuan} is more than the {total} owed")
            paid = PaymentRow(
                case_id=row.id, receipt_number=request.receipt_number, channel=request.channel, paid_on=request.paid_on, amount_yuan=request.amount_yuan,
                fine_yuan=Decimal(fine), surcharge_yuan=surcharge, days_late=owed.days_late, recorded_at=at, recorded_by=actor.username,
            )
        session.add(paid)
        session.flush()
        _audit(session, actor, "create", "enforcement_payments", str(paid.id), at, case_id=row.id, receipt_number=request.receipt_number, channel=request.channel,
               paid_on=request.paid_on.isoformat(), amount_yuan=str(request.amount_yuan), surcharge_yuan=str(paid.surcharge_yuan), instalment=paid.instalment)
        view = _payment_of(session, row, day)
        assert view is not None
        return view


def _record_instalment(session: Session, actor: Actor, row: CaseRow, plan: PaymentPlanRow, request: PaymentRequest, at: datetime) -> PaymentRow:
    """The next unpaid instalment of an approved plan, in order, with its own surcharge on the day paid."""
    done = _instalments_paid(session, row.id)
    rules = proc.procedure_rules().at(request.paid_on)
    owed = proc.plan_owed(_schedule(plan), {p.instalment: p.paid_on for p in done if p.instalment}, request.paid_on, per_day_pct=rules.surcharge_per_day_pct)
    if owed.next_number is None:
        raise Conflict("本案罚款已按计划缴清", f"case {row.id} is paid")
    if done and request.paid_on < done[-1].paid_on:
        raise FieldError("paid_on", f"分期应按期次缴纳：缴款日期不能早于上一期的缴款日期{done[-1].paid_on.isoformat()}", "paid_on is before the previous instalment's")
    item = owed.instalments[owed.next_number - 1]
    name = "暂缓缴纳的罚款" if plan.kind == "defer" else f"第{item.number}期"
    total = item.total_yuan.quantize(Decimal("0.01"))
    if request.amount_yuan < total:
        raise FieldError("amount_yuan", f"{request.paid_on.isoformat()}应缴{name}{total}元（{item.amount_yuan}元、加处罚款{item.surcharge_yuan}元），缴款{request.amount_yuan}元不足；分期缴纳的，每次须缴清当期",
                         f"{request.amount_yuan} does not cover instalment {item.number}: {total} owed on {request.paid_on.isoformat()}")
    if request.amount_yuan > total:
        raise FieldError("amount_yuan", f"{request.paid_on.isoformat()}应缴{name}{total}元，缴款{request.amount_yuan}元超出；分期缴纳的，每次登记一期",
                         f"{request.amount_yuan} is more than instalment {item.number}'s {total}")
    return PaymentRow(
        case_id=row.id, instalment=item.number, receipt_number=request.receipt_number, channel=request.channel, paid_on=request.paid_on, amount_yuan=request.amount_yuan,
        fine_yuan=item.amount_yuan, surcharge_yuan=item.surcharge_yuan, days_late=item.days_late, recorded_at=at, recorded_by=actor.username,
    )


def list_overdue_payments(db: Database, actor: Actor, *, on: date | None = None, now: datetime | None = None) -> list[PaymentView]:
    """逾期未缴 — issued fines served and not paid after their last day to pay, or under an approved plan with an
    instalment past its due date, with the surcharge owed now."""
    day = on or local_day(_now(now))
    with db.transaction() as session:
        paid = select(PaymentRow.case_id).where(PaymentRow.instalment.is_(None))
        rows = list(session.scalars(select(CaseRow).where(CaseRow.status == "issued", CaseRow.id.not_in(paid)).order_by(CaseRow.issued_at, CaseRow.id)))
        ids = [r.id for r in rows]
        plans: dict[int, PaymentPlanRow] = {}
        parts: dict[int, list[PaymentRow]] = {}
        for chunk in range(0, len(ids), 500):
            some = ids[chunk:chunk + 500]
            plans.update({p.case_id: p for p in session.scalars(select(PaymentPlanRow).where(PaymentPlanRow.case_id.in_(some)))})
            for p in session.scalars(select(PaymentRow).where(PaymentRow.case_id.in_(some), PaymentRow.instalment.is_not(None))):
                parts.setdefault(p.case_id, []).append(p)
        views = [_payment(r, day, None, plans.get(r.id), parts.get(r.id, [])) for r in rows]
        return [v for v in views if v is not None and v.status == "overdue"]


# ---------------------------------------------------------------- deferral and instalments (暂缓或者分期缴纳, APL Art. 66 para 2)


class PlanEntry(_In):
    due: date = Field(description="该期缴纳期限")
    amount_yuan: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


class PaymentPlanRequest(_In):
    kind: Literal["defer", "instalments"] = Field(description="defer 暂缓（延期）缴纳 or instalments 分期缴纳")
    reason: str = Field(min_length=4, max_length=4000, description="确有经济困难的情况说明")
    schedule: list[PlanEntry] = Field(min_length=1, max_length=24, description="暂缓：一期（全部罚款）；分期：各期日期和金额")


class PlanDecisionRequest(_In):
    approve: bool
    note: str = Field(default="", max_length=2000, description="审批意见；不予批准的须写明理由")
    schedule: list[PlanEntry] | None = Field(default=None, min_length=1, max_length=24, description="批准时调整后的计划; defaults to the one applied for")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="the plan's version the decision was made on (409 when it changed)")


def _entries(schedule: list[PlanEntry]) -> list[proc.Instalment]:
    return [proc.Instalment(e.due, e.amount_yuan) for e in schedule]


def _stored(schedule: tuple[proc.Instalment, ...]) -> list[dict]:
    return [{"due": e.due.isoformat(), "amount_yuan": str(e.amount_yuan.quantize(Decimal("0.01")))} for e in schedule]


def _fine_pay_by(row: CaseRow) -> tuple[Decimal, date]:
    decision = row.decision or {}
    fine = decision.get("fine_yuan") if row.status == "issued" else None
    if not fine:
        raise FieldError("case_id", "本案无已签发的罚款决定", "no issued fine on this case")
    if not decision.get("served_on"):
        raise FieldError("case_id", "决定书尚未送达，暂不能申请", "the decision is not served yet")
    served = date.fromisoformat(decision["served_on"])
    return Decimal(fine), proc.pay_by(served, proc.procedure_rules().at(served))


def apply_payment_plan(db: Database, actor: Actor, case_id: int, request: PaymentPlanRequest, *, now: datetime | None = None) -> PaymentView:
    """申请暂缓或分期缴纳罚款 — the party in real financial difficulty applies, within the time to pay, for a
    deferral or instalments within the region's limits (APL Art. 66 para 2); one application open or
    approved per case, a rejected one may be followed by a new one."""
    at = _now(now)
    day = local_day(at)
    _party(actor)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        _check_case_access(actor, row)
        fine, pay_by_day = _fine_pay_by(row)
        if _paid(session, row.id) is not None:
            raise Conflict("本案罚款已缴清", f"case {case_id} is paid")
        if day < date.fromisoformat(row.decision["served_on"]):
            raise FieldError("case_id", "决定书尚未送达，暂不能申请", "the decision is not served yet")
        if day > pay_by_day:
            raise FieldError("case_id", f"暂缓或分期缴纳应在缴款期限{pay_by_day.isoformat()}届满前申请；逾期的已按日加处罚款（《行政处罚法》第七十二条）",
                             f"apply by the last day to pay, {pay_by_day.isoformat()}")
        plan = _plan(session, row.id, lock=True)
        if plan is not None and plan.status != "rejected":
            raise Conflict(f"本案已有{PLAN_STATUS_ZH[plan.status]}的暂缓或分期缴纳申请", f"case {case_id} has a {plan.status} plan")
        rules = proc.procedure_rules().at(day)
        schedule = proc.validate_schedule(request.kind, _entries(request.schedule), fine_yuan=fine, pay_by_day=pay_by_day, version=rules)
        action = "update" if plan is not None else "create"
        if plan is None:
            plan = PaymentPlanRow(case_id=row.id, version=0)
            session.add(plan)
        plan.kind = request.kind
        plan.reason = request.reason.strip()
        plan.schedule = _stored(schedule)
        plan.status = "pending"
        plan.applied_by = actor.username
        plan.applied_at = at
        plan.decided_by = plan.decided_at = plan.decision_note = None
        plan.rules_version = rules.version_id
        plan.version = (plan.version or 0) + 1
        session.flush()
        _audit(session, actor, action, "enforcement_payment_plans", str(plan.id), at, case_id=row.id, kind=request.kind, status="pending", schedule=plan.schedule)
        view = _payment_of(session, row, day)
        assert view is not None
        return view


def decide_payment_plan(db: Database, actor: Actor, case_id: int, request: PlanDecisionRequest, *, now: datetime | None = None) -> PaymentView:
    """审批暂缓或分期缴纳 — approve (as applied for, or with an amended schedule within the limits) or reject
    with the reason; the first decision wins, a second one on the same application is 409."""
    at = _now(now)
    day = local_day(at)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        plan = _plan(session, row.id, lock=True)
        if plan is None:
            raise NotFound(f"payment plan of case {case_id}")
        if request.version is not None and request.version != plan.version:
            raise Conflict("该申请已被他人处理或更新，请刷新后再审批", f"plan {plan.id} is at version {plan.version}")
        if plan.status != "pending":
            raise Conflict(f"该申请已{PLAN_STATUS_ZH[plan.status]}", f"plan {plan.id} is {plan.status}")
        fine, pay_by_day = _fine_pay_by(row)
        if _paid(session, row.id) is not None:
            raise Conflict("本案罚款已缴清", f"case {case_id} is paid")
        note = request.note.strip()
        if request.approve:
            rules = proc.procedure_rules().at(local_day(plan.applied_at))
            entries = _entries(request.schedule) if request.schedule is not None else _schedule(plan)
            schedule = proc.validate_schedule(plan.kind, entries, fine_yuan=fine, pay_by_day=pay_by_day, version=rules)  # type: ignore[arg-type]
            amended = _stored(schedule) != plan.schedule
            plan.schedule = _stored(schedule)
        else:
            if len(note) < 2:
                raise FieldError("note", "不予批准的，请写明理由", "a rejection needs its reason")
            amended = False
        plan.status = "approved" if request.approve else "rejected"
        plan.decided_by = actor.username
        plan.decided_at = at
        plan.decision_note = note or None
        plan.version += 1
        session.flush()
        _audit(session, actor, "decide", "enforcement_payment_plans", str(plan.id), at, case_id=row.id, outcome=plan.status, amended=amended,
               schedule=plan.schedule, note=plan.decision_note)
        view = _payment_of(session, row, day)
        assert view is not None
        return view


# ---------------------------------------------------------------- ProcReg Art. 54: five or more unhandled records


class RepeatVehicleView(BaseModel):
    plate_number: str
    plate_type: str
    case_ids: list[int]
    oldest_since: date
    overdue_since: date
    notice_id: int | None = None
    notice_step: str = Field(description="none, notified, published or ended")
    notice_step_label: str
    public_from: date | None = None
    public_until: date | None = None


class VehicleNoticeRequest(_In):
    plate_number: str = Field(min_length=5, max_length=16)
    plate_type: str = Field(min_length=2, max_length=2)
    channel: Literal["app", "sms", "mail"]
    sent_on: date | None = Field(default=None, description="告知发出日期; defaults to today")


class PublishRequest(_In):
    published_on: date | None = Field(default=None, description="公告发布日期; defaults to today")


class VehicleNoticeView(BaseModel):
    id: int
    plate_number: str
    plate_type: str
    case_ids: list[int]
    channel: str
    channel_label: str
    notified_on: date
    text_zh: str
    public_from: date
    published_on: date | None
    public_until: date | None
    decide_from: date | None
    public_text_zh: str | None
    legal_basis: list[str]


STEP_ZH = {"none": "待告知", "notified": "已告知，待公告", "published": "公告期内", "ended": "公告期满，可依法作出决定"}
NOTICE_CHANNEL_ZH = {"app": "移动互联网应用程序", "sms": "手机短信", "mail": "邮寄"}


def _since(row: CaseRow) -> date:
    return local_day(row.notified_at or row.entered_at)


def _vehicle_notice_view(n: VehicleNoticeRow) -> VehicleNoticeView:
    rules = proc.procedure_rules().at(n.notified_on)
    return VehicleNoticeView(
        id=n.id, plate_number=n.plate_number, plate_type=n.plate_type, case_ids=list(n.case_ids or []), channel=n.channel,
        channel_label=NOTICE_CHANNEL_ZH.get(n.channel, n.channel), notified_on=n.notified_on, text_zh=n.text_zh,
        public_from=proc.repeat_public_notice_from(n.notified_on, rules), published_on=n.published_on, public_until=n.public_until,
        decide_from=n.public_until + timedelta(days=1) if n.public_until else None, public_text_zh=n.public_text_zh, legal_basis=rules.legal_basis.get("repeat", []),
    )


def _step(n: VehicleNoticeRow | None, day: date) -> str:
    if n is None:
        return "none"
    if n.public_until is None:
        return "notified"
    return "ended" if day > n.public_until else "published"


def _unhandled(session: Session, plate: tuple[str, str] | None = None) -> list[CaseRow]:
    query = select(CaseRow).where(CaseRow.status.in_(proc.UNHANDLED_STATUSES))
    if plate is not None:
        query = query.where(CaseRow.plate_number == plate[0], CaseRow.plate_type == plate[1])
    return list(session.scalars(query))


def _records(rows: list[CaseRow]) -> list[proc.UnhandledRecord]:
    return [proc.UnhandledRecord(r.id, r.plate_number, r.plate_type, r.status, _since(r)) for r in rows]


def _latest_vehicle_notice(session: Session, plate_number: str, plate_type: str) -> VehicleNoticeRow | None:
    return session.scalars(
        select(VehicleNoticeRow).where(VehicleNoticeRow.plate_number == plate_number, VehicleNoticeRow.plate_type == plate_type).order_by(VehicleNoticeRow.id.desc())
    ).first()


def list_repeat_vehicles(db: Database, actor: Actor, *, on: date | None = None, now: datetime | None = None) -> list[RepeatVehicleView]:
    """逾期未处理五起以上 — vehicles ProcReg Art. 54 applies to, with where their notice stands."""
    day = on or local_day(_now(now))
    rules = proc.procedure_rules().at(day)
    with db.transaction() as session:
        # only plates with enough unhandled records are loaded; the pure rule decides the rest
        plates = session.execute(
            select(CaseRow.plate_number, CaseRow.plate_type).where(CaseRow.status.in_(proc.UNHANDLED_STATUSES))
            .group_by(CaseRow.plate_number, CaseRow.plate_type).having(func.count() >= rules.repeat_min_records)
        ).all()
        rows = [r for plate in plates for r in _unhandled(session, (plate[0], plate[1]))]
        found = proc.repeat_vehicles(_records(rows), day, rules)
        views = []
        for v in found:
            n = _latest_vehicle_notice(session, v.plate_number, v.plate_type)
            step = _step(n, day)
            views.append(RepeatVehicleView(
                plate_number=v.plate_number, plate_type=v.plate_type, case_ids=list(v.case_ids), oldest_since=v.oldest_since, overdue_since=v.overdue_since,
                notice_id=n.id if n else None, notice_step=step, notice_step_label=STEP_ZH[step],
                public_from=proc.repeat_public_notice_from(n.notified_on, rules) if n else None, public_until=n.public_until if n else None,
            ))
        return views


def _intended_of(row: CaseRow) -> dict:
    intended = row.decision if row.status == "pending_approval" and row.decision else row.proposal
    return dict(intended or {})


def _facts(row: CaseRow) -> str:
    return f"{local_day(row.occurred_at).isoformat()}在{row.road or row.stretch}{behaviour_label(row.behavior, local_day(row.occurred_at))}"


def record_vehicle_notice(db: Database, actor: Actor, request: VehicleNoticeRequest, *, now: datetime | None = None) -> VehicleNoticeView:
    """告知（第五十四条）— the facts, grounds, basis and rights of each intended decision sent by app, SMS or
    mail to the party of a vehicle with five or more records not handled within 30 days."""
    at = _now(now)
    day = local_day(at)
    sent_on = request.sent_on or day
    if sent_on > day:
        raise FieldError("sent_on", "告知日期不能晚于今天", "sent_on is in the future")
    rules = proc.procedure_rules().at(sent_on)
    plate = (request.plate_number.strip(), request.plate_type.strip())
    with db.transaction(write=True) as session:
        rows = _unhandled(session, plate)
        found = proc.repeat_vehicles(_records(rows), sent_on, rules)
        if not found:
            raise FieldError("plate_number", f"该车未处理的违法记录不足{rules.repeat_min_records}起或未逾期三十日，不适用第五十四条", "the vehicle does not meet ProcReg Art. 54")
        last = _latest_vehicle_notice(session, *plate)
        if last is not None and _step(last, day) in ("notified", "published"):
            raise Conflict("该车已有进行中的告知或公告", f"vehicle notice {last.id} is still running")
        unhandled = sorted(rows, key=lambda r: r.id)
        cases = [(r.id, _facts(r), _intended_of(r)) for r in unhandled]
        notice = VehicleNoticeRow(
            plate_number=plate[0], plate_type=plate[1], case_ids=[r.id for r in unhandled], intended={str(cid): d for cid, _, d in cases}, channel=request.channel,
            notified_on=sent_on, notified_at=at, notified_by=actor.username, text_zh=proc.repeat_notice_text_zh(plate[0], cases, public=False), rules_version=rules.version_id,
        )
        session.add(notice)
        session.flush()
        _audit(session, actor, "create", "enforcement_vehicle_notices", str(notice.id), at, plate_number=plate[0], plate_type=plate[1], channel=request.channel,
               notified_on=sent_on.isoformat(), case_ids=notice.case_ids)
        return _vehicle_notice_view(notice)


def publish_vehicle_notice(db: Database, actor: Actor, notice_id: int, request: PublishRequest, *, now: datetime | None = None) -> VehicleNoticeView:
    """公告（第五十四条）— 30 days after the notice without handling, a 7-day (working) public notice of the cases
    still unhandled; when it has ended the decisions may be made."""
    at = _now(now)
    day = local_day(at)
    published_on = request.published_on or day
    if published_on > day:
        raise FieldError("published_on", "公告日期不能晚于今天", "published_on is in the future")
    with db.transaction(write=True) as session:
        notice = session.scalars(select(VehicleNoticeRow).where(VehicleNoticeRow.id == notice_id).with_for_update()).first()
        if notice is None:
            raise NotFound(f"vehicle notice {notice_id}")
        if notice.published_on is not None:
            raise Conflict("已公告", f"vehicle notice {notice_id} is published")
        rules = proc.procedure_rules().at(published_on)
        start = proc.repeat_public_notice_from(notice.notified_on, rules)
        if published_on < start:
            raise FieldError("published_on", f"告知后三十日内未接受处理的方可公告，最早{start.isoformat()}（《道路交通安全违法行为处理程序规定》第五十四条）",
                             f"the party has 30 days after the notice: publish on or after {start.isoformat()}")
        still = [r for r in _unhandled(session, (notice.plate_number, notice.plate_type)) if r.id in set(notice.case_ids or [])]
        if not still:
            raise FieldError("case_ids", "告知的违法记录均已处理，无需公告", "every notified record has been handled")
        still.sort(key=lambda r: r.id)
        until = proc.repeat_public_notice_end(published_on, rules)
        told = notice.intended or {}
        cases = [(r.id, _facts(r), told.get(str(r.id), {})) for r in still]
        notice.case_ids = [r.id for r in still]
        notice.published_on = published_on
        notice.public_until = until
        notice.published_at = at
        notice.published_by = actor.username
        notice.public_text_zh = proc.repeat_notice_text_zh(notice.plate_number, cases, public=True, until=until)
        session.flush()
        _audit(session, actor, "update", "enforcement_vehicle_notices", str(notice.id), at, outcome="published", published_on=published_on.isoformat(),
               public_until=until.isoformat(), case_ids=notice.case_ids)
        return _vehicle_notice_view(notice)


def list_vehicle_notices(db: Database, actor: Actor) -> list[VehicleNoticeView]:
    with db.transaction() as session:
        return [_vehicle_notice_view(n) for n in session.scalars(select(VehicleNoticeRow).order_by(VehicleNoticeRow.id.desc()).limit(500))]


# ---------------------------------------------------------------- ProcReg Art. 55: service by public notice


class ServiceNoticeRequest(_In):
    failed_channel: Literal["mail", "electronic"]
    failure_note: str = Field(min_length=2, max_length=1000, description="邮寄或电子送达不成功的情况")
    published_on: date | None = Field(default=None, description="公告送达发布日期; defaults to today")


def serve_by_public_notice(db: Database, actor: Actor, case_id: int, request: ServiceNoticeRequest, *, now: datetime | None = None) -> ProcedureView:
    """公告送达 — mail or electronic service failed: a 60-day public notice; its last day is the day of service
    (ProcReg Arts. 55-56), from which the 15 days to pay run."""
    at = _now(now)
    day = local_day(at)
    published_on = request.published_on or day
    if published_on > day:
        raise FieldError("published_on", "公告日期不能晚于今天", "published_on is in the future")
    with db.transaction(write=True) as session:
        row = _issued_case(session, case_id)
        if row.decision.get("served_on"):
            raise Conflict("决定书已送达", f"case {case_id} was served on {row.decision['served_on']}")
        if published_on < local_day(row.issued_at or at):
            raise FieldError("published_on", "公告日期不能早于签发日期", "published_on is before the decision was issued")
        rules = proc.procedure_rules().at(published_on)
        served = proc.service_by_public_notice(published_on, rules)
        notice = ServiceNoticeRow(case_id=row.id, failed_channel=request.failed_channel, failure_note=request.failure_note.strip(), published_on=published_on,
                                  served_on=served, recorded_at=at, recorded_by=actor.username, rules_version=rules.version_id)
        session.add(notice)
        decision = dict(row.decision)
        decision["served_on"] = served.isoformat()
        decision["served_by"] = "public_notice"
        if decision.get("fine_yuan"):
            decision["pay_by"] = proc.pay_by(served, proc.procedure_rules().at(served)).isoformat()
        row.decision = decision
        row.version += 1
        session.flush()
        _audit(session, actor, "create", "enforcement_service_notices", str(notice.id), at, case_id=row.id, failed_channel=request.failed_channel,
               published_on=published_on.isoformat(), served_on=served.isoformat(), pay_by=decision.get("pay_by"))
        return _view(session, row, day)
