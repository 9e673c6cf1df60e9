"""Use case of the earned-recognition KPIs (守信认定指标) of a company applying for the red list: a company
sees its own, staff any company's (the read is audited). The red-list proposal itself stays with the
lists service; these figures are what the supervisor reviews an application against."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from pydantic import BaseModel
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit import scoring
from trafficgov.credit.kpis import kpi_inputs, period_start
from trafficgov.credit.plan import earned_recognition_kpis
from trafficgov.errors import FieldError, Forbidden, NotFound
from trafficgov.store.db import Database

KPI_READERS = (Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.ADMIN)
DEFAULTS_NOTICE_ZH = "标注“默认值”的指标阈值为本局可配置的默认值（UNCONFIRMED，未经原文确认），仅供守信激励申请审核参考。"
BASIS_NOTICE_ZH = "各项指标阈值均有所列依据。"
REVIEW_NOTICE_ZH = "指标全部达到的企业可申请列入红名单，由支队审核人员（supervisor）审核后按名单程序提出和公布。"


class KpiView(BaseModel):
    code: str
    text_zh: str
    value: float | None
    threshold: float
    comparison: str
    met: bool
    basis: str
    default: bool


class KpiCounts(BaseModel):
    """What the KPIs were computed from (plan.KpiInputs)."""

    vehicles: int
    periodic_inspections: int
    periodic_first_pass: int
    gps_expected_minutes: float
    gps_offline_minutes: float
    training_hours_required: float
    training_hours_done: float
    violations: int


class KpiReport(BaseModel):
    uscc: str
    name: str | None
    as_of: date
    period_start: date
    kpis: list[KpiView]
    all_met: bool
    notice_zh: str
    review_notice_zh: str = REVIEW_NOTICE_ZH
    inputs: KpiCounts


def beijing_today(now: datetime | None = None) -> date:
    """Today's date in Beijing time (UTC+8)."""
    return ((now or datetime.now(UTC)).astimezone(UTC) + timedelta(hours=8)).date()


def _audit(session: Session, actor: Actor, uscc: str, at: datetime, **detail: Any) -> None:
    audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action="read", entity="credit_kpis",
                                     record_key=f"company:{uscc}", purpose="credit", at=at, detail=detail))


def company_kpis(db: Database, actor: Actor, uscc: str | None = None, as_of: date | None = None) -> KpiReport:
    """守信认定指标 — the company's KPIs over the 12 months up to as_of (default: today in Beijing)."""
    if actor.role is Role.COMPANY:
        if uscc is not None and uscc != actor.uscc:
            raise Forbidden("企业只能查看本单位的守信认定指标", "a company sees only its own KPIs")
        target = actor.uscc
    elif actor.role in KPI_READERS:
        target = uscc
    else:
        raise Forbidden("您的角色无权查看守信认定指标", "role may not read earned-recognition KPIs")
    if not target:
        raise FieldError("uscc", "请指定企业统一社会信用代码", "a company is required")
    day = as_of or beijing_today()
    if day > beijing_today():
        raise FieldError("as_of", "指标日期不能晚于今天", "as_of must not be in the future")
    data = scoring.load_data(db)
    company = data.companies.filter(pl.col("uscc") == target)
    if company.height == 0:
        raise NotFound(f"company {target}")
    inputs = kpi_inputs(data, target, day)
    results = earned_recognition_kpis(inputs, day)
    kpis = [KpiView(**asdict(r)) for r in results]
    if actor.is_staff:
        with db.transaction(write=True) as session:
            _audit(session, actor, target, datetime.now(UTC), as_of=day.isoformat())
    return KpiReport(
        uscc=target,
        name=company["name"][0],
        as_of=day,
        period_start=period_start(day),
        kpis=kpis,
        all_met=bool(kpis) and all(k.met for k in kpis),
        notice_zh=DEFAULTS_NOTICE_ZH if any(k.default for k in kpis) else BASIS_NOTICE_ZH,
        inputs=KpiCounts(**asdict(inputs)),
    )
