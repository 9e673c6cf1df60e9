"""Use cases of governed sharing: ask for a grant, decide or revoke it, read a shared dataset, fetch a material
for one of the platform's own services, close an investigation, and show a person who read their data.

Every read through the sharing API — served or refused — is written to the exchange log and to the
hash-chained audit log in one transaction, with consumer, purpose, subject and fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from trafficgov.accounts import service as accounts
from trafficgov.accounts.model import BUREAU_ORG_KINDS, ORG_KIND_LABELS_ZH, Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.hub import sharing
from trafficgov.hub.model import DEPARTMENT_LABELS_ZH
from trafficgov.hub.sharing_store import ShareCaseRow, ShareGrantRow, ShareReadRow
from trafficgov.hub.store import HubRecordRow
from trafficgov.registry import service as registry
from trafficgov.store.db import Database

# Who decides a grant for a dataset its department owns: the bureau's administrators and legal reviewers,
# or a partner department's own data officer (role partner) for a dataset that department owns.
BUREAU_APPROVERS = frozenset({Role.ADMIN, Role.LEGAL_REVIEWER})


class ShareRefused(Forbidden):
    """拒绝共享 — a read refused by the access check; `code` is the refusal's stable code."""

    def __init__(self, refusal: sharing.Refusal) -> None:
        super().__init__(refusal.reason_zh, refusal.reason_en, refusal.code)
        self.refusal = refusal


@dataclass(frozen=True)
class SharedRecord:
    """共享结果 — the granted fields of one subject, with the grant and provenance they rest on."""

    dataset: str
    subject: str
    purpose: str
    grant_id: int
    fields: dict[str, Any]
    source: str
    owner: str
    as_of: date
    read_at: datetime


@dataclass(frozen=True)
class ReadEntry:
    """数据查询记录 — one read of a person's data as their own page shows it."""

    at: datetime
    who: str  # the department or unit that read
    purpose: str
    what: str  # dataset or record label
    fields: tuple[str, ...]
    channel: str  # 部门共享 or 工作人员查询


# ---------------------------------------------------------------- helpers


def _department(org_kind: str | None) -> str | None:
    if org_kind is None:
        return None
    return "traffic_police" if org_kind in BUREAU_ORG_KINDS else org_kind if org_kind in DEPARTMENT_LABELS_ZH else None


def _org_kinds(db: Database) -> dict[str, tuple[str, str]]:
    return {o.code: (o.kind, o.name) for o in accounts.list_organisations(db)}


def department_of(db: Database, actor: Actor) -> str | None:
    """The department (hub/model.py DEPARTMENT_LABELS_ZH) an account's unit belongs to."""
    unit = accounts.get_organisation(db, actor.unit) if actor.unit else None
    return _department(unit.kind if unit else None)


def _grant(row: ShareGrantRow) -> sharing.Grant:
    return sharing.Grant(
        id=row.id, dataset=row.dataset, consumer=row.consumer, purpose=row.purpose, fields=tuple(row.fields.split()),
        legal_basis=row.legal_basis, valid_from=row.valid_from, expires_on=row.expires_on, status=row.status,
    )


def _audit(session: Session, actor: Actor, action: str, entity: str, key: str | None, purpose: str | None, at: datetime, detail: dict[str, Any]) -> None:
    audit.append(session, AuditEntry(
        actor=actor.username, role=str(actor.role), unit=actor.unit, action=action, entity=entity,
        record_key=key, purpose=purpose, at=at, detail=detail,
    ))


# ---------------------------------------------------------------- grants


def request_grant(
    db: Database, actor: Actor, *, dataset: str, purpose: str, fields: list[str], legal_basis: str,
    valid_from: date, expires_on: date, at: datetime | None = None,
) -> sharing.Grant:
    """申请共享授权 — a partner department (or the bureau's administrator, for the bureau's own services) asks
    for fields of a dataset for one purpose until an expiry."""
    at = at or datetime.now(UTC)
    if actor.role not in (Role.PARTNER, Role.ADMIN) or not actor.unit:
        raise Forbidden("只有协作部门或本局系统管理员可以申请共享授权", "only a partner department or the bureau's administrator may ask for a grant")
    version = sharing.catalogue().at(at.date())
    chosen = sharing.validate_request(version, dataset, purpose, fields, legal_basis, valid_from, expires_on)
    with db.transaction(write=True) as session:
        row = ShareGrantRow(
            dataset=dataset, consumer=actor.unit, purpose=purpose, fields=" ".join(chosen), legal_basis=legal_basis.strip()[:256],
            valid_from=valid_from, expires_on=expires_on, status="requested", requested_by=actor.username, requested_at=at,
        )
        session.add(row)
        session.flush()
        _audit(session, actor, "create", "share_grant", str(row.id), purpose, at, {"dataset": dataset, "fields": list(chosen), "consumer": actor.unit})
        return _grant(row)


