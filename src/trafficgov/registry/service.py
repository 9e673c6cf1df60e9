"""Use cases of the registry: look-ups (scoped by role, audited with a stated purpose), corrections.

Every staff read of personal data states a purpose (查询事由) and appends to the audit log in the
same transaction; a citizen sees only their own records, a company only its own vehicles and drivers.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from types import SimpleNamespace

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.accounts.policy import role_policy
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.errors import FieldError, Forbidden, NotFound
from trafficgov.registry import model as m
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.identifiers import normalise
from trafficgov.registry.masking import mask_id_number, mask_phone
from trafficgov.registry.plates import validate_plate
from trafficgov.registry.points import PointsChange, add_points, anniversary
from trafficgov.registry.rows import holder_id
from trafficgov.registry.store import (
    CompanyRow,
    CorrectionRow,
    EmploymentRow,
    HistoryRow,
    LicenceRow,
    PersonRow,
    VehicleRow,
)
from trafficgov.registry.vehicle_sets import key_vehicle_reasons, two_passenger_one_danger_one_freight
from trafficgov.store.db import Database

PERSON_READERS = {Role.CLERK, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN}


# ---------------------------------------------------------------- views


class Masker:
    """Masks personal numbers unless the actor's role (or ownership) allows them in clear."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.unmasked = set(role_policy(actor.role).unmasked)

    def id_number(self, value: str | None, owner: str | None = None) -> str | None:
        if value is None or "id_number" in self.unmasked and (self.actor.role is not Role.CITIZEN or value == self.actor.id_number):
            return value
        if owner is not None and owner == self.actor.id_number:
            return value
        if len(value) == 18 and not value[:17].isdigit():  # a company's credit code is not personal
            return value
        return mask_id_number(value)

    def phone(self, value: str | None, owner: str | None = None) -> str | None:
        if value is None:
            return None
        if "phone" in self.unmasked and (self.actor.role is not Role.CITIZEN or owner == self.actor.id_number):
            return value
        return mask_phone(value)

    @property
    def masks(self) -> bool:
        return "id_number" not in self.unmasked


def person_view(row: PersonRow, masker: Masker) -> m.PersonView:
    tables = code_tables()
    return m.PersonView(
        id_number=masker.id_number(row.id_number, row.id_number) or "",
        doc_type=row.doc_type,
        doc_type_label=tables.label("document_types", row.doc_type),
        name=row.name,
        phone=masker.phone(row.phone, row.id_number),
        address=row.address,
        birth_date=row.birth_date,
        sex=row.sex,
        masked=masker.masks and masker.actor.id_number != row.id_number,
    )


def cycle_end(start: date | None) -> date | None:
    return None if start is None else anniversary(start, 1)


def licence_view(row: LicenceRow, holder_name: str | None, school_name: str | None, masker: Masker) -> m.LicenceView:
    tables = code_tables()
    classes = (row.classes or "").split()
    return m.LicenceView(
        id_number=masker.id_number(row.id_number, row.id_number) or "",
        holder_name=holder_name,
        classes=classes,
        classes_label="、".join(f"{c} {tables.label('licence_classes', c)}" for c in classes),
        first_issued=row.first_issued,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=row.status,
        status_label=tables.label("licence_statuses", row.status) if row.status else None,
        school_uscc=row.school_uscc,
        school_name=school_name,
        points=row.points,
        cycle_start=row.cycle_start,
        cycle_end=cycle_end(row.cycle_start),
    )


@functools.lru_cache(maxsize=4096)
def _vehicle_sets_of(vehicle_type: str, use_nature: str | None, mass_kg: int | None, passengers: int | None) -> tuple[tuple[str, ...], str | None]:
    """重点车辆 reasons and 两客一危一货 member of a kind of vehicle: few distinct kinds, asked on every look-up."""
    reasons = key_vehicle_reasons(vehicle_type, use_nature, max_total_mass_kg=mass_kg, rated_passengers=passengers)
    return tuple(reasons), two_passenger_one_danger_one_freight(vehicle_type, use_nature, max_total_mass_kg=mass_kg)


