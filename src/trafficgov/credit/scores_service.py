"""Use cases of reading the kept scoring runs: a company's own grade and risk, officers' ranked lists, a
subject's detail, and the on-site inspection schedule that follows from the intervals.

Staff reads are audited; ID numbers are masked as the role's policy says (registry.Masker).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit import scoring
from trafficgov.credit.store import CreditInspectionRow, CreditScoreRow
from trafficgov.errors import FieldError, NotFound
from trafficgov.registry.service import Masker
from trafficgov.registry.store import CompanyRow
from trafficgov.store.db import Database

BAND_ZH = {"low": "低风险", "medium": "中风险", "high": "高风险", "insufficient_data": "数据不足"}
LIST_ZH = {"red": "红名单", "black": "黑名单", "none": "—"}
KIND_ZH = {"company": "运输企业", "school": "驾驶培训机构", "driver": "营运驾驶人", "vehicle": "重点车辆"}
DEFAULTS_NOTICE_ZH = "信用等级评分表部分条目尚未与省级实施细则核对，为本局可配置的默认值（UNCONFIRMED），等级仅供监管参考。"
RISK_NOTICE_ZH = "风险评分为统计预测：未来12个月每车（驾驶人为每人）预计发生伤亡事故起数，附90%区间；数据不足时不作评价。"
STAFF_READERS = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN)


class Reason(BaseModel):
    code: str
    text_zh: str


class ScoreView(BaseModel):
    """One subject in a run: the public-contract fields and what pages show beside them."""

    subject_kind: str
    subject_id: str
    name: str | None = None
    company_uscc: str | None
    grade: str | None
    risk_score: float | None
    risk_low: float | None
    risk_high: float | None
    band: str
    band_zh: str
    list: str
    list_zh: str
    reasons: list[Reason]
    data_sufficient: bool
    exposure_years: float | None
    inspection_interval_days: int | None
    inspection_mode_zh: str | None
    grade_detail: dict[str, Any] | None = None


class RunInfo(BaseModel):
    run_id: int
    as_of: date
    computed_at: datetime
    versions: dict[str, Any]
    subjects: int


class ScoresPage(BaseModel):
    run: RunInfo | None
    defaults_notice_zh: str = DEFAULTS_NOTICE_ZH
    risk_notice_zh: str = RISK_NOTICE_ZH
    items: list[ScoreView]


class CompanyCredit(BaseModel):
    run: RunInfo | None
    defaults_notice_zh: str = DEFAULTS_NOTICE_ZH
    risk_notice_zh: str = RISK_NOTICE_ZH
    company: ScoreView | None
    vehicles: list[ScoreView]
    drivers: list[ScoreView]


class ScheduleItem(BaseModel):
    subject_kind: str
    subject_id: str
    name: str | None
    band: str
    band_zh: str
    grade: str | None
    list: str
    interval_days: int | None
    mode_zh: str | None
    last_inspected: date | None
    next_due: date | None
    overdue: bool


class Schedule(BaseModel):
    run: RunInfo | None
    as_of: date
    items: list[ScheduleItem]


def _run_info(row) -> RunInfo | None:  # noqa: ANN001
    return None if row is None else RunInfo(run_id=row.id, as_of=row.as_of, computed_at=row.computed_at, versions=row.versions, subjects=row.subjects)


def _view(row: CreditScoreRow, masker: Masker, names: dict[str, str], *, detail: bool = False) -> ScoreView:
    subject_id = row.subject_id
    if row.subject_kind == "driver":
        subject_id = masker.id_number(subject_id, subject_id) or subject_id
    list_name = row.list_name or "none"
    return ScoreView(
        subject_kind=row.subject_kind,
        subject_id=subject_id,
        name=names.get(row.subject_id),
        company_uscc=row.company_uscc,
        grade=row.grade,
        risk_score=row.risk_score,
        risk_low=row.risk_low,
        risk_high=row.risk_high,
        band=row.band,
        band_zh=BAND_ZH.get(row.band, row.band),
        list=list_name,
        list_zh=LIST_ZH.get(list_name, list_name),
        reasons=[Reason(**r) for r in row.reasons or []],
        data_sufficient=row.data_sufficient,
        exposure_years=row.exposure_years,
        inspection_interval_days=row.inspection_interval_days,
        inspection_mode_zh=row.inspection_mode_zh,
        grade_detail=row.grade_detail if detail else None,
    )


def _names(session: Session, rows: list[CreditScoreRow]) -> dict[str, str]:
    ids = {r.subject_id for r in rows if r.subject_kind in ("company", "school")} | {r.company_uscc for r in rows if r.company_uscc}
    if not ids:
        return {}
    return dict(session.execute(select(CompanyRow.uscc, CompanyRow.name).where(CompanyRow.uscc.in_(sorted(ids)))).all())


def _audit(session: Session, actor: Actor, entity: str, key: str | None, at: datetime, **detail: Any) -> None:
    audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action="read", entity=entity, record_key=key, purpose="credit", at=at, detail=detail))


def ranking(db: Database, actor: Actor, *, subject_kind: str | None = None, band: str | None = None, limit: int = 200) -> ScoresPage:
    """风险排名 — subjects of the newest run, the riskiest first (staff; the read is audited)."""
    if subject_kind is not None and subject_kind not in scoring.SUBJECT_KINDS:
        raise FieldError("subject_kind", "主体类型应为company、school、driver或vehicle", "unknown subject kind")
    if band is not None and band not in BAND_ZH:
        raise FieldError("band", "风险等级应为low、medium、high或insufficient_data", "unknown band")
    with db.transaction(write=True) as session:
        run_row, rows = scoring.latest_scores(session, subject_kind=subject_kind, order_by_risk=True, limit=None if band else limit)
        if band:
            rows = [r for r in rows if r.band == band][:limit]
        _audit(session, actor, "credit_scores", None, datetime.now(UTC), subject_kind=subject_kind, band=band, rows=len(rows))
        names = _names(session, rows)
        masker = Masker(actor)
        return ScoresPage(run=_run_info(run_row), items=[_view(r, masker, names) for r in rows])


def _subject_row(session: Session, kind: str, subject_id: str) -> tuple[Any, CreditScoreRow]:
    run_row = scoring.latest_run(session)
    if run_row is None:
        raise NotFound("credit run")
    row = session.scalars(
        select(CreditScoreRow).where(CreditScoreRow.run_id == run_row.id, CreditScoreRow.subject_kind == kind, CreditScoreRow.subject_id == subject_id)
    ).first()
    if row is None:
        raise NotFound(f"{kind} {subject_id}")
    return run_row, row


def subject(db: Database, actor: Actor, kind: str, subject_id: str) -> ScoreView:
    """主体详情 — a subject's grade with every deduction and veto item, its risk with reasons; a company sees
    only itself and its own vehicles and drivers."""
    with db.transaction(write=actor.is_staff) as session:
        _, row = _subject_row(session, kind, subject_id)
        if actor.role is Role.COMPANY and row.company_uscc != actor.uscc:
            raise NotFound(f"{kind} {subject_id}")
        if actor.is_staff:
            _audit(session, actor, "credit_scores", f"{kind}:{subject_id}", datetime.now(UTC))
        return _view(row, Masker(actor), _names(session, [row]), detail=True)


def company_credit(db: Database, actor: Actor, uscc: str | None = None) -> CompanyCredit:
    """本单位信用 — the company's grade and risk, and its vehicles and drivers, the riskiest first."""
    target = actor.uscc if actor.role is Role.COMPANY else uscc
    if not target:
        raise FieldError("uscc", "请指定企业统一社会信用代码", "a company is required")
    with db.transaction(write=actor.is_staff) as session:
        run_row, rows = scoring.latest_scores(session, company_uscc=target, order_by_risk=True)
        if actor.is_staff:
            _audit(session, actor, "credit_scores", f"company:{target}", datetime.now(UTC))
        names = _names(session, rows)
        masker = Masker(actor)
        company = next((r for r in rows if r.subject_kind in ("company", "school") and r.subject_id == target), None)
        return CompanyCredit(
            run=_run_info(run_row),
            company=_view(company, masker, names, detail=True) if company else None,
            vehicles=[_view(r, masker, names) for r in rows if r.subject_kind == "vehicle"],
            drivers=[_view(r, masker, names) for r in rows if r.subject_kind == "driver"],
        )