def _check_owner(department: str | None, actor: Actor, dataset: sharing.Dataset, consumer: str) -> None:
    allowed = actor.role in BUREAU_APPROVERS if dataset.owner == "traffic_police" else actor.role is Role.PARTNER
    if department != dataset.owner or not allowed:
        raise Forbidden(
            f"只有数据所有部门（{dataset.owner_zh}）的审批人可以决定此授权",
            f"only an approver of the owner department ({dataset.owner}) may decide this grant",
        )
    if actor.unit == consumer:
        raise Forbidden("不能审批本部门自己的共享申请", "a department may not approve its own request")


def decidable(db: Database, actor: Actor, grants: list[sharing.Grant], day: date) -> set[int]:
    """The grants this account may approve, refuse or revoke (for showing the buttons)."""
    department, version = department_of(db, actor), sharing.catalogue().at(day)
    found = set()
    for grant in grants:
        dataset = version.dataset(grant.dataset)
        try:
            if dataset is not None:
                _check_owner(department, actor, dataset, grant.consumer)
                found.add(grant.id)
        except Forbidden:
            pass
    return found


def decide_grant(db: Database, actor: Actor, grant_id: int, *, approve: bool, note: str = "", at: datetime | None = None) -> sharing.Grant:
    """审批共享授权 — the dataset's owner department approves or refuses a request."""
    at = at or datetime.now(UTC)
    department = department_of(db, actor)
    with db.transaction(write=True) as session:
        row = session.get(ShareGrantRow, grant_id)
        if row is None:
            raise NotFound(str(grant_id))
        dataset = sharing.catalogue().at(at.date()).dataset(row.dataset)
        if dataset is None:
            raise FieldError("dataset", "该数据集已不在现行共享目录中", "the dataset is no longer in the catalogue")
        _check_owner(department, actor, dataset, row.consumer)
        if row.status != "requested":
            raise Conflict(f"该申请已{sharing.GRANT_STATUS_LABELS_ZH.get(row.status, row.status)}", f"the grant is already {row.status}")
        if not approve and not note.strip():
            raise FieldError("note", "不予批准须说明理由", "state why the request is refused")
        row.status = "approved" if approve else "refused"
        row.decided_by, row.decided_at, row.decision_note = actor.username, at, note.strip()[:512] or None
        _audit(session, actor, "grant" if approve else "decide", "share_grant", str(row.id), row.purpose, at,
               {"dataset": row.dataset, "consumer": row.consumer, "fields": row.fields.split(), "approved": approve})
        return _grant(row)


def revoke_grant(db: Database, actor: Actor, grant_id: int, *, note: str, at: datetime | None = None) -> sharing.Grant:
    """撤销共享授权 — the owner department ends an approved grant before its expiry."""
    at = at or datetime.now(UTC)
    if not note.strip():
        raise FieldError("note", "撤销须说明理由", "state why the grant is revoked")
    department = department_of(db, actor)
    with db.transaction(write=True) as session:
        row = session.get(ShareGrantRow, grant_id)
        if row is None:
            raise NotFound(str(grant_id))
        dataset = sharing.catalogue().at(at.date()).dataset(row.dataset)
        if dataset is not None:
            _check_owner(department, actor, dataset, row.consumer)
        elif actor.role is not Role.ADMIN:
            raise Forbidden("只有系统管理员可以撤销已下架数据集的授权", "only an administrator may revoke a grant of a withdrawn dataset")
        if row.status != "approved":
            raise Conflict("只能撤销已批准的授权", "only an approved grant can be revoked")
        row.status = "revoked"
        row.decided_by, row.decided_at, row.decision_note = actor.username, at, note.strip()[:512]
        _audit(session, actor, "revoke", "share_grant", str(row.id), row.purpose, at, {"dataset": row.dataset, "consumer": row.consumer})
        return _grant(row)