def vehicle_view(row: VehicleRow, masker: Masker, as_of: date, owner_name: str | None = None) -> m.VehicleView:
    tables = code_tables()
    reasons, transport_set = _vehicle_sets_of(row.vehicle_type, row.use_nature, row.max_total_mass_kg, row.rated_passengers) if row.vehicle_type else ((), None)
    return m.VehicleView(
        plate_number=row.plate_number,
        plate_type=row.plate_type,
        plate_type_label=tables.label("plate_types", row.plate_type),
        vin=row.vin,
        vehicle_type=row.vehicle_type,
        vehicle_type_label=tables.label("vehicle_types", row.vehicle_type) if row.vehicle_type else None,
        use_nature=row.use_nature,
        use_nature_label=tables.label("use_natures", row.use_nature) if row.use_nature else None,
        owner_id=masker.id_number(row.owner_id, row.owner_id),
        owner_name=owner_name,
        operator_uscc=row.operator_uscc,
        rated_passengers=row.rated_passengers,
        rated_load_kg=row.rated_load_kg,
        max_total_mass_kg=row.max_total_mass_kg,
        axles=row.axles,
        registered_on=row.registered_on,
        inspection_due=row.inspection_due,
        insurance_expiry=row.insurance_expiry,
        status=row.status,
        status_label=tables.label("vehicle_statuses", row.status) if row.status else None,
        key_vehicle=bool(reasons),
        key_vehicle_reasons=list(reasons),
        transport_set=transport_set,
        inspection_overdue=bool(row.inspection_due and row.inspection_due < as_of),
        insurance_expired=bool(row.insurance_expiry and row.insurance_expiry < as_of),
    )


def company_view(row: CompanyRow) -> m.CompanyView:
    tables = code_tables()
    return m.CompanyView(
        uscc=row.uscc, name=row.name, kind=row.kind,
        kind_label=tables.label("company_kinds", row.kind) if row.kind else None,
        address=row.address, permit_number=row.permit_number, permit_valid_to=row.permit_valid_to,
    )


def employment_view(row: EmploymentRow, name: str | None, company_name: str | None, masker: Masker) -> m.EmploymentView:
    return m.EmploymentView(
        id_number=masker.id_number(row.id_number, row.id_number) or "", name=name, uscc=row.uscc,
        company_name=company_name, role=row.role, role_label=code_tables().label("employment_roles", row.role),
        from_date=row.from_date, to_date=row.to_date,
    )


# ---------------------------------------------------------------- access and audit


def require_purpose(actor: Actor, purpose: str | None) -> str | None:
    """Staff state a purpose (查询事由) from the code table before opening personal data."""
    if not actor.is_staff:
        return purpose
    if not purpose:
        raise FieldError("purpose", "查询个人信息前须说明查询事由", "state a purpose before opening personal data")
    return code_tables().require("query_purposes", purpose, "purpose")


def audited(actor: Actor) -> bool:
    """Whether this actor's reads of personal data are written to the audit log."""
    return actor.is_staff or actor.role is Role.PARTNER


def record_read(session: Session, actor: Actor, entity: str, key: str, purpose: str | None, at: datetime) -> None:
    if audited(actor):
        audit.append(session, AuditEntry(
            actor=actor.username, role=str(actor.role), unit=actor.unit, action="read", entity=entity,
            record_key=key, purpose=purpose, at=at,
        ))


def _names(session: Session, ids: set[str]) -> dict[str, str | None]:
    if not ids:
        return {}
    people = dict(session.execute(select(PersonRow.id_number, PersonRow.name).where(PersonRow.id_number.in_(ids))).all())
    companies = dict(session.execute(select(CompanyRow.uscc, CompanyRow.name).where(CompanyRow.uscc.in_(ids))).all())
    return {**people, **companies}


