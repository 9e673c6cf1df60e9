"""非现场执法 pages: the officer's review queue, the case page with proposal and issue form, the legal
reviewer's approvals, and the citizen's 我的违法."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.accounts.service import display_names
from trafficgov.enforcement import drivers, procedure_service, service
from trafficgov.enforcement.admissibility import erase_reasons
from trafficgov.enforcement.decide import OUTCOME_ZH
from trafficgov.errors import Conflict, FieldError
from trafficgov.web.pages_common import PageRoute, render, status_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

CASE_READERS = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
PROCEDURE_ZH = {"simple": "简易程序", "general": "普通程序"}
CaptureKey = Annotated[str, Path(max_length=64)]
CaseKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _db(request: Request):
    return request.app.state.db


def _review_page(request: Request, actor: Actor, status_code: int = 200, **context):
    db = _db(request)
    return render(
        request,
        "enforcement_review.html",
        actor,
        status_code=status_code,
        queue=service.list_review_queue(db, actor),
        overdue=service.list_overdue(db, actor),
        reasons=list(erase_reasons().values()),
        may_review=actor.role is Role.OFFICER,
        **context,
    )


@router.get("/enforcement/review", response_class=HTMLResponse)
def review_page(request: Request, actor: Actor = Depends(require(*CASE_READERS, page=True))):
    return _review_page(request, actor)


@router.post("/enforcement/review/{capture_id}/confirm")
def confirm(capture_id: CaptureKey, request: Request, actor: Actor = Depends(require(Role.OFFICER, page=True))):
    try:
        case = service.confirm_capture(_db(request), actor, capture_id)
    except Conflict as exc:
        return _review_page(request, actor, status_code=409, error=exc.zh, error_id=capture_id)
    return RedirectResponse(f"/enforcement/cases/{case.id}", status_code=303)


@router.post("/enforcement/review/{capture_id}/reject", response_class=HTMLResponse)
def reject(
    capture_id: CaptureKey,
    request: Request,
    reason_code: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=2000)] = "",
    actor: Actor = Depends(require(Role.OFFICER, page=True)),
):
    try:
        service.reject_capture(_db(request), actor, capture_id, reason_code, note)
    except (FieldError, Conflict) as exc:
        return _review_page(request, actor, status_code=status_of(exc), error=exc.zh, error_id=capture_id)
    return RedirectResponse("/enforcement/review", status_code=303)


def _case_page(request: Request, actor: Actor, case_id: int, status_code: int = 200, **context):
    case = service.get_case(_db(request), actor, case_id)
    staff = display_names(_db(request), (case.issued_by, case.reviewed_by, case.requested_by))
    return render(
        request,
        "enforcement_case.html",
        actor,
        status_code=status_code,
        case=case,
        staff=staff,
        outcomes=OUTCOME_ZH,
        procedures=PROCEDURE_ZH,
        may_issue=actor.role is Role.OFFICER and case.status in ("proposed", "manual"),
        may_approve=actor.role is Role.LEGAL_REVIEWER and case.status == "pending_approval",
        **context,
    )


@router.get("/enforcement/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*CASE_READERS, page=True))):
    return _case_page(request, actor, case_id)


@router.post("/enforcement/cases/{case_id}/issue", response_class=HTMLResponse)
def issue(
    case_id: CaseKey,
    request: Request,
    version: Annotated[int, Form(ge=1)],
    mode: Annotated[str, Form(max_length=16)] = "proposal",
    outcome: Annotated[str, Form(max_length=24)] = "fine",
    fine_yuan: Annotated[str, Form(max_length=8)] = "",
    points: Annotated[str, Form(max_length=2)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    actor: Actor = Depends(require(Role.OFFICER, page=True)),
):
    try:
        deviation = None
        if mode == "deviate":
            try:
                deviation = service.Deviation(outcome=outcome, fine_yuan=int(fine_yuan) if fine_yuan.strip() else None, points=int(points) if points.strip() else None)  # type: ignore[arg-type]
            except ValueError as exc:
                raise FieldError("deviation", "决定内容填写有误（处罚种类、罚款金额、记分）", f"invalid deviation: {exc}") from exc
        service.issue_decision(_db(request), actor, case_id, service.IssueRequest(version=version, deviation=deviation, reason=reason or None))
    except FieldError as exc:
        return _case_page(request, actor, case_id, status_code=422, error=exc.zh, form={"reason": reason, "mode": mode})
    except Conflict as exc:
        return _case_page(request, actor, case_id, status_code=409, error=exc.zh)
    return RedirectResponse(f"/enforcement/cases/{case_id}", status_code=303)


@router.post("/enforcement/cases/{case_id}/approval", response_class=HTMLResponse)
def approval(
    case_id: CaseKey,
    request: Request,
    version: Annotated[int, Form(ge=1)],
    decision: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
    actor: Actor = Depends(require(Role.LEGAL_REVIEWER, page=True)),
):
    try:
        service.decide_deviation(_db(request), actor, case_id, service.ApprovalRequest(version=version, approve=decision == "approve", note=note))
    except (FieldError, Conflict) as exc:
        return _case_page(request, actor, case_id, status_code=status_of(exc), error=exc.zh)
    return RedirectResponse("/enforcement/approvals", status_code=303)


@router.get("/enforcement/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, actor: Actor = Depends(require(Role.LEGAL_REVIEWER, page=True))):
    cases = service.list_approvals(_db(request), actor)
    staff = display_names(_db(request), (c.requested_by for c in cases))
    return render(request, "enforcement_approvals.html", actor, cases=cases, staff=staff, outcomes=OUTCOME_ZH)


def _mine_page(request: Request, actor: Actor, status_code: int = 200, **context):
    db = _db(request)
    nominations = drivers.nominations_for_me(db, actor)
    cases = service.my_cases(db, actor)
    return render(
        request,
        "enforcement_mine.html",
        actor,
        status_code=status_code,
        cases=cases,
        payments=procedure_service.payments(db, actor, [c.id for c in cases if c.status == "issued"]),
        outcomes=OUTCOME_ZH,
        procedures=PROCEDURE_ZH,
        to_confirm=[n for n in nominations if n.status == "pending" and n.driver_id == actor.id_number],
        named={n.case_id: n for n in reversed(nominations)},
        **context,
    )


@router.get("/me/violations", response_class=HTMLResponse)
def my_violations(request: Request, actor: Actor = Depends(require(Role.CITIZEN, Role.COMPANY, page=True))):
    return _mine_page(request, actor)


def _nomination(driver_id: str, note: str) -> drivers.NominationRequest:
    try:
        return drivers.NominationRequest(driver_id=driver_id.strip(), note=note.strip())
    except ValidationError as exc:
        raise FieldError("driver_id", "请填写实际驾驶人的18位身份证号码", "an 18-digit ID number is required") from exc


@router.post("/me/violations/{case_id}/driver", response_class=HTMLResponse)
def name_driver(
    case_id: CaseKey,
    request: Request,
    driver_id: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=500)] = "",
    actor: Actor = Depends(require(Role.CITIZEN, Role.COMPANY, page=True)),
):
    """指定实际驾驶人 — the owner names who drove; the named driver confirms online."""
    try:
        drivers.nominate(_db(request), actor, case_id, _nomination(driver_id, note))
    except (FieldError, Conflict) as exc:
        return _mine_page(request, actor, status_code=status_of(exc), error=exc.zh, error_case=case_id)
    return RedirectResponse(f"/me/violations#case-{case_id}", status_code=303)


@router.post("/me/driver-nominations/{nomination_id}/answer", response_class=HTMLResponse)
def answer_nomination(
    nomination_id: CaseKey,
    request: Request,
    accept: Annotated[str, Form(max_length=3)],
    actor: Actor = Depends(require(Role.CITIZEN, page=True)),
):
    """驾驶人确认 — accept (the points go on one's own licence) or decline a naming."""
    try:
        drivers.answer(_db(request), actor, nomination_id, drivers.NominationAnswer(accept=accept == "yes"))
    except Conflict as exc:
        return _mine_page(request, actor, status_code=409, error=exc.zh)
    return RedirectResponse("/me/violations", status_code=303)


@router.post("/enforcement/cases/{case_id}/driver", response_class=HTMLResponse)
def verify_driver(
    case_id: CaseKey,
    request: Request,
    driver_id: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=500)] = "",
    actor: Actor = Depends(require(Role.OFFICER, page=True)),
):
    """民警核实实际驾驶人 — verified at the window: the points go on the driver's licence at once."""
    try:
        drivers.nominate(_db(request), actor, case_id, _nomination(driver_id, note))
    except (FieldError, Conflict) as exc:
        return _case_page(request, actor, case_id, status_code=status_of(exc), error=exc.zh)
    return RedirectResponse(f"/enforcement/cases/{case_id}", status_code=303)
