"""What every Chinese page shares: rendering with the role's nav bar, date formats, masking of free text."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from trafficgov.accounts.guard import actor_from_request
from trafficgov.accounts.model import LABELS_ZH, Actor, Role
from trafficgov.accounts.policy import role_policy
from trafficgov.enforcement.procedure import cite
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.masking import mask_id_number, mask_phone

# Pages show times as the bureau reads them (Beijing time); the store keeps UTC.
BEIJING = timezone(timedelta(hours=8), "北京时间")

SEARCH = ("/search", "综合查询")
CORRECTIONS = ("/corrections", "更正申请")
IMPORTS = ("/imports", "数据导入")
AUDIT = ("/audit", "审计日志")
REVIEW = ("/enforcement/review", "抓拍审核")
APPROVALS = ("/enforcement/approvals", "法制审核")
MY_VIOLATIONS = ("/me/violations", "我的违法")
CONSISTENCY = ("/oversight/consistency", "同案不同罚")
DISCLOSURE = ("/oversight/disclosure", "双公示")
LENIENCY_EVAL = ("/oversight/leniency", "清单评估")
HEARINGS = ("/enforcement/hearings", "听证")
UNPAID = ("/enforcement/payments/overdue", "逾期未缴")
REPEAT = ("/enforcement/repeat-vehicles", "多起未处理")
CREDIT_MINE = ("/credit/mine", "本单位信用")
RANKING = ("/credit/ranking", "风险排名")
SCHEDULE = ("/credit/schedule", "检查计划")
WARNINGS = ("/credit/warnings", "主动预警")
LISTS = ("/credit/lists", "红黑名单")
DISPUTES = ("/credit/disputes", "信用异议")
GRANTS = ("/hub/grants", "共享授权")
MY_READS = ("/me/reads", "谁查看了我的数据")
ENTITIES = ("/hub/entities", "主数据")
QUALITY = ("/hub/quality", "数据质量")

NAV: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.CITIZEN: (("/me", "我的信息"), MY_VIOLATIONS, MY_READS),
    Role.COMPANY: (("/me", "本单位信息"), MY_VIOLATIONS, CREDIT_MINE, WARNINGS, ("/credit/lists", "信用名单"), DISPUTES),
    Role.CLERK: (SEARCH, CORRECTIONS, IMPORTS, UNPAID, REPEAT, ENTITIES, QUALITY),
    Role.OFFICER: (SEARCH, REVIEW, HEARINGS, UNPAID, REPEAT, RANKING, SCHEDULE, WARNINGS, DISPUTES),
    Role.LEGAL_REVIEWER: (SEARCH, APPROVALS, CONSISTENCY, DISCLOSURE, LENIENCY_EVAL, LISTS, DISPUTES, GRANTS),
    Role.SUPERVISOR: (AUDIT, SEARCH, CORRECTIONS, IMPORTS, CONSISTENCY, DISCLOSURE, LENIENCY_EVAL, RANKING, LISTS, WARNINGS, GRANTS, ENTITIES, QUALITY),
    Role.PARTNER: (("/partner", "协作部门"), ("/partner/query", "共享调用"), GRANTS, QUALITY),
    Role.COMMAND: (SEARCH, RANKING, SCHEDULE, QUALITY),
    Role.ADMIN: (IMPORTS, AUDIT, SEARCH, CORRECTIONS, DISCLOSURE, RANKING, GRANTS, ENTITIES, QUALITY),
}


def nav_for(actor: Actor | None, path: str = "") -> list[dict[str, Any]]:
    """The role's nav bar, the current section marked."""
    if actor is None:
        return []
    items = NAV[Role(actor.role)]
    # the longest matching entry is the current one: /me/reads marks 谁查看了我的数据, not 我的信息 too
    matches = [href for href, _ in items if path == href or path.startswith(href + "/")]
    current = max(matches, key=len) if matches else None
    return [{"href": href, "label": label, "current": href == current} for href, label in items]


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    if value.year == 9999:  # how the registry writes a licence valid for life
        return "长期"
    return value.isoformat()


