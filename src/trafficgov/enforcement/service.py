"""Use cases of the enforcement pipeline: ingest captures, review them, propose and issue decisions.

Each command is one explicit transaction; every state change appends to the audit log in it. Time is
an argument (`now`), read from the clock only at the edge when the caller gives none.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trafficgov import errors
from trafficgov.accounts.model import Actor, Role, region_cover
from trafficgov.accounts.service import jurisdiction_of
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit import service as credit
from trafficgov.enforcement import admissibility as adm
from trafficgov.enforcement import intake
from trafficgov.enforcement import procedure as proc
from trafficgov.enforcement.calendar import CalendarNotCovered, add_days, default_calendar
from trafficgov.enforcement.decide import DecisionError, decide
from trafficgov.enforcement.intake import BEIJING, local_day
from trafficgov.enforcement.model import Case, Measured, PriorViolation, Road, Vehicle
from trafficgov.enforcement.oversight import penalty_words
from trafficgov.enforcement.store import CaptureRow, CaseRow, CounterRow, DeviceRow, NoticeRow, SubmissionRow
from trafficgov.errors import FieldError, Forbidden, NotFound
from trafficgov.registry import service as registry
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.plates import validate_plate
from trafficgov.registry.store import PersonRow, VehicleRow
from trafficgov.rules.loader import default_rulebook
from trafficgov.store.db import Database
from trafficgov.store.driver import DriverSession

MAX_BATCH = 1000
REVIEWERS = (Role.OFFICER,)
CASE_STATUS_ZH = {
    "proposed": "待签发",
    "manual": "待人工裁量",
    "pending_approval": "待法制审核",
    "issued": "已签发",
}
CAPTURE_STATUS_ZH = {
    "pending": "待审核",
    "confirmed": "已立案",
    "merged": "已并案",
    "rejected": "已消除",
    "inadmissible": "不可采",
}
APPEAL_ZH = (
    "如不服本决定，可以在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法向人民法院提起行政诉讼。"
)
PAY_DAYS = 15  # APL Art. 67: pay within 15 days of receiving the decision (calendar days: APL Art. 85 lists only 2/3/5/7)
SURCHARGE_ZH = "逾期不缴纳罚款的，每日按罚款数额的百分之三加处罚款，加处罚款的数额不超出罚款的数额（《行政处罚法》第七十二条）。"


# Conflict (409) is shared by every context: trafficgov.errors.Conflict, re-exported here.
Conflict = errors.Conflict


# ---------------------------------------------------------------- input and output models


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Place(_In):
    region: str = Field(pattern=r"^\d{6}$", description="违法地行政区划代码 (6 digits)")
    lon: float | None = Field(default=None, ge=73, le=136)
    lat: float | None = Field(default=None, ge=3, le=54)
    road: str | None = Field(default=None, max_length=64, description="道路名称")
    stretch: str | None = Field(default=None, max_length=64, description="路段编号; defaults to the device's stretch or the road")
    road_type: Literal["expressway", "urban_expressway", "ordinary"] | None = None
    road_class: Literal["urban", "highway"] | None = None
    speed_limit_kmh: int | None = Field(default=None, gt=0, le=150)


class Evidence(_In):
    uri: str = Field(min_length=1, max_length=512)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class CaptureIn(_In):
    """非现场抓拍 — one capture as a device or a citizen sends it."""

    capture_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    source: adm.Source
    device_id: str | None = Field(default=None, max_length=32)
    captured_at: AwareDatetime
    place: Place
    plate_number: str = Field(min_length=1, max_length=16)
    plate_type: str = Field(min_length=2, max_length=2)
    behavior: str = Field(min_length=1, max_length=64)
    measurements: Measured = Measured()
    evidence: list[Evidence] = Field(default=[], max_length=20)


class Rejection(BaseModel):
    index: int
    capture_id: str | None = None
    field: str
    reason_zh: str
    reason_en: str


class IngestSummary(BaseModel):
    """抓拍导入结果 — accepted (inadmissible ones included, flagged), duplicates, and each rejected record."""

    accepted: int = 0
    inadmissible: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = []


class CaptureView(BaseModel):
    capture_id: str
    source: str
    source_label: str
    device_id: str | None
    captured_at: datetime
    region: str
    road: str | None
    stretch: str
    plate_number: str
    plate_type: str
    behavior: str
    behavior_label: str
    measurements: dict[str, Any]
    evidence: list[dict[str, Any]]
    admissible: bool
    inadmissible_reason_zh: str | None
    status: str
    status_label: str
    review_due: date | None
    overdue: bool
    erase_reason: str | None
    erase_reason_label: str | None
    review_note: str | None
    case_id: int | None


class CaseView(BaseModel):
    id: int
    plate_number: str
    plate_type: str
    behavior: str
    behavior_label: str
    region: str
    road: str | None
    stretch: str
    occurred_at: datetime
    capture_count: int
    entered_at: datetime
    notify_due: date | None
    notified_at: datetime | None
    owner_id: str | None
    owner_kind: str
    status: str
    status_label: str
    proposal: dict[str, Any] | None
    proposal_error: dict[str, Any] | None
    procedure: str | None
    decision: dict[str, Any] | None
    deviation_reason: str | None
    requested_by: str | None
    review_note: str | None
    reviewed_by: str | None
    decision_number: str | None
    issued_at: datetime | None
    issued_by: str | None
    points_applied_to: str | None
    awaiting_driver: bool
    version: int
    merged: bool = False
    captures: list[CaptureView] = []


class OverdueView(BaseModel):
    as_of: date
    captures: list[CaptureView]
    cases: list[CaseView]


class Deviation(_In):
    """偏离建议的决定 — what the officer would decide instead of the proposal."""

    outcome: Literal["no_penalty", "warning", "fine", "fine_and_licence"]
    fine_yuan: int | None = Field(default=None, ge=0, le=200_000)
    points: int | None = Field(default=None, ge=0, le=12, description="only where no fine was proposed (a fine's points are Order 163's: the proposal's)")


class IssueRequest(_In):
    version: int = Field(ge=1, description="the case version the officer saw (optimistic lock)")
    deviation: Deviation | None = None
    reason: str | None = Field(default=None, max_length=2000, description="偏离理由 (required with a deviation)")


class ApprovalRequest(_In):
    version: int = Field(ge=1)
    approve: bool
    note: str = Field(default="", max_length=2000)


class RejectRequest(_In):
    reason_code: str = Field(max_length=32, description="ProcReg Art. 22 erase reason code")
    note: str = Field(default="", max_length=2000)


# ---------------------------------------------------------------- helpers


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _due(start: datetime, limit: adm.TimeLimit) -> date | None:
    try:
        return add_days(local_day(start), limit.days, working=limit.working, calendar=default_calendar())
    except CalendarNotCovered:
        return None


def _audit(session: Session, actor: Actor, action: str, entity: str, key: str | None, at: datetime, **detail: Any) -> None:
    audit.append(
        session,
        AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action=action, entity=entity, record_key=key, purpose="enforcement", at=at, detail=detail),
    )


def behaviour_label(code: str, day: date | None = None) -> str:
    behaviours = default_rulebook().at(day or date.today()).behaviours
    entry = behaviours.get(code)
    return entry.label_zh if entry is not None else code


def _field_of(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    return ".".join(str(p) for p in first.get("loc", ())) or "record", first.get("msg", "invalid")


def validate_capture(raw: Any, now: datetime, behaviours: dict[date, Any] | None = None) -> CaptureIn:
    """One record checked: shape, time not in the future, plate against its type, behaviour in the catalogue.

    `behaviours` caches the catalogue per capture day across one batch (a look-up per day, not per record).
    """
    if not isinstance(raw, dict):
        raise FieldError("record", "每条记录须为JSON对象", "each record must be a JSON object")
    try:
        capture = CaptureIn.model_validate(raw)
    except ValidationError as exc:
        field, msg = _field_of(exc)
        raise FieldError(field, f"字段{field}无效：{msg}", f"invalid {field}: {msg}") from exc
    if capture.captured_at > now:
        raise FieldError("captured_at", "抓拍时间晚于当前时间", "captured_at is in the future")
    day = local_day(capture.captured_at)
    plate = validate_plate(capture.plate_number, capture.plate_type, as_of=day)
    if behaviours is None:
        catalogue = default_rulebook().at(day).behaviours
    elif (catalogue := behaviours.get(day)) is None:
        catalogue = behaviours[day] = default_rulebook().at(day).behaviours
    if capture.behavior not in catalogue:
        raise FieldError("behavior", f"违法行为代码未知：{capture.behavior}", f"unknown behaviour code {capture.behavior!r}")
    if capture.source in adm.DEVICE_SOURCES and not capture.device_id:
        raise FieldError("device_id", "设备抓拍须注明设备编号", "a device capture must name its device_id")
    return capture if plate == capture.plate_number else capture.model_copy(update={"plate_number": plate})


def _device(row: DeviceRow | None) -> adm.Device | None:
    if row is None:
        return None
    return adm.Device(row.device_id, row.kind, row.mount, row.operated_by_police, row.marked_police_car, row.certified_until, row.location_published_at)


# ---------------------------------------------------------------- devices


def upsert_devices(db: Database, actor: Actor, devices: Iterable[dict[str, Any]], *, now: datetime | None = None) -> int:
    """设备登记 — insert or update devices (by device_id); returns how many were written."""
    at = _now(now)
    count = 0
    with db.transaction(write=True) as session:
        for item in devices:
            row = session.get(DeviceRow, item["device_id"]) or DeviceRow(device_id=item["device_id"])
            for key in ("kind", "mount", "operated_by_police", "marked_police_car", "certified_until", "location_published_at", "region", "road", "stretch"):
                if key in item:
                    setattr(row, key, item[key])
            row.mount = row.mount or "fixed"
            row.operated_by_police = bool(row.operated_by_police)
            row.marked_police_car = bool(row.marked_police_car)
            row.updated_at = at
            session.add(row)
            count += 1
        _audit(session, actor, "import", "enforcement_devices", None, at, count=count)
    return count


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def devices_from_cameras_csv(path: Path) -> list[dict[str, Any]]:
    """The demo city's cameras.csv as device rows: video_patrol cameras keep their kind, the rest are fixed."""
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for rec in csv.DictReader(handle):
            out.append(
                {
                    "device_id": rec["camera_id"],
                    "kind": "video_patrol" if rec["kind"] == "video_patrol" else "fixed_camera",
                    "mount": "fixed",
                    "certified_until": _date_or_none(rec.get("certified_until")),
                    "location_published_at": _date_or_none(rec.get("location_published_at")),
                    "region": rec.get("district") or None,
                    "stretch": rec.get("edge_id") or None,
                }
            )
    return out


