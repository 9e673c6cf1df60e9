"""Plain types of the data hub: source systems, a source record in the standard model, a sync's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trafficgov.accounts.model import BUREAU_ORG_KINDS, ORG_KIND_LABELS_ZH

# 数据来源部门 — the departments whose systems feed the hub: the bureau itself, and the partner departments
# (their codes and labels are the organisation kinds of accounts.model).
DEPARTMENT_LABELS_ZH = {
    "traffic_police": "公安交管",
    **{kind: label for kind, label in ORG_KIND_LABELS_ZH.items() if kind not in BUREAU_ORG_KINDS},
}


@dataclass(frozen=True)
class SourceRecord:
    """源记录 — one record of a source system, mapped onto the standard model, with its provenance."""

    source: str  # source system code, e.g. "transport_permits"
    kind: str  # standard kind, e.g. "vehicles", "companies", "insurance_policies"
    source_id: str  # the record's stable id in its own system
    fields: dict[str, Any]  # standard field -> value; None means unknown
    source_updated_at: datetime | None  # when the source says it last changed (the watermark column)
    synced_at: datetime  # when the hub took it in


@dataclass(frozen=True)
class Rejected:
    """入库隔离 — a source record that could not be mapped, with the reason in Chinese and English."""

    source: str
    source_id: str | None
    field: str | None
    reason_zh: str
    reason_en: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncSummary:
    """同步结果 — what one sync of one source read and did."""

    source: str
    read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    watermark_from: str | None
    watermark_to: str | None


@dataclass(frozen=True)
class SourceStatus:
    """数据来源状态 — one source system as the sources page shows it: its mapping, counts and last sync."""

    source: str
    name_zh: str
    department: str
    kind: str
    records: int
    quarantined: int
    watermark: str | None
    last_sync_id: int | None
    last_sync_status: str | None  # running, done, failed
    last_sync_started_at: datetime | None
    last_sync_finished_at: datetime | None
    last_sync_error: str | None
