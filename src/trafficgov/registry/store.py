"""Tables of the registry: people, licences, companies, vehicles, employments, history, corrections."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class PersonRow(Base):
    """人员 — a person, keyed by resident ID number (or another document's number)."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(String(32), unique=True)
    doc_type: Mapped[str] = mapped_column(String(16), default="A")
    name: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(256))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CompanyRow(Base):
    """单位 — a company or other organisation, keyed by unified social credit code."""

    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str | None] = mapped_column(String(128), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(256))
    permit_number: Mapped[str | None] = mapped_column(String(64))
    permit_valid_to: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LicenceRow(Base):
    """机动车驾驶证 — a driving licence; its number is the holder's ID number."""

    __tablename__ = "licences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(ForeignKey("people.id_number"), unique=True)
    classes: Mapped[str | None] = mapped_column(String(64))
    first_issued: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(8))
    school_uscc: Mapped[str | None] = mapped_column(ForeignKey("companies.uscc"), index=True)
    points: Mapped[int | None] = mapped_column(Integer)
    cycle_start: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VehicleRow(Base):
    """机动车 — a motor vehicle, keyed by plate number and plate type; VIN unique too."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("plate_number", "plate_type", name="uq_vehicles_plate"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate_number: Mapped[str] = mapped_column(String(16))
    plate_type: Mapped[str] = mapped_column(String(2))
    vin: Mapped[str | None] = mapped_column(String(17), unique=True)
    vehicle_type: Mapped[str | None] = mapped_column(String(4))
    use_nature: Mapped[str | None] = mapped_column(String(1))
    owner_id: Mapped[str | None] = mapped_column(String(32), index=True)
    operator_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    rated_passengers: Mapped[int | None] = mapped_column(Integer)
    rated_load_kg: Mapped[int | None] = mapped_column(Integer)
    max_total_mass_kg: Mapped[int | None] = mapped_column(Integer)
    axles: Mapped[int | None] = mapped_column(Integer)
    registered_on: Mapped[date | None] = mapped_column(Date)
    inspection_due: Mapped[date | None] = mapped_column(Date)
    insurance_expiry: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmploymentRow(Base):
    """从业关系 — a person's employment by a company in a role, both dates inclusive."""

    __tablename__ = "employments"
    __table_args__ = (
        UniqueConstraint("id_number", "uscc", "role", "from_date", name="uq_employments_key"),
        Index("ix_employments_uscc", "uscc"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(ForeignKey("people.id_number"))
    uscc: Mapped[str] = mapped_column(ForeignKey("companies.uscc"))
    role: Mapped[str] = mapped_column(String(32))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HistoryRow(Base):
    """变更历史 — the old and new values of every change to a master record, and who made it."""

    __tablename__ = "record_history"
    __table_args__ = (Index("ix_record_history_entity", "entity", "entity_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_key: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))  # e.g. "import:12" or "correction:3"
    old_values: Mapped[dict] = mapped_column(JSON)
    new_values: Mapped[dict] = mapped_column(JSON)


class CorrectionRow(Base):
    """更正申请 — a citizen's request to correct their own data (个人信息保护法 第四十六条)."""

    __tablename__ = "correction_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id_number: Mapped[str] = mapped_column(String(32), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_key: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(32))
    current_value: Mapped[str | None] = mapped_column(String(256))
    requested_value: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str | None] = mapped_column(Text)
