"""Chinese pages shared by every role: log in, log out, home (each role lands on its own page).

The pages of each area live in `pages_*.py` routers that this router includes, so that app.py mounts
one router for all pages.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.api import login
from trafficgov.accounts.guard import SESSION_KEY, public, require
from trafficgov.accounts.model import Actor
from trafficgov.accounts.policy import role_policy
from trafficgov.accounts.tokens import issue_token
from trafficgov.web.pages_common import PageRoute, render, safe_next

__all__ = ["render", "router"]

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", caller: Actor | None = Depends(public())):
    return render(request, "login.html", None, next=safe_next(next) or "/", caller=caller)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=256)] = "/",
    caller: Actor | None = Depends(public()),
):
    from datetime import UTC, datetime

    try:
        actor = login(request, username, password)
    except HTTPException as exc:
        return render(
            request,
            "login.html",
            None,
            status_code=exc.status_code,
            error=exc.detail["reason_zh"],
            username=username,
            next=safe_next(next) or "/",
        )
    request.session[SESSION_KEY] = issue_token(request.app.state.token_key, actor, datetime.now(UTC))
    target = safe_next(next)
    if target in (None, "/", "/login"):
        target = role_policy(actor.role).home
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, caller: Actor | None = Depends(public())):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(request: Request, actor: Actor = Depends(require(page=True))):
    return RedirectResponse(role_policy(actor.role).home, status_code=303)


@router.get("/health", response_class=HTMLResponse)
def health(caller: Actor | None = Depends(public())):
    return HTMLResponse("ok")


def _include_areas() -> None:
    from trafficgov.web import (
        pages_audit,
        pages_credit,
        pages_credit_lists,
        pages_credit_warnings,
        pages_enforcement,
        pages_hub,
        pages_hub_quality,
        pages_me,
        pages_oversight,
        pages_procedure,
        pages_records,
        pages_work,
    )

    for area in (pages_me, pages_records, pages_work, pages_audit, pages_enforcement, pages_oversight, pages_procedure, pages_credit, pages_credit_lists, pages_credit_warnings, pages_hub, pages_hub_quality):
        router.include_router(area.router)


_include_areas()
