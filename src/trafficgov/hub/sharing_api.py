"""JSON API of governed sharing under /api/v1/share: the catalogue, grants, and one read route per dataset
(each documented with its subject key and fields), plus a person's own "who read my data" list."""

# No `from __future__ import annotations`: the read routes are built per dataset, and FastAPI must see their
# parameter annotations (with the dataset's own descriptions) as objects, not as strings to resolve.
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, create_model

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, ErrorBody, responses
from trafficgov.hub import sharing
from trafficgov.hub import sharing_service as service

router = APIRouter(prefix="/api/v1", tags=["hub 数据共享"], responses={**COMMON, **responses(404)})
CONFLICT = {409: {"model": ErrorBody, "description": "冲突 — the grant was already decided"}}
REFUSED = {403: {"model": ErrorBody, "description": "拒绝共享 — no grant for this department, dataset, purpose or day; detail.code names why "
                 "(unknown_dataset, unknown_purpose, no_department, no_grant, purpose_not_granted, grant_expired, grant_not_started, "
                 "grant_revoked, grant_pending, grant_refused, case_required)"}}
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1)]
APPROVERS = (Role.ADMIN, Role.LEGAL_REVIEWER, Role.PARTNER)
_TYPES: dict[str, Any] = {"text": str, "date": date, "int": int, "bool": bool}


def db(request: Request):
    return request.app.state.db


# ---------------------------------------------------------------- models


class FieldOut(BaseModel):
    name: str
    label_zh: str
    type: str
    personal: bool


class DatasetOut(BaseModel):
    code: str
    label_zh: str
    owner: str
    owner_zh: str
    subject: str
    subject_zh: str
    description_zh: str
    fields: list[FieldOut]


class PurposeOut(BaseModel):
    code: str
    label_zh: str
    legal_basis: str
    investigation: bool


class CatalogueOut(BaseModel):
    version_id: str
    effective_from: date
    max_grant_days: int
    datasets: list[DatasetOut]
    purposes: list[PurposeOut]


class GrantOut(BaseModel):
    id: int
    dataset: str
    consumer: str
    purpose: str
    fields: list[str]
    legal_basis: str
    valid_from: date
    expires_on: date
    status: str
    status_zh: str


class GrantRequest(BaseModel):
    dataset: str = Field(max_length=48)
    purpose: str = Field(max_length=48)
    fields: list[Annotated[str, Field(max_length=48)]] = Field(min_length=1, max_length=64)
    legal_basis: str = Field(min_length=1, max_length=256, description="依据的法律法规条款")
    valid_from: date
    expires_on: date


class DecisionRequest(BaseModel):
    approve: bool
    note: str = Field("", max_length=512)


class NoteRequest(BaseModel):
    note: str = Field(min_length=1, max_length=512)


class ReadOut(BaseModel):
    at: datetime
    who: str
    purpose: str
    what: str
    fields: list[str]
    channel: str


def grant_out(g: sharing.Grant) -> GrantOut:
    return GrantOut(
        id=g.id, dataset=g.dataset, consumer=g.consumer, purpose=g.purpose, fields=list(g.fields), legal_basis=g.legal_basis,
        valid_from=g.valid_from, expires_on=g.expires_on, status=g.status, status_zh=sharing.GRANT_STATUS_LABELS_ZH.get(g.status, g.status),
    )


# ---------------------------------------------------------------- catalogue and grants


@router.get("/share/catalogue", response_model=CatalogueOut, summary="共享目录：数据集、主体、字段和共享用途")
def read_catalogue(request: Request, actor: Actor = Depends(require(Role.PARTNER, Role.ADMIN, Role.LEGAL_REVIEWER, Role.SUPERVISOR))) -> CatalogueOut:
    from datetime import UTC

    v = sharing.catalogue().at(datetime.now(UTC).date())
    return CatalogueOut(
        version_id=v.version_id, effective_from=v.effective_from, max_grant_days=int(v.max_grant_days.value),
        datasets=[DatasetOut(
            code=d.code, label_zh=d.label_zh, owner=d.owner, owner_zh=d.owner_zh, subject=d.subject, subject_zh=sharing.SUBJECT_LABELS_ZH[d.subject],
            description_zh=d.description_zh, fields=[FieldOut(name=f.name, label_zh=f.label_zh, type=f.type, personal=f.personal) for f in d.fields],
        ) for d in v.datasets],
        purposes=[PurposeOut(code=p.code, label_zh=p.label_zh, legal_basis=p.basis_text(), investigation=p.investigation) for p in v.purposes],
    )


@router.get("/share/grants", response_model=list[GrantOut], summary="共享授权列表（协作部门只看本部门）")
def list_grants(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(requested|approved|refused|revoked)$")] = None,
    actor: Actor = Depends(require(Role.PARTNER, Role.ADMIN, Role.LEGAL_REVIEWER, Role.SUPERVISOR)),
) -> list[GrantOut]:
    return [grant_out(g) for g in service.list_grants(db(request), actor, status=status)]


