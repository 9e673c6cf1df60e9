"""Tables of golden records: one row per person, company and vehicle the hub knows, with each field's source,
and the doubtful links a clerk confirms or splits (kept across runs: a decision outlives the model)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class GoldenRecordRow(Base):
    """主数据 — one entity: fields {column: {value, source, source_id, updated_at}} and its members' refs."""

    __tablename__ = "hub_golden"
    __table_args__ = (UniqueConstraint("entity", "golden_key", name="uq_hub_golden_entity_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    golden_key: Mapped[str] = mapped_column(String(160))
    fields: Mapped[dict] = mapped_column(JSON)
    members: Mapped[list] = mapped_column(JSON)
    sources: Mapped[int] = mapped_column(Integer)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkReviewRow(Base):
    """待确认关联 — a pair the model was unsure of; a clerk confirms (same entity) or splits (different ones)."""

    __tablename__ = "hub_link_reviews"
    __table_args__ = (
        UniqueConstraint("entity", "left_ref", "right_ref", name="uq_hub_link_reviews_pair"),
        Index("ix_hub_link_reviews_status", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    left_ref: Mapped[str] = mapped_column(String(176))
    right_ref: Mapped[str] = mapped_column(String(176))
    probability: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # pending, confirm, split
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(512))