def _last_inspections(session: Session, kind: str, ids: list[str]) -> dict[str, date]:
    """The last on-site inspection (roadside or company audit) per vehicle ("PLATE:TYPE") or company."""
    table = CreditInspectionRow
    on_site = table.kind.in_(("roadside", "company_audit"))
    if kind == "company":
        query = select(table.uscc, func.max(table.date)).where(on_site, table.uscc.in_(ids)).group_by(table.uscc)
        return dict(session.execute(query).all())
    out: dict[str, date] = {}
    plates = {i.rsplit(":", 1)[0] for i in ids}
    query = select(table.plate_number, table.plate_type, func.max(table.date)).where(on_site, table.plate_number.in_(sorted(plates))).group_by(table.plate_number, table.plate_type)
    for plate, plate_type, day in session.execute(query):
        out[f"{plate}:{plate_type}"] = day
    return out


def schedule(db: Database, actor: Actor, *, as_of: date | None = None, subject_kind: str = "company", limit: int = 500) -> Schedule:
    """检查计划 — who is due an on-site inspection: last on-site inspection + the interval of the newest run
    (red list: remote monitoring only, never scheduled); overdue first, then by due day."""
    if subject_kind not in ("company", "vehicle"):
        raise FieldError("subject_kind", "检查计划按企业或车辆编排", "the schedule is by company or vehicle")
    today = as_of or datetime.now(UTC).date()
    with db.transaction(write=True) as session:
        run_row, rows = scoring.latest_scores(session, subject_kind=subject_kind)
        if subject_kind == "company":
            rows += scoring.latest_scores(session, subject_kind="school")[1]
        ids = [r.subject_id for r in rows]
        last: dict[str, date] = {}
        for start in range(0, len(ids), 900):
            last.update(_last_inspections(session, subject_kind, ids[start : start + 900]))
        names = _names(session, rows)
        items = []
        for r in rows:
            seen = last.get(r.subject_id)
            interval = r.inspection_interval_days
            due = None if interval is None else (seen + timedelta(days=interval) if seen else today)
            items.append(
                ScheduleItem(
                    subject_kind=r.subject_kind, subject_id=r.subject_id, name=names.get(r.subject_id) or names.get(r.company_uscc or ""),
                    band=r.band, band_zh=BAND_ZH.get(r.band, r.band), grade=r.grade, list=r.list_name or "none", interval_days=interval,
                    mode_zh=r.inspection_mode_zh, last_inspected=seen, next_due=due, overdue=due is not None and due < today,
                )
            )
        items.sort(key=lambda i: (i.next_due is None, i.next_due or date.max, i.subject_id))
        _audit(session, actor, "credit_schedule", None, datetime.now(UTC), subject_kind=subject_kind, rows=len(items))
        return Schedule(run=_run_info(run_row), as_of=today, items=items[:limit])