def _company_may_see_person(session: Session, actor: Actor, id_number: str) -> bool:
    return session.scalar(
        select(EmploymentRow.id).where(EmploymentRow.uscc == actor.uscc, EmploymentRow.id_number == id_number).limit(1)
    ) is not None


def _check_person_access(session: Session, actor: Actor, id_number: str) -> None:
    if actor.role in PERSON_READERS:
        return
    if actor.role is Role.CITIZEN and actor.id_number == id_number:
        return
    if actor.role is Role.COMPANY and _company_may_see_person(session, actor, id_number):
        return
    raise Forbidden("只能查看本人（本单位从业人员）的信息", "you may only open your own records (or your company's staff)")


# ---------------------------------------------------------------- look-ups


def _person_record(session: Session, actor: Actor, row: PersonRow, as_of: date) -> m.PersonRecord:
    masker = Masker(actor)
    licence = session.scalar(select(LicenceRow).where(LicenceRow.id_number == row.id_number))
    vehicles = list(session.scalars(select(VehicleRow).where(VehicleRow.owner_id == row.id_number).order_by(VehicleRow.plate_number)))
    employments = list(session.scalars(select(EmploymentRow).where(EmploymentRow.id_number == row.id_number).order_by(EmploymentRow.from_date)))
    if actor.role is Role.COMPANY:
        vehicles = [v for v in vehicles if actor.uscc in (v.owner_id, v.operator_uscc)]
        employments = [e for e in employments if e.uscc == actor.uscc]
    names = _names(session, {e.uscc for e in employments} | ({licence.school_uscc} if licence and licence.school_uscc else set()))
    return m.PersonRecord(
        person=person_view(row, masker),
        licence=licence_view(licence, row.name, names.get(licence.school_uscc or ""), masker) if licence else None,
        vehicles=[vehicle_view(v, masker, as_of, row.name) for v in vehicles],
        employments=[employment_view(e, row.name, names.get(e.uscc), masker) for e in employments],
    )


def get_person(db: Database, actor: Actor, id_number: str, *, purpose: str | None = None, as_of: date | None = None, at: datetime | None = None) -> m.PersonRecord:
    """一人一档 — a person by ID number, with licence, vehicles and employments."""
    at = at or datetime.now(UTC)
    purpose = require_purpose(actor, purpose)
    key = holder_id({"id_number": id_number})
    with db.transaction(write=audited(actor)) as session:
        _check_person_access(session, actor, key)
        row = session.scalar(select(PersonRow).where(PersonRow.id_number == key))
        if row is None:
            raise NotFound(key)
        record = _person_record(session, actor, row, as_of or at.date())
        record_read(session, actor, "person", key, purpose, at)
        return record


def get_licence(db: Database, actor: Actor, id_number: str, *, purpose: str | None = None, at: datetime | None = None) -> m.LicenceView:
    at = at or datetime.now(UTC)
    purpose = require_purpose(actor, purpose)
    key = holder_id({"id_number": id_number})
    with db.transaction(write=audited(actor)) as session:
        _check_person_access(session, actor, key)
        row = session.scalar(select(LicenceRow).where(LicenceRow.id_number == key))
        if row is None:
            raise NotFound(key)
        names = _names(session, {key} | ({row.school_uscc} if row.school_uscc else set()))
        view = licence_view(row, names.get(key), names.get(row.school_uscc or ""), Masker(actor))
        record_read(session, actor, "licence", key, purpose, at)
        return view


def _check_vehicle_access(actor: Actor, row: VehicleRow) -> None:
    if actor.role in PERSON_READERS:
        return
    if actor.role is Role.CITIZEN and row.owner_id == actor.id_number:
        return
    if actor.role is Role.COMPANY and actor.uscc in (row.owner_id, row.operator_uscc):
        return
    raise Forbidden("只能查看本人（本单位）名下的车辆", "you may only open your own (your company's) vehicles")


