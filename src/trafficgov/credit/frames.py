"""信用数据 — credit supervision's inputs read out of the store as Polars frames, in one read transaction.

`load(db)` is the only place of the credit pillar that speaks SQL: plain Core SELECTs, rows straight into
Polars. Everything downstream (risk.py, sms.py, backtest.py) is pure and takes a `CreditData`.

Conventions (docs/credit-validation.md, notes/credit-interface.md):
- datetimes are UTC-aware `pl.Datetime("us", "UTC")`; dates are `pl.Date`;
- `known_at` is when the bureau could know of an event: `decided_at` of a violation or `reported_at` of
  an accident where given, else when it happened; a dated event (inspection, GPS alarm day) is known at
  the end of its day in China time (next day 00:00 +08:00 = 16:00 UTC of the day);
- a vehicle is keyed "PLATE:TYPE"; its company is `operator_uscc` where set (挂靠 / operating company),
  else `owner_id` when that is a unified social credit code, else null (a private vehicle).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select

from trafficgov.credit.store import (
    CreditAccidentPartyRow,
    CreditAccidentRow,
    CreditGpsAlarmRow,
    CreditInspectionRow,
    CreditSafetyRecordRow,
    CreditViolationRow,
)
from trafficgov.errors import FieldError
from trafficgov.registry.identifiers import is_resident_id, is_uscc
from trafficgov.registry.store import CompanyRow, EmploymentRow, LicenceRow, VehicleRow
from trafficgov.registry.vehicle_sets import is_key_vehicle, two_passenger_one_danger_one_freight
from trafficgov.store.db import Database

UTC_TIME = pl.Datetime("us", "UTC")
# A day's events are known once the day is over in China (UTC+8): 16:00 UTC of the same date.
END_OF_DAY_UTC = timedelta(hours=16)

SCHEMAS: dict[str, dict[str, Any]] = {
    "violations": {
        "violation_id": pl.String, "occurred_at": UTC_TIME, "known_at": UTC_TIME, "behavior": pl.String,
        "plate_number": pl.String, "plate_type": pl.String, "vehicle": pl.String, "driver_id": pl.String,
        "outcome": pl.String, "fine_yuan": pl.Int64, "points": pl.Int64,
    },
    "accident_parties": {
        "accident_id": pl.String, "occurred_at": UTC_TIME, "known_at": UTC_TIME, "severity": pl.String,
        "injuries": pl.Int64, "deaths": pl.Int64, "plate_number": pl.String, "plate_type": pl.String,
        "vehicle": pl.String, "driver_id": pl.String, "liability": pl.String, "vehicle_known": pl.Boolean,
    },
    "inspections": {
        "inspection_id": pl.String, "date": pl.Date, "known_at": UTC_TIME, "kind": pl.String, "vehicle": pl.String,
        "driver_id": pl.String, "uscc": pl.String, "defects": pl.String, "out_of_service": pl.Boolean,
    },
    "gps_alarms": {
        "date": pl.Date, "known_at": UTC_TIME, "vehicle": pl.String, "kind": pl.String, "count": pl.Int64,
        "minutes": pl.Int64,
    },
    "safety_records": {
        "uscc": pl.String, "month": pl.String, "training_hours": pl.Float64, "self_inspections": pl.Int64,
        "monitoring_staff": pl.Int64,
    },
    "vehicles": {
        "vehicle": pl.String, "plate_number": pl.String, "plate_type": pl.String, "owner_id": pl.String,
        "operator_uscc": pl.String, "company": pl.String, "use_nature": pl.String, "vehicle_type": pl.String,
        "registered_on": pl.Date, "key_vehicle": pl.Boolean, "two_passenger_one_danger": pl.Boolean,
    },
    # `role` (driver, escort, instructor, safety_manager) is kept beyond the interface's columns: only
    # those who drive carry a company's driving risk.
    "employments": {"id_number": pl.String, "uscc": pl.String, "start": pl.Date, "end": pl.Date, "role": pl.String},
    "licences": {
        "id_number": pl.String, "school_uscc": pl.String, "first_issued": pl.Date, "classes": pl.String,
        "points": pl.Int64, "cycle_start": pl.Date,
    },
    "companies": {"uscc": pl.String, "name": pl.String, "kind": pl.String},
}
# Frames of dated events, filtered by `known_at` in `known_by`.
EVENT_FRAMES = ("violations", "accident_parties", "inspections", "gps_alarms")


def empty(name: str) -> pl.DataFrame:
    """An empty frame of one of CreditData's fields, with its schema."""
    return pl.DataFrame(schema=SCHEMAS[name])


