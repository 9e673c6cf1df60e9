"""JSON API of naming the actual driver of a camera case (ProcReg Arts. 21, 53) under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.enforcement import drivers
from trafficgov.enforcement.drivers import NominationAnswer, NominationRequest, NominationView

router = APIRouter(prefix="/api/v1", tags=["enforcement 非现场执法"], responses={**COMMON, **responses(404)})
CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — no points wait for a driver, or a named driver has not answered"}}
Key = Annotated[int, Path(ge=1, le=2**31 - 1)]


def db(request: Request):
    return request.app.state.db


@router.post("/cases/{case_id}/driver", response_model=NominationView, summary="指定实际驾驶人（车辆所有人；民警核实后直接记分）", responses=CONFLICT)
def nominate(case_id: Key, body: NominationRequest, request: Request, actor: Actor = Depends(require(Role.COMPANY, Role.CITIZEN, Role.CLERK, Role.OFFICER))) -> NominationView:
    return drivers.nominate(db(request), actor, case_id, body)


@router.get("/cases/{case_id}/driver", response_model=list[NominationView], summary="案件的实际驾驶人指定记录")
def of_case(case_id: Key, request: Request, actor: Actor = Depends(require(Role.COMPANY, Role.CITIZEN, Role.CLERK, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR))) -> list[NominationView]:
    return drivers.nominations_of_case(db(request), actor, case_id)


@router.get("/me/driver-nominations", response_model=list[NominationView], summary="待我确认的驾驶人指定 / 本单位发起的指定")
def mine(request: Request, actor: Actor = Depends(require(Role.CITIZEN, Role.COMPANY))) -> list[NominationView]:
    return drivers.nominations_for_me(db(request), actor)


@router.post("/driver-nominations/{nomination_id}/answer", response_model=NominationView, summary="被指定驾驶人确认或不认可", responses=CONFLICT)
def answer(nomination_id: Key, body: NominationAnswer, request: Request, actor: Actor = Depends(require(Role.CITIZEN))) -> NominationView:
    return drivers.answer(db(request), actor, nomination_id, body)
