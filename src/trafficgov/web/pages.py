"""Chinese pages shared by every role: log in, log out, home (each role lands on its own page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.api import login
from trafficgov.accounts.guard import SESSION_KEY, public, require
from trafficgov.accounts.model import LABELS_ZH, Actor
from trafficgov.accounts.policy import role_policy
from trafficgov.accounts.tokens import issue_token

router = APIRouter(include_in_schema=False)


def render(request: Request, template: str, actor: Actor | None, status_code: int = 200, **context):
    return request.app.state.templates.TemplateResponse(
        request, template, {"actor": actor, "role_labels": LABELS_ZH, **context}, status_code=status_code
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", caller: Actor | None = Depends(public())):
    return render(request, "login.html", None, next=next if next.startswith("/") else "/")


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
        return render(request, "login.html", None, status_code=exc.status_code, error=exc.detail["reason_zh"], username=username, next=next)
    request.session[SESSION_KEY] = issue_token(request.app.state.token_key, actor, datetime.now(UTC))
    target = next if next.startswith("/") and next not in ("/", "/login") else role_policy(actor.role).home
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
