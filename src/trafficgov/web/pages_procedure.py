"""处罚程序 pages: the officer's procedure page of a case (prior notice, answers to the party, hearings,
service of the decision, also by public notice, payment), the lists of submissions awaiting an answer,
hearings, overdue fines and vehicles under ProcReg Art. 54, and the party's own page (notice, statement
or hearing request, the hearing, online objection, answers, amount due and the application to defer or pay
a fine in instalments, which the staff approve or reject on the procedure page)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.enforcement import procedure as proc
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement import service
from trafficgov.enforcement.decide import OUTCOME_ZH
from trafficgov.enforcement.service import Conflict
from trafficgov.errors import FieldError
from trafficgov.web.pages_common import BEIJING, PageRoute, render, status_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

STAFF = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
READERS = (Role.OFFICER, Role.CLERK, Role.LEGAL_REVIEWER, Role.SUPERVISOR)
ACTORS = (Role.OFFICER, Role.CLERK)
PARTIES = (Role.CITIZEN, Role.COMPANY)
CaseKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
SubmissionKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _db(request: Request):
    return request.app.state.db


def _procedure_page(request: Request, actor: Actor, case_id: int, status_code: int = 200, **context):
    view = ps.get_procedure(_db(request), actor, case_id)
    party = actor.role in PARTIES
    # the party's own page also says what the case is and what was decided (staff have the case page for it)
    case = service.get_case(_db(request), actor, case_id) if party else None
    return render(
        request, "procedure_case.html", actor, status_code=status_code, view=view, case=case, outcomes=OUTCOME_ZH, may_act=actor.role is Role.OFFICER,
        may_record=actor.role in ACTORS, party=party, may_decide=actor.role in STAFF, relief=proc.procedure_rules().at(datetime.now(BEIJING).date()).payment_relief, **context,
    )


@router.get("/enforcement/cases/{case_id}/procedure", response_class=HTMLResponse)
def procedure_page(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*READERS, page=True))):
    return _procedure_page(request, actor, case_id)


@router.post("/enforcement/cases/{case_id}/notice", response_class=HTMLResponse)
def notice(case_id: CaseKey, request: Request, facts_zh: Annotated[str, Form(max_length=2000)] = "", actor: Actor = Depends(require(Role.OFFICER, page=True))):
    try:
        ps.serve_notice(_db(request), actor, case_id, ps.NoticeRequest(facts_zh=facts_zh or None))
    except (FieldError, Conflict) as exc:
        return _procedure_page(request, actor, case_id, status_code=status_of(exc), error=exc.zh)
    return RedirectResponse(f"/enforcement/cases/{case_id}/procedure", status_code=303)


@router.post("/enforcement/cases/{case_id}/served", response_class=HTMLResponse)
def served(case_id: CaseKey, request: Request, actor: Actor = Depends(require(Role.OFFICER, page=True))):
    try:
        ps.serve_decision(_db(request), actor, case_id, ps.ServeRequest())
    except (FieldError, Conflict) as exc:
        return _procedure_page(request, actor, case_id, status_code=status_of(exc), error=exc.zh)
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


PLAN_ROWS = 24  # the request model's limit; the form shows the region's maximum


@router.post("/me/violations/{case_id}/payment-plan", response_class=HTMLResponse)
async def my_payment_plan(case_id: CaseKey, request: Request, actor: Actor = Depends(require(*PARTIES, page=True))):
    """申请延期/分期缴纳 — the party's form: kind, reason and rows of due date and amount (empty rows ignored)."""
    form = await request.form()

    def text(name: str, limit: int) -> str:
        value = form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    def act():
        schedule = []
        for n in range(1, PLAN_ROWS + 1):
            due, amount = text(f"due_{n}", 10), text(f"amount_{n}", 16)
            if not due and not amount:
                continue
            try:
                schedule.append(ps.PlanEntry(due=date.fromisoformat(due), amount_yuan=Decimal(amount)))
            except (InvalidOperation, ValueError):
                raise FieldError(f"schedule.{len(schedule)}", f"第{n}行请填写缴纳日期和金额（元，至多两位小数）", f"row {n}: a date and an amount") from None
        body = ps.PaymentPlanRequest(kind=text("kind", 16), reason=text("reason", 4000), schedule=schedule)  # type: ignore[arg-type]
        ps.apply_payment_plan(_db(request), actor, case_id, body)

    return await run_in_threadpool(_party_action, request, actor, case_id, act)


