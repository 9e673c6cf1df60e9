"""Tables of credit supervision: its inputs (violations, accidents and their parties, inspections,
companies' safety-management records, GPS-monitoring alarms) and its outputs (score runs, red/black list
entries, warnings, disputes)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


# ---------------------------------------------------------------- outputs of supervision


class CreditRunRow(Base):
    """评分批次 — one scoring of every subject as of a day, with the rule and parameter versions it used."""

    __tablename__ = "credit_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_by: Mapped[str] = mapped_column(String(64))
    versions: Mapped[dict] = mapped_column(JSON)
    subjects: Mapped[int] = mapped_column(Integer, default=0)


class CreditScoreRow(Base):
    """信用与风险 — a subject's credit grade and risk score in one run, with reasons and the plan interval."""

    __tablename__ = "credit_scores"
    __table_args__ = (
        UniqueConstraint("run_id", "subject_kind", "subject_id", name="uq_credit_scores_subject"),
        Index("ix_credit_scores_company", "run_id", "company_uscc"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("credit_runs.id"))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(32))
    company_uscc: Mapped[str | None] = mapped_column(String(18))  # whose page shows it (the company, or the vehicle's/driver's company)
    grade: Mapped[str | None] = mapped_column(String(4))
    grade_detail: Mapped[dict | None] = mapped_column(JSON)
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_low: Mapped[float | None] = mapped_column(Float)
    risk_high: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(24))
    data_sufficient: Mapped[bool] = mapped_column(Boolean)
    exposure_years: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON)
    list_name: Mapped[str | None] = mapped_column(String(8))
    inspection_interval_days: Mapped[int | None] = mapped_column(Integer)
    inspection_mode_zh: Mapped[str | None] = mapped_column(String(128))


class CreditListEntryRow(Base):
    """红黑名单 — one entry and its due process (proposed → reviewed → published → appealed / repaired → expired)."""

    __tablename__ = "credit_list_entries"
    __table_args__ = (Index("ix_credit_list_entries_subject", "subject_kind", "subject_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(8))  # red, black
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(32))
    company_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    entry: Mapped[dict] = mapped_column(JSON)  # the pure ListEntry: criteria, measures, basis, steps
    published_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CreditWarningRow(Base):
    """主动预警 — a warning raised from the data, sent to the company's and the officer's pages."""

    __tablename__ = "credit_warnings"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_credit_warnings_dedupe"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(32))
    company_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    reason_zh: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    raised_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), index=True)  # open, acknowledged, closed
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    close_note: Mapped[str | None] = mapped_column(Text)


class CreditDisputeRow(Base):
    """异议申诉 — a company disputes a violation, crash or inspection attributed to it (wrong vehicle, not its
    driver at the time, not preventable); an upheld dispute takes the record out of its scoring."""

    __tablename__ = "credit_disputes"
    __table_args__ = (Index("ix_credit_disputes_record", "record_kind", "record_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    record_kind: Mapped[str] = mapped_column(String(16))  # violation, accident, inspection
    record_id: Mapped[str] = mapped_column(String(64))
    ground: Mapped[str] = mapped_column(String(24))  # wrong_vehicle, not_our_driver, not_preventable, other
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    filed_by: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # open, upheld, rejected
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_note: Mapped[str | None] = mapped_column(Text)