def list_grants(db: Database, actor: Actor, *, status: str | None = None) -> list[sharing.Grant]:
    """A partner department sees its own grants and those of the datasets it owns; the bureau's approvers and
    supervisors see all."""
    owned: list[str] = []
    if actor.role is Role.PARTNER:
        department = department_of(db, actor)
        owned = [d.code for v in sharing.catalogue().versions for d in v.datasets if d.owner == department]
    with db.transaction() as session:
        stmt = select(ShareGrantRow).order_by(ShareGrantRow.id.desc())
        if actor.role is Role.PARTNER:
            stmt = stmt.where(or_(ShareGrantRow.consumer == (actor.unit or ""), ShareGrantRow.dataset.in_(owned)))
        elif actor.role not in (*BUREAU_APPROVERS, Role.SUPERVISOR):
            raise Forbidden("无权查看共享授权", "you may not list sharing grants")
        if status:
            stmt = stmt.where(ShareGrantRow.status == status)
        return [_grant(r) for r in session.scalars(stmt)]


def organisation_names(db: Database) -> dict[str, str]:
    return {code: name for code, (_kind, name) in _org_kinds(db).items()}


# ---------------------------------------------------------------- reads


def _subject_parts(spec: sharing.Dataset, key: str) -> tuple[str, dict[str, str]]:
    if spec.subject == "vehicle":
        plate, plate_type = registry.parse_vehicle_key(key)
        return f"{plate}:{plate_type}", {"plate_number": plate, "plate_type": plate_type}
    if spec.subject == "person":
        from trafficgov.registry.rows import holder_id

        number = holder_id({"subject": key}, "subject")
        return number, {"id_number": number}
    from trafficgov.registry.identifiers import validate_uscc

    code = validate_uscc(key, "subject")
    return code, {"uscc": code}


def read_record(db: Database, spec: sharing.Dataset, key: str, day: date) -> tuple[str, dict, str | None, str]:
    """The subject's record for a dataset, from where its owner keeps it: the registry, or the hub's copy of the
    owner's own system (the latest matching record). Returns (key, values, the natural person, provenance)."""
    if spec.reader is None:
        norm, values, person = registry.record_for_sharing(db, spec.subject, key, day)
        return norm, values, person, "registry"
    reader = spec.reader
    norm, parts = _subject_parts(spec, key)
    with db.transaction() as session:
        stmt = select(HubRecordRow).where(HubRecordRow.kind == reader.hub_kind)
        for std_field, part in reader.match.items():
            stmt = stmt.where(HubRecordRow.fields[std_field].as_string() == parts[part])
        rows = list(session.scalars(stmt))
    if not rows:
        raise NotFound(norm)
    row = max(rows, key=lambda r: (str((r.fields or {}).get(reader.latest) or ""), r.source_id))
    values = dict(row.fields or {})
    if reader.in_force:
        start, end = (values.get(f) for f in reader.in_force)
        values["in_force"] = bool(start and end and date.fromisoformat(str(start)) <= day <= date.fromisoformat(str(end)))
    person = parts.get("id_number") if spec.subject == "person" else None
    if spec.subject == "vehicle":
        person = registry.owner_person(db, parts["plate_number"], parts["plate_type"])
    return norm, values, person, f"{row.source}/{row.source_id}"


def _log_read(session: Session, actor: Actor, *, at: datetime, dataset: str, purpose: str, subject: str, person: str | None,
              fields: tuple[str, ...], grant_id: int | None, outcome: str, refusal: str | None, case_ref: str | None) -> None:
    session.add(ShareReadRow(
        at=at, consumer=actor.unit, actor=actor.username, dataset=dataset[:48], purpose=purpose[:48], subject_key=subject[:64],
        subject_person=person, fields=" ".join(fields), grant_id=grant_id, outcome=outcome, refusal=refusal, case_ref=case_ref,
    ))
    _audit(session, actor, "share", dataset[:64], subject[:256], purpose[:512], at, {
        "consumer": actor.unit, "fields": list(fields), "grant_id": grant_id, "outcome": outcome, "refusal": refusal, "case_ref": case_ref,
    })
    if case_ref and actor.unit and session.get(ShareCaseRow, (actor.unit, case_ref)) is None:
        session.add(ShareCaseRow(consumer=actor.unit, case_ref=case_ref, opened_at=at))