def _party_action(request: Request, actor: Actor, case_id: int, action):
    return _case_action(request, actor, case_id, action, back=f"/me/violations/{case_id}#payment", invalid=_plan_invalid_zh)


def _plan_invalid_zh(exc: ValidationError) -> str:
    loc = [str(p) for p in exc.errors()[0].get("loc", ())]
    if loc[:1] == ["reason"]:
        return "请写明经济困难的情况（至少四个字）"
    if loc[:1] == ["schedule"]:
        return "请至少填写一期的缴纳日期和金额（金额大于零、至多两位小数）"
    return _invalid_zh(exc)


@router.post("/enforcement/cases/{case_id}/payment-plan/decision", response_class=HTMLResponse)
def decide_payment_plan(
    case_id: CaseKey,
    request: Request,
    approve: Annotated[str, Form(max_length=8)],
    note: Annotated[str, Form(max_length=2000)] = "",
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    actor: Actor = Depends(require(*STAFF, page=True)),
):
    body = ps.PlanDecisionRequest(approve=approve == "yes", note=note, version=version)
    return _case_action(request, actor, case_id, lambda: ps.decide_payment_plan(_db(request), actor, case_id, body))


# ---------------------------------------------------------------- hearings, payments, public notices


def _invalid_zh(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    return f"填写有误：{field}"


def _case_action(request: Request, actor: Actor, case_id: int, action, *, back: str | None = None, invalid=_invalid_zh):
    """Run a write on a case's procedure page: back to the page (or `back`), or the page with the error."""
    try:
        action()
    except FieldError as exc:
        return _procedure_page(request, actor, case_id, status_code=422, error=exc.zh)
    except ValidationError as exc:
        return _procedure_page(request, actor, case_id, status_code=422, error=invalid(exc))
    except Conflict as exc:
        return _procedure_page(request, actor, case_id, status_code=409, error=exc.zh)
    return RedirectResponse(back or f"/enforcement/cases/{case_id}/procedure", status_code=303)


@router.post("/enforcement/cases/{case_id}/hearings", response_class=HTMLResponse)
def schedule_hearing(
    case_id: CaseKey,
    request: Request,
    submission_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    starts_at: Annotated[str, Form(max_length=32)],
    place: Annotated[str, Form(max_length=200)],
    presiding: Annotated[str, Form(max_length=64)],
    notified_on: Annotated[str, Form(max_length=10)] = "",
    public: Annotated[str, Form(max_length=8)] = "yes",
    secrecy_reason: Annotated[str, Form(max_length=16)] = "",
    secrecy_note: Annotated[str, Form(max_length=1000)] = "",
    actor: Actor = Depends(require(Role.OFFICER, page=True)),
):
    def act():
        try:
            start = datetime.fromisoformat(starts_at)
        except ValueError:
            raise FieldError("starts_at", "请填写听证时间", "starts_at is not a date and time") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=BEIJING)
        body = ps.HearingRequest(
            notified_on=date.fromisoformat(notified_on) if notified_on else None, starts_at=start, place=place, presiding=presiding, public=public == "yes",
            secrecy_reason=secrecy_reason or None, secrecy_note=secrecy_note,  # type: ignore[arg-type]
        )
        ps.schedule_hearing(_db(request), actor, submission_id, body)

    return _case_action(request, actor, case_id, act)


@router.post("/enforcement/cases/{case_id}/hearings/{hearing_id}/outcome", response_class=HTMLResponse)
def hearing_outcome(
    case_id: CaseKey,
    hearing_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    outcome: Annotated[str, Form(max_length=16)],
    minutes: Annotated[str, Form(max_length=20000)] = "",
    party_signed: Annotated[str, Form(max_length=8)] = "",
    refusal_note: Annotated[str, Form(max_length=1000)] = "",
    actor: Actor = Depends(require(Role.OFFICER, page=True)),
):
    def act():
        signed = {"yes": True, "no": False}.get(party_signed)
        body = ps.HearingOutcomeRequest(outcome=outcome, minutes=minutes, party_signed=signed, refusal_note=refusal_note)  # type: ignore[arg-type]
        ps.close_hearing(_db(request), actor, hearing_id, body)

    return _case_action(request, actor, case_id, act)


