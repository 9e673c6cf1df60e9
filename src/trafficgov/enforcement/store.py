"""Tables of enforcement: monitoring devices, captures (非现场抓拍), violation cases and decision numbers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
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


class HearingRow(Base):
    """听证 — the hearing a party asked for (APL Arts. 63-65): notice, time and place, presiding officer,
    public or closed, and its outcome (held with minutes, waived by absence, withdrawn)."""

    __tablename__ = "enforcement_hearings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("enforcement_submissions.id"), unique=True)
    notified_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    presiding: Mapped[str] = mapped_column(String(64))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    secrecy_reason: Mapped[str | None] = mapped_column(String(16))  # state_secret, trade_secret, privacy
    secrecy_note: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_by: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(16))  # held, absent, withdrawn
    minutes: Mapped[str | None] = mapped_column(Text)
    party_signed: Mapped[bool | None] = mapped_column(Boolean)
    refusal_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    rules_version: Mapped[str] = mapped_column(String(64))


class PaymentRow(Base):
    """缴款 — a payment of an issued decision's fine (and the late surcharge owed that day), by receipt: one
    payment in full per case (`instalment` null), or one per instalment of an approved plan (1-based)."""

    __tablename__ = "enforcement_payments"
    __table_args__ = (
        UniqueConstraint("case_id", "instalment", name="uq_enforcement_payments_case_instalment"),
        # NULLs are distinct in a unique constraint: a partial index keeps one payment in full per case
        Index("uq_enforcement_payments_full", "case_id", unique=True, sqlite_where=text("instalment IS NULL"), postgresql_where=text("instalment IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"))
    instalment: Mapped[int | None] = mapped_column(Integer)
    receipt_number: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # bank, online, window
    paid_on: Mapped[date] = mapped_column(Date)
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    fine_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    surcharge_yuan: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    days_late: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))


class PaymentPlanRow(Base):
    """暂缓或分期缴纳 — the party's application to defer or pay a fine in instalments (APL Art. 66 para 2) and
    the bureau's decision; one per case, a rejected one replaced by a new application."""

    __tablename__ = "enforcement_payment_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # defer, instalments
    reason: Mapped[str] = mapped_column(Text)  # the party's statement of financial difficulty
    schedule: Mapped[list] = mapped_column(JSON)  # [{"due": "YYYY-MM-DD", "amount_yuan": "123.45"}]
    status: Mapped[str] = mapped_column(String(16))  # pending, approved, rejected
    applied_by: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)


class VehicleNoticeRow(Base):
    """逾期未处理告知与公告 — ProcReg Art. 54: the notice by app, SMS or mail to the party of a vehicle with
    five or more unhandled records, and the 7-day public notice after 30 days without handling."""

    __tablename__ = "enforcement_vehicle_notices"
    __table_args__ = (Index("ix_enforcement_vehicle_notices_plate", "plate_number", "plate_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plate_number: Mapped[str] = mapped_column(String(16))
    plate_type: Mapped[str] = mapped_column(String(2))
    case_ids: Mapped[list] = mapped_column(JSON)
    intended: Mapped[dict] = mapped_column(JSON)  # case id -> the intended decision told
    channel: Mapped[str] = mapped_column(String(8))  # app, sms, mail
    notified_on: Mapped[date] = mapped_column(Date)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notified_by: Mapped[str] = mapped_column(String(64))
    text_zh: Mapped[str] = mapped_column(Text)
    published_on: Mapped[date | None] = mapped_column(Date)
    public_until: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(64))
    public_text_zh: Mapped[str | None] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(64))


class ServiceNoticeRow(Base):
    """公告送达 — ProcReg Art. 55: a decision that mail or electronic service failed to reach is served by a
    60-day public notice; its end is the day of service (Art. 56)."""

    __tablename__ = "enforcement_service_notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"), unique=True)
    failed_channel: Mapped[str] = mapped_column(String(16))  # mail, electronic
    failure_note: Mapped[str] = mapped_column(Text)
    published_on: Mapped[date] = mapped_column(Date)
    served_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))
    rules_version: Mapped[str] = mapped_column(String(64))


class DriverNominationRow(Base):
    """实际驾驶人确认 — the owner or manager of a vehicle names who drove it (ProcReg Arts. 21, 53); the
    named driver confirms (or an officer verifies at the window), and only then do the points go on that
    driver's licence."""

    __tablename__ = "enforcement_driver_nominations"
    __table_args__ = (Index("ix_enforcement_driver_nominations_case", "case_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"))
    driver_id: Mapped[str] = mapped_column(String(32), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    named_at: Mapped[datetime] = mapped_column(UTCDateTime)
    named_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending, confirmed, declined, withdrawn
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))


class DisclosureRecordRow(Base):
    """双公示记录 — when, where and by whom a company penalty decision went online (one per case)."""

    __tablename__ = "enforcement_disclosures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id"), unique=True)
    decision_number: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LeniencyVersionRow(Base):
    """清单新版本草案 — a leniency list version a legal reviewer accepted from the 定期评估, validated by the
    rule loader and kept as YAML; the engine never loads it (it takes effect once published and shipped)."""

    __tablename__ = "leniency_list_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str | None] = mapped_column(String(6))
    list_id: Mapped[str] = mapped_column(String(128))
    file_path: Mapped[str] = mapped_column(String(256))  # the region file under rules/data it replaces
    base_rule_id: Mapped[str] = mapped_column(String(128))
    new_rule_id: Mapped[str] = mapped_column(String(160), unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    added: Mapped[list] = mapped_column(JSON)
    removed: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    yaml_text: Mapped[str] = mapped_column(Text)
    accepted_by: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, published
