"""执法监督 pages: the supervisor's consistency audit (同案不同罚), the 双公示 list, and the legal
reviewer's leniency-list evaluation (定期评估). Read-only: nothing here writes a rule file or a table."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.enforcement import oversight_service as svc
from trafficgov.enforcement.oversight import OUTCOME_ZH
from trafficgov.web.pages_common import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

RECOMMENDATION_ZH = {"keep": "建议保留", "remove": "建议移出", "add": "建议纳入", "none": "—", "insufficient_data": "样本不足"}


def _db(request: Request):
    return request.app.state.db


@router.get("/oversight/consistency", response_class=HTMLResponse)
def consistency_page(request: Request, actor: Actor = Depends(require(Role.SUPERVISOR, Role.LEGAL_REVIEWER, page=True))):
    report = svc.consistency_report(_db(request), actor)
    return render(request, "oversight_consistency.html", actor, report=report, outcomes=OUTCOME_ZH)


@router.get("/oversight/disclosure", response_class=HTMLResponse)
def disclosure_page(request: Request, actor: Actor = Depends(require(Role.SUPERVISOR, Role.ADMIN, page=True))):
    rows = svc.disclosure(_db(request), actor)
    return render(request, "oversight_disclosure.html", actor, rows=rows)


@router.get("/oversight/leniency", response_class=HTMLResponse)
def leniency_page(
    request: Request,
    window_days: Annotated[int, Query(ge=1, le=730)] = 90,
    as_of: date | None = None,
    actor: Actor = Depends(require(Role.LEGAL_REVIEWER, Role.SUPERVISOR, page=True)),
):
    report = svc.leniency_report(_db(request), actor, var_dir=request.app.state.settings.var_dir, as_of=as_of, window_days=window_days)
    return render(request, "oversight_leniency.html", actor, report=report, recommendations=RECOMMENDATION_ZH, outcomes=OUTCOME_ZH)
