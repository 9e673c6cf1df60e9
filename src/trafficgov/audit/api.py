"""JSON API of the audit log for supervisors (督察/审计) and administrators: search, export, verify."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON
from trafficgov.audit import service
from trafficgov.audit.export import csv_chunks, jsonl_line
from trafficgov.audit.model import AuditEntry, action_label
from trafficgov.config import read_or_create_key

router = APIRouter(prefix="/api/v1/audit", tags=["audit 审计"], responses=COMMON)
AUDITORS = (Role.SUPERVISOR, Role.ADMIN)
EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "role",
    "unit",
    "action",
    "entity",
    "record_key",
    "purpose",
    "detail",
    "prev_hash",
    "hash",
)


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    unit: str | None
    action: str
    action_label: str
    entity: str
    record_key: str | None
    purpose: str | None
    detail: dict[str, Any]
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    checkpoints: int
    last_sealed_seq: int | None
    unsealed_tail: int
    problems: list[str]
    problems_zh: list[str]


class Filters(BaseModel):
    actor: str | None = None
    entity: str | None = None
    record_key: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filters(
    actor: Annotated[str | None, Query(max_length=64)] = None,
    entity: Annotated[str | None, Query(max_length=32)] = None,
    record_key: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Filters:
    return Filters(actor=actor, entity=entity, record_key=record_key, action=action, since=since, until=until)


def _record_entry(request: Request, actor: Actor, action: str, detail: dict[str, Any]) -> None:
    with request.app.state.db.transaction(write=True) as session:
        service.append(
            session,
            AuditEntry(
                actor=actor.username,
                role=str(actor.role),
                unit=actor.unit,
                action=action,
                entity="audit_log",
                record_key=None,
                purpose="audit",
                at=datetime.now(UTC),
                detail=detail,
            ),
        )


@router.get("", response_model=list[AuditOut], summary="检索审计日志")
def search(
    request: Request,
    where: Filters = Depends(filters),
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    actor: Actor = Depends(require(*AUDITORS)),
) -> list[AuditOut]:
    with request.app.state.db.transaction() as session:
        records = service.search(session, **where.model_dump(), limit=limit, offset=offset)
    return [
        AuditOut(
            **{k: getattr(r, k) for k in AuditOut.model_fields if k != "action_label"},
            action_label=action_label(r.action),
        )
        for r in records
    ]


@router.get(
    "/export",
    summary="导出审计日志（CSV 或 JSONL）",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def export(
    request: Request,
    where: Filters = Depends(filters),
    format: Literal["csv", "jsonl"] = "csv",
    actor: Actor = Depends(require(*AUDITORS)),
) -> StreamingResponse:
    _record_entry(
        request,
        actor,
        "export",
        {"filters": where.model_dump(mode="json", exclude_none=True), "format": format},
    )
    db = request.app.state.db

    def rows() -> Iterator[str]:
        with db.transaction() as session:
            records = service.export_rows(session, **where.model_dump())
            yield from (csv_chunks(records) if format == "csv" else map(jsonl_line, records))

    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        rows(), media_type=media, headers={"Content-Disposition": f'attachment; filename="audit.{format}"'}
    )


@router.get("/verify", response_model=VerifyOut, summary="校验审计日志哈希链与签名")
def verify(request: Request, actor: Actor = Depends(require(*AUDITORS))) -> VerifyOut:
    key = read_or_create_key(request.app.state.settings.audit_key_file)
    with request.app.state.db.transaction() as session:
        report = service.verify(session, key)
    return VerifyOut(**{k: getattr(report, k) for k in VerifyOut.model_fields})
