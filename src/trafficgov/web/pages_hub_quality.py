"""数据质量 pages: each department's own sources with their alerts first, the figures per field with their
trend over the last runs, and a source's defects with the records behind them (personal numbers masked)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.errors import Forbidden
from trafficgov.hub import quality
from trafficgov.hub import quality_service as service
from trafficgov.web.pages_common import PageRoute, mask_text, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)
VIEWERS = (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.COMMAND, Role.PARTNER)
MEASURERS = (Role.ADMIN, Role.SUPERVISOR)
LEVEL_CLASS = {"red": "bad", "yellow": "warn", "info": "muted-badge"}
SYNC_CLASS = {"done": "ok", "running": "info", "failed": "bad"}
SYNC_LABELS = {"done": "成功", "running": "进行中", "failed": "失败"}


def _db(request: Request):
    return request.app.state.db


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def share_class(value: float | None) -> str:
    if value is None:
        return ""
    return "ok-text" if value >= 0.98 else "warn-text" if value >= 0.9 else "bad-text"


def hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f}小时"


def sparkline(values: list[float | None], width: int = 72, height: int = 18) -> str:
    """An inline SVG line of shares between 0 and 1 (oldest first); empty when fewer than two points."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = width / max(1, len(values) - 1)
    coords = " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in points)
    return (f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="趋势">'
            f'<polyline fill="none" stroke="#2e90fa" stroke-width="1.5" points="{coords}"/></svg>')


def trend_text(values: list[float | None]) -> str:
    return " → ".join(percent(v) for v in values)


def _context(actor: Actor) -> dict:
    return {
        "percent": percent, "share_class": share_class, "hours": hours, "sparkline": sparkline, "trend_text": trend_text,
        "level_class": LEVEL_CLASS, "sync_class": SYNC_CLASS, "sync_labels": SYNC_LABELS, "kinds_zh": quality.DEFECT_KINDS_ZH,
        "may_measure": actor.role in MEASURERS,
    }


def _page(request: Request, actor: Actor, status_code: int = 200, **extra):
    report = service.report(_db(request), actor)
    return render(request, "hub_quality.html", actor, status_code=status_code, report=report, **_context(actor), **extra)


@router.get("/hub/quality", response_class=HTMLResponse)
def quality_page(request: Request, actor: Actor = Depends(require(*VIEWERS, page=True))):
    return _page(request, actor)


@router.post("/hub/quality/run", response_class=HTMLResponse)
def run_measurement(request: Request, actor: Actor = Depends(require(*MEASURERS, page=True))):
    try:
        run = service.measure(_db(request), actor)
    except Forbidden as exc:
        return _page(request, actor, status_code=403, error=exc.zh)
    return _page(request, actor, notice=f"已完成数据质量评估（第 {run.id} 次）：{run.records} 条记录，发现缺陷 {run.defects} 处。")


@router.get("/hub/quality/{source}", response_class=HTMLResponse)
def source_page(
    request: Request,
    source: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,31}$")],
    field: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(pattern="^(|completeness|validity|consistency|timeliness)$")] = "",
    actor: Actor = Depends(require(*VIEWERS, page=True)),
):
    db = _db(request)
    report = service.report(db, actor, source=source)
    found = service.defects(db, actor, source, field=field or None, kind=kind or None, limit=200)
    shown = [
        {"defect": d, "detail": mask_text(actor, d.detail_zh),
         "record": mask_text(actor, json.dumps(d.record, ensure_ascii=False, sort_keys=True)) if d.record is not None else None}
        for d in found
    ]
    return render(request, "hub_quality_source.html", actor, report=report, source=report.sources[0], defects=shown,
                  field=field, kind=kind, **_context(actor))
