"""JSON API of credit supervision under /api/v1: the newest scoring run (ranked subjects, one subject's
grade and risk, a company's own page) and the on-site inspection schedule; running the daily job."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, responses
from trafficgov.credit import kpis_service, scores_service
from trafficgov.credit.kpis_service import KPI_READERS, KpiReport
from trafficgov.credit.scores_service import STAFF_READERS, CompanyCredit, Schedule, ScoresPage, ScoreView

router = APIRouter(prefix="/api/v1", tags=["credit 信用监管"], responses={**COMMON, **responses(404)})
Kind = Literal["company", "school", "driver", "vehicle"]
Band = Literal["low", "medium", "high", "insufficient_data"]


def db(request: Request):
    return request.app.state.db


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date


@router.get("/credit/scores", response_model=ScoresPage, summary="风险排名：最新评分批次，风险高者在前")
def scores(
    request: Request,
    subject_kind: Annotated[Kind | None, Query()] = None,
    band: Annotated[Band | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
    actor: Actor = Depends(require(*STAFF_READERS)),
) -> ScoresPage:
    return scores_service.ranking(db(request), actor, subject_kind=subject_kind, band=band, limit=limit)


@router.get("/credit/subjects/{subject_kind}/{subject_id}", response_model=ScoreView, summary="主体信用等级（含扣分与否决项）与风险（含原因）")
def subject(
    subject_kind: Kind,
    subject_id: Annotated[str, Path(max_length=32)],
    request: Request,
    actor: Actor = Depends(require(*STAFF_READERS, Role.COMPANY)),
) -> ScoreView:
    return scores_service.subject(db(request), actor, subject_kind, subject_id)


@router.get("/credit/mine", response_model=CompanyCredit, summary="本单位信用等级、风险及所属车辆、驾驶人")
def mine(request: Request, actor: Actor = Depends(require(Role.COMPANY))) -> CompanyCredit:
    return scores_service.company_credit(db(request), actor)


@router.get("/credit/companies/{uscc}", response_model=CompanyCredit, summary="企业信用（监管人员查看）")
def company(uscc: Annotated[str, Path(max_length=18)], request: Request, actor: Actor = Depends(require(*STAFF_READERS))) -> CompanyCredit:
    return scores_service.company_credit(db(request), actor, uscc)


@router.get("/credit/schedule", response_model=Schedule, summary="检查计划：按风险与名单确定的现场检查间隔与到期日")
def schedule(
    request: Request,
    subject_kind: Annotated[Literal["company", "vehicle"], Query()] = "company",
    as_of: Annotated[date | None, Query()] = None,
    actor: Actor = Depends(require(Role.OFFICER, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN)),
) -> Schedule:
    return scores_service.schedule(db(request), actor, as_of=as_of, subject_kind=subject_kind)


@router.post("/credit/runs", summary="执行每日信用监管作业（评分、名单建议、预警）")
def run(body: RunRequest, request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.SUPERVISOR))) -> dict[str, Any]:
    from trafficgov.credit import jobs

    return jobs.daily(db(request), actor, body.as_of)


@router.get("/credit/kpis", response_model=KpiReport, summary="本单位守信认定指标（申请列入红名单）")
def own_kpis(request: Request, as_of: Annotated[date | None, Query()] = None, actor: Actor = Depends(require(Role.COMPANY))) -> KpiReport:
    return kpis_service.company_kpis(db(request), actor, as_of=as_of)


@router.get("/credit/kpis/{uscc}", response_model=KpiReport, summary="企业守信认定指标（监管人员查看）")
def company_kpis(
    uscc: Annotated[str, Path(max_length=18)],
    request: Request,
    as_of: Annotated[date | None, Query()] = None,
    actor: Actor = Depends(require(*KPI_READERS)),
) -> KpiReport:
    return kpis_service.company_kpis(db(request), actor, uscc, as_of=as_of)
