"""Validate one imported record of each master-data kind into the values the store keeps.

Pure functions of plain dicts: a record either becomes a dict of column values or raises FieldError.
"""

from __future__ import annotations

from typing import Any

from trafficgov.errors import FieldError
from trafficgov.imports.fields import integer, iso_date, text
from trafficgov.registry.codetables import CodeTables
from trafficgov.registry.identifiers import normalise, parse_id_number, validate_uscc, validate_vin
from trafficgov.registry.plates import validate_plate

RESIDENT_ID = "A"


def person_key(values: dict[str, Any], tables: CodeTables, field: str = "id_number", doc_type: str | None = None) -> tuple[str, str]:
    """(document type, number): a resident ID is checked (15 digits converted); others by their pattern."""
    raw = text(values, field, required=True, max_length=32)
    assert raw is not None
    doc_type = doc_type or text(values, "doc_type", max_length=16) or RESIDENT_ID
    tables.require("document_types", doc_type, "doc_type")
    if doc_type == RESIDENT_ID:
        return RESIDENT_ID, parse_id_number(raw, field).number
    number = normalise(raw)
    pattern = tables.document_types[doc_type].pattern_re
    if pattern is not None and not pattern.fullmatch(number):
        label = tables.label("document_types", doc_type)
        raise FieldError(field, f"{label}号码格式错误：{raw}", f"{doc_type} document number is malformed: {raw!r}")
    return doc_type, number


def holder_id(values: dict[str, Any], field: str = "id_number") -> str:
    """The number that keys a person in other kinds: a valid resident ID is normalised, others kept."""
    raw = text(values, field, required=True, max_length=32)
    assert raw is not None
    number = normalise(raw)
    if number.isdigit() or (len(number) == 18 and number[:17].isdigit()):
        return parse_id_number(number, field).number
    return number


def phone(values: dict[str, Any]) -> str | None:
    value = text(values, "phone", max_length=32)
    if value is None:
        return None
    digits = value.replace("-", "").replace(" ", "").replace("+86", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 12:
        raise FieldError("phone", f"电话号码格式错误：{value}", f"phone number is malformed: {value!r}")
    return digits


def parse_person(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    doc_type, number = person_key(values, tables)
    row: dict[str, Any] = {
        "id_number": number,
        "doc_type": doc_type,
        "name": text(values, "name", max_length=64),
        "phone": phone(values),
        "address": text(values, "address"),
        "birth_date": None,
        "sex": None,
    }
    if doc_type == RESIDENT_ID:
        resident = parse_id_number(number)
        row["birth_date"] = resident.birth_date
        row["sex"] = resident.sex
    return row


def parse_company(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    uscc = text(values, "uscc", required=True, max_length=32)
    assert uscc is not None
    kind = text(values, "kind", max_length=32)
    if kind is not None:
        tables.require("company_kinds", kind, "kind")
    return {
        "uscc": validate_uscc(uscc),
        "name": text(values, "name", max_length=128),
        "kind": kind,
        "address": text(values, "address"),
        "permit_number": text(values, "permit_number", max_length=64),
        "permit_valid_to": iso_date(values, "permit_valid_to"),
    }


def licence_classes(values: dict[str, Any], tables: CodeTables) -> str | None:
    value = text(values, "classes", max_length=64)
    if value is None:
        return None
    classes = value.replace(",", " ").replace("，", " ").upper().split()
    for code in classes:
        tables.require("licence_classes", code, "classes")
    return " ".join(dict.fromkeys(classes))


def parse_licence(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    status = text(values, "status", max_length=8)
    if status is not None:
        tables.require("licence_statuses", status, "status")
    school = text(values, "school_uscc", max_length=32)
    row = {
        "id_number": holder_id(values),
        "classes": licence_classes(values, tables),
        "first_issued": iso_date(values, "first_issued"),
        "valid_from": iso_date(values, "valid_from"),
        "valid_to": iso_date(values, "valid_to"),
        "status": status,
        "school_uscc": validate_uscc(school, "school_uscc") if school else None,
        "points": integer(values, "points", maximum=1000),
        "cycle_start": iso_date(values, "cycle_start"),
    }
    if row["valid_from"] and row["valid_to"] and row["valid_to"] < row["valid_from"]:
        raise FieldError("valid_to", "有效期止早于有效期始", "valid_to is before valid_from")
    return row


def owner_id(values: dict[str, Any], field: str = "owner_id") -> str | None:
    """An owner is a person (ID number or other document number) or a company (USCC)."""
    raw = text(values, field, max_length=32)
    if raw is None:
        return None
    code = normalise(raw)
    if len(code) == 18 and not code[:17].isdigit():
        return validate_uscc(code, field)
    if code.isdigit() or (len(code) == 18 and code[:17].isdigit()):
        return parse_id_number(code, field).number
    return code


def parse_vehicle(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    plate_type = text(values, "plate_type", required=True, max_length=2)
    plate = text(values, "plate_number", required=True, max_length=16)
    assert plate_type is not None and plate is not None
    vin = text(values, "vin", max_length=32)
    vehicle_type = text(values, "vehicle_type", max_length=4)
    if vehicle_type is not None:
        vehicle_type = tables.require("vehicle_types", vehicle_type.upper(), "vehicle_type")
    use_nature = text(values, "use_nature", max_length=1)
    if use_nature is not None:
        use_nature = tables.require("use_natures", use_nature.upper(), "use_nature")
    status = text(values, "status", max_length=8)
    if status is not None:
        tables.require("vehicle_statuses", status, "status")
    operator = text(values, "operator_uscc", max_length=32)
    return {
        "plate_number": validate_plate(plate, plate_type, tables),
        "plate_type": plate_type,
        "vin": validate_vin(vin) if vin else None,
        "vehicle_type": vehicle_type,
        "use_nature": use_nature,
        "owner_id": owner_id(values),
        "operator_uscc": validate_uscc(operator, "operator_uscc") if operator else None,
        "rated_passengers": integer(values, "rated_passengers", maximum=300),
        "rated_load_kg": integer(values, "rated_load_kg", maximum=200_000),
        "max_total_mass_kg": integer(values, "max_total_mass_kg", maximum=200_000),
        "axles": integer(values, "axles", maximum=20),
        "registered_on": iso_date(values, "registered_on"),
        "inspection_due": iso_date(values, "inspection_due"),
        "insurance_expiry": iso_date(values, "insurance_expiry"),
        "status": status,
    }


def parse_employment(values: dict[str, Any], tables: CodeTables) -> dict[str, Any]:
    uscc = text(values, "uscc", required=True, max_length=32)
    role = text(values, "role", required=True, max_length=32)
    assert uscc is not None and role is not None
    tables.require("employment_roles", role, "role")
    start = iso_date(values, "from", required=True)
    end = iso_date(values, "to")
    if start and end and end < start:
        raise FieldError("to", "结束日期早于开始日期", "`to` is before `from`")
    return {
        "id_number": holder_id(values),
        "uscc": validate_uscc(uscc),
        "role": role,
        "from_date": start,
        "to_date": end,
    }
