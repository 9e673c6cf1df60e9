"""我的信息 — a citizen's licence, points, vehicles and correction requests; a company's vehicles and drivers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.errors import FieldError
from trafficgov.registry import service
from trafficgov.registry.model import CORRECTABLE
from trafficgov.web.pages_common import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

FIELD_LABELS = {"name": "姓名", "phone": "联系电话", "address": "住址"}


def _me(request: Request, actor: Actor, status_code: int = 200, **context):
    db = request.app.state.db
    records = service.my_records(db, actor)
    corrections = service.list_corrections(db, actor) if actor.role is Role.CITIZEN else []
    return render(
        request,
        "me.html",
        actor,
        status_code=status_code,
        records=records,
        corrections=corrections,
        fields=[(f, FIELD_LABELS.get(f, f)) for f in CORRECTABLE["person"]],
        field_labels=FIELD_LABELS,
        **context,
    )


@router.get("/me", response_class=HTMLResponse)
def my_page(
    request: Request,
    sent: int | None = None,
    actor: Actor = Depends(require(Role.CITIZEN, Role.COMPANY, page=True)),
):
    return _me(request, actor, sent=sent)


@router.post("/me/corrections", response_class=HTMLResponse)
def ask_correction(
    request: Request,
    field: Annotated[str, Form(max_length=32)],
    requested_value: Annotated[str, Form(max_length=256)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    actor: Actor = Depends(require(Role.CITIZEN, page=True)),
):
    try:
        created = service.submit_correction(request.app.state.db, actor, field, requested_value, reason)
    except FieldError as error:
        form = {"field": field, "requested_value": requested_value, "reason": reason}
        return _me(request, actor, status_code=422, form_error=error.zh, form=form)
    return RedirectResponse(f"/me?sent={created.id}#corrections", status_code=303)
