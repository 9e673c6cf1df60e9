"""信用监管 pages of the red and black lists and of disputes: the supervisor reviews and publishes proposed
entries, officers read them, a company sees its own entries and appeals; a company disputes a record and
an officer or legal reviewer decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.credit import disputes, lists, lists_service
from trafficgov.errors import Conflict, FieldError, Forbidden
from trafficgov.web.pages_common import PageRoute, render, status_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)

LIST_READERS = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN, Role.COMPANY, Role.CITIZEN)
DISPUTE_READERS = (Role.COMPANY, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN)
EntryKey = Annotated[int, Path(ge=1, le=2**31 - 1)]
GRADE_NOTE = "本等级按本局可配置默认标准评定，相关标准未经原文确认（等级表部分为本局可配置默认值）。"


def _db(request: Request):
    return request.app.state.db


def _lists_page(request: Request, actor: Actor, state: str | None, list_name: str | None, status_code: int = 200, **context):
    try:
        entries = lists_service.list_entries(_db(request), actor, state=state or None, list_name=list_name or None)
    except FieldError as exc:
        entries, context["error"], status_code = [], exc.zh, 422
    return render(
        request, "credit_lists.html", actor, status_code=status_code, entries=entries, state=state or "", list_name=list_name or "",
        states=lists.STATE_LABELS_ZH, list_labels=lists.LIST_LABELS_ZH, grade_note=GRADE_NOTE,
        staff=actor.role not in (Role.COMPANY, Role.CITIZEN), may_expire=actor.role in (Role.SUPERVISOR, Role.ADMIN), **context,
    )


@router.get("/credit/lists", response_class=HTMLResponse)
def lists_page(
    request: Request,
    state: Annotated[str | None, Query(max_length=16)] = None,
    list_name: Annotated[str | None, Query(alias="list", max_length=8)] = None,
    actor: Actor = Depends(require(*LIST_READERS, page=True)),
):
    if state is None and list_name is None and actor.role is Role.SUPERVISOR:
        state = "proposed"  # what waits for the supervisor's review
    return _lists_page(request, actor, state, list_name)


@router.post("/credit/lists/expire", response_class=HTMLResponse)
def expire(request: Request, actor: Actor = Depends(require(Role.SUPERVISOR, Role.ADMIN, page=True))):
    done = lists_service.expire_due(_db(request), None, actor)
    return _lists_page(request, actor, None, None, notice=f"已期满移出 {len(done)} 条。")


def _entry_page(request: Request, actor: Actor, entry_id: int, status_code: int = 200, **context):
    entry = lists_service.get_entry(_db(request), actor, entry_id)
    actions = lists_service.allowed_actions(actor, entry)
    return render(
        request, "credit_list_entry.html", actor, status_code=status_code, entry=entry, actions=actions,
        action_labels=lists_service.ACTION_LABELS_ZH, remedies=lists_service.remediation_fields(entry) if "repair" in actions else [],
        grade_note=GRADE_NOTE, **context,
    )


@router.get("/credit/lists/{entry_id}", response_class=HTMLResponse)
def entry_page(entry_id: EntryKey, request: Request, actor: Actor = Depends(require(*LIST_READERS, page=True))):
    return _entry_page(request, actor, entry_id)


@router.post("/credit/lists/{entry_id}/action", response_class=HTMLResponse)
async def entry_action(entry_id: EntryKey, request: Request, actor: Actor = Depends(require(*LIST_READERS, page=True))):
    """One due-process step from the entry page; remediation fields come as `rem_<code>`."""
    form = await request.form()
    action = str(form.get("action", ""))[:16]
    reason = str(form.get("reason", ""))[:2000]
    remediation: dict[str, float] = {}
    try:
        version = int(str(form.get("version", "0")))
        for key, value in form.items():
            if key.startswith("rem_") and str(value).strip():
                remediation[key[4:]] = float(str(value))
    except ValueError:
        return await run_in_threadpool(_entry_page, request, actor, entry_id, 422, error="填写的数值无效")
    refusal: tuple[int, str] | None = None
    try:
        await run_in_threadpool(lambda: lists_service.act(_db(request), actor, entry_id, action, version=version, reason=reason or None, remediation=remediation or None))
    except FieldError as exc:
        refusal = (422, exc.zh)
    except Forbidden as exc:
        refusal = (403, exc.zh)
    except Conflict as exc:
        refusal = (409, exc.zh)
    if refusal is not None:
        code, message = refusal
        return await run_in_threadpool(lambda: _entry_page(request, actor, entry_id, code, error=message, form={"reason": reason}))
    return RedirectResponse(f"/credit/lists/{entry_id}", status_code=303)


def _disputes_page(request: Request, actor: Actor, state: str | None = None, status_code: int = 200, **context):
    return render(
        request, "credit_disputes.html", actor, status_code=status_code, items=disputes.list_disputes(_db(request), actor, state or None),
        state=state or "", states=disputes.STATE_LABELS_ZH, kinds=disputes.RECORD_KIND_LABELS_ZH, grounds=disputes.GROUND_LABELS_ZH,
        may_file=actor.role is Role.COMPANY, may_decide=actor.role in disputes.DECIDING_ROLES, **context,
    )


@router.get("/credit/disputes", response_class=HTMLResponse)
def disputes_page(
    request: Request,
    state: Annotated[str | None, Query(max_length=16)] = None,
    actor: Actor = Depends(require(*DISPUTE_READERS, page=True)),
):
    if state and state not in disputes.STATE_LABELS_ZH:
        state = None
    return _disputes_page(request, actor, state)


@router.post("/credit/disputes", response_class=HTMLResponse)
def file_dispute(
    request: Request,
    record_kind: Annotated[str, Form(max_length=16)],
    record_id: Annotated[str, Form(max_length=64)],
    ground: Annotated[str, Form(max_length=24)],
    text: Annotated[str, Form(max_length=4000)] = "",
    actor: Actor = Depends(require(Role.COMPANY, page=True)),
):
    form = {"record_kind": record_kind, "record_id": record_id, "ground": ground, "text": text}
    if record_kind not in disputes.RECORD_KINDS or ground not in disputes.GROUNDS:
        return _disputes_page(request, actor, status_code=422, error="请选择记录类型和异议理由", form=form)
    try:
        disputes.file(_db(request), actor, disputes.DisputeRequest(record_kind=record_kind, record_id=record_id, ground=ground, text=text))  # type: ignore[arg-type]
    except ValidationError:
        return _disputes_page(request, actor, status_code=422, error="请填写记录编号", form=form)
    except (FieldError, Conflict) as exc:
        return _disputes_page(request, actor, status_code=status_of(exc), error=exc.zh, form=form)
    return RedirectResponse("/credit/disputes", status_code=303)


@router.post("/credit/disputes/{dispute_id}/decision", response_class=HTMLResponse)
def decide_dispute(
    dispute_id: EntryKey,
    request: Request,
    decision: Annotated[str, Form(max_length=8)],
    note: Annotated[str, Form(max_length=4000)] = "",
    actor: Actor = Depends(require(Role.OFFICER, Role.LEGAL_REVIEWER, page=True)),
):
    try:
        disputes.decide(_db(request), actor, dispute_id, decision == "uphold", note)
    except (FieldError, Conflict) as exc:
        return _disputes_page(request, actor, status_code=status_of(exc), error=exc.zh, error_id=dispute_id)
    return RedirectResponse("/credit/disputes", status_code=303)
