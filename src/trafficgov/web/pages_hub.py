"""数据共享 pages: the partner department's home (catalogue, its grants, asking for one, company look-up), a
shared read tried from the page, the owner department's grant approvals, and a person's "who read my data"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts import service as accounts
from trafficgov.accounts.guard import require
from trafficgov.accounts.model import BUREAU_ORG_KINDS, ORG_KIND_LABELS_ZH, Actor, Role
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.hub import sharing
from trafficgov.hub import sharing_service as service
from trafficgov.registry import service as registry
from trafficgov.registry.identifiers import is_uscc
from trafficgov.web.pages_common import PageRoute, mask_text, render, status_of

router = APIRouter(include_in_schema=False, route_class=PageRoute)
APPROVERS = (Role.ADMIN, Role.LEGAL_REVIEWER, Role.PARTNER, Role.SUPERVISOR)
GrantId = Annotated[int, Path(ge=1, le=2**31 - 1)]
STATUS_CLASS = {"requested": "warn", "approved": "ok", "refused": "muted-badge", "revoked": "muted-badge"}


def _db(request: Request):
    return request.app.state.db


def _today() -> date:
    return datetime.now(UTC).date()


def _labels(version: sharing.CatalogueVersion) -> dict[str, str]:
    return {**{d.code: d.label_zh for d in version.datasets}, **{p.code: p.label_zh for p in version.purposes}}


# ---------------------------------------------------------------- the partner department's home


def _partner_page(request: Request, actor: Actor, q: str = "", status_code: int = 200, **context):
    db = _db(request)
    organisations = accounts.list_organisations(db)
    by_code = {o.code: o for o in organisations}
    own = by_code.get(actor.unit or "")
    version = sharing.catalogue().at(_today())
    grants = [g for g in service.list_grants(db, actor) if g.consumer == actor.unit]
    company, companies, error = None, [], None
    query = q.strip()
    if query:
        try:
            if is_uscc(query):
                company = registry.get_company(db, actor, query).company
            else:
                companies = registry.search_companies(db, actor, query)
        except FieldError as exc:
            error = exc.zh
        except NotFound:
            error = f"未找到统一社会信用代码为 {query} 的企业"
    return render(
        request, "partner.html", actor, status_code=status_code,
        own=own, parent=by_code.get(own.parent_code or "") if own else None,
        bureau=[o for o in organisations if o.kind in BUREAU_ORG_KINDS],
        partners=[o for o in organisations if o.kind not in BUREAU_ORG_KINDS],
        kind_labels=ORG_KIND_LABELS_ZH, version=version, grants=grants, labels=_labels(version),
        subject_labels=sharing.SUBJECT_LABELS_ZH, status_labels=sharing.GRANT_STATUS_LABELS_ZH, status_class=STATUS_CLASS,
        today=_today(), default_expiry=_today() + timedelta(days=180),
        q=query, company=company, companies=companies, error=error, searched=bool(query), **context,
    )


@router.get("/partner", response_class=HTMLResponse)
def partner_page(request: Request, q: Annotated[str, Query(max_length=64)] = "", actor: Actor = Depends(require(Role.PARTNER, page=True))):
    return _partner_page(request, actor, q)


@router.post("/partner/grants", response_class=HTMLResponse)
async def ask_for_grant(request: Request, actor: Actor = Depends(require(Role.PARTNER, page=True))):
    form = await request.form()
    dataset = str(form.get("dataset", ""))[:48]
    try:
        grant = service.request_grant(
            _db(request), actor, dataset=dataset, purpose=str(form.get("purpose", ""))[:48],
            fields=[str(f)[:48] for f in form.getlist("fields")][:64], legal_basis=str(form.get("legal_basis", ""))[:256],
            valid_from=_form_day(form.get("valid_from"), "valid_from"), expires_on=_form_day(form.get("expires_on"), "expires_on"),
        )
    except (FieldError, Forbidden) as exc:
        return _partner_page(request, actor, status_code=status_of(exc), grant_error=exc.zh, grant_dataset=dataset)
    return _partner_page(request, actor, notice=f"已提交共享授权申请（编号 {grant.id}），待数据所有部门审批。")


def _form_day(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError as exc:
        raise FieldError(field, "日期格式应为YYYY-MM-DD", "a date is YYYY-MM-DD") from exc


@router.get("/partner/query", response_class=HTMLResponse)
def shared_query(
    request: Request,
    dataset: Annotated[str, Query(max_length=48)] = "",
    subject: Annotated[str, Query(max_length=64)] = "",
    purpose: Annotated[str, Query(max_length=48)] = "",
    case: Annotated[str, Query(max_length=64)] = "",
    actor: Actor = Depends(require(Role.PARTNER, page=True)),
):
    """共享调用 — the same read as GET /api/v1/share/{dataset}, from a page (logged and audited the same way)."""
    version = sharing.catalogue().at(_today())
    result, refusal, error, status_code = None, None, None, 200
    if dataset and subject.strip() and purpose:
        try:
            result = service.share(_db(request), actor, dataset, subject.strip(), purpose, case_ref=case.strip() or None)
        except service.ShareRefused as exc:
            refusal, status_code = exc.refusal, 403
        except FieldError as exc:
            error, status_code = exc.zh, 422
        except NotFound:
            error, status_code = "未找到该主体的记录", 404
    spec = version.dataset(result.dataset) if result else None
    return render(
        request, "partner_query.html", actor, status_code=status_code, version=version, dataset=dataset, subject=subject, purpose=purpose,
        case=case, result=result, spec=spec, refusal=refusal, error=error, subject_labels=sharing.SUBJECT_LABELS_ZH,
    )


# ---------------------------------------------------------------- the owner department's approvals


def _grants_page(request: Request, actor: Actor, status: str = "", status_code: int = 200, **context):
    db = _db(request)
    version = sharing.catalogue().at(_today())
    grants = service.list_grants(db, actor, status=status or None)
    if actor.role is Role.PARTNER:  # a partner approves what its department owns; its own requests are on /partner
        grants = [g for g in grants if g.consumer != actor.unit]
    decidable = service.decidable(db, actor, grants, _today())
    return render(
        request, "hub_grants.html", actor, status_code=status_code, grants=grants, decidable=decidable, status=status,
        labels=_labels(version), version=version, names=service.organisation_names(db),
        status_labels=sharing.GRANT_STATUS_LABELS_ZH, status_class=STATUS_CLASS, **context,
    )


@router.get("/hub/grants", response_class=HTMLResponse)
def grants_page(
    request: Request,
    status: Annotated[str, Query(pattern="^(|requested|approved|refused|revoked)$")] = "requested",
    actor: Actor = Depends(require(*APPROVERS, page=True)),
):
    return _grants_page(request, actor, status)


@router.post("/hub/grants/{grant_id}", response_class=HTMLResponse)
async def act_on_grant(grant_id: GrantId, request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.LEGAL_REVIEWER, Role.PARTNER, page=True))):
    form = await request.form()
    action = str(form.get("action", ""))[:16]
    note = str(form.get("note", ""))[:512]
    db = _db(request)
    try:
        if action == "revoke":
            grant = service.revoke_grant(db, actor, grant_id, note=note)
        elif action in ("approve", "refuse"):
            grant = service.decide_grant(db, actor, grant_id, approve=action == "approve", note=note)
        else:
            raise FieldError("action", "未知的操作", "unknown action")
    except (FieldError, Conflict, Forbidden) as exc:
        return _grants_page(request, actor, "", status_code=status_of(exc), error=exc.zh, error_id=grant_id)
    return _grants_page(request, actor, "", notice=f"授权 {grant.id}：{sharing.GRANT_STATUS_LABELS_ZH[grant.status]}。")


# ---------------------------------------------------------------- the person's own view


@router.get("/me/reads", response_class=HTMLResponse)
def my_reads(request: Request, actor: Actor = Depends(require(Role.CITIZEN, page=True))):
    return render(request, "me_reads.html", actor, reads=service.reads_about_me(_db(request), actor))


# ---------------------------------------------------------------- golden records and the clerk's link queue

GOLDEN_READERS = (Role.CLERK, Role.OFFICER, Role.SUPERVISOR, Role.ADMIN, Role.COMMAND, Role.LEGAL_REVIEWER)
ENTITY_LABELS = {"people": "人员", "companies": "企业", "vehicles": "车辆"}
COLUMN_LABELS = {
    "id_number": "身份证号码", "name": "姓名/名称", "phone": "联系电话", "address": "住址", "birth_date": "出生日期", "sex": "性别",
    "former_name": "曾用名", "uscc": "统一社会信用代码", "permit_number": "许可证号", "kind": "类别", "vin": "车辆识别代号",
    "plate_number": "号牌号码", "plate_type": "号牌种类", "owner_id": "所有人证件号码", "vehicle_type": "车辆类型",
}


def _kind_labels() -> dict[str, str]:
    from trafficgov.hub.standard import standard

    return {code: kind.label_zh for code, kind in standard().kinds.items()}


def _source_names() -> dict[str, str]:
    from trafficgov.hub.mapping import mappings

    return {code: m.name_zh for code, m in mappings().items()}


def _entities_page(request: Request, actor: Actor, entity: str, q: str = "", key: str = "", *, error: str | None = None, status_code: int = 200):
    from trafficgov.hub import golden_service

    db = _db(request)
    record = None
    if key and error is None:
        try:
            record = golden_service.get_record(db, actor, entity, key)
        except NotFound:
            error, status_code = f"没有主数据：{key}", 404
        else:
            for fv in record["fields"].values():  # kept as ISO text in the record; shown in Beijing time
                fv["updated_at"] = datetime.fromisoformat(fv["updated_at"]) if fv.get("updated_at") else None
    found = golden_service.search(db, actor, entity, q) if q else []
    return render(
        request, "hub_entities.html", actor, status_code=status_code, entity=entity, q=q, record=record, found=found, error=error,
        counts=golden_service.counts(db), entity_labels=ENTITY_LABELS, column_labels=COLUMN_LABELS, source_names=_source_names(),
        kind_labels=_kind_labels(), may_run=actor.role in (Role.ADMIN, Role.SUPERVISOR, Role.CLERK), mask=lambda v: mask_text(actor, str(v)),
        may_split=actor.role in golden_service.DECIDERS,
    )


@router.get("/hub/entities", response_class=HTMLResponse)
def entities_page(
    request: Request,
    entity: Annotated[str, Query(pattern="^(people|companies|vehicles)$")] = "vehicles",
    q: Annotated[str, Query(max_length=64)] = "",
    key: Annotated[str, Query(max_length=160)] = "",
    actor: Actor = Depends(require(*GOLDEN_READERS, page=True)),
):
    return _entities_page(request, actor, entity, q, key)


@router.post("/hub/entities/split", response_class=HTMLResponse)
async def split_member(request: Request, actor: Actor = Depends(require(Role.CLERK, Role.SUPERVISOR, Role.ADMIN, page=True))):
    """拆出 — one record of a golden record is another entity; that kind's golden records are rebuilt at once."""
    from trafficgov.hub import golden_service

    form = await request.form()
    entity, key = str(form.get("entity", ""))[:16], str(form.get("key", ""))[:160]
    try:
        golden_service.split_member(_db(request), actor, entity, key, str(form.get("member", ""))[:176], note=str(form.get("note", ""))[:512])
    except (FieldError, NotFound) as exc:
        return _entities_page(request, actor, entity if entity in ENTITY_LABELS else "vehicles", "", key,
                              error=getattr(exc, "zh", None) or f"没有主数据：{key}", status_code=status_of(exc))
    golden_service.run(_db(request), actor, entities=(entity,))  # only the kind the split touched
    return RedirectResponse(f"/hub/entities?entity={entity}&key={quote(key)}", status_code=303)


