"""JSON API of the hub's data quality under /api/v1/hub/quality: the report (a department sees its own
sources), a source's defects with the records behind them, and a new measurement run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, responses
from trafficgov.hub import quality_service as service

router = APIRouter(prefix="/api/v1/hub/quality", tags=["hub 数据质量"], responses={**COMMON})
VIEWERS = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.COMMAND, Role.PARTNER)
Source = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,31}$", description="数据来源代码, e.g. tr_permit")]


def db(request: Request):
    return request.app.state.db


# The answers are the service's own plain types (dataclasses): FastAPI documents and serialises them as they are.


@router.get("", response_model=service.QualityReport, summary="数据质量报告：本部门数据来源的告警、各字段完整性/有效性/一致性及趋势")
def read_report(
    request: Request,
    source: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,31}$")] = None,
    actor: Actor = Depends(require(*VIEWERS)),
) -> service.QualityReport:
    return service.report(db(request), actor, source=source)


@router.get("/{source}/defects", response_model=list[service.DefectRecord], summary="数据缺陷及其所在记录（最近一次评估）",
            responses=responses(404))
def read_defects(
    source: Source,
    request: Request,
    field: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[str | None, Query(pattern="^(completeness|validity|consistency|timeliness)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Actor = Depends(require(*VIEWERS)),
) -> list[service.DefectRecord]:
    return service.defects(db(request), actor, source, field=field, kind=kind, limit=limit)


@router.post("/run", response_model=service.QualityRun, status_code=201, summary="重新评估数据质量（系统管理员、督察人员）")
def run_measurement(request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.SUPERVISOR))) -> service.QualityRun:
    return service.measure(db(request), actor)