def fmt_time(value: datetime | None) -> str:
    """A stored (UTC) time in Beijing time, to the minute."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def fmt_bytes(value: int | None) -> str:
    size = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def purposes() -> list[tuple[str, str]]:
    """查询事由 choices: (code, Chinese label)."""
    return [(code, entry.label_zh) for code, entry in code_tables().query_purposes.items()]


def set_label(code: str | None) -> str:
    """The Chinese label of a vehicle-set member (重点车辆 / 两客一危一货 reasons)."""
    from trafficgov.registry.vehicle_sets import vehicle_sets

    return vehicle_sets().labels_zh.get(code, code) if code else ""


def plate_color(plate_type: str) -> str:
    """号牌底色 of a plate type (blue, yellow, gradient_green …), for the plate's look on a page."""
    entry = code_tables().plate_types.get(plate_type)
    return entry.color if entry is not None else "unknown"


def purpose_label(code: str | None) -> str:
    return code_tables().label("query_purposes", code) if code else "—"


_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def mask_text(actor: Actor, text: str | None) -> str | None:
    """Mask resident ID and mobile numbers inside free text (a quarantined raw line, an audit key)
    unless the role may see them in clear (accounts/data/roles.yaml)."""
    if text is None:
        return None
    unmasked = set(role_policy(actor.role).unmasked)
    if "id_number" not in unmasked:
        text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group()) or "", text)
    if "phone" not in unmasked:
        text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group()) or "", text)
    return text


def is_masked(value: str | None) -> bool:
    return bool(value) and "*" in value  # type: ignore[operator]


def install_globals(request: Request) -> None:
    """Give the app's Jinja environment the helpers the templates use (PageRoute calls it first).

    The environment belongs to the app (app.py builds it); registering here keeps app.py free of
    page details, and error.html (rendered by app.py's handlers) then gets the nav bar too.
    """
    env = request.app.state.templates.env
    if "nav_for" not in env.globals:
        env.globals.update(
            nav_for=nav_for,
            role_labels=LABELS_ZH,
            fmt_date=fmt_date,
            fmt_time=fmt_time,
            fmt_bytes=fmt_bytes,
            purpose_label=purpose_label,
            is_masked=is_masked,
            set_label=set_label,
            plate_color=plate_color,
        )
        env.filters["cite"] = cite


def render(
    request: Request,
    template: str,
    actor: Actor | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
):
    install_globals(request)
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {"actor": actor, "role_labels": LABELS_ZH, **context},
        status_code=status_code,
        headers=headers,
    )


def status_of(exc: Exception) -> int:
    """The HTTP status a page answers a refused action with: 422 a field is wrong, 409 someone acted first,
    403 not allowed, 404 not found."""
    from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound

    for kind, status in ((FieldError, 422), (Conflict, 409), (Forbidden, 403), (NotFound, 404)):
        if isinstance(exc, kind):
            return status
    return 400


def safe_next(target: str | None) -> str | None:
    """A local path to go back to after login; anything that could leave the site is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


class PageRoute(APIRoute):
    """A page route: an HTTPException (a wrong role, a rate limit) becomes the Chinese error page.

    app.py turns domain errors into pages; the guard's own 403 is an HTTPException, which FastAPI
    would answer with JSON, so page routers catch it here.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            install_globals(request)
            try:
                return await handler(request)
            except HTTPException as exc:
                detail = (
                    exc.detail
                    if isinstance(exc.detail, dict)
                    else {"reason_zh": str(exc.detail), "reason_en": str(exc.detail)}
                )
                actor = getattr(request.state, "actor", None) or actor_from_request(request)
                return render(
                    request,
                    "error.html",
                    actor,
                    status_code=exc.status_code,
                    status=exc.status_code,
                    detail=detail,
                    headers=exc.headers,
                )

        return page_handler