def share(db: Database, actor: Actor, dataset: str, subject: str, purpose: str, *, case_ref: str | None = None, at: datetime | None = None) -> SharedRecord:
    """部门共享调用 — a partner department reads one subject of a dataset for a purpose, under its grant.
    Refusals (ShareRefused, 403) are logged and audited like served reads."""
    at = at or datetime.now(UTC)
    day = at.date()
    version = sharing.catalogue().at(day)
    with db.transaction() as session:
        grants = [_grant(r) for r in session.scalars(select(ShareGrantRow).where(ShareGrantRow.consumer == (actor.unit or ""), ShareGrantRow.dataset == dataset))]
    spec = version.dataset(dataset)
    decision = sharing.check_access(version, dataset, purpose, actor.unit if actor.role is Role.PARTNER else None, grants, day, case_ref)
    if isinstance(decision, sharing.Refusal):
        with db.transaction(write=True) as session:
            _log_read(session, actor, at=at, dataset=dataset, purpose=purpose, subject=subject, person=None, fields=(), grant_id=None,
                      outcome="refused", refusal=decision.code, case_ref=case_ref)
        raise ShareRefused(decision)
    assert spec is not None
    try:
        key, record, person, provenance = read_record(db, spec, subject, day)
    except NotFound:
        with db.transaction(write=True) as session:
            _log_read(session, actor, at=at, dataset=dataset, purpose=purpose, subject=subject, person=None, fields=(), grant_id=decision.id,
                      outcome="not_found", refusal=None, case_ref=case_ref)
        raise
    granted = tuple(f for f in decision.fields if f in spec.field_names)
    with db.transaction(write=True) as session:
        _log_read(session, actor, at=at, dataset=dataset, purpose=purpose, subject=key, person=person, fields=granted, grant_id=decision.id,
                  outcome="served", refusal=None, case_ref=(case_ref or "").strip() or None)
    return SharedRecord(
        dataset=dataset, subject=key, purpose=purpose, grant_id=decision.id, fields=sharing.project(record, granted),
        source=provenance, owner=spec.owner, as_of=day, read_at=at,
    )


def close_case(db: Database, actor: Actor, case_ref: str, *, at: datetime | None = None) -> None:
    """办结调查 — the consumer closes an investigation; from now on its reads are shown to the people read."""
    at = at or datetime.now(UTC)
    if actor.role is not Role.PARTNER or not actor.unit:
        raise Forbidden("只有协作部门账户可以办结本部门的调查", "only a partner department may close its investigation")
    with db.transaction(write=True) as session:
        row = session.get(ShareCaseRow, (actor.unit, case_ref))
        if row is None:
            raise NotFound(case_ref)
        if row.closed_at is None:
            row.closed_at = at
            _audit(session, actor, "update", "share_case", case_ref[:256], None, at, {"closed": True})


@dataclass(frozen=True)
class Material:
    """材料 — a record one of the platform's own services fetched instead of asking the applicant for it."""

    material: str
    subject: str
    fields: dict[str, Any]
    source: str
    owner: str
    owner_zh: str
    as_of: date
    fetched_at: datetime


