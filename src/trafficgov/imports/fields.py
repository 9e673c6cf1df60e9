"""Typed readers of one field of a raw record; each raises FieldError naming the field."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from trafficgov.errors import FieldError


def text(values: dict[str, Any], name: str, *, required: bool = False, max_length: int = 256) -> str | None:
    """A string field; a number where a code is expected is refused (codes are strings: "02", never 2)."""
    value = values.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(name, f"缺少必填字段 {name}", f"required field {name} is missing")
        return None
    if not isinstance(value, str):
        raise FieldError(name, f"字段 {name} 应为字符串（代码请加引号，如 \"02\"）", f"field {name} must be a string (quote codes, e.g. \"02\")")
    value = value.strip() if value.isascii() else unicodedata.normalize("NFKC", value).strip()
    if not value:  # only blanks (NFKC turns some control characters into spaces)
        if required:
            raise FieldError(name, f"缺少必填字段 {name}", f"required field {name} is missing")
        return None
    if len(value) > max_length:
        raise FieldError(name, f"字段 {name} 超过{max_length}个字符", f"field {name} is longer than {max_length} characters")
    return value


def integer(values: dict[str, Any], name: str, *, minimum: int = 0, maximum: int = 10**9) -> int | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(name, f"字段 {name} 应为整数", f"field {name} must be an integer")
    if isinstance(value, str):
        value = value.strip() if value.isascii() else unicodedata.normalize("NFKC", value).strip()
        if not value.lstrip("-").isdigit():
            raise FieldError(name, f"字段 {name} 应为整数：{value}", f"field {name} must be an integer: {value!r}")
        value = int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise FieldError(name, f"字段 {name} 应为整数：{value}", f"field {name} must be an integer: {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise FieldError(name, f"字段 {name} 应为整数", f"field {name} must be an integer")
    if not minimum <= value <= maximum:
        raise FieldError(name, f"字段 {name} 超出范围 {minimum}–{maximum}：{value}", f"field {name} out of range {minimum}-{maximum}: {value}")
    return value


def iso_date(values: dict[str, Any], name: str, *, required: bool = False) -> date | None:
    value = text(values, name, required=required, max_length=32)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10] if len(value) > 10 and value[10] in "T " else value)
    except ValueError:
        raise FieldError(name, f"字段 {name} 不是有效日期（应为 YYYY-MM-DD）：{value}", f"field {name} is not an ISO 8601 date (YYYY-MM-DD): {value!r}") from None


def iso_datetime(values: dict[str, Any], name: str, *, required: bool = False) -> datetime | None:
    value = text(values, name, required=required, max_length=40)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(name, f"字段 {name} 不是有效时间（ISO 8601，带时区）：{value}", f"field {name} is not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise FieldError(name, f"字段 {name} 缺少时区（如 +08:00）：{value}", f"field {name} lacks a UTC offset (e.g. +08:00): {value!r}")
    return parsed


def boolean(values: dict[str, Any], name: str) -> bool | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "yes", "y", "是"):
        return True
    if lowered in ("false", "0", "no", "n", "否"):
        return False
    raise FieldError(name, f"字段 {name} 应为 true 或 false：{value}", f"field {name} must be true or false: {value!r}")
