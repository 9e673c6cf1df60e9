"""JSON API of golden records under /api/v1/hub: look one up with each field's source, rebuild them, and the
clerk's queue of doubtful links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.hub import golden_service as service

router = APIRouter(prefix="/api/v1", tags=["hub 数据共享"], responses={**COMMON, **responses(404)})
READERS = (Role.CLERK, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN, Role.COMMAND, Role.LEGAL_REVIEWER)
Entity = Literal["people", "companies", "vehicles"]


def db(request: Request):
    return request.app.state.db


class RunOut(BaseModel):
    entity: str
    mentions: int
    records: int
    multi_source: int
    doubtful: int


class GoldenOut(BaseModel):
    entity: str
    key: str
    fields: dict[str, dict[str, Any]] = Field(description="field -> {value, source, source_id, updated_at}")
    members: list[str]
    sources: int
    run_at: datetime
    records: list[dict[str, Any]]


class Decision(BaseModel):
    decision: Literal["confirm", "split"]
    note: str = Field("", max_length=512)


class DecisionOut(BaseModel):
    id: int
    status: str
    status_zh: str


@router.post("/hub/golden/run", response_model=list[RunOut], summary="重建主数据（黄金记录）")
def run(request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.CLERK))) -> list[RunOut]:
    return [RunOut(**s.__dict__) for s in service.run(db(request), actor)]


@router.get("/hub/golden/{entity}/{key}", response_model=GoldenOut, summary="主数据及各字段来源")
def read_golden(entity: Entity, key: Annotated[str, Path(max_length=160)], request: Request, actor: Actor = Depends(require(*READERS))) -> GoldenOut:
    return GoldenOut(**service.get_record(db(request), actor, entity, key))


@router.get("/hub/links/reviews", response_model=list[dict[str, Any]], summary="待人工确认的关联")
def reviews(
    request: Request,
    status: Annotated[Literal["pending", "confirm", "split"] | None, Query()] = "pending",
    actor: Actor = Depends(require(*READERS)),
) -> list[dict[str, Any]]:
    return service.list_reviews(db(request), actor, status=status)


@router.post("/hub/links/reviews/{review_id}", response_model=DecisionOut, summary="确认或拆分关联（窗口民警）",
             responses={409: {"model": ErrorBody, "description": "冲突 — the pair is already decided"}})
def decide(review_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: Decision, request: Request,
           actor: Actor = Depends(require(Role.CLERK, Role.SUPERVISOR, Role.ADMIN))) -> DecisionOut:
    return DecisionOut(**service.decide_review(db(request), actor, review_id, body.decision, note=body.note))