def devices_from_data_file() -> list[dict[str, Any]]:
    raw = yaml.safe_load((adm.DATA / "devices.yaml").read_text(encoding="utf-8"))
    return [{**d, "mount": d.get("mount", "fixed")} for d in raw["devices"]]


def load_demo_devices(db: Database, actor: Actor, cameras_csv: Path, *, now: datetime | None = None) -> int:
    """The demo city's devices: its cameras.csv plus the mobile and drone devices of data/devices.yaml."""
    return upsert_devices(db, actor, devices_from_cameras_csv(cameras_csv) + devices_from_data_file(), now=now)


# ---------------------------------------------------------------- intake


def ingest_captures(db: Database, actor: Actor, records: Sequence[Any], *, now: datetime | None = None) -> IngestSummary:
    """抓拍入库 — validate each record, store the valid new ones with their admissibility; idempotent by capture_id.

    Invalid records are rejected one by one with the field named; the others go in, all in one transaction.
    The records in the common, canonical shape are proven valid a column at a time (`intake.check_batch`);
    every other record goes through the per-record model (`validate_capture`), which names the field of
    each rejection. Both give the same stored form (`intake.Canonical`).
    """
    at = _now(now)
    summary = IngestSummary()
    catalogue: dict[date, Any] = {}

    def behaviours_on(day: date) -> Any:
        found = catalogue.get(day)
        if found is None:
            found = catalogue[day] = default_rulebook().at(day).behaviours
        return found

    valid: dict[str, intake.Canonical] = {}  # by capture_id, in the order received
    for index, capture in enumerate(intake.check_batch(records, at, code_tables().plate_types, behaviours_on)):
        if capture is None:
            raw = records[index]
            try:
                capture = intake.from_model(validate_capture(raw, at, catalogue))
            except FieldError as exc:
                capture_id = raw.get("capture_id") if isinstance(raw, dict) and isinstance(raw.get("capture_id"), str) else None
                summary.rejected.append(Rejection(index=index, capture_id=capture_id, field=exc.field, reason_zh=exc.zh, reason_en=exc.en))
                continue
        if capture.capture_id in valid:
            summary.duplicates += 1
            continue
        valid[capture.capture_id] = capture
    # plain statements only (ADR 0003): on SQLite straight on the driver's connection
    with db.hot_transaction(write=True) as session:
        existing = _existing_captures(session, list(valid))
        fresh = [c for c in valid.values() if c.capture_id not in existing] if existing else list(valid.values())
        summary.duplicates += len(valid) - len(fresh)
        devices = _device_rows(session, {c.device_id for c in fresh if c.device_id})
        judge = adm.Judge(adm.pipeline_rules(), {key: _device(row) for key, row in devices.items()})
        insert = _capture_insert(session.get_bind().dialect)
        tail = insert.constants(at, actor.username)
        # Each distinct situation is judged once, each day's review due date worked out once, and both
        # stored in the form the columns take (`insert.value`): a batch has few of either.
        outcomes: dict[tuple, tuple] = {}
        dues: dict[date, Any] = {}
        rows = []
        add = rows.append
        for c in fresh:
            situation = judge.situation(c.source, c.device_id, c.evidence_count, c.day)
            outcome = outcomes.get(situation)
            if outcome is None:
                verdict = judge.verdict(situation, c.evidence_count, c.day)
                status = "pending" if verdict.admissible else "inadmissible"
                outcome = outcomes[situation] = (insert.value("admissible", verdict.admissible), verdict.requirement, verdict.reason_zh, situation[3], status)
            if outcome[4] == "pending":
                due = dues.get(c.day, _UNKNOWN)
                if due is _UNKNOWN:
                    due = dues[c.day] = insert.value("review_due", _due_on(c.day, judge.version(c.day).time_limits["review"]))
            else:
                due = None
                summary.inadmissible += 1
            device = devices.get(c.device_id) if c.device_id else None
            road = c.road or (device.road if device is not None else None)
            stretch = c.stretch or (device.stretch if device is not None else None) or c.road or c.device_id or "unknown"
            add(
                (c.capture_id, c.source, c.device_id, c.captured_utc if insert.moment_as_text else c.captured_at, c.region, c.lon, c.lat, road, stretch,
                 c.plate_number, c.plate_type, c.behavior, c.measurements, c.road_facts, c.evidence, *outcome, due, *tail)
            )
        if rows:
            # a capture sent twice at the same moment by two callers is still stored once
            insert.execute(session, rows)
        summary.accepted = len(rows)
        _audit(session, actor, "import", "enforcement_captures", None, at, accepted=summary.accepted, inadmissible=summary.inadmissible, duplicates=summary.duplicates, rejected=len(summary.rejected))
    return summary


