"""JSON API of the hub's data quality under /api/v1/hub/quality: the report (a department sees its own
sources), a source's defects with the records behind them, and a new measurement run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, responses
from trafficgov.hub import quality_service as service

router = APIRouter(prefix="/api/v1/hub/quality", tags=["hub 数据质量"], responses={**COMMON})
VIEWERS = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.COMMAND, Role.PARTNER)
Source = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="数据来源代码, e.g. tr_permit")]


def db(request: Request):
    return request.app.state.db


class AlertOut(BaseModel):
    code: str
    level: str
    message_zh: str


class TrendOut(BaseModel):
    run_id: int
    at: datetime
    completeness: float | None
    validity: float | None
    consistency: float | None


class FieldOut(BaseModel):
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
    trend: list[TrendOut]


class SourceOut(BaseModel):
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
    alerts: list[AlertOut]
    notes: list[AlertOut]
    measured_at: datetime | None
    timed: int
    late: int
    lag_p50_s: float | None
    lag_p95_s: float | None
    defects: dict[str, int]
    fields: list[FieldOut]


class ReportOut(BaseModel):
    run_id: int | None
    at: datetime | None
    rules_version: str | None
    sources: list[SourceOut]


class DefectOut(BaseModel):
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


class RunOut(BaseModel):
    id: int
    at: datetime
    actor: str
    rules_version: str
    sources: int
    records: int
    defects: int
    defects_kept: int


def _alert(a) -> AlertOut:  # noqa: ANN001
    return AlertOut(code=a.code, level=a.level, message_zh=a.message_zh)


def report_out(r: service.QualityReport) -> ReportOut:
    return ReportOut(
        run_id=r.run_id, at=r.at, rules_version=r.rules_version,
        sources=[SourceOut(
            **{k: getattr(s, k) for k in ("source", "name_zh", "department", "department_zh", "kind", "kind_zh", "records", "quarantined",
                                          "last_sync_status", "last_sync_at", "last_sync_error", "measured_at", "timed", "late",
                                          "lag_p50_s", "lag_p95_s", "defects")},
            alerts=[_alert(a) for a in s.alerts], notes=[_alert(a) for a in s.notes],
            fields=[FieldOut(
                **{k: getattr(f, k) for k in ("field", "label_zh", "records", "filled", "valid", "compared", "inconsistent",
                                              "completeness", "validity", "consistency", "defects")},
                trend=[TrendOut(run_id=p.run_id, at=p.at, completeness=p.completeness, validity=p.validity, consistency=p.consistency) for p in f.trend],
            ) for f in s.fields],
        ) for s in r.sources],
    )


@router.get("", response_model=ReportOut, summary="数据质量报告：本部门数据来源的告警、各字段完整性/有效性/一致性及趋势")
def read_report(
    request: Request,
    source: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,31}$")] = None,
    actor: Actor = Depends(require(*VIEWERS)),
) -> ReportOut:
    return report_out(service.report(db(request), actor, source=source))


@router.get("/{source}/defects", response_model=list[DefectOut], summary="数据缺陷及其所在记录（最近一次评估）",
            responses=responses(404))
def read_defects(
    source: Source,
    request: Request,
    field: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(pattern="^(completeness|validity|consistency|timeliness)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Actor = Depends(require(*VIEWERS)),
) -> list[DefectOut]:
    found = service.defects(db(request), actor, source, field=field, kind=kind, limit=limit)
    return [DefectOut(**{k: getattr(d, k) for k in DefectOut.model_fields}) for d in found]


@router.post("/run", response_model=RunOut, status_code=201, summary="重新评估数据质量（系统管理员、督察人员）")
def run_measurement(request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.SUPERVISOR))) -> RunOut:
    run = service.measure(db(request), actor)
    return RunOut(**{k: getattr(run, k) for k in RunOut.model_fields})
