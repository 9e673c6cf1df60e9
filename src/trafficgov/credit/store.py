"""Tables of credit supervision's inputs: violations, accidents and their parties, inspections,
companies' safety-management records and GPS-monitoring alarms."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class CreditViolationRow(Base):
    """违法记录 — a violation with its decision, as the bureau's system exported it."""

    __tablename__ = "credit_violations"
    __table_args__ = (Index("ix_credit_violations_vehicle", "plate_number", "plate_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    violation_id: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    behavior: Mapped[str] = mapped_column(String(64))
    violation_code: Mapped[str | None] = mapped_column(String(16))
    plate_number: Mapped[str] = mapped_column(String(16))
    plate_type: Mapped[str] = mapped_column(String(2))
    driver_id: Mapped[str | None] = mapped_column(String(32), index=True)
    region: Mapped[str | None] = mapped_column(String(12))
    outcome: Mapped[str | None] = mapped_column(String(32))
    fine_yuan: Mapped[int | None] = mapped_column(Integer)
    points: Mapped[int | None] = mapped_column(Integer)
    camera_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CreditAccidentRow(Base):
    """交通事故 — one accident; its parties are in credit_accident_parties."""

    __tablename__ = "credit_accidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accident_id: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    injuries: Mapped[int] = mapped_column(Integer, default=0)
    deaths: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CreditAccidentPartyRow(Base):
    """事故当事方 — one vehicle and driver in an accident with its liability; `vehicle_known` says
    whether the plate was in the registry when the accident was imported."""

    __tablename__ = "credit_accident_parties"
    __table_args__ = (
        UniqueConstraint("accident_id", "party_no"),
        Index("ix_credit_accident_parties_vehicle", "plate_number", "plate_type"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    accident_id: Mapped[str] = mapped_column(ForeignKey("credit_accidents.accident_id"))
    party_no: Mapped[int] = mapped_column(Integer)
    plate_number: Mapped[str | None] = mapped_column(String(16))
    plate_type: Mapped[str | None] = mapped_column(String(2))
    driver_id: Mapped[str | None] = mapped_column(String(32), index=True)
    liability: Mapped[str] = mapped_column(String(8))
    vehicle_known: Mapped[bool] = mapped_column(Boolean, default=False)


class CreditInspectionRow(Base):
    """检查记录 — a road-side or periodic inspection, or a company audit."""

    __tablename__ = "credit_inspections"
    __table_args__ = (Index("ix_credit_inspections_vehicle", "plate_number", "plate_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    plate_number: Mapped[str | None] = mapped_column(String(16))
    plate_type: Mapped[str | None] = mapped_column(String(2))
    driver_id: Mapped[str | None] = mapped_column(String(32), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    defects: Mapped[str | None] = mapped_column(String(512))
    out_of_service: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CreditSafetyRecordRow(Base):
    """安全管理记录 — a company's safety management in one month."""

    __tablename__ = "credit_safety_records"
    __table_args__ = (UniqueConstraint("uscc", "month"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    month: Mapped[str] = mapped_column(String(7))
    training_hours: Mapped[float | None] = mapped_column(Float)
    self_inspections: Mapped[int | None] = mapped_column(Integer)
    monitoring_staff: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CreditGpsAlarmRow(Base):
    """动态监控报警 — one vehicle's alarms of one kind on one day."""

    __tablename__ = "credit_gps_alarms"
    __table_args__ = (
        UniqueConstraint("date", "plate_number", "plate_type", "kind"),
        Index("ix_credit_gps_alarms_vehicle", "plate_number", "plate_type"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    plate_number: Mapped[str] = mapped_column(String(16))
    plate_type: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