@dataclass(frozen=True)
class CreditData:
    """信用数据 — every input of risk and credit scoring, as Polars frames (schemas in `SCHEMAS`)."""

    violations: pl.DataFrame
    accident_parties: pl.DataFrame
    inspections: pl.DataFrame
    gps_alarms: pl.DataFrame
    safety_records: pl.DataFrame
    vehicles: pl.DataFrame
    employments: pl.DataFrame
    licences: pl.DataFrame
    companies: pl.DataFrame

    @classmethod
    def build(cls, **frames: pl.DataFrame | list[dict[str, Any]] | None) -> CreditData:
        """A CreditData from frames or lists of row dicts (missing fields empty; known_at, vehicle and
        company filled where a row leaves them out) — for tests and for other adapters than the store."""
        out: dict[str, pl.DataFrame] = {}
        for field in fields(cls):
            value = frames.get(field.name)
            out[field.name] = _conform(field.name, value)
        unknown = set(frames) - set(out)
        if unknown:
            raise TypeError(f"unknown CreditData frames: {sorted(unknown)}")
        return cls(**out)

    def known_by(self, as_of: datetime) -> CreditData:
        """What the bureau knew at `as_of`: events with known_at <= as_of, safety records of months over
        by then, vehicles registered, licences issued and employments begun by then."""
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        as_of = as_of.astimezone(UTC)
        day = _local_day(as_of)
        changes: dict[str, pl.DataFrame] = {
            name: getattr(self, name).filter(pl.col("known_at") <= as_of) for name in EVENT_FRAMES
        }
        # A month's record is known once the month is over.
        this_month = f"{day.year:04d}-{day.month:02d}"
        changes["safety_records"] = self.safety_records.filter(pl.col("month") < this_month)
        changes["vehicles"] = self.vehicles.filter(pl.col("registered_on").is_null() | (pl.col("registered_on") <= day))
        changes["licences"] = self.licences.filter(pl.col("first_issued").is_null() | (pl.col("first_issued") <= day))
        changes["employments"] = self.employments.filter(pl.col("start") <= day)
        return replace(self, **changes)


def _local_day(moment: datetime) -> date:
    """The calendar day in China (UTC+8) of a moment."""
    return (moment.astimezone(UTC) + timedelta(hours=8)).date()


def vehicle_key(plate_number: str | None, plate_type: str | None) -> str | None:
    return f"{plate_number}:{plate_type}" if plate_number and plate_type else None


def _vehicle_expr() -> pl.Expr:
    return (
        pl.when(pl.col("plate_number").is_not_null() & pl.col("plate_type").is_not_null())
        .then(pl.concat_str([pl.col("plate_number"), pl.lit(":"), pl.col("plate_type")]))
        .otherwise(None)
    )


def _day_known_expr(column: str) -> pl.Expr:
    return pl.col(column).cast(UTC_TIME) + pl.duration(hours=16)


def _conform(name: str, value: pl.DataFrame | list[dict[str, Any]] | None) -> pl.DataFrame:
    """Fill derived columns a caller left out, then select and cast to the frame's schema."""
    schema = SCHEMAS[name]
    if value is None:
        return empty(name)
    frame = value if isinstance(value, pl.DataFrame) else pl.DataFrame(value, infer_schema_length=None)
    if frame.width == 0:
        return empty(name)
    columns = set(frame.columns)
    if "vehicle" in schema and "vehicle" not in columns and {"plate_number", "plate_type"} <= columns:
        frame = frame.with_columns(vehicle=_vehicle_expr())
    if "known_at" in schema and "known_at" not in frame.columns:
        if name in ("inspections", "gps_alarms"):
            frame = frame.with_columns(pl.col("date").cast(pl.Date)).with_columns(known_at=_day_known_expr("date"))
        else:
            frame = frame.with_columns(known_at=pl.col("occurred_at"))
    if name == "vehicles" and "company" not in frame.columns:
        frame = frame.with_columns(company=_company_expr(frame))
    missing = [c for c in schema if c not in frame.columns]
    frame = frame.with_columns([pl.lit(None).alias(c) for c in missing])
    return frame.select([pl.col(c).cast(t, strict=False) if t != UTC_TIME else _as_utc(c) for c, t in schema.items()])