@router.post("/enforcement/cases/{case_id}/payments", response_class=HTMLResponse)
def record_payment(
    case_id: CaseKey,
    request: Request,
    receipt_number: Annotated[str, Form(max_length=64)],
    amount_yuan: Annotated[str, Form(max_length=16)],
    paid_on: Annotated[str, Form(max_length=10)],
    channel: Annotated[str, Form(max_length=8)],
    actor: Actor = Depends(require(*ACTORS, page=True)),
):
    def act():
        try:
            amount = Decimal(amount_yuan)
            day = date.fromisoformat(paid_on)
        except (InvalidOperation, ValueError):
            raise FieldError("amount_yuan", "请填写缴款金额和日期", "amount or date is malformed") from None
        ps.record_payment(_db(request), actor, case_id, ps.PaymentRequest(receipt_number=receipt_number.strip(), amount_yuan=amount, paid_on=day, channel=channel))  # type: ignore[arg-type]

    return _case_action(request, actor, case_id, act)


@router.post("/enforcement/cases/{case_id}/service-notice", response_class=HTMLResponse)
def service_notice(
    case_id: CaseKey,
    request: Request,
    failed_channel: Annotated[str, Form(max_length=16)],
    failure_note: Annotated[str, Form(max_length=1000)] = "",
    actor: Actor = Depends(require(*ACTORS, page=True)),
):
    def act():
        body = ps.ServiceNoticeRequest(failed_channel=failed_channel, failure_note=failure_note)  # type: ignore[arg-type]
        ps.serve_by_public_notice(_db(request), actor, case_id, body)

    return _case_action(request, actor, case_id, act)


@router.get("/enforcement/hearings", response_class=HTMLResponse)
def hearings_page(request: Request, actor: Actor = Depends(require(*STAFF, page=True))):
    return render(request, "procedure_hearings.html", actor, hearings=ps.list_hearings(_db(request), actor))


@router.get("/enforcement/payments/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, actor: Actor = Depends(require(*READERS, page=True))):
    return render(request, "procedure_overdue.html", actor, payments=ps.list_overdue_payments(_db(request), actor))


def _repeat_page(request: Request, actor: Actor, status_code: int = 200, **context):
    db = _db(request)
    return render(
        request, "procedure_repeat.html", actor, status_code=status_code, vehicles=ps.list_repeat_vehicles(db, actor), notices=ps.list_vehicle_notices(db, actor),
        may_record=actor.role in ACTORS, **context,
    )


@router.get("/enforcement/repeat-vehicles", response_class=HTMLResponse)
def repeat_page(request: Request, actor: Actor = Depends(require(*READERS, page=True))):
    return _repeat_page(request, actor)


def _repeat_action(request: Request, actor: Actor, action):
    try:
        action()
    except FieldError as exc:
        return _repeat_page(request, actor, status_code=422, error=exc.zh)
    except ValidationError as exc:
        return _repeat_page(request, actor, status_code=422, error=_invalid_zh(exc))
    except Conflict as exc:
        return _repeat_page(request, actor, status_code=409, error=exc.zh)
    return RedirectResponse("/enforcement/repeat-vehicles", status_code=303)


@router.post("/enforcement/repeat-vehicles/notice", response_class=HTMLResponse)
def repeat_notice(
    request: Request,
    plate_number: Annotated[str, Form(max_length=16)],
    plate_type: Annotated[str, Form(max_length=2)],
    channel: Annotated[str, Form(max_length=8)],
    actor: Actor = Depends(require(*ACTORS, page=True)),
):
    def act():
        body = ps.VehicleNoticeRequest(plate_number=plate_number, plate_type=plate_type, channel=channel)  # type: ignore[arg-type]
        ps.record_vehicle_notice(_db(request), actor, body)

    return _repeat_action(request, actor, act)


@router.post("/enforcement/repeat-vehicles/notices/{notice_id}/publish", response_class=HTMLResponse)
def repeat_publish(notice_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, actor: Actor = Depends(require(*ACTORS, page=True))):
    return _repeat_action(request, actor, lambda: ps.publish_vehicle_notice(_db(request), actor, notice_id, ps.PublishRequest()))
