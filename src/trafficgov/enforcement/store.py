"""Tables of enforcement: monitoring devices, captures (非现场抓拍), violation cases and decision numbers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class DeviceRow(Base):
    """交通技术监控设备 — a device captures refer to by id, with its certification and publication dates."""

    __tablename__ = "enforcement_devices"
    device_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    mount: Mapped[str] = mapped_column(String(16), default="fixed")
    operated_by_police: Mapped[bool] = mapped_column(Boolean, default=False)
    marked_police_car: Mapped[bool] = mapped_column(Boolean, default=False)
    certified_until: Mapped[date | None] = mapped_column(Date)
    location_published_at: Mapped[date | None] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(6))
    road: Mapped[str | None] = mapped_column(String(64))
    stretch: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseRow(Base):
    """违法案件 — one violation act (one or more merged captures), its proposal and its decision."""

    __tablename__ = "enforcement_cases"
    __table_args__ = (
        Index("ix_enforcement_cases_act", "plate_number", "plate_type", "behavior", "stretch"),
        Index("ix_enforcement_cases_status", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate_number: Mapped[str] = mapped_column(String(16))
    plate_type: Mapped[str] = mapped_column(String(2))
    behavior: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    stretch: Mapped[str] = mapped_column(String(64))
    road: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capture_count: Mapped[int] = mapped_column(Integer, default=1)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by: Mapped[str] = mapped_column(String(64))
    notify_due: Mapped[date | None] = mapped_column(Date)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[str | None] = mapped_column(String(32), index=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # person, company, unknown
    status: Mapped[str] = mapped_column(String(24))
    proposal: Mapped[dict | None] = mapped_column(JSON)
    proposal_error: Mapped[dict | None] = mapped_column(JSON)
    procedure: Mapped[str | None] = mapped_column(String(16))  # simple, general
    decision: Mapped[dict | None] = mapped_column(JSON)
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    decision_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by: Mapped[str | None] = mapped_column(String(64))
    points_applied_to: Mapped[str | None] = mapped_column(String(32))
    awaiting_driver: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaptureRow(Base):
    """非现场抓拍记录 — one capture as received (idempotent by capture_id), its admissibility and review."""

    __tablename__ = "enforcement_captures"
    __table_args__ = (Index("ix_enforcement_captures_queue", "status", "review_due"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(32))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime)
    region: Mapped[str] = mapped_column(String(6))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    road: Mapped[str | None] = mapped_column(String(64))
    stretch: Mapped[str] = mapped_column(String(64))
    plate_number: Mapped[str] = mapped_column(String(16))
    plate_type: Mapped[str] = mapped_column(String(2))
    behavior: Mapped[str] = mapped_column(String(64))
    measurements: Mapped[dict] = mapped_column(JSON)
    road_facts: Mapped[dict] = mapped_column(JSON)
    evidence: Mapped[list] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(64))
    admissible: Mapped[bool] = mapped_column(Boolean)
    inadmissible_requirement: Mapped[str | None] = mapped_column(String(32))
    inadmissible_reason_zh: Mapped[str | None] = mapped_column(String(128))
    rules_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending, confirmed, merged, rejected, inadmissible
    review_due: Mapped[date | None] = mapped_column(Date)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    erase_reason: Mapped[str | None] = mapped_column(String(32))
    review_note: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("enforcement_cases.id"), index=True)


class CounterRow(Base):
    """文书编号计数器 — the last number given per series (e.g. decisions of one year)."""

    __tablename__ = "enforcement_counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class NoticeRow(Base):
    """处罚前告知 — the prior notice of a general-procedure case: facts, grounds, intended penalty, rights."""

    __tablename__ = "enforcement_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"), index=True)
    intended: Mapped[dict] = mapped_column(JSON)
    facts_zh: Mapped[str] = mapped_column(Text)
    text_zh: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[list] = mapped_column(JSON)
    hearing_offered: Mapped[bool] = mapped_column(Boolean, default=False)
    statement_due: Mapped[date] = mapped_column(Date)
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    served_by: Mapped[str] = mapped_column(String(64))
    rules_version: Mapped[str] = mapped_column(String(64))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)


class SubmissionRow(Base):
    """当事人意见 — a statement (陈述申辩), a hearing request (听证申请), a waiver, or an online objection
    (异议, ProcReg Art. 5) to a capture or case; and the officer's answer."""

    __tablename__ = "enforcement_submissions"
    __table_args__ = (Index("ix_enforcement_submissions_open", "kind", "answered_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # statement, hearing_request, waiver, objection
    case_id: Mapped[int | None] = mapped_column(ForeignKey("enforcement_cases.id"), index=True)
    capture_id: Mapped[str | None] = mapped_column(String(64))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("enforcement_notices.id"))
    party_id: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str] = mapped_column(String(64))
    answer_due: Mapped[date | None] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    accepted: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(64))