def _as_utc(column: str) -> pl.Expr:
    return pl.col(column).cast(UTC_TIME)


def _company_expr(frame: pl.DataFrame) -> pl.Series:
    operator = frame["operator_uscc"] if "operator_uscc" in frame.columns else pl.Series([None] * frame.height, dtype=pl.String)
    owner = frame["owner_id"] if "owner_id" in frame.columns else pl.Series([None] * frame.height, dtype=pl.String)
    return pl.Series(
        "company", [op or (ow if is_company_id(ow) else None) for op, ow in zip(operator.to_list(), owner.to_list(), strict=True)], dtype=pl.String
    )


def is_company_id(value: str | None) -> bool:
    """A unified social credit code that is not also a valid resident ID number (an 18-character ID
    passes the USCC check about once in 31 times)."""
    return bool(value) and len(value) == 18 and is_uscc(value) and not is_resident_id(value)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4096)
def _vehicle_flags(vehicle_type: str | None, use_nature: str | None, mass_kg: int | None, passengers: int | None) -> tuple[bool, bool]:
    """(Order 163 key vehicle, 两客一危一货) by the sets in force now; unknown codes count as neither."""
    try:
        key = is_key_vehicle(vehicle_type, use_nature, mass_kg, passengers)
        transport = two_passenger_one_danger_one_freight(vehicle_type, use_nature, mass_kg) is not None
    except (FieldError, LookupError):
        return False, False
    return key, transport


def _frame(rows: list[Any], name: str, columns: list[str]) -> pl.DataFrame:
    schema = {c: SCHEMAS[name].get(c, pl.String) for c in columns}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


# How SQLAlchemy writes a DateTime into SQLite (text, UTC without an offset for UTCDateTime).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"