_UNKNOWN = object()


def _due_on(day: date, limit: adm.TimeLimit) -> date | None:
    try:
        return add_days(day, limit.days, working=limit.working, calendar=default_calendar())
    except CalendarNotCovered:
        return None


def _plain(session: Session | DriverSession) -> Any:
    """What runs plain SQL in the driver's paramstyle (`exec_driver_sql`): the driver session itself, or
    the ORM session's connection."""
    return session if isinstance(session, DriverSession) else session.connection()


_DEVICE_BY_ID = select(DeviceRow.__table__).where(DeviceRow.device_id == bindparam("device_id"))


def _device_rows(session: Session | DriverSession, ids: set[str]) -> dict[str, Any]:
    """The rows of these devices as plain rows (read, not changed): on the driver one indexed look-up
    each (it takes no IN-lists; a batch names few devices), else one IN-list query."""
    if not ids:
        return {}
    if isinstance(session, DriverSession):
        found = (session.execute(_DEVICE_BY_ID, {"device_id": device_id}).first() for device_id in ids)
        return {row.device_id: row for row in found if row is not None}
    return {row.device_id: row for row in session.execute(select(DeviceRow.__table__).where(DeviceRow.device_id.in_(ids)))}


def _existing_captures(session: Session | DriverSession, ids: list[str]) -> set[str]:
    """The capture ids among `ids` already stored, read through the driver 500 at a time."""
    connection = _plain(session)
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle in ("qmark", "numeric", "named") else "%s"
    table = dialect.identifier_preparer.format_table(CaptureRow.__table__)
    column = dialect.identifier_preparer.quote("capture_id")
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        sql = f"SELECT {column} FROM {table} WHERE {column} IN ({', '.join([marker] * len(chunk))})"
        found.update(row[0] for row in connection.exec_driver_sql(sql, tuple(chunk)))
    return found


_CAPTURE_COLUMNS = (
    "capture_id", "source", "device_id", "captured_at", "region", "lon", "lat", "road", "stretch", "plate_number", "plate_type",
    "behavior", "measurements", "road_facts", "evidence", "admissible", "inadmissible_requirement", "inadmissible_reason_zh",
    "rules_version", "status", "review_due", "received_at", "received_by",
)
_CAPTURE_JSON = frozenset(("measurements", "road_facts", "evidence"))  # sent as their text (intake.encode)
_CAPTURE_ONCE = frozenset(("admissible", "review_due", "received_at", "received_by"))  # few values a batch: converted by `value`
_capture_inserts: dict[str, _CaptureInsert] = {}


