"""JSON API of 执法监督 under /api/v1/oversight: consistency audit, 双公示 export, leniency evaluation."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON
from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement import oversight_service as svc

router = APIRouter(prefix="/api/v1/oversight", tags=["enforcement 非现场执法"], responses={**COMMON})

CONSISTENCY_READERS = (Role.SUPERVISOR, Role.LEGAL_REVIEWER)
DISCLOSURE_READERS = (Role.SUPERVISOR, Role.ADMIN)
LENIENCY_READERS = (Role.LEGAL_REVIEWER, Role.SUPERVISOR)


def db(request: Request):
    return request.app.state.db


@router.get("/consistency", summary="同案不同罚：按民警、按单位的不一致率及每对决定（含偏离理由）")
def consistency(request: Request, actor: Actor = Depends(require(*CONSISTENCY_READERS))) -> dict[str, Any]:
    return svc.consistency_report(db(request), actor).as_dict()


@router.get(
    "/disclosure",
    summary="双公示：涉企行政处罚决定（决定之日起7个工作日内公示，超期标注）",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def disclosure(
    request: Request,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    as_of: Annotated[date | None, Query(description="judge overdue as of this day (default today, Beijing time)")] = None,
    overdue_only: bool = False,
    actor: Actor = Depends(require(*DISCLOSURE_READERS)),
) -> Any:
    rows = svc.disclosure(db(request), actor, as_of=as_of, overdue_only=overdue_only)
    if format == "csv":
        return PlainTextResponse(
            ov.disclosure_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="shuang-gongshi.csv"'},
        )
    return [
        {**{f: getattr(r, f) for f in ov.DISCLOSURE_FIELDS if f not in ("decision_date", "due_date")}, "decision_date": r.decision_date.isoformat(), "due_date": r.due_date.isoformat() if r.due_date else None}
        for r in rows
    ]


@router.get("/leniency", summary="首违不罚/首违警告清单定期评估：频次、其后事故、再犯率与增删建议（不改写规则文件）")
def leniency(
    request: Request,
    region: Annotated[str, Query(pattern=r"^\d{6}$")] = svc.DEFAULT_REGION,
    as_of: date | None = None,
    window_days: Annotated[int, Query(ge=1, le=730)] = 90,
    actor: Actor = Depends(require(*LENIENCY_READERS)),
) -> dict[str, Any]:
    report = svc.leniency_report(db(request), actor, var_dir=request.app.state.settings.var_dir, region=region, as_of=as_of, window_days=window_days)
    return report.as_dict()
