"""主动预警 pages: a company's own warnings (确认知悉), and the bureau's list of open warnings that officers
acknowledge and close with a note."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.credit import warnings_service as service
from trafficgov.credit.warnings import KIND_LABELS_ZH, KINDS
from trafficgov.errors import Conflict, FieldError
from trafficgov.web.pages_common import PageRoute, render, status_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)
READERS = (Role.COMPANY, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN)
STATE_CLASS = {"open": "bad", "acknowledged": "warn", "closed": "ok"}
KIND_CLASS = {
    "driver_points": "bad", "inspection_overdue": "bad", "insurance_overdue": "bad", "accident_rate_jump": "bad",
    "inspection_due_soon": "warn", "insurance_due_soon": "warn", "gps_offline": "warn", "fatigue_rising": "warn",
}
Key = Annotated[int, Path(ge=1, le=2**31 - 1)]
StateFilter = Literal["", "open", "acknowledged", "closed", "all"]
Sort = Literal["date", "kind"]


def _db(request: Request):
    return request.app.state.db


def _page(request: Request, actor: Actor, *, state: str = "", sort: str = "date", status_code: int = 200, **context):
    is_company = actor.role is Role.COMPANY
    # The company sees all of its warnings; the bureau starts from what is still open.
    chosen = state or ("all" if is_company else "open")
    items = service.list_warnings(_db(request), actor, state=None if chosen == "all" else chosen)
    if sort == "kind":
        items.sort(key=lambda w: (KINDS.index(w.kind) if w.kind in KINDS else len(KINDS), w.company_uscc or "", w.subject_id))
    counts: dict[str, int] = {}
    for w in items:
        counts[w.kind] = counts.get(w.kind, 0) + 1
    return render(
        request,
        "credit_warnings.html",
        actor,
        status_code=status_code,
        items=items,
        state=chosen,
        sort=sort,
        counts=[(k, KIND_LABELS_ZH[k], counts[k]) for k in KINDS if k in counts],
        states=service.STATE_ZH,
        state_class=STATE_CLASS,
        kind_class=KIND_CLASS,
        is_company=is_company,
        may_ack=actor.role in service.ACK_ROLES,
        may_close=actor.role in service.CLOSE_ROLES,
        may_run=actor.role in service.RUN_ROLES,
        **context,
    )


@router.get("/credit/warnings", response_class=HTMLResponse)
def warnings_page(
    request: Request,
    state: Annotated[StateFilter, Query()] = "",
    sort: Annotated[Sort, Query()] = "date",
    actor: Actor = Depends(require(*READERS, page=True)),
):
    return _page(request, actor, state=state, sort=sort)


@router.post("/credit/warnings/run", response_class=HTMLResponse)
def run(request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.OFFICER, Role.SUPERVISOR, page=True))):
    """预警检测 — run today's detection from the page (the same use case as the API)."""
    summary = service.raise_warnings(_db(request), actor)
    return _page(request, actor, ran=summary)


@router.post("/credit/warnings/{warning_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(warning_id: Key, request: Request, actor: Actor = Depends(require(Role.COMPANY, Role.OFFICER, Role.SUPERVISOR, page=True))):
    try:
        service.acknowledge(_db(request), actor, warning_id)
    except Conflict as exc:
        return _page(request, actor, status_code=409, error=exc.zh, error_id=warning_id)
    return RedirectResponse(f"/credit/warnings#warning-{warning_id}", status_code=303)


@router.post("/credit/warnings/{warning_id}/close", response_class=HTMLResponse)
def close(
    warning_id: Key,
    request: Request,
    note: Annotated[str, Form(max_length=2000)] = "",
    actor: Actor = Depends(require(Role.OFFICER, Role.SUPERVISOR, page=True)),
):
    try:
        service.close(_db(request), actor, warning_id, note)
    except (FieldError, Conflict) as exc:
        return _page(request, actor, status_code=status_of(exc), error=exc.zh, error_id=warning_id)
    return RedirectResponse("/credit/warnings", status_code=303)