def _vehicle(session: Session, actor: Actor, row: VehicleRow | None, key: str, purpose: str | None, at: datetime, as_of: date | None) -> m.VehicleView:
    if row is None:
        raise NotFound(key)
    _check_vehicle_access(actor, row)
    owner_name = row.owner_name if hasattr(row, "owner_name") else _names(session, {row.owner_id} if row.owner_id else set()).get(row.owner_id or "")
    view = vehicle_view(row, Masker(actor), as_of or at.date(), owner_name)
    record_read(session, actor, "vehicle", f"{row.plate_number}:{row.plate_type}", purpose, at)
    return view


def get_vehicle(db: Database, actor: Actor, plate_number: str, plate_type: str, *, purpose: str | None = None, as_of: date | None = None, at: datetime | None = None) -> m.VehicleView:
    """机动车 by plate number and plate type."""
    at = at or datetime.now(UTC)
    purpose = require_purpose(actor, purpose)
    plate = validate_plate(plate_number, plate_type)
    # a hot route (ADR 0003): Core statements only, on the driver's connection where the store is SQLite
    with db.hot_transaction(write=audited(actor)) as session:
        row = session.execute(_VEHICLE_BY_PLATE, {"plate_number": plate, "plate_type": plate_type}).first()
        return _vehicle(session, actor, row, f"{plate}:{plate_type}", purpose, at, as_of)


def get_vehicle_by_vin(db: Database, actor: Actor, vin: str, *, purpose: str | None = None, as_of: date | None = None, at: datetime | None = None) -> m.VehicleView:
    from trafficgov.registry.identifiers import validate_vin

    at = at or datetime.now(UTC)
    purpose = require_purpose(actor, purpose)
    vin = validate_vin(vin)
    with db.transaction(write=audited(actor)) as session:
        row = session.scalar(select(VehicleRow).where(VehicleRow.vin == vin))
        return _vehicle(session, actor, row, vin, purpose, at, as_of)


def _check_company_access(actor: Actor, uscc: str) -> None:
    if actor.role in PERSON_READERS or actor.role is Role.PARTNER:
        return
    if actor.role is Role.COMPANY and actor.uscc == uscc:
        return
    raise Forbidden("只能查看本单位的信息", "you may only open your own company's record")


def get_company(db: Database, actor: Actor, uscc: str, *, purpose: str | None = None, as_of: date | None = None, at: datetime | None = None) -> m.CompanyRecord:
    """企业 by unified social credit code, with its vehicles and current drivers."""
    at = at or datetime.now(UTC)
    as_of = as_of or at.date()
    code = normalise(uscc)
    _check_company_access(actor, code)
    if actor.role is not Role.PARTNER:
        purpose = require_purpose(actor, purpose)
    with db.transaction(write=audited(actor)) as session:
        row = session.scalar(select(CompanyRow).where(CompanyRow.uscc == code))
        if row is None:
            raise NotFound(code)
        masker = Masker(actor)
        if actor.role is Role.PARTNER:  # governed sharing (datasets and grants) comes with the data hub
            record_read(session, actor, "company", code, purpose, at)
            return m.CompanyRecord(company=company_view(row), vehicles=[], drivers=[])
        vehicles = list(session.scalars(select(VehicleRow).where(or_(VehicleRow.owner_id == code, VehicleRow.operator_uscc == code)).order_by(VehicleRow.plate_number)))
        employments = list(session.scalars(
            select(EmploymentRow).where(EmploymentRow.uscc == code, or_(EmploymentRow.to_date.is_(None), EmploymentRow.to_date >= as_of)).order_by(EmploymentRow.role, EmploymentRow.id_number)
        ))
        names = _names(session, {e.id_number for e in employments} | {v.owner_id for v in vehicles if v.owner_id})
        record = m.CompanyRecord(
            company=company_view(row),
            vehicles=[vehicle_view(v, masker, as_of, names.get(v.owner_id or "")) for v in vehicles],
            drivers=[employment_view(e, names.get(e.id_number), row.name, masker) for e in employments],
        )
        record_read(session, actor, "company", code, purpose, at)
        return record


