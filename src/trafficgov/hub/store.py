"""Tables of the data hub: source records in the standard model with their history, each source's
watermark, one row per sync run and the records a sync quarantined."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class HubRecordRow(Base):
    """源记录 — one record of one source system in the standard model; (source, source_id) is its identity."""

    __tablename__ = "hub_records"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_hub_records_source_id"),
        Index("ix_hub_records_kind", "kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sync_id: Mapped[int | None] = mapped_column(Integer)  # the sync that last changed it


class HubRecordVersionRow(Base):
    """源记录历史 — a record's earlier content, kept when a sync changed it."""

    __tablename__ = "hub_record_versions"
    __table_args__ = (UniqueConstraint("record_id", "version", name="uq_hub_record_versions_record_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("hub_records.id"))
    version: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_by_sync: Mapped[int | None] = mapped_column(Integer)


class HubWatermarkRow(Base):
    """同步水位 — how far a source has been read: the (watermark, source id) of the last record taken."""

    __tablename__ = "hub_watermarks"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[str] = mapped_column(String(40))
    after_id: Mapped[str] = mapped_column(String(128))
    sync_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HubSyncRow(Base):
    """同步任务 — one sync run of one source, with its counts and (when it failed) the error."""

    __tablename__ = "hub_syncs"
    __table_args__ = (Index("ix_hub_syncs_source", "source", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(512))  # the folder or URL read
    actor: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    watermark_from: Mapped[str | None] = mapped_column(String(40))
    watermark_to: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)


class HubQuarantineRow(Base):
    """接入隔离 — a source record that could not be mapped, with the reason in Chinese and English."""

    __tablename__ = "hub_quarantine"
    __table_args__ = (
        Index("ix_hub_quarantine_source", "source", "at"),
        Index("ix_hub_quarantine_raw", "source", "raw_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(128))
    field: Mapped[str | None] = mapped_column(String(64))
    reason_zh: Mapped[str] = mapped_column(Text)
    reason_en: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict] = mapped_column(JSON)
    raw_hash: Mapped[str] = mapped_column(String(64))  # the same bad record sent again is not kept twice
    sync_id: Mapped[int] = mapped_column(ForeignKey("hub_syncs.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