def fetch_material(db: Database, actor: Actor, material: str, subject: str, purpose: str, *, at: datetime | None = None) -> Material:
    """一次办 — fetch material X for subject Y for purpose Z for a platform service (e.g. a one-stop matter),
    with its provenance, so the applicant is never asked for what a department holds. The bureau's own
    datasets are read by its staff for a catalogue purpose; another department's need that department's grant."""
    at = at or datetime.now(UTC)
    version = sharing.catalogue().at(at.date())
    spec = version.dataset(material)
    if spec is None:
        raise FieldError("material", f"共享目录中没有此材料：{material}", f"no material {material!r} in the catalogue")
    if version.purpose(purpose) is None:
        raise FieldError("purpose", f"未登记的共享用途：{purpose}", f"unknown purpose {purpose!r}")
    if not actor.is_staff:
        raise Forbidden("只有工作人员办理业务时可以调取材料", "only staff handling a matter may fetch materials")
    fields: tuple[str, ...] = spec.field_names
    if spec.owner != "traffic_police":
        # another department's data: a grant to any unit of the bureau serves the bureau's services
        with db.transaction() as session:
            grants = [_grant(r) for r in session.scalars(select(ShareGrantRow).where(ShareGrantRow.dataset == material))]
        bureau = sorted(code for code, (kind, _name) in _org_kinds(db).items() if kind in BUREAU_ORG_KINDS)
        decisions = [sharing.check_access(version, material, purpose, unit, grants, at.date()) for unit in bureau]
        granted = [d for d in decisions if isinstance(d, sharing.Grant)]
        if not granted:
            refusal = next((d for d in decisions if isinstance(d, sharing.Refusal) and d.code != "no_grant"), None)
            raise ShareRefused(refusal or sharing.Refusal("no_grant", f"本局未获得“{spec.label_zh}”的共享授权", f"the bureau holds no grant for {material}"))
        fields = max(granted, key=lambda g: g.id).fields
    key, record, person, provenance = read_record(db, spec, subject, at.date())
    with db.transaction(write=True) as session:
        _log_read(session, actor, at=at, dataset=material, purpose=purpose, subject=key, person=person, fields=fields, grant_id=None,
                  outcome="served", refusal=None, case_ref=None)
    return Material(material=material, subject=key, fields=sharing.project(record, fields), source=provenance, owner=spec.owner,
                    owner_zh=spec.owner_zh, as_of=at.date(), fetched_at=at)


# ---------------------------------------------------------------- the person's own view (Data Tracker)


_STAFF_READ_LABELS = {"person": "一人一档", "licence": "驾驶证", "vehicle": "机动车"}


def reads_about_me(db: Database, actor: Actor, *, limit: int = 200) -> list[ReadEntry]:
    """谁查看了我的数据 — departments' reads through the hub and staff look-ups of the citizen's own person, licence
    and vehicles, newest first; a read for an open investigation appears once that case is closed."""
    if actor.role is not Role.CITIZEN or not actor.id_number:
        raise Forbidden("只有群众本人可以查看自己的数据被查询记录", "only the person may see who read their data")
    me = actor.id_number
    version_cache: dict[date, sharing.CatalogueVersion] = {}
    names = organisation_names(db)
    plates = registry.plates_of_owner(db, me)
    entries: list[ReadEntry] = []
    with db.transaction() as session:
        closed = {(c.consumer, c.case_ref) for c in session.scalars(select(ShareCaseRow).where(ShareCaseRow.closed_at.is_not(None)))}
        reads = list(session.scalars(
            select(ShareReadRow).where(ShareReadRow.subject_person == me, ShareReadRow.outcome == "served").order_by(ShareReadRow.at.desc()).limit(limit)
        ))
        staff = []
        for entity, key in [("person", me), ("licence", me), *(("vehicle", p) for p in plates)]:
            staff.extend(audit.search(session, entity=entity, record_key=key, action="read", limit=limit))
    for r in reads:
        day = r.at.date()
        version = version_cache.setdefault(day, sharing.catalogue().at(day))
        purpose = version.purpose(r.purpose)
        if not sharing.visible_to_subject(bool(purpose and purpose.investigation), r.case_ref, closed, r.consumer or ""):
            continue
        spec = version.dataset(r.dataset)
        entries.append(ReadEntry(
            at=r.at, who=names.get(r.consumer or "", r.consumer or ""), purpose=purpose.label_zh if purpose else r.purpose,
            what=spec.label_zh if spec else r.dataset, fields=tuple(spec.label_of(f) for f in r.fields.split()) if spec else tuple(r.fields.split()),
            channel="部门共享",
        ))
    from trafficgov.registry.codetables import code_tables

    tables = code_tables()
    for rec in staff:
        if rec.role == str(Role.PARTNER):
            continue  # partner reads of the registry are listed above through the hub
        purpose = tables.label("query_purposes", rec.purpose) if rec.purpose else "—"
        entries.append(ReadEntry(
            at=rec.at, who=names.get(rec.unit or "", rec.unit or ORG_KIND_LABELS_ZH.get("detachment", "")), purpose=purpose,
            what=_STAFF_READ_LABELS.get(rec.entity, rec.entity) + ("" if rec.entity != "vehicle" else f" {rec.record_key}"),
            fields=(), channel="工作人员查询",
        ))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