def search_companies(db: Database, actor: Actor, name: str, *, limit: int = 50) -> list[m.CompanyView]:
    """企业 by a part of the name (e.g. without the 有限公司 suffix)."""
    if not actor.is_staff and actor.role is not Role.PARTNER:
        raise Forbidden("无权检索企业", "your role may not search companies")
    words = name.strip()
    if not words:
        raise FieldError("name", "请输入企业名称", "enter a company name")
    with db.transaction() as session:
        rows = session.scalars(select(CompanyRow).where(CompanyRow.name.contains(words, autoescape=True)).order_by(CompanyRow.name).limit(limit))
        return [company_view(r) for r in rows]


# The two hottest look-ups (a citizen's own records, a vehicle by plate) run prebuilt Core statements
# with bound parameters: SQLAlchemy then skips building and keying a statement on every request.
_people, _licences, _vehicles, _companies = PersonRow.__table__, LicenceRow.__table__, VehicleRow.__table__, CompanyRow.__table__
_LICENCE_COLUMNS = ("classes", "first_issued", "valid_from", "valid_to", "status", "school_uscc", "points", "cycle_start")
_PERSON_AND_LICENCE = (
    select(_people, _licences.c.id.label("licence_id"), *(_licences.c[c].label(f"licence_{c}") for c in _LICENCE_COLUMNS), _companies.c.name.label("school_name"))
    .outerjoin(_licences, _licences.c.id_number == _people.c.id_number)
    .outerjoin(_companies, _companies.c.uscc == _licences.c.school_uscc)
    .where(_people.c.id_number == bindparam("id_number"))
)
_VEHICLES_OF_OWNER = select(_vehicles).where(_vehicles.c.owner_id == bindparam("owner_id")).order_by(_vehicles.c.plate_number)
_VEHICLE_BY_PLATE = (
    select(_vehicles, func.coalesce(_people.c.name, _companies.c.name).label("owner_name"))
    .outerjoin(_people, _people.c.id_number == _vehicles.c.owner_id)
    .outerjoin(_companies, _companies.c.uscc == _vehicles.c.owner_id)
    .where(_vehicles.c.plate_number == bindparam("plate_number"), _vehicles.c.plate_type == bindparam("plate_type"))
)


def _licence_of(row) -> SimpleNamespace | None:  # noqa: ANN001
    if row.licence_id is None:
        return None
    return SimpleNamespace(id_number=row.id_number, **{c: getattr(row, f"licence_{c}") for c in _LICENCE_COLUMNS})


def my_records(db: Database, actor: Actor, *, as_of: date | None = None) -> m.MyRecords:
    """我的信息 — a citizen's own person, licence (points) and vehicles; a company's vehicles and drivers."""
    as_of = as_of or datetime.now(UTC).date()
    masker = Masker(actor)
    if actor.role is Role.CITIZEN and actor.id_number:
        # the busiest read of the platform (ADR 0003): two indexed look-ups in one read transaction, on the
        # driver's connection where the store is SQLite
        with db.hot_transaction() as session:
            person = session.execute(_PERSON_AND_LICENCE, {"id_number": actor.id_number}).first()
            vehicles = session.execute(_VEHICLES_OF_OWNER, {"owner_id": actor.id_number}).all()
        licence = _licence_of(person) if person else None
        name = person.name if person else None
        school = person.school_name if person else None
        return m.MyRecords(
            role=str(actor.role),
            person=person_view(person, masker) if person else None,
            licence=licence_view(licence, name, school, masker) if licence else None,
            vehicles=[vehicle_view(v, masker, as_of, name) for v in vehicles],
        )
    with db.transaction() as session:
        if actor.role is Role.COMPANY and actor.uscc:
            record = None
            company = session.scalar(select(CompanyRow).where(CompanyRow.uscc == actor.uscc))
            if company is not None:
                vehicles = list(session.scalars(select(VehicleRow).where(or_(VehicleRow.owner_id == actor.uscc, VehicleRow.operator_uscc == actor.uscc)).order_by(VehicleRow.plate_number)))
                employments = list(session.scalars(
                    select(EmploymentRow).where(EmploymentRow.uscc == actor.uscc, or_(EmploymentRow.to_date.is_(None), EmploymentRow.to_date >= as_of)).order_by(EmploymentRow.role, EmploymentRow.id_number)
                ))
                names = _names(session, {e.id_number for e in employments})
                record = m.MyRecords(
                    role=str(actor.role), company=company_view(company),
                    vehicles=[vehicle_view(v, masker, as_of, company.name) for v in vehicles],
                    drivers=[employment_view(e, names.get(e.id_number), company.name, masker) for e in employments],
                )
            return record or m.MyRecords(role=str(actor.role))
    raise Forbidden("仅群众和企业账户有“我的信息”", "only citizen and company accounts own records")


