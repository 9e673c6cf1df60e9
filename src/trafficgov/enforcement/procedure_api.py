"""JSON API of the penalty procedure under /api/v1: prior notice, statements and hearing requests, answers,
online objections, hearings, service of the decision (also by public notice), payments with the late
surcharge, deferral and instalment plans of fines (APL Art. 66 para 2), and the ProcReg Art. 54 notices of vehicles with five or more unhandled records."""

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
    HearingOutcomeRequest,
    HearingRequest,
    HearingView,
    NoticeRequest,
    ObjectionRequest,
    PaymentPlanRequest,
    PaymentRequest,
    PaymentView,
    PlanDecisionRequest,
    ProcedureView,
    PublishRequest,
    RepeatVehicleView,
    ServeRequest,
    ServiceNoticeRequest,
    SubmissionRequest,
    SubmissionView,
    VehicleNoticeRequest,
    VehicleNoticeView,
)

router = APIRouter(prefix="/api/v1", tags=["enforcement 处罚程序"], responses={**COMMON, **responses(404)})

CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — the case or submission changed"}}
STAFF = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
PARTIES = (Role.CITIZEN, Role.COMPANY)
CaseKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
SubmissionKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
HearingKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
NoticeKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
# 窗口民警/辅警 record payments and notices with the officers; legal reviewers and supervisors read
ACTORS = (Role.OFFICER, Role.CLERK)
READERS = (Role.OFFICER, Role.CLERK, Role.LEGAL_REVIEWER, Role.SUPERVISOR)


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


@router.post("/submissions/{submission_id}/hearing", response_model=HearingView, summary="安排听证（七日前通知，非本案调查人员主持）", responses=CONFLICT)
def schedule_hearing(submission_id: SubmissionKey, body: HearingRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> HearingView:
    return ps.schedule_hearing(db(request), actor, submission_id, body)


@router.post("/hearings/{hearing_id}/outcome", response_model=HearingView, summary="登记听证结果（笔录、视为放弃或撤回）", responses=CONFLICT)
def hearing_outcome(hearing_id: HearingKey, body: HearingOutcomeRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER))) -> HearingView:
    return ps.close_hearing(db(request), actor, hearing_id, body)


@router.get("/hearings", response_model=list[HearingView], summary="待举行的听证")
def hearings(request: Request, closed: Annotated[bool, Query(description="含已结束的听证")] = False, actor: Actor = Depends(require(*STAFF))) -> list[HearingView]:
    return ps.list_hearings(db(request), actor, open_only=not closed)


@router.post("/cases/{case_id}/payments", response_model=PaymentView, summary="登记缴款（按票据号幂等）", responses=CONFLICT)
def record_payment(case_id: CaseKey, body: PaymentRequest, request: Request, actor: Actor = Depends(require(*ACTORS))) -> PaymentView:
    return ps.record_payment(db(request), actor, case_id, body)


@router.post("/cases/{case_id}/payment-plan", response_model=PaymentView, summary="当事人申请暂缓或分期缴纳罚款（确有经济困难）", responses=CONFLICT)
def apply_payment_plan(case_id: CaseKey, body: PaymentPlanRequest, request: Request, actor: Actor = Depends(require(*PARTIES))) -> PaymentView:
    return ps.apply_payment_plan(db(request), actor, case_id, body)


@router.post("/cases/{case_id}/payment-plan/decision", response_model=PaymentView, summary="批准（可调整计划）或不予批准暂缓、分期缴纳", responses=CONFLICT)
def decide_payment_plan(case_id: CaseKey, body: PlanDecisionRequest, request: Request, actor: Actor = Depends(require(*STAFF))) -> PaymentView:
    return ps.decide_payment_plan(db(request), actor, case_id, body)


@router.get("/payments/overdue", response_model=list[PaymentView], summary="逾期未缴罚款的决定")
def overdue_payments(request: Request, on: Annotated[date | None, Query(description="查询日期; defaults to today")] = None, actor: Actor = Depends(require(*READERS))) -> list[PaymentView]:
    return ps.list_overdue_payments(db(request), actor, on=on)


@router.post("/cases/{case_id}/service-notice", response_model=ProcedureView, summary="公告送达决定书（六十日，期满即为送达）", responses=CONFLICT)
def service_notice(case_id: CaseKey, body: ServiceNoticeRequest, request: Request, actor: Actor = Depends(require(*ACTORS))) -> ProcedureView:
    return ps.serve_by_public_notice(db(request), actor, case_id, body)


@router.get("/repeat-vehicles", response_model=list[RepeatVehicleView], summary="五起以上违法逾期三十日未处理的机动车（第五十四条）")
def repeat_vehicles(request: Request, on: Annotated[date | None, Query(description="查询日期; defaults to today")] = None, actor: Actor = Depends(require(*READERS))) -> list[RepeatVehicleView]:
    return ps.list_repeat_vehicles(db(request), actor, on=on)


@router.get("/vehicle-notices", response_model=list[VehicleNoticeView], summary="第五十四条告知与公告")
def vehicle_notices(request: Request, actor: Actor = Depends(require(*READERS))) -> list[VehicleNoticeView]:
    return ps.list_vehicle_notices(db(request), actor)


@router.post("/vehicle-notices", response_model=VehicleNoticeView, summary="登记第五十四条告知（APP、短信或邮寄）", responses=CONFLICT)
def vehicle_notice(body: VehicleNoticeRequest, request: Request, actor: Actor = Depends(require(*ACTORS))) -> VehicleNoticeView:
    return ps.record_vehicle_notice(db(request), actor, body)


@router.post("/vehicle-notices/{notice_id}/publish", response_model=VehicleNoticeView, summary="发布第五十四条公告（七日）", responses=CONFLICT)
def publish_vehicle_notice(notice_id: NoticeKey, body: PublishRequest, request: Request, actor: Actor = Depends(require(*ACTORS))) -> VehicleNoticeView:
    return ps.publish_vehicle_notice(db(request), actor, notice_id, body)
