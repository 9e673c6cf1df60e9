"""JSON API of the enforcement pipeline under /api/v1: capture intake, review queue, cases and decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.enforcement import service
from trafficgov.enforcement.service import (
    ApprovalRequest,
    CaptureView,
    CaseView,
    IngestSummary,
    IssueRequest,
    OverdueView,
    RejectRequest,
)

router = APIRouter(prefix="/api/v1", tags=["enforcement 非现场执法"], responses={**COMMON, **responses(404)})

CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — another officer acted on the record first"}}
TOO_LARGE = {413: {"model": ErrorBody, "description": "批量过大 — batch too large"}}
MAX_BODY_BYTES = 5 * 1024 * 1024
CASE_READERS = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
CaptureKey = Annotated[str, Path(max_length=64, description="capture_id")]
CaseKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


def db(request: Request):
    return request.app.state.db



@router.post("/captures", response_model=IngestSummary, summary="非现场抓拍批量导入（按capture_id幂等）", responses=TOO_LARGE)
def post_captures(
    request: Request,
    records: Annotated[list[Any], Body(max_length=service.MAX_BATCH, description="JSON array of captures (CaptureIn); at most 1000")],
    actor: Actor = Depends(require(Role.ADMIN)),
) -> IngestSummary:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise HTTPException(413, {"reason_zh": "批量过大（上限5MB）", "reason_en": "batch larger than 5 MB"})
    return service.ingest_captures(db(request), actor, records)


@router.get("/review", response_model=list[CaptureView], summary="二次审核队列：待审核的可采抓拍")
def review_queue(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 200, actor: Actor = Depends(require(*CASE_READERS))) -> list[CaptureView]:
    return service.list_review_queue(db(request), actor, limit=limit)


@router.get("/review/overdue", response_model=OverdueView, summary="超期未审核的抓拍与超期未通知的案件")
def overdue(request: Request, actor: Actor = Depends(require(*CASE_READERS))) -> OverdueView:
    return service.list_overdue(db(request), actor)


@router.post("/review/{capture_id}/confirm", response_model=CaseView, summary="审核通过：立案（同一行为并案）", responses=CONFLICT)
def confirm(capture_id: CaptureKey, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> CaseView:
    return service.confirm_capture(db(request), actor, capture_id)


@router.post("/review/{capture_id}/reject", response_model=CaptureView, summary="审核不通过：按第二十二条情形消除", responses=CONFLICT)
def reject(capture_id: CaptureKey, body: RejectRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> CaptureView:
    return service.reject_capture(db(request), actor, capture_id, body.reason_code, body.note)


@router.get("/cases", response_model=list[CaseView], summary="违法案件列表")
def cases(
    request: Request,
    status_: Annotated[str | None, Query(alias="status", max_length=24)] = None,
    actor: Actor = Depends(require(*CASE_READERS)),
) -> list[CaseView]:
    return service.list_cases(db(request), actor, status=status_)


@router.get("/cases/approvals", response_model=list[CaseView], summary="待法制审核的偏离裁量决定")
def approvals(request: Request, actor: Actor = Depends(require(Role.LEGAL_REVIEWER))) -> list[CaseView]:
    return service.list_approvals(db(request), actor)


@router.get("/cases/{case_id}", response_model=CaseView, summary="案件详情（含抓拍证据、裁量建议、决定）")
def case(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*CASE_READERS))) -> CaseView:
    return service.get_case(db(request), actor, case_id)


@router.post("/cases/{case_id}/issue", response_model=CaseView, summary="签发决定（偏离建议须写明理由并经法制审核）", responses=CONFLICT)
def issue(case_id: CaseKey, body: IssueRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> CaseView:
    return service.issue_decision(db(request), actor, case_id, body)


@router.post("/cases/{case_id}/approval", response_model=CaseView, summary="法制审核：批准或退回偏离决定", responses=CONFLICT)
def approval(case_id: CaseKey, body: ApprovalRequest, request: Request, actor: Actor = Depends(require(Role.LEGAL_REVIEWER))) -> CaseView:
    return service.decide_deviation(db(request), actor, case_id, body)


@router.post("/cases/{case_id}/notified", response_model=CaseView, summary="登记已通知当事人（第二十条）")
def notified(case_id: CaseKey, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> CaseView:
    return service.mark_notified(db(request), actor, case_id)


@router.get("/me/cases", response_model=list[CaseView], summary="我的违法（本人或本单位车辆）")
def my_cases(request: Request, actor: Actor = Depends(require(Role.CITIZEN, Role.COMPANY))) -> list[CaseView]:
    return service.my_cases(db(request), actor)
