"""Tables of governed sharing: grants (who may read which fields of which dataset for what), the exchange log
(every read by a partner department, served or refused) and the investigations a consumer has closed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class ShareGrantRow(Base):
    """共享授权 — asked for by a consumer department, decided by the dataset's owner department."""

    __tablename__ = "share_grants"
    __table_args__ = (Index("ix_share_grants_consumer_dataset", "consumer", "dataset"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(48))
    consumer: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(48))
    fields: Mapped[str] = mapped_column(Text)  # space-separated, in the catalogue's order
    legal_basis: Mapped[str] = mapped_column(String(256))
    valid_from: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(512))


class ShareReadRow(Base):
    """共享调用记录 — one read through the sharing API, served or refused (the audit log holds it too)."""

    __tablename__ = "share_reads"
    __table_args__ = (Index("ix_share_reads_subject_person", "subject_person"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumer: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    dataset: Mapped[str] = mapped_column(String(48))
    purpose: Mapped[str] = mapped_column(String(48))
    subject_key: Mapped[str] = mapped_column(String(64))
    subject_person: Mapped[str | None] = mapped_column(String(32))  # the natural person the data is about
    fields: Mapped[str] = mapped_column(Text)
    grant_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # served, refused, not_found
    refusal: Mapped[str | None] = mapped_column(String(32))
    case_ref: Mapped[str | None] = mapped_column(String(64))


class ShareCaseRow(Base):
    """调查案件 — a consumer's investigation that reads named; once closed, its reads are shown to the person."""

    __tablename__ = "share_cases"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