class _CaptureInsert:
    """The capture INSERT for one dialect, built once: the SQL SQLAlchemy would emit (… ON CONFLICT
    (capture_id) DO NOTHING), sent through the driver's executemany without SQLAlchemy's per-row
    bookkeeping, each value converted by its column's own bind processor.

    A row comes as `_CAPTURE_COLUMNS`: the JSON columns as their text; captured_at as
    `intake.Canonical.captured_utc` where `moment_as_text` (SQLite keeps a moment as that very text), else
    as a datetime; the columns of `_CAPTURE_ONCE` already converted (`value`, once per distinct value).
    The other columns are converted row by row, except where the processor is proven (on samples) to
    leave the values a `Canonical` holds as they are: floats for lon and lat on SQLite.
    """

    def __init__(self, dialect: Any) -> None:
        table = CaptureRow.__table__
        marker = "?" if dialect.paramstyle in ("qmark", "numeric", "named") else "%s"
        # PostgreSQL is told that the JSON texts are JSON
        json_marker = f"CAST({marker} AS JSON)" if dialect.name == "postgresql" else marker
        preparer = dialect.identifier_preparer
        self.sql = (
            f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in _CAPTURE_COLUMNS)}) "
            f"VALUES ({', '.join(json_marker if c in _CAPTURE_JSON else marker for c in _CAPTURE_COLUMNS)}) "
            f"ON CONFLICT ({preparer.quote('capture_id')}) DO NOTHING"
        )
        processors = {name: table.c[name].type._cached_bind_processor(dialect) for name in _CAPTURE_COLUMNS if name not in _CAPTURE_JSON}
        self.moment_as_text = dialect.name == "sqlite" and _stored_as_utc_text(processors["captured_at"])
        if self.moment_as_text:
            processors["captured_at"] = None
        for name in ("lon", "lat"):
            if _keeps_floats(processors[name]):
                processors[name] = None
        self._once = {name: processors[name] for name in _CAPTURE_ONCE}
        self._per_row = [(i, processors[name]) for i, name in enumerate(_CAPTURE_COLUMNS) if name not in _CAPTURE_ONCE and processors.get(name) is not None]

    def value(self, column: str, value: Any) -> Any:
        """A value of a `_CAPTURE_ONCE` column as the driver takes it."""
        process = self._once[column]
        return value if value is None or process is None else process(value)

    def constants(self, received_at: datetime, received_by: str) -> tuple[Any, Any]:
        """The last two columns, the same for every row of a batch."""
        return self.value("received_at", received_at), self.value("received_by", received_by)

    def execute(self, session: Session | DriverSession, rows: list[tuple]) -> None:
        if self._per_row:
            columns: list[Any] = list(zip(*rows, strict=True))
            for i, process in self._per_row:
                columns[i] = [None if v is None else process(v) for v in columns[i]]
            rows = list(zip(*columns, strict=True))
        _plain(session).exec_driver_sql(self.sql, rows)


def _capture_insert(dialect: Any) -> _CaptureInsert:
    built = _capture_inserts.get(dialect.name)
    if built is None:
        built = _capture_inserts[dialect.name] = _CaptureInsert(dialect)
    return built


def _stored_as_utc_text(process: Any) -> bool:
    """Whether a moment column's bind processor writes `intake.utc_text` (checked on samples, not assumed)."""
    samples = (datetime(2026, 6, 1, 8, 0, tzinfo=BEIJING), datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC))
    return process is not None and all(process(v) == intake.utc_text(v) for v in samples)


def _keeps_floats(process: Any) -> bool:
    """Whether a bind processor leaves floats as they are (checked on samples, not assumed)."""
    samples = (117.0, 36.651234, -0.5, 1e-9)
    return process is None or all(type(out := process(v)) is float and out == v for v in samples)


# ---------------------------------------------------------------- views


def capture_view(row: CaptureRow, as_of: date) -> CaptureView:
    reason = adm.erase_reasons().get(row.erase_reason) if row.erase_reason else None
    return CaptureView(
        capture_id=row.capture_id,
        source=row.source,
        source_label=adm.SOURCE_LABELS_ZH.get(row.source, row.source),
        device_id=row.device_id,
        captured_at=row.captured_at,
        region=row.region,
        road=row.road,
        stretch=row.stretch,
        plate_number=row.plate_number,
        plate_type=row.plate_type,
        behavior=row.behavior,
        behavior_label=behaviour_label(row.behavior, local_day(row.captured_at)),
        measurements=row.measurements or {},
        evidence=row.evidence or [],
        admissible=row.admissible,
        inadmissible_reason_zh=row.inadmissible_reason_zh,
        status=row.status,
        status_label=CAPTURE_STATUS_ZH.get(row.status, row.status),
        review_due=row.review_due,
        overdue=bool(row.status == "pending" and row.review_due and row.review_due < as_of),
        erase_reason=row.erase_reason,
        erase_reason_label=reason.label_zh if reason else None,
        review_note=row.review_note,
        case_id=row.case_id,
    )


def case_view(row: CaseRow, masker: registry.Masker, captures: Sequence[CaptureRow] = (), as_of: date | None = None, merged: bool = False) -> CaseView:
    day = as_of or date.today()
    return CaseView(
        id=row.id,
        plate_number=row.plate_number,
        plate_type=row.plate_type,
        behavior=row.behavior,
        behavior_label=behaviour_label(row.behavior, local_day(row.occurred_at)),
        region=row.region,
        road=row.road,
        stretch=row.stretch,
        occurred_at=row.occurred_at,
        capture_count=row.capture_count,
        entered_at=row.entered_at,
        notify_due=row.notify_due,
        notified_at=row.notified_at,
        owner_id=masker.id_number(row.owner_id),
        owner_kind=row.owner_kind,
        status=row.status,
        status_label=CASE_STATUS_ZH.get(row.status, row.status),
        proposal=row.proposal,
        proposal_error=row.proposal_error,
        procedure=row.procedure,
        decision=row.decision,
        deviation_reason=row.deviation_reason,
        requested_by=row.requested_by,
        review_note=row.review_note,
        reviewed_by=row.reviewed_by,
        decision_number=row.decision_number,
        issued_at=row.issued_at,
        issued_by=row.issued_by,
        points_applied_to=masker.id_number(row.points_applied_to),
        awaiting_driver=row.awaiting_driver,
        version=row.version,
        merged=merged,
        captures=[capture_view(c, day) for c in captures],
    )


# ---------------------------------------------------------------- review


def in_jurisdiction(session: Session, actor: Actor, region: Any) -> Any:
    """本单位辖区 — the condition on a region column that keeps a staff member's lists to their unit's
    divisions (违法行为发生地, ProcReg Art. 4); true for accounts without a unit or jurisdiction on record."""
    codes = jurisdiction_of(session, actor.unit) if actor.is_staff else None
    if codes is None:
        return true()
    exact, prefixes = region_cover(codes)
    return or_(region.in_(sorted(exact)), *(region.startswith(p) for p in prefixes))


def list_review_queue(db: Database, actor: Actor, *, limit: int = 200, now: datetime | None = None) -> list[CaptureView]:
    """待审核 — admissible captures of the unit's jurisdiction awaiting review, the oldest due first."""
    day = local_day(_now(now))
    with db.transaction() as session:
        query = select(CaptureRow).where(CaptureRow.status == "pending", in_jurisdiction(session, actor, CaptureRow.region))
        rows = session.scalars(query.order_by(CaptureRow.review_due, CaptureRow.id).limit(limit))
        return [capture_view(r, day) for r in rows]