def get_history(db: Database, actor: Actor, entity: str, key: str) -> list[m.HistoryView]:
    """变更历史 of a record: staff, or a citizen for their own person record."""
    if not actor.is_staff and not (actor.role is Role.CITIZEN and entity == "people" and key == actor.id_number):
        raise Forbidden("无权查看变更历史", "you may not read this record's history")
    with db.transaction() as session:
        rows = session.scalars(select(HistoryRow).where(HistoryRow.entity == entity, HistoryRow.entity_key == key).order_by(HistoryRow.id))
        return [m.HistoryView(changed_at=r.changed_at, actor=r.actor, source=r.source, old_values=r.old_values, new_values=r.new_values) for r in rows]


# ---------------------------------------------------------------- corrections (个人信息保护法 第四十六条)


def _correction_view(row: CorrectionRow, masker: Masker) -> m.CorrectionView:
    status = m.CorrectionStatus(row.status)
    return m.CorrectionView(
        id=row.id, requester_id_number=masker.id_number(row.requester_id_number, row.requester_id_number) or "",
        entity=row.entity, entity_key=masker.id_number(row.entity_key, row.entity_key) or "", field=row.field,
        current_value=row.current_value, requested_value=row.requested_value, reason=row.reason, status=status,
        status_label=m.CORRECTION_LABELS_ZH[status], submitted_at=row.submitted_at, decided_at=row.decided_at,
        decided_by=row.decided_by, decision_note=row.decision_note,
    )


def submit_correction(db: Database, actor: Actor, field: str, requested_value: str, reason: str, *, at: datetime | None = None) -> m.CorrectionView:
    """A citizen asks to correct a field of their own person record."""
    at = at or datetime.now(UTC)
    if actor.role is not Role.CITIZEN or not actor.id_number:
        raise Forbidden("仅本人可申请更正个人信息", "only the person concerned may ask for a correction")
    if field not in m.CORRECTABLE["person"]:
        raise FieldError("field", f"该字段不可在线申请更正：{field}（可更正：姓名、电话、住址）", f"field {field!r} cannot be corrected online; allowed: {', '.join(m.CORRECTABLE['person'])}")
    requested_value = requested_value.strip()
    if not requested_value or len(requested_value) > 256:
        raise FieldError("requested_value", "更正后的内容不能为空且不超过256字", "the requested value must be 1-256 characters")
    if not reason.strip():
        raise FieldError("reason", "请说明更正理由", "give a reason for the correction")
    with db.transaction(write=True) as session:
        person = session.scalar(select(PersonRow).where(PersonRow.id_number == actor.id_number))
        if person is None:
            raise NotFound(actor.id_number)
        row = CorrectionRow(
            requester_id_number=actor.id_number, entity="person", entity_key=actor.id_number, field=field,
            current_value=getattr(person, field), requested_value=requested_value, reason=reason.strip(),
            status=str(m.CorrectionStatus.PENDING), submitted_at=at,
        )
        session.add(row)
        session.flush()
        audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action="create", entity="correction", record_key=str(row.id), purpose=None, at=at, detail={"field": field}))
        return _correction_view(row, Masker(actor))


