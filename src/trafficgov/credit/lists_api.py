"""JSON API of the red and black lists (due process) and of disputes of credit records, under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.credit import disputes, lists_service
from trafficgov.credit.disputes import DecisionRequest, DisputeRequest, DisputeView
from trafficgov.credit.lists_service import ActionRequest, ExpireRequest, ListEntryView

router = APIRouter(prefix="/api/v1", tags=["credit 信用监管"], responses={**COMMON, **responses(404)})
CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — the entry changed (stale version), or the record already has an open dispute"}}
Key = Annotated[int, Path(ge=1, le=2**31 - 1)]

LIST_READERS = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN, Role.COMPANY, Role.CITIZEN)
LIST_ACTORS = LIST_READERS  # which step each role may take is the data's (lists.yaml transitions)
DISPUTE_READERS = (Role.COMPANY, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN)


def db(request: Request):
    return request.app.state.db


@router.get("/credit/lists", response_model=list[ListEntryView], summary="红黑名单条目（工作人员：全部，可按状态、名单筛选；企业：本单位；群众：本人）")
def list_entries(
    request: Request,
    state: Annotated[str | None, Query(max_length=16)] = None,
    list_name: Annotated[str | None, Query(alias="list", max_length=8)] = None,
    actor: Actor = Depends(require(*LIST_READERS)),
) -> list[ListEntryView]:
    return lists_service.list_entries(db(request), actor, state=state, list_name=list_name)


@router.get("/credit/lists/{entry_id}", response_model=ListEntryView, summary="名单条目：认定标准与依据、惩戒或激励措施、程序记录")
def get_entry(entry_id: Key, request: Request, actor: Actor = Depends(require(*LIST_READERS))) -> ListEntryView:
    return lists_service.get_entry(db(request), actor, entry_id)


@router.post("/credit/lists/{entry_id}/actions", response_model=ListEntryView, responses=CONFLICT,
             summary="名单程序：审核、公布（督察）、异议（名单主体）、维持或撤销、信用修复、期满移出")
def act(entry_id: Key, body: ActionRequest, request: Request, actor: Actor = Depends(require(*LIST_ACTORS))) -> ListEntryView:
    return lists_service.act(db(request), actor, entry_id, body.action, version=body.version, reason=body.reason, remediation=body.remediation)


@router.post("/credit/lists/expire", response_model=list[int], summary="期满移出：到期的已公布条目（返回条目编号）")
def expire(request: Request, body: ExpireRequest | None = None, actor: Actor = Depends(require(Role.SUPERVISOR, Role.ADMIN))) -> list[int]:
    return lists_service.expire_due(db(request), body.as_of if body else None, actor)


@router.get("/credit/disputes", response_model=list[DisputeView], summary="信用记录异议（企业：本单位）")
def list_disputes(
    request: Request,
    state: Annotated[str | None, Query(max_length=16)] = None,
    actor: Actor = Depends(require(*DISPUTE_READERS)),
) -> list[DisputeView]:
    return disputes.list_disputes(db(request), actor, state)


@router.post("/credit/disputes", response_model=DisputeView, status_code=201, responses=CONFLICT, summary="企业对本单位的违法、事故或检查记录提出异议")
def file_dispute(body: DisputeRequest, request: Request, actor: Actor = Depends(require(Role.COMPANY))) -> DisputeView:
    return disputes.file(db(request), actor, body)


@router.post("/credit/disputes/{dispute_id}/decision", response_model=DisputeView, responses=CONFLICT, summary="处理异议（执勤民警、法制审核员）")
def decide_dispute(dispute_id: Key, body: DecisionRequest, request: Request, actor: Actor = Depends(require(Role.OFFICER, Role.LEGAL_REVIEWER))) -> DisputeView:
    return disputes.decide(db(request), actor, dispute_id, body.upheld, body.note)
