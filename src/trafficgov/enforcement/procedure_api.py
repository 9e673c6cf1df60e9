"""JSON API of the penalty procedure under /api/v1: prior notice, statements and hearing requests, answers,
online objections, service of the decision and payment with the late surcharge."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement.procedure_service import (
    AnswerRequest,
    NoticeRequest,
    ObjectionRequest,
    PaymentView,
    ProcedureView,
    ServeRequest,
    SubmissionRequest,
    SubmissionView,
)

router = APIRouter(prefix="/api/v1", tags=["enforcement 处罚程序"], responses={**COMMON, **responses(404)})

CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — the case or submission changed"}}
STAFF = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
PARTIES = (Role.CITIZEN, Role.COMPANY)
CaseKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
SubmissionKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


def db(request: Request):
    return request.app.state.db



@router.get("/cases/{case_id}/procedure", response_model=ProcedureView, summary="处罚程序：告知、陈述申辩、听证、缴款")
def procedure(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*STAFF, *PARTIES))) -> ProcedureView:
    return ps.get_procedure(db(request), actor, case_id)


@router.post("/cases/{case_id}/notice", response_model=ProcedureView, summary="处罚前告知（一般程序）", responses=CONFLICT)
def notice(case_id: CaseKey, body: NoticeRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> ProcedureView:
    return ps.serve_notice(db(request), actor, case_id, body)


@router.post("/me/cases/{case_id}/statements", response_model=ProcedureView, summary="当事人陈述申辩、要求听证或放弃", responses=CONFLICT)
def statement(case_id: CaseKey, body: SubmissionRequest, request: Request, actor: Actor = Depends(require(*PARTIES))) -> ProcedureView:
    return ps.submit(db(request), actor, case_id, body)


@router.get("/submissions", response_model=list[SubmissionView], summary="待答复的异议、陈述申辩和听证申请")
def open_submissions(request: Request, actor: Actor = Depends(require(*STAFF))) -> list[SubmissionView]:
    return ps.open_submissions(db(request), actor)


@router.post("/submissions/{submission_id}/answer", response_model=SubmissionView, summary="复核答复（采纳或不采纳）", responses=CONFLICT)
def answer(submission_id: SubmissionKey, body: AnswerRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> SubmissionView:
    return ps.answer(db(request), actor, submission_id, body)


@router.post("/me/objections", response_model=SubmissionView, summary="网上异议（抓拍或案件）")
def objection(body: ObjectionRequest, request: Request, actor: Actor = Depends(require(*PARTIES))) -> SubmissionView:
    return ps.object_online(db(request), actor, body)


@router.get("/me/submissions", response_model=list[SubmissionView], summary="我的异议与陈述申辩及答复")
def my_submissions(request: Request, actor: Actor = Depends(require(*PARTIES))) -> list[SubmissionView]:
    return ps.my_submissions(db(request), actor)


@router.post("/cases/{case_id}/served", response_model=ProcedureView, summary="登记决定书送达（起算十五日缴款期限）", responses=CONFLICT)
def served(case_id: CaseKey, body: ServeRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> ProcedureView:
    return ps.serve_decision(db(request), actor, case_id, body)


@router.get("/cases/{case_id}/payment", response_model=PaymentView, summary="应缴罚款及加处罚款")
def payment(case_id: CaseKey, request: Request, on: Annotated[date | None, Query(description="缴款日期; defaults to today")] = None, actor: Actor = Depends(require(*STAFF, *PARTIES))) -> PaymentView:
    return ps.payment(db(request), actor, case_id, on)