def list_overdue(db: Database, actor: Actor, *, now: datetime | None = None) -> OverdueView:
    """超期 — the unit's captures past their review limit and cases past their notification limit."""
    day = local_day(_now(now))
    masker = registry.Masker(actor)
    with db.transaction() as session:
        captures = session.scalars(
            select(CaptureRow).where(CaptureRow.status == "pending", CaptureRow.review_due < day, in_jurisdiction(session, actor, CaptureRow.region)).order_by(CaptureRow.review_due).limit(500)
        )
        cases = session.scalars(
            select(CaseRow).where(CaseRow.notified_at.is_(None), CaseRow.notify_due < day, in_jurisdiction(session, actor, CaseRow.region)).order_by(CaseRow.notify_due).limit(500)
        )
        return OverdueView(as_of=day, captures=[capture_view(c, day) for c in captures], cases=[case_view(c, masker, as_of=day) for c in cases])


def _locked_capture(session: Session, capture_id: str) -> CaptureRow:
    row = session.scalars(select(CaptureRow).where(CaptureRow.capture_id == capture_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"capture {capture_id}")
    return row


def reject_capture(db: Database, actor: Actor, capture_id: str, reason_code: str, note: str = "", *, now: datetime | None = None) -> CaptureView:
    """消除 — reject a pending capture with one of ProcReg Art. 22's reasons."""
    at = _now(now)
    reason = adm.erase_reasons().get(reason_code)
    if reason is None:
        raise FieldError("reason_code", f"消除情形代码无效：{reason_code}", f"unknown erase reason {reason_code!r}")
    if reason.note_required and not note.strip():
        raise FieldError("note", "选择“其他应当消除的情形”须写明理由", "the reason 'other' needs a note")
    with db.transaction(write=True) as session:
        row = _locked_capture(session, capture_id)
        if row.status != "pending":
            raise Conflict(f"该抓拍已处理（{CAPTURE_STATUS_ZH.get(row.status, row.status)}）", f"capture is {row.status}, not pending")
        row.status = "rejected"
        row.erase_reason = reason_code
        row.review_note = note.strip() or None
        row.reviewed_at = at
        row.reviewed_by = actor.username
        _audit(session, actor, "decide", "enforcement_captures", capture_id, at, outcome="rejected", erase_reason=reason_code)
        return capture_view(row, local_day(at))


def _vehicle_category(vehicle_type: str | None, use_nature: str | None, rated_passengers: int | None) -> str:
    """The engine's vehicle category from the registry's GA 802 type and use nature."""
    entry = code_tables().vehicle_types.get(vehicle_type) if vehicle_type else None
    if entry is None:
        raise DecisionError("vehicle.category", "车辆类型未登记，无法确定车辆类别", "vehicle type unknown: no category")
    family, size = entry.family, entry.size
    if use_nature == "R" and family in ("truck", "tractor"):
        return "dangerous_goods"
    if family == "passenger":
        if use_nature in ("O", "P", "Q", "S"):
            return "school_bus"
        if size == "large":
            return {"B": "highway_bus", "E": "tourist_bus"}.get(use_nature or "", "large_passenger")
        if size == "medium":
            return "medium_passenger"
        return "passenger_car_7plus" if (rated_passengers or 5) >= 7 else "small_passenger_car"
    if family == "truck":
        return {"heavy": "truck_heavy", "medium": "truck_medium"}.get(size, "truck_light")
    if family == "tractor":
        return "tractor"
    if family == "motorcycle":
        return "motorcycle"
    raise DecisionError("vehicle.category", f"车辆类型{vehicle_type}不在裁量类别内", f"vehicle type {vehicle_type} has no category")


OPERATING_USES = {"B", "C", "D", "E", "F", "R"}


def _history(session: Session, row: CaseRow) -> list[PriorViolation]:
    prior = session.scalars(
        select(CaseRow).where(
            CaseRow.plate_number == row.plate_number, CaseRow.plate_type == row.plate_type, CaseRow.status == "issued", CaseRow.occurred_at < row.occurred_at
        )
    )
    return [
        PriorViolation(behavior=p.behavior, occurred_at=p.occurred_at, outcome=(p.decision or {}).get("outcome", "fine"), region=p.region, party="vehicle")
        for p in prior
    ]


def propose(session: Session, row: CaseRow, capture: CaptureRow, vehicle: VehicleRow | None, at: datetime) -> None:
    """裁量建议 — build the engine's Case from the capture and the registry, call decide(), store the proposal."""
    try:
        if vehicle is None:
            raise DecisionError("vehicle", "机动车未登记，无法裁量", "vehicle not in the registry")
        facts = capture.road_facts or {}
        case = Case(
            case_id=str(row.id),
            occurred_at=row.occurred_at.astimezone(BEIJING),
            decided_at=at.astimezone(BEIJING),
            region=row.region,
            behavior=row.behavior,
            vehicle=Vehicle(
                category=_vehicle_category(vehicle.vehicle_type, vehicle.use_nature, vehicle.rated_passengers),  # type: ignore[arg-type]
                # the registry writes 0 where a figure does not apply (a car's rated load)
                rated_passengers=vehicle.rated_passengers or None,
                max_total_mass_kg=vehicle.max_total_mass_kg or None,
                rated_load_kg=vehicle.rated_load_kg or None,
                operating=vehicle.use_nature in OPERATING_USES,
            ),
            road=Road.model_validate(facts) if facts else None,
            measured=Measured.model_validate(capture.measurements or {}),
            history=_history(session, row),
        )
        decision = decide(case, local_day(at))
    except (DecisionError, ValidationError) as exc:
        if isinstance(exc, ValidationError):
            field, msg = _field_of(exc)
            exc = DecisionError(field, f"字段{field}无效：{msg}", msg)
        row.proposal = None
        row.proposal_error = exc.as_dict()
        row.procedure = None
        row.status = "manual"
        return
    row.proposal = decision.model_dump(mode="json")
    row.proposal_error = None
    row.procedure = _procedure(row.proposal, adm.pipeline_rules().at(local_day(row.occurred_at)))
    row.status = "proposed"


def _procedure(decision: dict[str, Any], version: adm.PipelineVersion) -> str:
    """ProcReg Art. 52: a warning or a fine up to the limit without licence measure -> simple procedure."""
    fine = decision.get("fine_yuan") or 0
    if decision.get("licence_action", "none") == "none" and fine <= version.simple_procedure_max_fine_yuan:
        return "simple"
    return "general"


def confirm_capture(db: Database, actor: Actor, capture_id: str, *, now: datetime | None = None) -> CaseView:
    """审核通过 — a pending admissible capture becomes a case, or joins the case of the same act (一事不再罚)."""
    at = _now(now)
    with db.transaction(write=True) as session:
        capture = _locked_capture(session, capture_id)
        if capture.status != "pending":
            raise Conflict(f"该抓拍已处理（{CAPTURE_STATUS_ZH.get(capture.status, capture.status)}）", f"capture is {capture.status}, not pending")
        version = adm.pipeline_rules().at(local_day(capture.captured_at))
        window = timedelta(minutes=version.one_act.window_minutes)
        # Locking the vehicle first serialises two officers confirming two captures of one act on
        # PostgreSQL, so the second finds the first's case and joins it.
        vehicle = session.scalars(
            select(VehicleRow).where(VehicleRow.plate_number == capture.plate_number, VehicleRow.plate_type == capture.plate_type).with_for_update()
        ).first()
        same = session.scalars(
            select(CaseRow)
            .where(
                CaseRow.plate_number == capture.plate_number,
                CaseRow.plate_type == capture.plate_type,
                CaseRow.behavior == capture.behavior,
                CaseRow.stretch == capture.stretch,
                CaseRow.occurred_at >= capture.captured_at - window,
                CaseRow.occurred_at <= capture.captured_at + window,
            )
            .order_by(CaseRow.occurred_at)
            .with_for_update()
        ).first()
        capture.reviewed_at = at
        capture.reviewed_by = actor.username
        masker = registry.Masker(actor)
        if same is not None:
            capture.status = "merged"
            capture.case_id = same.id
            same.capture_count += 1
            same.last_captured_at = max(same.last_captured_at, capture.captured_at)
            session.flush()
            _audit(session, actor, "decide", "enforcement_captures", capture_id, at, outcome="merged", case_id=same.id, rule=version.version_id)
            return case_view(same, masker, as_of=local_day(at), merged=True)
        owner_id = vehicle.owner_id if vehicle is not None else None
        owner_kind = "unknown"
        if owner_id:
            owner_kind = "person" if session.scalar(select(PersonRow.id).where(PersonRow.id_number == owner_id)) is not None else "company"
        row = CaseRow(
            plate_number=capture.plate_number,
            plate_type=capture.plate_type,
            behavior=capture.behavior,
            region=capture.region,
            stretch=capture.stretch,
            road=capture.road,
            occurred_at=capture.captured_at,
            last_captured_at=capture.captured_at,
            capture_count=1,
            entered_at=at,
            entered_by=actor.username,
            notify_due=_due(at, version.time_limits["notify"]),
            owner_id=owner_id,
            owner_kind=owner_kind,
            status="manual",
            awaiting_driver=False,
            version=1,
        )
        session.add(row)
        session.flush()
        propose(session, row, capture, vehicle, at)
        capture.status = "confirmed"
        capture.case_id = row.id
        session.flush()
        _audit(session, actor, "decide", "enforcement_cases", str(row.id), at, outcome="case_created", capture_id=capture_id, rule_ids=(row.proposal or {}).get("rule_ids", []))
        return case_view(row, masker, [capture], as_of=local_day(at))


# ---------------------------------------------------------------- cases


def _check_case_access(actor: Actor, row: CaseRow) -> None:
    if actor.role is Role.CITIZEN and row.owner_id != actor.id_number:
        raise NotFound(f"case {row.id}")
    if actor.role is Role.COMPANY and row.owner_id != actor.uscc:
        raise NotFound(f"case {row.id}")


def get_case(db: Database, actor: Actor, case_id: int, *, now: datetime | None = None) -> CaseView:
    """案件 — one case with its captures; a staff read is audited (it shows the owner)."""
    at = _now(now)
    with db.transaction(write=actor.is_staff) as session:
        row = session.get(CaseRow, case_id)
        if row is None:
            raise NotFound(f"case {case_id}")
        _check_case_access(actor, row)
        captures = list(session.scalars(select(CaptureRow).where(CaptureRow.case_id == row.id).order_by(CaptureRow.captured_at)))
        if actor.is_staff:
            _audit(session, actor, "read", "enforcement_cases", str(row.id), at)
        return case_view(row, registry.Masker(actor), captures, as_of=local_day(at))


def list_cases(db: Database, actor: Actor, *, status: str | None = None, limit: int = 200, now: datetime | None = None) -> list[CaseView]:
    day = local_day(_now(now))
    masker = registry.Masker(actor)
    with db.transaction() as session:
        query = select(CaseRow).where(in_jurisdiction(session, actor, CaseRow.region)).order_by(CaseRow.id.desc()).limit(limit)
        if status:
            query = query.where(CaseRow.status == status)
        return [case_view(r, masker, as_of=day) for r in session.scalars(query)]


def my_cases(db: Database, actor: Actor, *, now: datetime | None = None) -> list[CaseView]:
    """我的违法 — the cases of the citizen's (or company's) own vehicles, with evidence and decisions."""
    day = local_day(_now(now))
    owner = actor.id_number if actor.role is Role.CITIZEN else actor.uscc if actor.role is Role.COMPANY else None
    if owner is None:
        raise Forbidden("仅群众和企业可查看本人违法", "only citizens and companies have own cases")
    masker = registry.Masker(actor)
    with db.transaction() as session:
        rows = list(session.scalars(select(CaseRow).where(CaseRow.owner_id == owner).order_by(CaseRow.occurred_at.desc()).limit(500)))
        captures: dict[int, list[CaptureRow]] = {}
        if rows:
            for c in session.scalars(select(CaptureRow).where(CaptureRow.case_id.in_([r.id for r in rows])).order_by(CaptureRow.captured_at)):
                captures.setdefault(c.case_id or 0, []).append(c)
        return [case_view(r, masker, captures.get(r.id, []), as_of=day) for r in rows]


def _locked_case(session: Session, case_id: int) -> CaseRow:
    row = session.scalars(select(CaseRow).where(CaseRow.id == case_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"case {case_id}")
    return row


def _next_number(session: Session, name: str) -> int:
    """The next number of a series, in the caller's transaction (one upsert: safe for two first numbers at once)."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = (
        insert(CounterRow)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=["name"], set_={"value": CounterRow.value + 1})
        .returning(CounterRow.value)
    )
    return int(session.execute(statement).scalar_one())


def _finalise(session: Session, actor: Actor, row: CaseRow, decision: dict[str, Any], at: datetime) -> None:
    """签发 — number the decision, state the appeal routes and payment, put the points on the driver's licence,
    and record the decision as a violation for credit supervision (`credit_violations`, id = the case id)."""
    day = local_day(at)
    version = adm.pipeline_rules().at(local_day(row.occurred_at))
    check_procedure(session, row, decision, at)
    seq = _next_number(session, f"decision-{day.year}")
    row.decision_number = version.decision_number.format(year=day.year, seq=seq)
    fine = decision.get("fine_yuan") or 0
    row.decision = {
        **decision,
        "procedure": _procedure(decision, version),
        "appeal_zh": APPEAL_ZH,
        "pay_by": (day + timedelta(days=PAY_DAYS)).isoformat() if fine else None,
        "surcharge_zh": SURCHARGE_ZH if fine else None,
    }
    row.status = "issued"
    row.issued_at = at
    row.issued_by = row.requested_by or actor.username
    points = int(decision.get("points") or 0)
    change = None
    if points and row.owner_kind == "person" and row.owner_id:
        change = registry.apply_points(session, row.owner_id, points, at=at, day=day, actor=actor.username, source=f"decision:{row.id}")
    if change is not None:
        row.points_applied_to = row.owner_id
    elif points:
        # a company vehicle (or an owner without a licence): the points wait for the actual driver (ProcReg Arts. 21, 53)
        row.awaiting_driver = True
    # 违法记录 — the decision is a violation for the risk and credit pillar; its violation_id is the case id
    credit.record_decision(
        session,
        violation_id=str(row.id),
        occurred_at=row.occurred_at,
        decided_at=at,
        behavior=row.behavior,
        plate_number=row.plate_number,
        plate_type=row.plate_type,
        driver_id=row.points_applied_to,
        region=row.region,
        outcome=decision.get("outcome"),
        fine_yuan=int(decision.get("fine_yuan") or 0),
        points=points,
    )


def active_notice(session: Session, case_id: int) -> NoticeRow | None:
    return session.scalars(select(NoticeRow).where(NoticeRow.case_id == case_id, NoticeRow.superseded.is_(False)).order_by(NoticeRow.id.desc())).first()


def check_procedure(session: Session, row: CaseRow, decision: dict[str, Any], at: datetime) -> None:
    """General procedure (ProcReg Art. 52): no decision without the prior notice of this penalty (or a
    lighter one), before the party's time to state their case has run out unless they stated it or
    waived it, with every statement and hearing request answered (APL Arts. 44, 45, 62-64), and no
    requested hearing still open (APL Art. 65: the decision is made on the minutes). A case told by an
    ended ProcReg Art. 54 public notice, and no notice served on the party since, may be decided."""
    from trafficgov.enforcement.store import HearingRow, VehicleNoticeRow

    rules = proc.procedure_rules().at(local_day(at))
    party: proc.Party = "company" if row.owner_kind == "company" else "person"
    req = proc.requirements(decision, rules, region=row.region, party=party)
    if not req.notice_required:
        return
    notice = active_notice(session, row.id)
    if notice is None:
        published = session.scalars(
            select(VehicleNoticeRow).where(
                VehicleNoticeRow.plate_number == row.plate_number, VehicleNoticeRow.plate_type == row.plate_type, VehicleNoticeRow.public_until.is_not(None)
            )
        )
        for public in published:
            told = (public.intended or {}).get(str(row.id))
            if told is not None and row.id in (public.case_ids or []) and local_day(at) > public.public_until and not proc.heavier_than(decision, told):
                return
        raise FieldError("notice", "一般程序案件须先告知拟作出的处罚及陈述申辩权利（《行政处罚法》第四十四条）", "general procedure: serve the prior notice first (APL Art. 44)")
    if proc.heavier_than(decision, notice.intended):
        raise FieldError("notice", "决定重于告知的处罚，须重新告知", "the decision is heavier than the notice: serve a new notice")
    said = list(session.scalars(select(SubmissionRow).where(SubmissionRow.notice_id == notice.id)))
    if any(s.kind in ("statement", "hearing_request") and s.answered_at is None for s in said):
        raise FieldError("statements", "当事人的陈述申辩或听证申请尚未答复（《行政处罚法》第四十五条）", "a statement or hearing request is unanswered (APL Art. 45)")
    for s in said:
        if s.kind == "hearing_request":
            hearing = session.scalars(select(HearingRow).where(HearingRow.submission_id == s.id)).first()
            if hearing is None or hearing.outcome is None:
                raise FieldError("hearing", "当事人要求听证，听证结束后方可根据听证笔录作出决定（《行政处罚法》第六十五条）", "a requested hearing is not closed yet (APL Art. 65)")
    if local_day(at) <= notice.statement_due and not any(s.kind in ("statement", "waiver") for s in said):
        raise FieldError("notice", f"陈述申辩期限至{notice.statement_due.isoformat()}，期满或当事人陈述、放弃后方可作出决定", f"the party may state their case until {notice.statement_due.isoformat()}")


def issue_decision(db: Database, actor: Actor, case_id: int, request: IssueRequest, *, now: datetime | None = None) -> CaseView:
    """签发决定 — equal to the proposal it is issued now; a deviation (with a reason) waits for legal review.

    Two officers on one case: the first wins, the second gets Conflict (the row is locked, and the
    version the officer saw must still be the case's).
    """
    at = _now(now)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        if row.status not in ("proposed", "manual") or row.version != request.version:
            raise Conflict("案件已被他人处理或已变更，请刷新后重试", f"case {case_id} changed (status {row.status}, version {row.version})")
        deviation = request.deviation
        if deviation is None and row.proposal is None:
            raise FieldError("deviation", "无裁量建议，须填写决定内容和理由", "no proposal: a deviation with a reason is required")
        row.version += 1
        row.requested_by = actor.username
        if deviation is None or _same_as_proposal(deviation, row.proposal):
            _finalise(session, actor, row, dict(row.proposal or {}), at)
            _audit(session, actor, "decide", "enforcement_cases", str(row.id), at, outcome="issued", decision_number=row.decision_number, rule_ids=(row.proposal or {}).get("rule_ids", []))
        else:
            reason = (request.reason or "").strip()
            if len(reason) < 5:
                raise FieldError("reason", "偏离裁量建议须写明理由（不少于5个字）", "a deviation needs a written reason (5+ characters)")
            row.decision = deviated_decision(row.proposal, deviation, reason, case_id=row.id)
            row.deviation_reason = reason
            row.status = "pending_approval"
            _audit(session, actor, "decide", "enforcement_cases", str(row.id), at, outcome="deviation_requested", reason=reason)
        session.flush()
        return case_view(row, registry.Masker(actor), as_of=local_day(at))


FINES = ("fine", "fine_and_licence")


def deviated_decision(proposal: dict[str, Any] | None, deviation: Deviation, reason: str, *, case_id: int) -> dict[str, Any]:
    """偏离建议的决定 — the decision an officer asks for instead of the proposal, still within the law: a
    fine names its amount, not above the statutory maximum (a reduction below the minimum, 减轻处罚 under
    APL Art. 32, is for the legal reviewer to weigh); a warning or no penalty carries no points (Order 163
    Art. 28) and no fine; a fine carries the points Order 163 gives the behaviour, which are the proposal's
    where it proposed a fine (points are not discretionary); "fine and licence" keeps the proposal's licence
    measure, "fine" drops it. Its explanation says what was decided and why."""
    outcome, proposed = deviation.outcome, proposal or {}
    decision = dict(proposal or {"case_id": str(case_id), "rule_ids": [], "legal_basis": [], "explanation_zh": ""})
    if outcome in FINES:
        if not deviation.fine_yuan:
            raise FieldError("deviation.fine_yuan", "处以罚款须填写罚款金额", "a fine needs its amount")
        low, high = proposed.get("fine_range_yuan") or (None, None)  # the statutory range the engine found
        if high is not None and deviation.fine_yuan > high:
            raise FieldError("deviation.fine_yuan", f"罚款不得超出法定幅度（{low}–{high}元）", f"the fine exceeds the statutory maximum of {high} yuan")
        fixed = proposed.get("points") if proposed.get("outcome") in FINES else None
        if fixed is not None and deviation.points is not None and deviation.points != fixed:
            raise FieldError("deviation.points", f"记分由《道路交通安全违法行为记分管理办法》确定（本行为记{fixed}分），不随罚款变化", f"points are fixed by Order 163 ({fixed} for this behaviour)")
        points = fixed if fixed is not None else (deviation.points or 0)
        decision.update(outcome=outcome, fine_yuan=deviation.fine_yuan, points=points, education=False)
        if outcome == "fine":
            decision.update(licence_action="none", licence_months=None)
        elif decision.get("licence_action", "none") == "none":
            raise FieldError("deviation.outcome", "裁量建议无暂扣或吊销驾驶证，不能改为“罚款并处暂扣或吊销驾驶证”", "the proposal has no licence measure to add to the fine")
    else:
        if deviation.points:
            raise FieldError("deviation.points", "警告或不予处罚不记分（《道路交通安全违法行为记分管理办法》第二十八条）", "a warning or no penalty carries no points (Order 163 Art. 28)")
        if deviation.fine_yuan:
            raise FieldError("deviation.fine_yuan", "警告或不予处罚不处罚款", "a warning or no penalty has no fine")
        decision.update(outcome=outcome, fine_yuan=None, points=0, licence_action="none", licence_months=None, education=outcome == "no_penalty")
    decision["explanation_zh"] = _deviation_explanation(proposal, decision, reason)
    return decision


def _deviation_explanation(proposal: dict[str, Any] | None, decision: dict[str, Any], reason: str) -> str:
    """The facts as the proposal stated them, what was proposed, what is decided instead and why."""
    def words(d: dict[str, Any]) -> str:
        return penalty_words(d.get("outcome", ""), d.get("fine_yuan"), d.get("points"), d.get("licence_action"), d.get("licence_months"))

    text = (proposal.get("explanation_zh") or "") if proposal else ""
    facts = text[: text.index("。") + 1] if "。" in text else ""
    proposed = f"裁量建议为{words(proposal)}；" if proposal else ""
    lines = [facts, f"{proposed}承办民警认为：{reason.rstrip('。')}。经法制审核，决定{words(decision)}。"]
    if decision["outcome"] == "warning":
        lines.append("依照《道路交通安全违法行为记分管理办法》第二十八条，给予警告处罚的免予记分。")
    elif decision["outcome"] == "no_penalty":
        lines.append("依照《行政处罚法》第三十三条不予行政处罚，并对当事人进行教育。")
    return "".join(lines)


def _same_as_proposal(deviation: Deviation, proposal: dict[str, Any] | None) -> bool:
    if proposal is None:
        return False
    points = (proposal.get("points") or 0) if deviation.points is None and deviation.outcome in FINES else (deviation.points or 0)
    return (deviation.outcome, deviation.fine_yuan or None, points) == (proposal.get("outcome"), proposal.get("fine_yuan") or None, proposal.get("points") or 0)


def list_approvals(db: Database, actor: Actor, *, now: datetime | None = None) -> list[CaseView]:
    """待法制审核 — deviations from the proposal awaiting a legal reviewer."""
    return list_cases(db, actor, status="pending_approval", now=now)


def decide_deviation(db: Database, actor: Actor, case_id: int, request: ApprovalRequest, *, now: datetime | None = None) -> CaseView:
    """法制审核 — approve (the deviation is issued) or send back (the case returns to the officer)."""
    at = _now(now)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        if row.status != "pending_approval" or row.version != request.version:
            raise Conflict("案件已被他人处理或已变更，请刷新后重试", f"case {case_id} changed (status {row.status}, version {row.version})")
        if not request.approve and len(request.note.strip()) < 2:
            raise FieldError("note", "退回须写明审核意见", "sending back needs a note")
        row.version += 1
        row.reviewed_by = actor.username
        row.review_note = request.note.strip() or None
        if request.approve:
            _finalise(session, actor, row, dict(row.decision or {}), at)
            _audit(session, actor, "decide", "enforcement_cases", str(row.id), at, outcome="deviation_approved", decision_number=row.decision_number)
        else:
            row.decision = None
            row.status = "proposed" if row.proposal is not None else "manual"
            _audit(session, actor, "decide", "enforcement_cases", str(row.id), at, outcome="deviation_sent_back", note=row.review_note)
        session.flush()
        return case_view(row, registry.Masker(actor), as_of=local_day(at))


def mark_notified(db: Database, actor: Actor, case_id: int, *, now: datetime | None = None) -> CaseView:
    """已通知 — the owner was told (ProcReg Art. 20); the case leaves the overdue list."""
    at = _now(now)
    with db.transaction(write=True) as session:
        row = _locked_case(session, case_id)
        if row.notified_at is None:
            row.notified_at = at
            _audit(session, actor, "update", "enforcement_cases", str(row.id), at, outcome="notified")
        session.flush()
        return case_view(row, registry.Masker(actor), as_of=local_day(at))

