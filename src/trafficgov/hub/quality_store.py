"""Tables of the hub's data quality: one row per measurement run, one per run × source × field (so that the
trend over runs is kept), and the latest run's defects with the records they are about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class HubQualityRunRow(Base):
    """数据质量评估 — one measurement run: when and by whom."""

    __tablename__ = "hub_quality_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    rules_version: Mapped[str] = mapped_column(String(64))


class HubQualityRow(Base):
    """字段质量 — one run's figures for one source's one field; field "*" holds the source's own (records,
    quarantined, lag)."""

    __tablename__ = "hub_quality"
    __table_args__ = (Index("ix_hub_quality_source", "source", "field", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("hub_quality_runs.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer)
    valid: Mapped[int] = mapped_column(Integer)
    compared: Mapped[int] = mapped_column(Integer)
    inconsistent: Mapped[int] = mapped_column(Integer)
    completeness: Mapped[float | None] = mapped_column(Float)
    validity: Mapped[float | None] = mapped_column(Float)
    consistency: Mapped[float | None] = mapped_column(Float)
    quarantined: Mapped[int] = mapped_column(Integer)
    timed: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    lag_p50_s: Mapped[float | None] = mapped_column(Float)
    lag_p95_s: Mapped[float | None] = mapped_column(Float)
    defects: Mapped[int] = mapped_column(Integer)  # every defect found in this field, kept or not


class HubDefectRow(Base):
    """数据缺陷 — one defect of the latest run: the record, the field, the kind and why (in Chinese)."""

    __tablename__ = "hub_defects"
    __table_args__ = (Index("ix_hub_defects_source", "source", "field", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("hub_quality_runs.id"))
    source: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    detail_zh: Mapped[str] = mapped_column(Text)
    other_source: Mapped[str | None] = mapped_column(String(32))
    other_source_id: Mapped[str | None] = mapped_column(String(128))
