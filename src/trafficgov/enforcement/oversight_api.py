"""JSON API of 执法监督 under /api/v1/oversight: consistency audit, 双公示 export and publication records,
leniency evaluation and the new list versions accepted from it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, responses
from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement import oversight_service as svc
from trafficgov.enforcement.oversight_service import (
    LeniencyVersionRequest,
    LeniencyVersionView,
    PublishRequest,
    PublishResult,
)

router = APIRouter(prefix="/api/v1/oversight", tags=["enforcement 非现场执法"], responses={**COMMON})

CONSISTENCY_READERS = (Role.SUPERVISOR, Role.LEGAL_REVIEWER)
DISCLOSURE_READERS = (Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.ADMIN)
LENIENCY_READERS = (Role.LEGAL_REVIEWER, Role.SUPERVISOR)
VersionKey = Annotated[int, Path(ge=1, le=2**31 - 1)]


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
    overdue_only: Annotated[bool, Query(description="only the decisions not published by their due day")] = False,
    status: Annotated[Literal["published_on_time", "published_late", "published", "due", "overdue"] | None, Query(description="one 公示状态 only")] = None,
    actor: Actor = Depends(require(*DISCLOSURE_READERS)),
) -> Any:
    rows = svc.disclosure(db(request), actor, as_of=as_of, overdue_only=overdue_only, status=status)
    if format == "csv":
        return PlainTextResponse(
            ov.disclosure_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="shuang-gongshi.csv"'},
        )
    plain = [ov.disclosure_plain(r) for r in rows]
    # the contract's fields first, in their order; then case_id, status_zh, channel, channel_zh
    return [{**{f: p[f] for f in ov.DISCLOSURE_FIELDS}, **{k: v for k, v in p.items() if k not in ov.DISCLOSURE_FIELDS}} for p in plain]


@router.post(
    "/disclosure/publish",
    response_model=PublishResult,
    summary="登记双公示：所选涉企处罚决定已上网公示（渠道、时间；重复登记不改变首次记录）",
)
def publish(body: PublishRequest, request: Request, actor: Actor = Depends(require(*svc.PUBLISHERS))) -> PublishResult:
    return svc.publish_disclosures(db(request), actor, body)


@router.get("/leniency", summary="首违不罚/首违警告清单定期评估：频次、其后事故、再犯率与增删建议（不改写规则文件）")
def leniency(
    request: Request,
    region: Annotated[str, Query(pattern=r"^\d{6}$")] = svc.DEFAULT_REGION,
    as_of: date | None = None,
    window_days: Annotated[int, Query(ge=1, le=730)] = 90,
    actor: Actor = Depends(require(*LENIENCY_READERS)),
) -> dict[str, Any]:
    report = svc.leniency_report(db(request), actor, region=region, as_of=as_of, window_days=window_days)
    return report.as_dict()


@router.get("/leniency/versions", response_model=list[LeniencyVersionView], summary="由定期评估形成的清单新版本（草案；公布并随规则数据发布后施行）")
def leniency_versions(request: Request, actor: Actor = Depends(require(*LENIENCY_READERS))) -> list[LeniencyVersionView]:
    return svc.list_leniency_versions(db(request), actor)


@router.post(
    "/leniency/versions",
    response_model=LeniencyVersionView,
    status_code=201,
    summary="接受评估建议，形成清单新版本草案（按启动时的规则校验；引擎不加载草案）",
)
def accept_leniency_version(body: LeniencyVersionRequest, request: Request, actor: Actor = Depends(require(*svc.VERSION_AUTHORS))) -> LeniencyVersionView:
    return svc.accept_leniency_version(db(request), actor, body)


@router.get(
    "/leniency/versions/{version_id}/yaml",
    summary="清单新版本草案的规则文件（YAML，供发布流程使用）",
    response_model=None,
    responses={200: {"content": {"application/yaml": {}}}, **responses(404)},
)
def leniency_version_yaml(version_id: VersionKey, request: Request, actor: Actor = Depends(require(*LENIENCY_READERS))) -> PlainTextResponse:
    view, text = svc.leniency_version_yaml(db(request), actor, version_id)
    return PlainTextResponse(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{view.new_rule_id}.yaml"'},
    )
