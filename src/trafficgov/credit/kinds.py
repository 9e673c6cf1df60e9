"""Credit supervision's importable kinds: violations, accidents, inspections, safety_records, gps_alarms.

Accidents carry their parties nested (JSONL), so they are ingested as events of their own
(`trafficgov import accidents FILE.jsonl`); the others go through the generic import engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from trafficgov.credit import rows
from trafficgov.credit.store import (
    CreditAccidentPartyRow,
    CreditAccidentRow,
    CreditGpsAlarmRow,
    CreditInspectionRow,
    CreditSafetyRecordRow,
    CreditViolationRow,
)
from trafficgov.errors import FieldError
from trafficgov.imports.kinds import EventIngest, ImportKind, register, register_ingest
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.store import VehicleRow
from trafficgov.store.db import Database

register(
    ImportKind(
        name="violations",
        label_zh="违法记录",
        table=CreditViolationRow.__table__,
        columns=(
            "violation_id", "occurred_at", "decided_at", "behavior", "violation_code", "plate_number", "plate_type",
            "driver_id", "region", "outcome", "fine_yuan", "points", "camera_id",
        ),
        key=("violation_id",),
        parse=rows.parse_violation,
        personal=("driver_id",),
    )
)
register(
    ImportKind(
        name="inspections",
        label_zh="检查记录",
        table=CreditInspectionRow.__table__,
        columns=("inspection_id", "date", "kind", "plate_number", "plate_type", "driver_id", "uscc", "defects", "out_of_service"),
        key=("inspection_id",),
        parse=rows.parse_inspection,
        personal=("driver_id",),
    )
)
register(
    ImportKind(
        name="safety_records",
        label_zh="安全管理记录",
        table=CreditSafetyRecordRow.__table__,
        columns=("uscc", "month", "training_hours", "self_inspections", "monitoring_staff"),
        key=("uscc", "month"),
        parse=rows.parse_safety_record,
    )
)
register(
    ImportKind(
        name="gps_alarms",
        label_zh="动态监控报警",
        table=CreditGpsAlarmRow.__table__,
        columns=("date", "plate_number", "plate_type", "kind", "count", "minutes"),
        key=("date", "plate_number", "plate_type", "kind"),
        parse=rows.parse_gps_alarm,
    )
)


@dataclass(frozen=True)
class Rejection:
    index: int
    field: str | None
    reason_zh: str
    reason_en: str


@dataclass
class AccidentIngestResult:
    """事故导入结果 — accepted accidents, duplicates (already stored), and each rejected record."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def parse_accident_record(record: Any, tables: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One JSONL accident -> (accident row, party rows); FieldError names the (nested) field."""
    if not isinstance(record, dict):
        raise FieldError("line", "不是有效的 JSON 对象", "not a JSON object")
    accident = rows.parse_accident(record, tables)
    raw_parties = record.get("parties")
    if not isinstance(raw_parties, list) or not raw_parties:
        raise FieldError("parties", "缺少当事方（parties 应为非空列表）", "parties must be a non-empty list")
    parties = []
    for number, raw in enumerate(raw_parties, start=1):
        if not isinstance(raw, dict):
            raise FieldError(f"parties[{number}]", "当事方应为 JSON 对象", "a party must be a JSON object")
        try:
            party = rows.parse_party(raw, tables)
        except FieldError as error:
            raise FieldError(f"parties[{number}].{error.field}", error.zh, error.en) from None
        parties.append({**party, "party_no": number, "accident_id": accident["accident_id"]})
    return accident, parties


def ingest_accidents(db: Database, actor: Any, records: list[Any]) -> AccidentIngestResult:
    """Validate and store a batch of accidents with their parties, in one transaction.

    An accident already stored is a duplicate (re-import changes nothing); a party naming a vehicle the
    registry does not know is kept with `vehicle_known` false."""
    result = AccidentIngestResult()
    tables = code_tables()
    parsed: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    first_index: dict[str, int] = {}
    for index, record in enumerate(records):
        try:
            accident, parties = parse_accident_record(record, tables)
            earlier = first_index.get(accident["accident_id"])
            if earlier is not None:
                raise FieldError("accident_id", f"与同批第{earlier + 1}条重复：{accident['accident_id']}", f"duplicate accident_id {accident['accident_id']} in this batch")
        except FieldError as error:
            result.rejected.append(Rejection(index, error.field, error.zh, error.en))
            continue
        first_index[accident["accident_id"]] = index
        parsed.append((accident, parties))
    if not parsed:
        return result
    at = datetime.now(UTC)
    accidents = CreditAccidentRow.__table__
    with db.transaction(write=True) as session:
        ids = [a["accident_id"] for a, _ in parsed]
        stored = set(session.scalars(select(accidents.c.accident_id).where(accidents.c.accident_id.in_(ids))))
        fresh = [(a, p) for a, p in parsed if a["accident_id"] not in stored]
        result.duplicates = len(parsed) - len(fresh)
        plates = {p["plate_number"] for _, ps in fresh for p in ps if p["plate_number"]}
        known: set[tuple[str, str]] = set()
        if plates:
            vehicles = VehicleRow.__table__
            found = session.execute(select(vehicles.c.plate_number, vehicles.c.plate_type).where(vehicles.c.plate_number.in_(sorted(plates))))
            known = {(r[0], r[1]) for r in found}
        if fresh:
            session.execute(accidents.insert(), [{**a, "updated_at": at} for a, _ in fresh])
            party_rows = [
                {**p, "vehicle_known": (p["plate_number"], p["plate_type"]) in known}
                for _, ps in fresh for p in ps
            ]
            session.execute(CreditAccidentPartyRow.__table__.insert(), party_rows)
        result.accepted = len(fresh)
    return result


ACCIDENT_FIELDS = ("occurred_at", "reported_at", "lon", "lat", "severity", "injuries", "deaths")
PARTY_FIELDS = ("plate_number", "plate_type", "driver_id", "liability")


def _cell(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def group_accident_rows(records: list[Any]) -> list[tuple[Any, list[Any]]]:
    """The CSV form: one row per party, `accident_id` repeated, the accident's own fields equal on every
    row. -> [(accident record with its parties, or the FieldError that quarantines all its rows, rows)]."""
    groups: dict[str, list[Any]] = {}
    out: list[tuple[Any, list[Any]]] = []
    for record in records:
        if record.error is not None:
            out.append((record.error, [record]))
            continue
        accident_id = _cell(record.values or {}, "accident_id")
        if not accident_id:
            out.append((FieldError("accident_id", "缺少必填字段 accident_id", "required field accident_id is missing"), [record]))
            continue
        groups.setdefault(accident_id, []).append(record)
    for accident_id, rows_of in groups.items():
        first = rows_of[0].values or {}
        differing = next((f for f in ACCIDENT_FIELDS for r in rows_of[1:] if _cell(r.values or {}, f) != _cell(first, f)), None)
        if differing is not None:
            out.append((FieldError(differing, f"事故 {accident_id} 各行的 {differing} 不一致", f"rows of accident {accident_id} disagree on {differing}"), rows_of))
            continue
        record = {"accident_id": accident_id, **{f: first.get(f) for f in ACCIDENT_FIELDS}}
        record["parties"] = [{f: (r.values or {}).get(f) for f in PARTY_FIELDS} for r in rows_of]
        out.append((record, rows_of))
    return out


register_ingest(EventIngest(name="accidents", label_zh="交通事故", ingest=ingest_accidents, batch=1000, group_csv=group_accident_rows))