def _fetch(session: Any, statement: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """Run a SELECT through the driver and build the frame column-wise: SQLite's text times and dates and
    0/1 booleans are converted by Polars, not row by row in Python (SQLAlchemy's result processing is
    what made reading 10 M events slow). PostgreSQL's driver already returns typed values."""
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect))
    rows = connection.exec_driver_sql(sql).fetchall()
    if connection.dialect.name != "sqlite":
        return pl.DataFrame(rows, schema=schema, orient="row")
    raw = {c: pl.String if t == UTC_TIME or t == pl.Date else pl.Int64 if t == pl.Boolean else t for c, t in schema.items()}
    frame = pl.DataFrame(rows, schema=raw, orient="row")
    casts = []
    for column, dtype in schema.items():
        if dtype == UTC_TIME:
            casts.append(pl.col(column).str.to_datetime(_SQLITE_TIME, time_unit="us", time_zone="UTC"))
        elif dtype == pl.Date:
            casts.append(pl.col(column).str.slice(0, 10).str.to_date("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            casts.append(pl.col(column).cast(pl.Boolean))
    return frame.with_columns(casts) if casts else frame


def load(db: Database) -> CreditData:
    """Read every credit input out of the store, in one read transaction."""
    v, a, p = CreditViolationRow.__table__, CreditAccidentRow.__table__, CreditAccidentPartyRow.__table__
    i, s, g = CreditInspectionRow.__table__, CreditSafetyRecordRow.__table__, CreditGpsAlarmRow.__table__
    veh, emp, lic, com = VehicleRow.__table__, EmploymentRow.__table__, LicenceRow.__table__, CompanyRow.__table__
    with db.transaction() as session:
        violations = _fetch(session, select(
            v.c.violation_id, v.c.occurred_at, v.c.decided_at, v.c.behavior, v.c.plate_number, v.c.plate_type,
            v.c.driver_id, v.c.outcome, v.c.fine_yuan, v.c.points,
        ), {
            "violation_id": pl.String, "occurred_at": UTC_TIME, "decided_at": UTC_TIME, "behavior": pl.String,
            "plate_number": pl.String, "plate_type": pl.String, "driver_id": pl.String, "outcome": pl.String,
            "fine_yuan": pl.Int64, "points": pl.Int64,
        })
        parties = _fetch(session, select(
            a.c.accident_id, a.c.occurred_at, a.c.reported_at, a.c.severity, a.c.injuries, a.c.deaths,
            p.c.plate_number, p.c.plate_type, p.c.driver_id, p.c.liability, p.c.vehicle_known, p.c.party_no,
        ).join(p, p.c.accident_id == a.c.accident_id).order_by(a.c.accident_id, p.c.party_no), {
            "accident_id": pl.String, "occurred_at": UTC_TIME, "reported_at": UTC_TIME, "severity": pl.String,
            "injuries": pl.Int64, "deaths": pl.Int64, "plate_number": pl.String, "plate_type": pl.String,
            "driver_id": pl.String, "liability": pl.String, "vehicle_known": pl.Boolean, "party_no": pl.Int64,
        })
        inspections = _fetch(session, select(
            i.c.inspection_id, i.c.date, i.c.kind, i.c.plate_number, i.c.plate_type, i.c.driver_id, i.c.uscc,
            i.c.defects, i.c.out_of_service,
        ), {
            "inspection_id": pl.String, "date": pl.Date, "kind": pl.String, "plate_number": pl.String,
            "plate_type": pl.String, "driver_id": pl.String, "uscc": pl.String, "defects": pl.String,
            "out_of_service": pl.Boolean,
        })
        alarms = _fetch(session, select(g.c.date, g.c.plate_number, g.c.plate_type, g.c.kind, g.c.count, g.c.minutes), {
            "date": pl.Date, "plate_number": pl.String, "plate_type": pl.String, "kind": pl.String,
            "count": pl.Int64, "minutes": pl.Int64,
        })
        records = _fetch(session, select(s.c.uscc, s.c.month, s.c.training_hours, s.c.self_inspections, s.c.monitoring_staff), dict(SCHEMAS["safety_records"]))
        vehicles = session.execute(select(
            veh.c.plate_number, veh.c.plate_type, veh.c.owner_id, veh.c.operator_uscc, veh.c.use_nature,
            veh.c.vehicle_type, veh.c.registered_on, veh.c.max_total_mass_kg, veh.c.rated_passengers,
        )).all()
        employments = _fetch(session, select(emp.c.id_number, emp.c.uscc, emp.c.from_date, emp.c.to_date, emp.c.role), dict(SCHEMAS["employments"]))
        licences = _fetch(session, select(
            lic.c.id_number, lic.c.school_uscc, lic.c.first_issued, lic.c.classes, lic.c.points, lic.c.cycle_start,
        ), dict(SCHEMAS["licences"]))
        companies = session.execute(select(com.c.uscc, com.c.name, com.c.kind)).all()

    violation_frame = (
        violations.with_columns(known_at=pl.coalesce("decided_at", "occurred_at"), vehicle=_vehicle_expr())
        .select(list(SCHEMAS["violations"]))
    )
    party_frame = (
        parties.with_columns(known_at=pl.coalesce("reported_at", "occurred_at"), vehicle=_vehicle_expr())
        .select(list(SCHEMAS["accident_parties"]))
    )
    inspection_frame = (
        inspections.with_columns(known_at=_day_known_expr("date"), vehicle=_vehicle_expr())
        .select(list(SCHEMAS["inspections"]))
    )
    alarm_frame = (
        alarms.with_columns(known_at=_day_known_expr("date"), vehicle=_vehicle_expr())
        .select(list(SCHEMAS["gps_alarms"]))
    )
    company_ids = {row[0] for row in companies}
    vehicle_rows = []
    for plate, plate_type, owner, operator, use, vtype, registered, mass, passengers in vehicles:
        key, transport = _vehicle_flags(vtype, use, mass, passengers)
        company = operator or (owner if owner in company_ids or is_company_id(owner) else None)
        vehicle_rows.append((vehicle_key(plate, plate_type), plate, plate_type, owner, operator, company, use, vtype, registered, key, transport))
    return CreditData(
        violations=violation_frame,
        accident_parties=party_frame,
        inspections=inspection_frame,
        gps_alarms=alarm_frame,
        safety_records=records,
        vehicles=_frame(vehicle_rows, "vehicles", list(SCHEMAS["vehicles"])),
        employments=employments,
        licences=licences,
        companies=_frame(companies, "companies", list(SCHEMAS["companies"])),
    )
