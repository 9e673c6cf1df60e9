"""执法监督 pages: the supervisor's consistency audit (同案不同罚), the 双公示 list with its publication
records, and the legal reviewer's leniency-list evaluation (定期评估) with the new list versions accepted
from it. No page writes a rule file: a new version is a draft with its YAML for the release process."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from pydantic import ValidationError

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.accounts.service import display_names
from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement import oversight_service as svc
from trafficgov.enforcement.decide import OUTCOME_ZH
from trafficgov.enforcement.service import BEIJING
from trafficgov.errors import FieldError
from trafficgov.web.pages_common import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

RECOMMENDATION_ZH = {"keep": "建议保留", "remove": "建议移出", "add": "建议纳入", "none": "—", "insufficient_data": "样本不足"}
DISCLOSURE_VIEWERS = (Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.ADMIN)
VersionKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _db(request: Request):
    return request.app.state.db


@router.get("/oversight/consistency", response_class=HTMLResponse)
def consistency_page(request: Request, actor: Actor = Depends(require(Role.SUPERVISOR, Role.LEGAL_REVIEWER, page=True))):
    report = svc.consistency_report(_db(request), actor)
    staff = display_names(_db(request), [r.key for r in report.by_officer] + [d.officer for p in report.pairs for d in (p.usual, p.other)])
    return render(request, "oversight_consistency.html", actor, report=report, staff=staff, outcomes=OUTCOME_ZH, licence_actions=ov.LICENCE_ACTION_ZH, penalty_zh=ov.penalty_zh)


def _disclosure_page(request: Request, actor: Actor, status: str | None = None, status_code: int = 200, **context):
    rows = svc.disclosure(_db(request), actor, status=status)
    counts = {code: sum(1 for r in rows if r.status == code) for code in ov.DISCLOSURE_STATUS_ZH} if status is None else None
    return render(
        request,
        "oversight_disclosure.html",
        actor,
        status_code=status_code,
        rows=rows,
        counts=counts,
        current=status,
        statuses=ov.DISCLOSURE_STATUS_ZH,
        channels=ov.DISCLOSURE_CHANNELS_ZH,
        may_publish=Role(actor.role) in svc.PUBLISHERS,
        **context,
    )


@router.get("/oversight/disclosure", response_class=HTMLResponse)
def disclosure_page(
    request: Request,
    status: Annotated[str | None, Query(max_length=32)] = None,
    actor: Actor = Depends(require(*DISCLOSURE_VIEWERS, page=True)),
):
    return _disclosure_page(request, actor, status if status in ov.DISCLOSURE_STATUS_ZH else None)


@router.post("/oversight/disclosure/publish", response_class=HTMLResponse)
def publish(
    request: Request,
    case_ids: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI's form default
    channel: Annotated[str, Form(max_length=32)] = "",
    published_at: Annotated[str, Form(max_length=32)] = "",
    actor: Actor = Depends(require(*svc.PUBLISHERS, page=True)),
):
    try:
        when = None
        if published_at.strip():
            try:
                when = datetime.fromisoformat(published_at.strip())
            except ValueError as exc:
                raise FieldError("published_at", "公示时间格式不正确", "published_at is not a date and time") from exc
            when = when if when.tzinfo else when.replace(tzinfo=BEIJING)  # the form's time is Beijing time
        if not case_ids:
            raise FieldError("case_ids", "请选择要登记公示的处罚决定", "no decision selected")
        try:
            body = svc.PublishRequest(case_ids=case_ids, channel=channel or "-", published_at=when)
        except ValidationError as exc:
            raise FieldError("case_ids", f"一次最多登记{svc.MAX_PUBLISH}件", str(exc.errors()[0]["msg"])) from exc
        result = svc.publish_disclosures(_db(request), actor, body)
    except FieldError as exc:
        return _disclosure_page(request, actor, status_code=422, error=exc.zh)
    note = f"已登记公示{len(result.published)}件" + (f"；{len(result.already)}件此前已登记，未重复记录" if result.already else "")
    return _disclosure_page(request, actor, message=note)


def _leniency_page(request: Request, actor: Actor, *, window_days: int = 90, as_of: date | None = None, status_code: int = 200, **context):
    db = _db(request)
    report = svc.leniency_report(db, actor, as_of=as_of, window_days=window_days)
    return render(
        request,
        "oversight_leniency.html",
        actor,
        status_code=status_code,
        report=report,
        recommendations=RECOMMENDATION_ZH,
        outcomes=OUTCOME_ZH,
        versions=svc.list_leniency_versions(db, actor),
        may_accept=Role(actor.role) in svc.VERSION_AUTHORS,
        today=svc.local_day(datetime.now(BEIJING)),
        **context,
    )


@router.get("/oversight/leniency", response_class=HTMLResponse)
def leniency_page(
    request: Request,
    window_days: Annotated[int, Query(ge=1, le=730)] = 90,
    as_of: date | None = None,
    actor: Actor = Depends(require(Role.LEGAL_REVIEWER, Role.SUPERVISOR, page=True)),
):
    return _leniency_page(request, actor, window_days=window_days, as_of=as_of)


@router.post("/oversight/leniency/versions", response_class=HTMLResponse)
def accept_version(
    request: Request,
    base_rule_id: Annotated[str, Form(max_length=128)] = "",
    effective_from: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=ov.MAX_REASON)] = "",
    add: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's form default
    remove: Annotated[list[str], Form()] = [],  # noqa: B006
    actor: Actor = Depends(require(*svc.VERSION_AUTHORS, page=True)),
):
    form = {"effective_from": effective_from, "reason": reason, "add": add, "remove": remove}
    try:
        try:
            day = date.fromisoformat(effective_from)
        except ValueError as exc:
            raise FieldError("effective_from", "请填写新版本生效日期", "effective_from is required") from exc
        if not reason.strip():
            raise FieldError("reason", "请填写调整理由（评估结论）", "reason is required")
        try:
            body = svc.LeniencyVersionRequest(base_rule_id=base_rule_id, effective_from=day, add=add, remove=remove, reason=reason)
        except ValidationError as exc:
            raise FieldError(str(exc.errors()[0]["loc"][0]), "提交内容有误", str(exc.errors()[0]["msg"])) from exc
        view = svc.accept_leniency_version(_db(request), actor, body)
    except FieldError as exc:
        return _leniency_page(request, actor, status_code=422, error=exc.zh, form=form)
    return RedirectResponse(f"/oversight/leniency?accepted={view.id}#versions", status_code=303)


@router.get("/oversight/leniency/versions/{version_id}.yaml", response_class=PlainTextResponse)
def version_yaml(version_id: VersionKey, request: Request, actor: Actor = Depends(require(Role.LEGAL_REVIEWER, Role.SUPERVISOR, page=True))):
    view, text = svc.leniency_version_yaml(_db(request), actor, version_id)
    return PlainTextResponse(text, media_type="application/yaml; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{view.new_rule_id}.yaml"'})