@router.post("/hub/entities/run", response_class=HTMLResponse)
def rebuild(request: Request, actor: Actor = Depends(require(Role.ADMIN, Role.SUPERVISOR, Role.CLERK, page=True))):
    from trafficgov.hub import golden_service

    summaries = golden_service.run(_db(request), actor)
    return render(
        request, "hub_entities.html", actor, entity="vehicles", q="", record=None, found=[], error=None, counts=golden_service.counts(_db(request)),
        entity_labels=ENTITY_LABELS, column_labels=COLUMN_LABELS, source_names=_source_names(), kind_labels=_kind_labels(), may_run=True, summaries=summaries,
        mask=lambda v: mask_text(actor, str(v)),
    )


def _links_page(request: Request, actor: Actor, status: str, status_code: int = 200, **context):
    from trafficgov.hub import golden_service

    return render(
        request, "hub_links.html", actor, status_code=status_code, status=status, reviews=golden_service.list_reviews(_db(request), actor, status=status or None),
        labels=golden_service.DECISION_LABELS_ZH, entity_labels=ENTITY_LABELS, source_names=_source_names(),
        may_decide=actor.role in golden_service.DECIDERS, mask=lambda v: mask_text(actor, str(v)), **context,
    )


@router.get("/hub/links", response_class=HTMLResponse)
def links_page(
    request: Request,
    status: Annotated[str, Query(pattern="^(|pending|confirm|split)$")] = "pending",
    actor: Actor = Depends(require(*GOLDEN_READERS, page=True)),
):
    return _links_page(request, actor, status)


@router.post("/hub/links/{review_id}", response_class=HTMLResponse)
async def decide_link(review_id: GrantId, request: Request, actor: Actor = Depends(require(Role.CLERK, Role.SUPERVISOR, Role.ADMIN, page=True))):
    from trafficgov.hub import golden_service

    form = await request.form()
    try:
        done = golden_service.decide_review(_db(request), actor, review_id, str(form.get("decision", ""))[:8], note=str(form.get("note", ""))[:512])
    except (FieldError, Conflict) as exc:
        return _links_page(request, actor, "pending", status_code=status_of(exc), error=exc.zh)
    return _links_page(request, actor, "pending", notice=f"关联 {done['id']}：{done['status_zh']}，下次重建主数据时生效。")