@router.post("/share/grants", response_model=GrantOut, status_code=201, summary="申请共享授权（协作部门；本局系统管理员为本局业务申请）")
def request_grant(body: GrantRequest, request: Request, actor: Actor = Depends(require(Role.PARTNER, Role.ADMIN))) -> GrantOut:
    return grant_out(service.request_grant(
        db(request), actor, dataset=body.dataset, purpose=body.purpose, fields=body.fields, legal_basis=body.legal_basis,
        valid_from=body.valid_from, expires_on=body.expires_on,
    ))


@router.post("/share/grants/{grant_id}/decision", response_model=GrantOut, summary="审批共享授权（数据所有部门）", responses=CONFLICT)
def decide_grant(grant_id: GrantId, body: DecisionRequest, request: Request, actor: Actor = Depends(require(*APPROVERS))) -> GrantOut:
    return grant_out(service.decide_grant(db(request), actor, grant_id, approve=body.approve, note=body.note))


@router.post("/share/grants/{grant_id}/revoke", response_model=GrantOut, summary="撤销共享授权（数据所有部门）", responses=CONFLICT)
def revoke_grant(grant_id: GrantId, body: NoteRequest, request: Request, actor: Actor = Depends(require(*APPROVERS))) -> GrantOut:
    return grant_out(service.revoke_grant(db(request), actor, grant_id, note=body.note))


@router.post("/share/cases/{case_ref}/close", status_code=204, summary="办结调查：此后本案的查询向本人显示")
def close_case(case_ref: Annotated[str, Path(min_length=1, max_length=64)], request: Request, actor: Actor = Depends(require(Role.PARTNER))) -> None:
    service.close_case(db(request), actor, case_ref)


@router.get("/me/reads", response_model=list[ReadOut], summary="谁查看了我的数据（调查中的查询在案件办结后显示）")
def my_reads(request: Request, actor: Actor = Depends(require(Role.CITIZEN))) -> list[ReadOut]:
    return [ReadOut(at=e.at, who=e.who, purpose=e.purpose, what=e.what, fields=list(e.fields), channel=e.channel) for e in service.reads_about_me(db(request), actor)]


# ---------------------------------------------------------------- one read route per dataset


Purpose = Annotated[str, Query(min_length=1, max_length=48, description="共享用途 code from the catalogue; must be granted to your department")]
Case = Annotated[str | None, Query(max_length=64, description="案件编号 — required for an investigation purpose")]


def _envelope(dataset: sharing.Dataset) -> type[BaseModel]:
    fields_model = create_model(
        f"SharedFields_{dataset.code}",
        __doc__=f"{dataset.label_zh} — only the fields your grant names are present.",
        **{f.name: (_TYPES[f.type] | None, Field(None, description=f.label_zh + ("（个人信息）" if f.personal else ""))) for f in dataset.fields},
    )
    return create_model(
        f"Shared_{dataset.code}",
        __doc__=f"{dataset.label_zh}（{dataset.owner_zh}）",
        dataset=(str, ...), subject=(str, ...), purpose=(str, ...), grant_id=(int, ...), owner=(str, ...), source=(str, ...),
        as_of=(date, ...), read_at=(datetime, ...), fields=(fields_model, ...),
    )


def _add_dataset_route(dataset: sharing.Dataset) -> None:
    model = _envelope(dataset)
    subject_doc = sharing.SUBJECT_LABELS_ZH[dataset.subject]

    def read(
        request: Request,
        subject: Annotated[str, Query(min_length=1, max_length=64, description=f"主体 — {subject_doc}")],  # noqa: B008
        purpose: Purpose,
        case: Case = None,
        actor: Actor = Depends(require(Role.PARTNER)),
    ) -> Any:
        shared = service.share(db(request), actor, dataset.code, subject, purpose, case_ref=case)
        return model(
            dataset=shared.dataset, subject=shared.subject, purpose=shared.purpose, grant_id=shared.grant_id, owner=shared.owner,
            source=shared.source, as_of=shared.as_of, read_at=shared.read_at, fields=shared.fields,
        )

    router.add_api_route(
        f"/share/{dataset.code}", read, methods=["GET"], response_model=model, responses=REFUSED, response_model_exclude_unset=True,
        summary=f"共享调用：{dataset.label_zh}（所有部门：{dataset.owner_zh}；主体：{subject_doc}）",
        description=dataset.description_zh + " 字段：" + "、".join(f"{f.name}（{f.label_zh}）" for f in dataset.fields),
        name=f"share_{dataset.code}",
    )


_seen: set[str] = set()
for _version in sharing.catalogue().versions:
    for _dataset in _version.datasets:
        if _dataset.code not in _seen:
            _seen.add(_dataset.code)
            _add_dataset_route(_dataset)


@router.get("/share/{dataset}", summary="共享调用：目录外的数据集一律拒绝", responses=REFUSED, response_model=ErrorBody)
def read_unknown(
    dataset: Annotated[str, Path(max_length=48)], request: Request, subject: Annotated[str, Query(min_length=1, max_length=64)], purpose: Purpose,
    actor: Actor = Depends(require(Role.PARTNER)),
) -> Any:
    service.share(db(request), actor, dataset, subject, purpose)  # always refused: the dataset is not in the catalogue

