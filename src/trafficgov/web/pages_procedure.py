"""处罚程序 pages: the officer's procedure page of a case (prior notice, answers to the party, service of the
decision, payment), the list of submissions awaiting an answer, and the party's own page (notice,
statement or hearing request, online objection, answers and amount due)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement.service import Conflict
from trafficgov.errors import FieldError
from trafficgov.web.pages_common import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

STAFF = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
PARTIES = (Role.CITIZEN, Role.COMPANY)
CaseKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
SubmissionKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _db(request: Request):
    return request.app.state.db


def _procedure_page(request: Request, actor: Actor, case_id: int, status_code: int = 200, **context):
    view = ps.get_procedure(_db(request), actor, case_id)
    return render(request, "procedure_case.html", actor, status_code=status_code, view=view, may_act=actor.role is Role.OFFICER, party=actor.role in PARTIES, **context)


@router.get("/enforcement/cases/{case_id}/procedure", response_class=HTMLResponse)
def procedure_page(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*STAFF, page=True))):
    return _procedure_page(request, actor, case_id)


@router.post("/enforcement/cases/{case_id}/notice", response_class=HTMLResponse)
def notice(case_id: CaseKey, request: Request, facts_zh: Annotated[str, Form(max_length=2000)] = "", actor: Actor = Depends(require(Role.OFFICER, page=True))):
    try:
        ps.serve_notice(_db(request), actor, case_id, ps.NoticeRequest(facts_zh=facts_zh or None))
    except FieldError as exc:
        return _procedure_page(request, actor, case_id, status_code=422, error=exc.zh)
    except Conflict as exc:
        return _procedure_page(request, actor, case_id, status_code=409, error=exc.zh)
    return RedirectResponse(f"/enforcement/cases/{case_id}/procedure", status_code=303)


@router.post("/enforcement/cases/{case_id}/served", response_class=HTMLResponse)
def served(case_id: CaseKey, request: Request, actor: Actor = Depends(require(Role.OFFICER, page=True))):
    try:
        ps.serve_decision(_db(request), actor, case_id, ps.ServeRequest())
    except FieldError as exc:
        return _procedure_page(request, actor, case_id, status_code=422, error=exc.zh)
    except Conflict as exc:
        return _procedure_page(request, actor, case_id, status_code=409, error=exc.zh)
    return RedirectResponse(f"/enforcement/cases/{case_id}/procedure", status_code=303)


@router.get("/enforcement/submissions", response_class=HTMLResponse)
def submissions_page(request: Request, actor: Actor = Depends(require(*STAFF, page=True))):
    return render(request, "procedure_submissions.html", actor, submissions=ps.open_submissions(_db(request), actor), may_act=actor.role is Role.OFFICER)


@router.post("/enforcement/submissions/{submission_id}/answer", response_class=HTMLResponse)
def answer(
    submission_id: SubmissionKey,
    request: Request,
    answer: Annotated[str, Form(max_length=4000)],
    accepted: Annotated[str, Form(max_length=8)] = "no",
    actor: Actor = Depends(require(Role.OFFICER, page=True)),
):
    db = _db(request)
    try:
        ps.answer(db, actor, submission_id, ps.AnswerRequest(answer=answer, accepted=accepted == "yes"))
    except (FieldError, ValueError) as exc:
        zh = exc.zh if isinstance(exc, FieldError) else "答复内容至少两个字"
        return render(request, "procedure_submissions.html", actor, status_code=422, submissions=ps.open_submissions(db, actor), may_act=True, error=zh)
    except Conflict as exc:
        return render(request, "procedure_submissions.html", actor, status_code=409, submissions=ps.open_submissions(db, actor), may_act=True, error=exc.zh)
    return RedirectResponse("/enforcement/submissions", status_code=303)


# ---------------------------------------------------------------- the party's pages


@router.get("/me/violations/{case_id}", response_class=HTMLResponse)
def my_case_page(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*PARTIES, page=True))):
    return _procedure_page(request, actor, case_id)


@router.post("/me/violations/{case_id}/statement", response_class=HTMLResponse)
def my_statement(
    case_id: CaseKey,
    request: Request,
    kind: Annotated[str, Form(max_length=16)],
    text: Annotated[str, Form(max_length=4000)] = "",
    actor: Actor = Depends(require(*PARTIES, page=True)),
):
    try:
        ps.submit(_db(request), actor, case_id, ps.SubmissionRequest(kind=kind, text=text))  # type: ignore[arg-type]
    except FieldError as exc:
        return _procedure_page(request, actor, case_id, status_code=422, error=exc.zh)
    except ValueError:
        return _procedure_page(request, actor, case_id, status_code=422, error="提交类型无效")
    except Conflict as exc:
        return _procedure_page(request, actor, case_id, status_code=409, error=exc.zh)
    return RedirectResponse(f"/me/violations/{case_id}", status_code=303)


@router.post("/me/violations/{case_id}/objection", response_class=HTMLResponse)
def my_objection(case_id: CaseKey, request: Request, text: Annotated[str, Form(max_length=4000)] = "", actor: Actor = Depends(require(*PARTIES, page=True))):
    try:
        ps.object_online(_db(request), actor, ps.ObjectionRequest(case_id=case_id, text=text))
    except FieldError as exc:
        return _procedure_page(request, actor, case_id, status_code=422, error=exc.zh)
    except ValueError:
        return _procedure_page(request, actor, case_id, status_code=422, error="请填写异议内容（至少两个字）")
    return RedirectResponse(f"/me/violations/{case_id}", status_code=303)
