"""审计日志 for supervisors: search, verify the chain, export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import ACTION_LABELS_ZH
from trafficgov.config import read_or_create_key
from trafficgov.errors import FieldError
from trafficgov.web.pages_common import BEIJING, PageRoute, mask_text, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

AUDITORS = (Role.SUPERVISOR, Role.ADMIN)
PAGE_SIZE = 100
Text = Annotated[str, Query(max_length=64)]


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError(
            field, f"日期格式应为 YYYY-MM-DD：{value}", f"date must be YYYY-MM-DD: {value!r}"
        ) from None


def _search(request: Request, actor: Actor, filters: dict[str, str], page: int) -> dict:
    """Run the search the form describes; dates are whole days in Beijing time, both ends included."""
    error = None
    records = []
    try:
        since_day, until_day = _day(filters["since"], "since"), _day(filters["until"], "until")
        since = datetime.combine(since_day, time(), BEIJING) if since_day else None
        until = datetime.combine(until_day + timedelta(days=1), time(), BEIJING) if until_day else None
        with request.app.state.db.transaction() as session:
            records = audit.search(
                session,
                actor=filters["actor"] or None,
                entity=filters["entity"] or None,
                record_key=filters["record_key"] or None,
                action=filters["action"] or None,
                since=since,
                until=until,
                limit=PAGE_SIZE + 1,
                offset=(page - 1) * PAGE_SIZE,
            )
    except FieldError as exc:
        error = exc.zh
    rows = [
        {
            "seq": r.seq,
            "at": r.at,
            "actor": r.actor,
            "role": r.role,
            "unit": r.unit,
            "action": r.action,
            "action_label": ACTION_LABELS_ZH.get(r.action, r.action),
            "entity": r.entity,
            "record_key": mask_text(actor, r.record_key),
            "purpose": r.purpose,
            "hash": r.hash,
        }
        for r in records[:PAGE_SIZE]
    ]
    return {"rows": rows, "more": len(records) > PAGE_SIZE, "error": error}


def _export_query(filters: dict[str, str], file_format: str) -> str:
    """Filters for the export API: the same fields, dates turned into the API's date-times."""
    query = {k: v for k, v in filters.items() if v and k in ("actor", "entity", "record_key", "action")}
    try:
        if filters["since"]:
            query["since"] = datetime.combine(
                date.fromisoformat(filters["since"]), time(), BEIJING
            ).isoformat()
        if filters["until"]:
            query["until"] = datetime.combine(
                date.fromisoformat(filters["until"]) + timedelta(days=1), time(), BEIJING
            ).isoformat()
    except ValueError:
        pass
    return urlencode({**query, "format": file_format})


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor_name: Annotated[str, Query(alias="actor", max_length=64)] = "",
    entity: Text = "",
    record_key: Text = "",
    action: Annotated[str, Query(max_length=32)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    actor: Actor = Depends(require(*AUDITORS, page=True)),
):
    filters = {
        "actor": actor_name.strip(),
        "entity": entity.strip(),
        "record_key": record_key.strip(),
        "action": action,
        "since": since,
        "until": until,
    }
    result = _search(request, actor, filters, page)
    base = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "audit.html",
        actor,
        status_code=422 if result["error"] else 200,
        filters=filters,
        page=page,
        actions=ACTION_LABELS_ZH,
        export_csv=f"/api/v1/audit/export?{_export_query(filters, 'csv')}",
        export_jsonl=f"/api/v1/audit/export?{_export_query(filters, 'jsonl')}",
        prev_url=f"/audit?{urlencode({**base, 'page': page - 1})}" if page > 1 else None,
        next_url=f"/audit?{urlencode({**base, 'page': page + 1})}" if result["more"] else None,
        **result,
    )


@router.post("/audit/verify", response_class=HTMLResponse)
def verify_chain(request: Request, actor: Actor = Depends(require(*AUDITORS, page=True))):
    """校验 — recompute the hash chain and check the signed checkpoints; htmx swaps in the result."""
    key = read_or_create_key(request.app.state.settings.audit_key_file)
    with request.app.state.db.transaction() as session:
        report = audit.verify(session, key)
    checked_at = datetime.now(BEIJING)
    if request.headers.get("HX-Request"):
        return render(request, "parts/verify_result.html", actor, report=report, checked_at=checked_at)
    filters = dict.fromkeys(("actor", "entity", "record_key", "action", "since", "until"), "")
    return render(
        request,
        "audit.html",
        actor,
        filters=filters,
        page=1,
        actions=ACTION_LABELS_ZH,
        report=report,
        checked_at=checked_at,
        export_csv=f"/api/v1/audit/export?{_export_query(filters, 'csv')}",
        export_jsonl=f"/api/v1/audit/export?{_export_query(filters, 'jsonl')}",
        prev_url=None,
        next_url=None,
        **_search(request, actor, filters, 1),
    )
