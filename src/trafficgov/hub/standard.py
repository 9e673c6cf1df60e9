"""标准模型 — the hub's standard kinds of record and the check of one value against its field type.

The kinds live in `hub/data/standard.yaml`, validated when loaded: an unknown field type, a code table
that does not exist, a subject key that names no field or a unit without conversion factors are refused.
`check_value` is also what the data-quality page uses to measure validity, so it stays public and pure.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trafficgov.errors import FieldError
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.identifiers import normalise, parse_id_number, validate_uscc, validate_vin
from trafficgov.registry.plates import normalise_plate

STANDARD_FILE = Path(__file__).with_name("data") / "standard.yaml"
BASE_TYPES = ("text", "date", "datetime", "int", "decimal", "bool", "id_number", "uscc", "plate", "plate_type", "vin")
CHINA = timezone(timedelta(hours=8))  # 北京时间: what a source means when it writes a time without an offset
TRUE_WORDS = {"1", "true", "t", "y", "yes", "是", "真"}
FALSE_WORDS = {"0", "false", "f", "n", "no", "否", "假"}


class StandardError(Exception):
    """标准模型错误 — standard.yaml is not usable: the message names the file and the fault."""


class FieldSpec(BaseModel):
    """标准字段 — one field of a standard kind: its type, Chinese label and (numbers) its unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    label_zh: str = Field(min_length=1)
    unit: str | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value in BASE_TYPES or (value.startswith("code:") and len(value) > 5):
            return value
        raise ValueError(f"unknown field type {value!r}; use one of {', '.join(BASE_TYPES)} or code:<table>")


class KindSpec(BaseModel):
    """标准类别 — a kind of record (vehicles, companies …), its fields and its subject key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label_zh: str = Field(min_length=1)
    key: list[str] = Field(min_length=1)
    fields: dict[str, FieldSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _key_names_fields(self) -> KindSpec:
        missing = [name for name in self.key if name not in self.fields]
        if missing:
            raise ValueError(f"key names unknown fields: {', '.join(missing)}")
        return self


class CodeSet(BaseModel):
    """A code table of the hub's own (where the registry has no national one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label_zh: str = Field(min_length=1)
    entries: dict[str, str] = Field(min_length=1)


class Standard(BaseModel):
    """标准模型 — every kind, the hub's own code tables and the unit conversion factors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    effective_from: date
    effective_to: date | None = None
    units: dict[str, dict[str, Fraction]]
    codes: dict[str, CodeSet] = Field(default_factory=dict)
    kinds: dict[str, KindSpec] = Field(min_length=1)

    @field_validator("units", mode="before")
    @classmethod
    def _fractions(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {unit: {source: Fraction(str(factor)) for source, factor in (factors or {}).items()} for unit, factors in value.items()}

    @model_validator(mode="after")
    def _references_resolve(self) -> Standard:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to is not after effective_from")
        registry = code_tables()
        for kind_name, kind in self.kinds.items():
            for name, spec in kind.fields.items():
                if spec.type.startswith("code:"):
                    table = spec.type[5:]
                    if table not in self.codes and not _registry_has(registry, table):
                        raise ValueError(f"{kind_name}.{name}: unknown code table {table!r}")
                if spec.unit is not None and spec.unit not in self.units:
                    raise ValueError(f"{kind_name}.{name}: unit {spec.unit!r} has no conversion factors in `units`")
                if spec.unit is not None and spec.type not in ("int", "decimal"):
                    raise ValueError(f"{kind_name}.{name}: only int and decimal fields carry a unit")
        return self

    def kind(self, name: str) -> KindSpec:
        try:
            return self.kinds[name]
        except KeyError:
            raise KeyError(f"unknown standard kind {name!r}; known: {', '.join(self.kinds)}") from None

    def factor(self, unit: str, source_unit: str) -> Fraction:
        """How many `unit` one `source_unit` is (tonnes -> kg: 1000); KeyError names an unknown pair."""
        factors = self.units.get(unit, {})
        if source_unit not in factors:
            raise KeyError(f"no conversion from {source_unit!r} to {unit!r}; known: {', '.join(factors) or 'none'}")
        return factors[source_unit]


def _registry_has(registry: Any, table: str) -> bool:
    try:
        registry.entries(table)
    except KeyError:
        return False
    return True


def load_standard(path: Path | None = None) -> Standard:
    """Load and validate standard.yaml (default: the package's); StandardError says what is wrong."""
    path = STANDARD_FILE if path is None else Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Standard.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise StandardError(f"{path}: {error}") from None


@functools.cache
def standard() -> Standard:
    """The package's standard model, loaded once."""
    return load_standard()


# ------------------------------------------------------------------------------------ values

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S",
                     "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日%H时%M分%S秒", "%Y年%m月%d日%H时%M分", "%Y年%m月%d日 %H时%M分")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def half_width(text: str) -> str:
    """Full-width letters, digits, spaces and punctuation to half-width (NFKC), spaces trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else str(value).strip()


def parse_date(value: Any, field: str = "date", formats: tuple[str, ...] | list[str] = ()) -> date:
    """A day from ISO, `2021/3/5`, `20210305`, `2021年3月5日` (or the given formats)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = half_width(_text(value)).replace(" ", "")
    for fmt in (*formats, *_DATE_FORMATS):
        try:
            return datetime.strptime(text, fmt.replace(" ", "")).date()
        except ValueError:
            continue
    raise FieldError(field, f"日期无法识别：{value}", f"not a date: {value!r}")


