"""JSON API of credit supervision's proactive warnings (主动预警) under /api/v1."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.credit import warnings_service as service
from trafficgov.credit.warnings import KINDS
from trafficgov.credit.warnings_service import CloseRequest, RunRequest, RunSummary, WarningView

router = APIRouter(prefix="/api/v1", tags=["credit 信用监管"], responses={**COMMON, **responses(404)})
CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — the warning is closed"}}
Key = Annotated[int, Path(ge=1, le=2**31 - 1)]
State = Literal["open", "acknowledged", "closed"]
Kind = Literal[KINDS]  # type: ignore[valid-type]


def db(request: Request):
    return request.app.state.db


@router.get("/credit/warnings", response_model=list[WarningView], summary="主动预警列表（企业只看本单位）")
def list_warnings(
    request: Request,
    state: Annotated[State | None, Query(description="open 待处理 / acknowledged 已知悉 / closed 已关闭")] = None,
    kind: Annotated[Kind | None, Query(description="预警类型")] = None,
    actor: Actor = Depends(require(Role.COMPANY, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)),
) -> list[WarningView]:
    return service.list_warnings(db(request), actor, state=state, kind=kind)


@router.post("/credit/warnings/run", response_model=RunSummary, summary="运行预警检测（同一预警不重复产生）")
def run(
    request: Request,
    body: Annotated[RunRequest | None, Body()] = None,
    actor: Actor = Depends(require(Role.ADMIN, Role.OFFICER, Role.SUPERVISOR)),
) -> RunSummary:
    return service.raise_warnings(db(request), actor, body.as_of if body else None)


@router.post("/credit/warnings/{warning_id}/acknowledge", response_model=WarningView, summary="确认知悉预警（企业或民警）", responses=CONFLICT)
def acknowledge(warning_id: Key, request: Request, actor: Actor = Depends(require(Role.COMPANY, Role.OFFICER, Role.SUPERVISOR))) -> WarningView:
    return service.acknowledge(db(request), actor, warning_id)


@router.post("/credit/warnings/{warning_id}/close", response_model=WarningView, summary="关闭预警（民警，须填写说明）", responses=CONFLICT)
def close(warning_id: Key, body: CloseRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER, Role.SUPERVISOR))) -> WarningView:
    return service.close(db(request), actor, warning_id, body.note)
