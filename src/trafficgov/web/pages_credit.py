"""信用监管 pages: a company's own grade and risk (本单位信用), officers' risk ranking, a subject's detail and
the on-site inspection schedule (检查计划), and a company's earned-recognition KPIs (守信激励申请指标)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.credit import kpis_service, scores_service
from trafficgov.credit.kpis_service import KPI_READERS
from trafficgov.credit.scores_service import BAND_ZH, KIND_ZH, STAFF_READERS
from trafficgov.web.pages_common import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
GRADE_CLASS = {"AAA": "ok", "AA": "ok", "A": "info", "B": "bad"}
BAND_CLASS = {"low": "ok", "medium": "warn", "high": "bad", "insufficient_data": "muted-badge"}
COMMON = {"band_zh": BAND_ZH, "kind_zh": KIND_ZH, "grade_class": GRADE_CLASS, "band_class": BAND_CLASS}


def _db(request: Request):
    return request.app.state.db


@router.get("/credit/mine", response_class=HTMLResponse)
def mine(request: Request, actor: Actor = Depends(require(Role.COMPANY, page=True))):
    return render(request, "credit_company.html", actor, credit=scores_service.company_credit(_db(request), actor), **COMMON)


@router.get("/credit/companies/{uscc}", response_class=HTMLResponse)
def company(uscc: Annotated[str, Path(max_length=18)], request: Request, actor: Actor = Depends(require(*STAFF_READERS, page=True))):
    return render(request, "credit_company.html", actor, credit=scores_service.company_credit(_db(request), actor, uscc), **COMMON)


@router.get("/credit/ranking", response_class=HTMLResponse)
def ranking(
    request: Request,
    kind: Annotated[Literal["company", "school", "driver", "vehicle"], Query()] = "company",
    band: Annotated[Literal["", "low", "medium", "high", "insufficient_data"], Query()] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    actor: Actor = Depends(require(*STAFF_READERS, page=True)),
):
    page = scores_service.ranking(_db(request), actor, subject_kind=kind, band=band or None, limit=limit)
    return render(request, "credit_ranking.html", actor, page=page, kind=kind, band=band, limit=limit, **COMMON)


@router.get("/credit/subjects/{kind}/{subject_id}", response_class=HTMLResponse)
def subject(
    kind: Literal["company", "school", "driver", "vehicle"],
    subject_id: Annotated[str, Path(max_length=32)],
    request: Request,
    actor: Actor = Depends(require(*STAFF_READERS, Role.COMPANY, page=True)),
):
    return render(request, "credit_subject.html", actor, s=scores_service.subject(_db(request), actor, kind, subject_id), notice=scores_service.DEFAULTS_NOTICE_ZH, risk_notice=scores_service.RISK_NOTICE_ZH, **COMMON)


@router.get("/credit/schedule", response_class=HTMLResponse)
def schedule(
    request: Request,
    kind: Annotated[Literal["company", "vehicle"], Query()] = "company",
    actor: Actor = Depends(require(Role.OFFICER, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN, page=True)),
):
    return render(request, "credit_schedule.html", actor, plan=scores_service.schedule(_db(request), actor, subject_kind=kind), kind=kind, **COMMON)


@router.get("/credit/kpis", response_class=HTMLResponse)
def kpis(
    request: Request,
    uscc: Annotated[str | None, Query(max_length=18)] = None,
    actor: Actor = Depends(require(Role.COMPANY, *KPI_READERS, page=True)),
):
    if actor.role is Role.COMPANY:
        report = kpis_service.company_kpis(_db(request), actor)
    else:  # staff pick a company by its USCC (the form on the page when none is given)
        report = kpis_service.company_kpis(_db(request), actor, uscc) if uscc else None
    return render(request, "credit_kpis.html", actor, report=report, uscc=uscc or "")
