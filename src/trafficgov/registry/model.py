"""Plain views of master data as the API and pages show them (personal numbers masked by role)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel


class CorrectionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


CORRECTION_LABELS_ZH = {CorrectionStatus.PENDING: "待处理", CorrectionStatus.APPROVED: "已更正", CorrectionStatus.REJECTED: "不予更正"}

# Fields a citizen may ask to correct (个人信息保护法 第四十六条), per entity.
CORRECTABLE = {"person": ("name", "phone", "address")}


class PersonView(BaseModel):
    """人员信息."""

    id_number: str
    doc_type: str
    doc_type_label: str
    name: str | None
    phone: str | None
    address: str | None
    birth_date: date | None
    sex: str | None
    masked: bool


class LicenceView(BaseModel):
    """驾驶证信息，含本记分周期累积记分."""

    id_number: str
    holder_name: str | None
    classes: list[str]
    classes_label: str
    first_issued: date | None
    valid_from: date | None
    valid_to: date | None
    status: str | None
    status_label: str | None
    school_uscc: str | None
    school_name: str | None
    points: int | None
    cycle_start: date | None
    cycle_end: date | None


class VehicleView(BaseModel):
    """机动车信息，含两类车辆集合的判定."""

    plate_number: str
    plate_type: str
    plate_type_label: str
    vin: str | None
    vehicle_type: str | None
    vehicle_type_label: str | None
    use_nature: str | None
    use_nature_label: str | None
    owner_id: str | None
    owner_name: str | None
    operator_uscc: str | None
    rated_passengers: int | None
    rated_load_kg: int | None
    max_total_mass_kg: int | None
    axles: int | None
    registered_on: date | None
    inspection_due: date | None
    insurance_expiry: date | None
    status: str | None
    status_label: str | None
    key_vehicle: bool
    key_vehicle_reasons: list[str]
    transport_set: str | None
    inspection_overdue: bool
    insurance_expired: bool


class EmploymentView(BaseModel):
    id_number: str
    name: str | None
    uscc: str
    company_name: str | None
    role: str
    role_label: str
    from_date: date
    to_date: date | None


class CompanyView(BaseModel):
    """企业信息."""

    uscc: str
    name: str | None
    kind: str | None
    kind_label: str | None
    address: str | None
    permit_number: str | None
    permit_valid_to: date | None


class PersonRecord(BaseModel):
    """一人一档: a person with their licence, vehicles and employments."""

    person: PersonView
    licence: LicenceView | None
    vehicles: list[VehicleView]
    employments: list[EmploymentView]


class CompanyRecord(BaseModel):
    company: CompanyView
    vehicles: list[VehicleView]
    drivers: list[EmploymentView]


class MyRecords(BaseModel):
    """我的信息: what a citizen or company account owns."""

    role: str
    person: PersonView | None = None
    licence: LicenceView | None = None
    company: CompanyView | None = None
    vehicles: list[VehicleView] = []
    drivers: list[EmploymentView] = []


class HistoryView(BaseModel):
    changed_at: datetime
    actor: str
    source: str
    old_values: dict
    new_values: dict


class CorrectionView(BaseModel):
    id: int
    requester_id_number: str
    entity: str
    entity_key: str
    field: str
    current_value: str | None
    requested_value: str
    reason: str
    status: CorrectionStatus
    status_label: str
    submitted_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