def list_corrections(db: Database, actor: Actor, status: str | None = None) -> list[m.CorrectionView]:
    with db.transaction() as session:
        query = select(CorrectionRow).order_by(CorrectionRow.id.desc())
        if actor.role is Role.CITIZEN:
            query = query.where(CorrectionRow.requester_id_number == actor.id_number)
        elif actor.role not in (Role.CLERK, Role.SUPERVISOR, Role.ADMIN):
            raise Forbidden("无权查看更正申请", "your role may not read correction requests")
        if status:
            query = query.where(CorrectionRow.status == m.CorrectionStatus(status))
        masker = Masker(actor)
        return [_correction_view(r, masker) for r in session.scalars(query.limit(500))]


def decide_correction(db: Database, actor: Actor, correction_id: int, approve: bool, note: str, *, at: datetime | None = None) -> m.CorrectionView:
    """A clerk approves (the record changes, its history keeps the old value) or rejects with a reason."""
    at = at or datetime.now(UTC)
    if actor.role not in (Role.CLERK, Role.ADMIN):
        raise Forbidden("仅窗口工作人员可处理更正申请", "only a window clerk may decide a correction")
    if not approve and not note.strip():
        raise FieldError("note", "不予更正须说明理由", "a rejection needs a reason")
    with db.transaction(write=True) as session:
        row = session.get(CorrectionRow, correction_id)
        if row is None:
            raise NotFound(str(correction_id))
        if row.status != m.CorrectionStatus.PENDING:
            raise FieldError("status", "该申请已处理", "this request has already been decided")
        row.status = str(m.CorrectionStatus.APPROVED if approve else m.CorrectionStatus.REJECTED)
        row.decided_at, row.decided_by, row.decision_note = at, actor.username, note.strip() or None
        if approve:
            person = session.scalar(select(PersonRow).where(PersonRow.id_number == row.entity_key))
            if person is None:
                raise NotFound(row.entity_key)
            old = getattr(person, row.field)
            value = row.requested_value
            if row.field == "phone":
                from trafficgov.registry.rows import phone

                value = phone({"phone": value})
            setattr(person, row.field, value)
            person.updated_at = at
            session.add(HistoryRow(
                entity="people", entity_key=person.id_number, changed_at=at, actor=actor.username,
                source=f"correction:{row.id}", old_values={row.field: old}, new_values={row.field: value},
            ))
        audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action="decide", entity="correction", record_key=str(row.id), purpose="service_handling", at=at, detail={"approved": approve}))
        return _correction_view(row, Masker(actor))



# ---------------------------------------------------------------- points (记分)


def apply_points(session: Session, id_number: str, points: int, *, at: datetime, day: date, actor: str, source: str) -> PointsChange | None:
    """记分 — add a decision's points to the holder's licence in the cycle that holds the decision day
    (记分管理办法 Arts. 3, 9, 15), in the caller's transaction, with the old and new values in the history.
    None when the person holds no licence here."""
    licence = session.scalars(select(LicenceRow).where(LicenceRow.id_number == id_number).with_for_update()).first()
    if licence is None:
        return None
    change = add_points(points, current=licence.points, cycle_start=licence.cycle_start, first_issued=licence.first_issued, day=day)
    old_values = {"points": licence.points, "cycle_start": licence.cycle_start.isoformat() if licence.cycle_start else None}
    licence.points = change.new_points
    licence.cycle_start = change.cycle_start
    licence.updated_at = at
    new_values = {"points": change.new_points, "cycle_start": change.cycle_start.isoformat()}
    if change.cleared:
        new_values["cleared"] = change.cleared
    session.add(HistoryRow(entity="licence", entity_key=id_number, changed_at=at, actor=actor, source=source, old_values=old_values, new_values=new_values))
    return change


# ---------------------------------------------------------------- governed sharing (the hub decides who may read)


