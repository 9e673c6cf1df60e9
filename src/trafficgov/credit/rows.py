"""Validate one imported record of each credit input kind into the values the store keeps.

Pure functions of plain dicts: a record either becomes a dict of column values or raises FieldError.
Events dated in the future (beyond a small clock tolerance) are refused.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

from trafficgov.errors import FieldError
from trafficgov.imports.fields import boolean, integer, iso_date, iso_datetime, text
from trafficgov.registry.codetables import CodeTables
from trafficgov.registry.identifiers import validate_uscc
from trafficgov.registry.plates import validate_plate
from trafficgov.registry.rows import holder_id

SEVERITIES = ("property", "injury", "fatal")
LIABILITIES = ("full", "main", "equal", "minor", "none")
INSPECTION_KINDS = ("roadside", "periodic", "company_audit")
ALARM_KINDS = ("fatigue", "speeding", "offline")
CLOCK_TOLERANCE = timedelta(hours=1)
MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def now() -> datetime:
    return datetime.now(UTC)


@functools.cache
def catalogue() -> tuple[frozenset[str], dict[str, str]]:
    """Every behaviour code the shipped rulebook has ever known, and GA 408.1 code -> behaviour."""
    from trafficgov.rules.loader import default_rulebook

    codes: set[str] = set()
    by_ga: dict[str, str] = {}
    for item in default_rulebook().rows("behaviours"):
        codes.add(item.row.code)
        for ga in item.row.ga408_codes:
            by_ga[ga] = item.row.code
    return frozenset(codes), by_ga


def behaviour(values: dict[str, Any]) -> tuple[str, str | None]:
    """(behaviour code, GA code as given): either field may be given; both must agree."""
    codes, by_ga = catalogue()
    code = text(values, "behavior", max_length=64)
    if code is not None and code not in codes:
        raise FieldError("behavior", f"未知的违法行为代码：{code}", f"unknown behaviour code {code!r}")
    ga = text(values, "violation_code", max_length=16)
    if ga is not None:
        raw = ga.upper()
        mapped = by_ga.get(raw) or by_ga.get(raw.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        if mapped is None:
            raise FieldError("violation_code", f"未知的违法代码：{ga}", f"unknown violation code {ga!r}")
        if code is not None and mapped != code:
            raise FieldError("violation_code", f"违法代码{ga}对应{mapped}，与behavior {code}不一致", f"violation_code means {mapped}, behavior says {code}")
        code = mapped
        ga = raw
    if code is None:
        raise FieldError("behavior", "缺少违法行为（behavior 或 violation_code）", "give behavior or violation_code")
    return code, ga


def past_datetime(values: dict[str, Any], name: str, *, required: bool = False) -> datetime | None:
    value = iso_datetime(values, name, required=required)
    if value is not None and value > now() + CLOCK_TOLERANCE:
        raise FieldError(name, f"字段 {name} 是将来的时间：{values.get(name)}", f"field {name} is in the future: {values.get(name)!r}")
    return value


def past_date(values: dict[str, Any], name: str, *, required: bool = False) -> date | None:
    value = iso_date(values, name, required=required)
    if value is not None and value > (now() + CLOCK_TOLERANCE).astimezone(UTC).date() + timedelta(days=1):
        raise FieldError(name, f"字段 {name} 是将来的日期：{values.get(name)}", f"field {name} is in the future: {values.get(name)!r}")
    return value


def number(values: dict[str, Any], name: str, *, minimum: float = 0.0, maximum: float = 1e9) -> float | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(name, f"字段 {name} 应为数字", f"field {name} must be a number")
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
        try:
            value = float(value)
        except ValueError:
            raise FieldError(name, f"字段 {name} 应为数字：{value}", f"field {name} must be a number: {value!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(name, f"字段 {name} 应为数字", f"field {name} must be a number")
    if not minimum <= value <= maximum:
        raise FieldError(name, f"字段 {name} 超出范围 {minimum}–{maximum}：{value}", f"field {name} out of range {minimum}-{maximum}: {value}")
    return float(value)


def choice(values: dict[str, Any], name: str, allowed: tuple[str, ...], *, required: bool = True) -> str | None:
    value = text(values, name, required=required, max_length=32)
    if value is not None and value not in allowed:
        raise FieldError(name, f"字段 {name} 应为 {'、'.join(allowed)} 之一：{value}", f"field {name} must be one of {', '.join(allowed)}: {value!r}")
    return value


def vehicle(values: dict[str, Any], tables: CodeTables, *, required: bool = True) -> tuple[str | None, str | None]:
    """(plate number, plate type), checked against the plate rules; both or neither when optional."""
    plate = text(values, "plate_number", required=required, max_length=16)
    plate_type = text(values, "plate_type", required=required or plate is not None, max_length=2)
    if plate is None:
        if plate_type is not None:
            raise FieldError("plate_number", "给出了号牌种类但缺少号牌号码", "plate_type given without plate_number")
        return None, None
    assert plate_type is not None
    return validate_plate(plate, plate_type, tables), plate_type


def driver(values: dict[str, Any], name: str = "driver_id") -> str | None:
    return holder_id(values, name) if text(values, name, max_length=32) is not None else None


def uscc(values: dict[str, Any], *, required: bool = False) -> str | None:
    value = text(values, "uscc", required=required, max_length=32)
    return validate_uscc(value, "uscc") if value is not None else None


def parse_violation(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    violation_id = text(values, "violation_id", required=True, max_length=64)
    occurred = past_datetime(values, "occurred_at", required=True)
    decided = past_datetime(values, "decided_at")
    assert occurred is not None
    if decided is not None and decided < occurred:
        raise FieldError("decided_at", "决定时间早于违法时间", "decided_at is before occurred_at")
    code, ga = behaviour(values)
    plate, plate_type = vehicle(values, tables)
    return {
        "violation_id": violation_id,
        "occurred_at": occurred,
        "decided_at": decided,
        "behavior": code,
        "violation_code": ga,
        "plate_number": plate,
        "plate_type": plate_type,
        "driver_id": driver(values),
        "region": text(values, "region", max_length=12),
        "outcome": text(values, "outcome", max_length=32),
        "fine_yuan": integer(values, "fine_yuan", maximum=1_000_000),
        "points": integer(values, "points", maximum=12),
        "camera_id": text(values, "camera_id", max_length=32),
    }


def parse_accident(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    """The accident's own fields (no parties)."""
    accident_id = text(values, "accident_id", required=True, max_length=64)
    occurred = past_datetime(values, "occurred_at", required=True)
    reported = past_datetime(values, "reported_at")
    assert occurred is not None
    if reported is not None and reported < occurred:
        raise FieldError("reported_at", "报警时间早于事故时间", "reported_at is before occurred_at")
    severity = choice(values, "severity", SEVERITIES)
    injuries = integer(values, "injuries", maximum=10_000) or 0
    deaths = integer(values, "deaths", maximum=10_000) or 0
    if severity == "fatal" and deaths == 0:
        raise FieldError("deaths", "死亡事故的死亡人数应大于0", "a fatal accident has deaths > 0")
    if severity == "property" and (injuries or deaths):
        raise FieldError("severity", "财产损失事故不应有伤亡", "a property-damage accident has no injuries or deaths")
    if severity == "injury" and (injuries == 0 or deaths):
        raise FieldError("severity", "伤人事故应有受伤且无死亡", "an injury accident has injuries and no deaths")
    return {
        "accident_id": accident_id,
        "occurred_at": occurred,
        "reported_at": reported,
        "lon": number(values, "lon", minimum=-180.0, maximum=180.0),
        "lat": number(values, "lat", minimum=-90.0, maximum=90.0),
        "severity": severity,
        "injuries": injuries,
        "deaths": deaths,
    }