def parse_datetime(value: Any, field: str = "datetime", formats: tuple[str, ...] | list[str] = (), tz: timezone = CHINA) -> datetime:
    """A moment from ISO 8601 (offset kept) or a local text form (read in `tz`, Beijing time by default)."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = half_width(_text(value))
        moment = None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in (*formats, *_DATETIME_FORMATS):
                try:
                    moment = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if moment is None:
            try:
                day = parse_date(text, field, formats)
            except FieldError:
                raise FieldError(field, f"时间无法识别：{value}", f"not a date-time: {value!r}") from None
            moment = datetime(day.year, day.month, day.day)
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def parse_number(value: Any, field: str = "number") -> Decimal:
    """A number from text with thousands separators, full-width digits or a trailing unit word (元, 吨)."""
    if isinstance(value, bool):
        raise FieldError(field, f"不是数值：{value}", f"not a number: {value!r}")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = half_width(_text(value)).replace(",", "").replace(" ", "")
    text = re.sub(r"(万元|元|吨|千克|公斤|kg|t|分钟|秒|小时)$", "", text, flags=re.IGNORECASE)
    if not _NUMBER.match(text):
        raise FieldError(field, f"不是数值：{value}", f"not a number: {value!r}")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise FieldError(field, f"不是数值：{value}", f"not a number: {value!r}") from None


def _code(table: str, value: Any, field: str) -> str:
    code = half_width(_text(value))
    own = standard().codes.get(table)
    if own is not None:
        if code in own.entries:
            return code
        raise FieldError(field, f"{own.label_zh}代码无效：{value}", f"unknown {table} code: {value!r}")
    tables = code_tables()
    if code not in tables.entries(table) and code.upper() in tables.entries(table):
        code = code.upper()
    return tables.require(table, code, field)


def _plate(value: Any, field: str) -> str:
    plate = normalise_plate(_text(value))
    tables = code_tables()
    # Types that record any text (无号牌, 假号牌, 其他: colour "none") say nothing of a plate on its own;
    # with its plate type, the pair is checked by the mapping.
    if not any(entry.matches(plate) for entry in tables.plate_types.values() if entry.color != "none"):
        raise FieldError(field, f"号牌号码格式错误：{value}", f"not a plate number of any plate type: {value!r}")
    return plate


def check_value(field_type: str, value: Any, field: str | None = None) -> Any:
    """Check one value against a standard field type and return it normalised; FieldError if it fails.

    text -> str (trimmed), date -> date, datetime -> aware datetime, int -> int, decimal -> Decimal,
    bool -> bool, id_number/uscc/vin -> the normalised code, plate -> the normalised plate number (it
    fits some plate type), plate_type and code:<table> -> the code. An empty value is an error here:
    callers decide whether a field may be missing.
    """
    field = field or field_type
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(field, "值为空", "value is empty")
    if field_type == "text":
        return _text(value)
    if field_type == "date":
        return parse_date(value, field)
    if field_type == "datetime":
        return parse_datetime(value, field)
    if field_type == "int":
        number = parse_number(value, field)
        if number != number.to_integral_value():
            raise FieldError(field, f"应为整数：{value}", f"not a whole number: {value!r}")
        return int(number)
    if field_type == "decimal":
        return parse_number(value, field)
    if field_type == "bool":
        word = half_width(_text(value)).lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise FieldError(field, f"不是是/否值：{value}", f"not a yes/no value: {value!r}")
    if field_type == "id_number":
        return parse_id_number(_text(value), field).number
    if field_type == "uscc":
        return validate_uscc(_text(value), field)
    if field_type == "vin":
        return validate_vin(_text(value), field)
    if field_type == "plate":
        return _plate(value, field)
    if field_type == "plate_type":
        return _code("plate_types", normalise(_text(value)), field)
    if field_type.startswith("code:"):
        return _code(field_type[5:], value, field)
    raise ValueError(f"unknown field type {field_type!r}")


def to_json_value(value: Any) -> Any:
    """A checked value as JSON keeps it: dates ISO, moments ISO in UTC, decimals as exact text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    return value
