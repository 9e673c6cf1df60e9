"""JSON API of accounts: bearer tokens, who am I, organisations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel

from trafficgov.accounts import service
from trafficgov.accounts.guard import STAFF, public, require
from trafficgov.accounts.model import LABELS_ZH, ORG_KIND_LABELS_ZH, Actor, Role
from trafficgov.accounts.tokens import TOKEN_LIFETIME, issue_token
from trafficgov.apierrors import COMMON, responses

router = APIRouter(prefix="/api/v1", tags=["accounts 账户"], responses=COMMON)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: str


class WhoAmI(BaseModel):
    username: str
    display_name: str
    role: str
    role_label: str
    unit: str | None


class OrganisationOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    parent_code: str | None
    jurisdiction: list[str]


def login(request: Request, username: str, password: str) -> Actor:
    """Check a password (argon2, in this worker thread), with a limit on failures."""
    state = request.app.state
    client = request.client.host if request.client else "?"
    if state.login_limiter.blocked(f"user:{username}", f"ip:{client}"):
        raise HTTPException(429, {"reason_zh": "登录失败次数过多，请一分钟后再试", "reason_en": "too many failed logins; try again in a minute"})
    actor = service.authenticate(state.db, username, password, state.settings.argon2_profile)
    if actor is None:
        state.login_limiter.failed(f"user:{username}", f"ip:{client}")
        raise HTTPException(401, {"reason_zh": "用户名或密码错误", "reason_en": "wrong username or password"})
    return actor


@router.post("/auth/token", response_model=TokenOut, summary="用户名和密码换取访问令牌", responses=responses(429))
def token(
    request: Request,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
    _caller: Actor | None = Depends(public()),
) -> TokenOut:
    actor = login(request, username, password)
    now = datetime.now(UTC)
    return TokenOut(access_token=issue_token(request.app.state.token_key, actor, now), expires_at=now + TOKEN_LIFETIME, role=str(actor.role))


@router.get("/auth/me", response_model=WhoAmI, summary="当前账户")
def whoami(actor: Actor = Depends(require())) -> WhoAmI:
    return WhoAmI(username=actor.username, display_name=actor.display_name, role=str(actor.role), role_label=LABELS_ZH[actor.role], unit=actor.unit)


@router.get("/organisations", response_model=list[OrganisationOut], summary="机构：支队各单位与协作部门")
def organisations(request: Request, actor: Actor = Depends(require(*STAFF, Role.PARTNER))) -> list[OrganisationOut]:
    return [
        OrganisationOut(code=o.code, name=o.name, kind=o.kind, kind_label=ORG_KIND_LABELS_ZH.get(o.kind, o.kind), parent_code=o.parent_code, jurisdiction=(o.jurisdiction or "").split())
        for o in service.list_organisations(request.app.state.db)
    ]