def parse_party(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    plate, plate_type = vehicle(values, tables, required=False)
    party_driver = driver(values)
    if plate is None and party_driver is None:
        raise FieldError("parties", "当事方缺少号牌和驾驶人", "a party names neither a vehicle nor a driver")
    return {
        "plate_number": plate,
        "plate_type": plate_type,
        "driver_id": party_driver,
        "liability": choice(values, "liability", LIABILITIES),
    }


def parse_inspection(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    inspection_id = text(values, "inspection_id", required=True, max_length=64)
    day = past_date(values, "date", required=True)
    kind = choice(values, "kind", INSPECTION_KINDS)
    plate, plate_type = vehicle(values, tables, required=kind != "company_audit")
    company = uscc(values, required=kind == "company_audit")
    out_of_service = boolean(values, "out_of_service")
    if out_of_service is None:
        raise FieldError("out_of_service", "缺少必填字段 out_of_service（true/false）", "required field out_of_service (true/false) is missing")
    return {
        "inspection_id": inspection_id,
        "date": day,
        "kind": kind,
        "plate_number": plate,
        "plate_type": plate_type,
        "driver_id": driver(values),
        "uscc": company,
        "defects": text(values, "defects", max_length=512),
        "out_of_service": out_of_service,
    }


def parse_safety_record(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    company = uscc(values, required=True)
    month = text(values, "month", required=True, max_length=7)
    assert month is not None
    found = MONTH.match(month)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise FieldError("month", f"字段 month 应为 YYYY-MM：{month}", f"field month must be YYYY-MM: {month!r}")
    today = now().date()
    if (int(found.group(1)), int(found.group(2))) > (today.year, today.month):
        raise FieldError("month", f"字段 month 是将来的月份：{month}", f"field month is in the future: {month!r}")
    return {
        "uscc": company,
        "month": month,
        "training_hours": number(values, "training_hours", maximum=100_000),
        "self_inspections": integer(values, "self_inspections", maximum=100_000),
        "monitoring_staff": integer(values, "monitoring_staff", maximum=100_000),
    }


def parse_gps_alarm(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    day = past_date(values, "date", required=True)
    plate, plate_type = vehicle(values, tables)
    kind = choice(values, "kind", ALARM_KINDS)
    count = integer(values, "count", maximum=1_000_000)
    if count is None:
        raise FieldError("count", "缺少必填字段 count", "required field count is missing")
    return {
        "date": day,
        "plate_number": plate,
        "plate_type": plate_type,
        "kind": kind,
        "count": count,
        "minutes": integer(values, "minutes", maximum=1440),
    }
