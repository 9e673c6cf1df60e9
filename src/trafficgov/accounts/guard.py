"""FastAPI dependencies that say who may call a route: bearer tokens for the API, sessions for pages.

Every route declares its callers with `require(...)` (or `public()`); the role x route matrix test
reads `allowed_roles` off each route's dependencies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import HTTPException, Request, status

from trafficgov.accounts.model import ALL_ROLES, Actor, Role
from trafficgov.accounts.tokens import read_token

SESSION_KEY = "actor"


def actor_from_request(request: Request) -> Actor | None:
    """The caller: a valid bearer token, else the browser session's signed token; None if anonymous."""
    key: bytes = request.app.state.token_key
    header = request.headers.get("authorization", "")
    now = datetime.now(UTC)
    if header[:7].lower() == "bearer ":
        return read_token(key, header[7:].strip(), now)
    if "session" in request.scope:
        token = request.session.get(SESSION_KEY)
        if token:
            return read_token(key, token, now)
    return None


class PageLoginRequired(Exception):
    """A page was opened without a session: the app answers with a redirect to /login."""


def require(*roles: Role, page: bool = False) -> Callable[[Request], Awaitable[Actor]]:
    """A dependency that returns the caller if their role is one of `roles` (401 anonymous, 403 other)."""
    allowed = frozenset(roles) if roles else ALL_ROLES

    # async on purpose: it does no I/O (an HMAC and a JSON parse), and a sync dependency would cost a
    # round trip through the thread pool on every request.
    async def dependency(request: Request) -> Actor:
        actor = actor_from_request(request)
        if actor is None:
            if page:
                raise PageLoginRequired()
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, {"reason_zh": "请先登录", "reason_en": "authentication required"}, headers={"WWW-Authenticate": "Bearer"})
        if actor.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, {"reason_zh": "您的角色无权访问此功能", "reason_en": f"role {actor.role} may not call this route"})
        request.state.actor = actor
        return actor

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    dependency.page = page  # type: ignore[attr-defined]
    return dependency


def public() -> Callable[[Request], Awaitable[Actor | None]]:
    """A dependency for routes anyone may call (login, health); returns the caller if logged in."""

    async def dependency(request: Request) -> Actor | None:
        return actor_from_request(request)

    dependency.allowed_roles = "public"  # type: ignore[attr-defined]
    dependency.page = False  # type: ignore[attr-defined]
    return dependency


STAFF = (Role.CLERK, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN)