def parse_vehicle_key(key: str) -> tuple[str, str]:
    """A vehicle subject key `号牌号码:号牌种类` (e.g. 鲁A12345:02), validated."""
    plate, sep, plate_type = normalise(key).partition(":")
    if not sep or not plate_type:
        raise FieldError("subject", "车辆须写成“号牌号码:号牌种类”，如 鲁A12345:02", "a vehicle is 'plate:plate_type', e.g. 鲁A12345:02")
    return validate_plate(plate, plate_type, field="subject"), plate_type


def record_for_sharing(db: Database, subject: str, key: str, as_of: date) -> tuple[str, dict, str | None]:
    """共享数据源 — the full record of one subject (vehicle, person or company) as the sharing catalogue names its
    fields, with the normalised key and the natural person it is about (None for a company's record).
    No access check here: the hub grants and audits every read. NotFound when the registry has no such record."""
    with db.transaction() as session:
        if subject == "vehicle":
            plate, plate_type = parse_vehicle_key(key)
            norm = f"{plate}:{plate_type}"
            row = session.connection().execute(_VEHICLE_BY_PLATE, {"plate_number": plate, "plate_type": plate_type}).first()
            if row is None:
                raise NotFound(norm)
            values = {c: getattr(row, c) for c in (
                "plate_number", "plate_type", "vin", "vehicle_type", "use_nature", "owner_id", "owner_name", "operator_uscc",
                "rated_passengers", "rated_load_kg", "max_total_mass_kg", "axles", "registered_on", "inspection_due",
                "insurance_expiry", "status",
            )}
            values["inspection_overdue"] = bool(row.inspection_due and row.inspection_due < as_of)
            values["insurance_expired"] = bool(row.insurance_expiry and row.insurance_expiry < as_of)
            person = row.owner_id if row.owner_id and row.owner_id[:17].isdigit() else None
            return norm, values, person
        if subject == "person":
            norm = holder_id({"subject": key}, "subject")
            row = session.connection().execute(_PERSON_AND_LICENCE, {"id_number": norm}).first()
            if row is None or row.licence_id is None:
                raise NotFound(norm)
            values = {
                "id_number": row.id_number, "name": row.name, "classes": row.licence_classes, "status": row.licence_status,
                "valid_to": row.licence_valid_to, "points": row.licence_points, "cycle_start": row.licence_cycle_start,
                "cycle_end": cycle_end(row.licence_cycle_start),
            }
            return norm, values, norm
        if subject == "company":
            from trafficgov.registry.identifiers import validate_uscc

            norm = validate_uscc(key, "subject")
            company = session.scalar(select(CompanyRow).where(CompanyRow.uscc == norm))
            if company is None:
                raise NotFound(norm)
            values = {
                "uscc": company.uscc, "name": company.name, "kind": company.kind, "permit_number": company.permit_number,
                "permit_valid_to": company.permit_valid_to,
                "permit_valid": bool(company.permit_number and company.permit_valid_to and company.permit_valid_to >= as_of),
            }
            return norm, values, None
    raise FieldError("subject", f"未知的主体类型：{subject}", f"unknown subject kind {subject!r}")


def plates_of_owner(db: Database, owner_id: str) -> list[str]:
    """The vehicle keys (`号牌号码:号牌种类`) registered to one owner, for the owner's 'who read my data' page."""
    with db.transaction() as session:
        return [f"{p}:{t}" for p, t in session.execute(select(VehicleRow.plate_number, VehicleRow.plate_type).where(VehicleRow.owner_id == owner_id))]


def owner_person(db: Database, plate_number: str, plate_type: str) -> str | None:
    """The resident ID number of a vehicle's owner when the owner is a person (None for a company or unknown)."""
    with db.transaction() as session:
        owner = session.scalar(select(VehicleRow.owner_id).where(VehicleRow.plate_number == plate_number, VehicleRow.plate_type == plate_type))
    return owner if owner and owner[:17].isdigit() else None
