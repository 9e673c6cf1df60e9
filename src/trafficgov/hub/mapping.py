"""接入映射 — a source system's mapping file (source field -> standard field, with transforms) and the
pure function that maps one raw record onto the standard model or says why it cannot.

One YAML file per source under `hub/data/sources/`. A mapping names its department, its standard kind,
the field holding the record's own id and the field the source updates when a record changes (the
watermark). Each mapped field may translate codes (their code -> ours), read dates in given formats,
add the default province character to a plate written without it, turn full-width characters
half-width and convert units (tonnes -> kg). What a source truly needs beyond that is a named hook
(`HOOKS`), a few lines of Python, never free code in the file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trafficgov.errors import FieldError
from trafficgov.hub.model import DEPARTMENT_LABELS_ZH, Rejected, SourceRecord
from trafficgov.hub.standard import (
    Standard,
    check_value,
    half_width,
    parse_date,
    parse_datetime,
    parse_number,
    standard,
)
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.identifiers import is_resident_id, is_uscc
from trafficgov.registry.plates import normalise_plate, validate_plate

SOURCES_DIR = Path(__file__).with_name("data") / "sources"
UNPARSED = "__unparsed__"  # key of a raw record that was not JSON (its text is the value)
MAX_SOURCE_ID = 128  # hub_records.source_id
_OFFSET = re.compile(r"^[+-]\d\d:\d\d$")


class MappingError(Exception):
    """映射文件错误 — a mapping file that must not be used: the message names the file and the fault."""


# ------------------------------------------------------------------------------------ hooks


def split_party_id(raw: dict[str, Any], source: str, person: str, company: str) -> dict[str, Any]:
    """One column holding either a resident ID number or a credit code (纳税人识别号, 证件号码) -> two."""
    value = raw.get(source)
    text = half_width(str(value)).upper() if value not in (None, "") else ""
    out = dict(raw)
    out[person] = text if text and is_resident_id(text) else ""
    out[company] = text if text and not out[person] and is_uscc(text) else ""
    if text and not out[person] and not out[company]:
        # Neither: keep it where the person's number goes, so that the check says what is wrong.
        out[person] = text
    return out


def plate_type_from_colour(raw: dict[str, Any], plate: str, colour: str, out: str) -> dict[str, Any]:
    """Systems that keep the plate colour, not the plate type: a 挂 (trailer) or 学 (coach) plate says its
    type itself, and so does a new-energy plate (six serial characters: D/F last on a large one, 51, first
    on a small one, 52); otherwise the colour goes on, for the field map's code translation."""
    value = raw.get(plate)
    text = normalise_plate(str(value)) if value not in (None, "") else ""
    if text and text[0] not in code_tables().provinces:
        text = "X" + text  # only the shape matters here
    out_raw = dict(raw)
    if text.endswith("挂"):
        out_raw[out] = "15"
    elif text.endswith("学"):
        out_raw[out] = "16"
    elif len(text) == 8 and text[-1] in "DF":
        out_raw[out] = "51"
    elif len(text) == 8 and text[2] in "DF":
        out_raw[out] = "52"
    else:
        out_raw[out] = raw.get(colour)
    return out_raw


HOOKS: dict[str, Callable[..., dict[str, Any]]] = {
    "split_party_id": split_party_id,
    "plate_type_from_colour": plate_type_from_colour,
}
HOOK_OUTPUTS = {"split_party_id": ("person", "company"), "plate_type_from_colour": ("out",)}


class Hook(BaseModel):
    """A named piece of code a source needs, with its arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    args: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in HOOKS:
            raise ValueError(f"unknown hook {value!r}; known: {', '.join(HOOKS)}")
        return value


# ------------------------------------------------------------------------------------ the file


class FieldMap(BaseModel):
    """How one source field becomes one standard field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str
    codes: dict[str, str] = Field(default_factory=dict)  # their code -> our code
    formats: list[str] = Field(default_factory=list)  # strptime formats for dates and times
    unit: str | None = None  # the source's unit; converted to the standard field's unit
    halfwidth: bool = False  # text: full-width characters to half-width
    default: str | None = None  # value when the source leaves the field empty

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class Mapping(BaseModel):
    """接入映射 — one source system's mapping onto the standard model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    department: str
    name_zh: str = Field(min_length=1)
    kind: str
    format: Literal["csv", "jsonl"] = "csv"
    source_id: str = Field(min_length=1)
    watermark: str = Field(min_length=1)
    watermark_formats: list[str] = Field(default_factory=list)
    timezone: str = "+08:00"
    default_province: str | None = None
    effective_from: date
    effective_to: date | None = None
    hooks: list[Hook] = Field(default_factory=list)
    fields: dict[str, FieldMap] = Field(min_length=1)
    constants: dict[str, str] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)

    @field_validator("department")
    @classmethod
    def _known_department(cls, value: str) -> str:
        if value not in DEPARTMENT_LABELS_ZH:
            raise ValueError(f"unknown department {value!r}; known: {', '.join(DEPARTMENT_LABELS_ZH)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _offset(cls, value: str) -> str:
        if not _OFFSET.match(value):
            raise ValueError(f"timezone must be an offset like +08:00, got {value!r}")
        return value

    @field_validator("default_province")
    @classmethod
    def _province(cls, value: str | None) -> str | None:
        if value is not None and value not in code_tables().provinces:
            raise ValueError(f"default_province {value!r} is not a province abbreviation")
        return value

    @model_validator(mode="after")
    def _fits_standard(self) -> Mapping:
        std = standard()
        if self.kind not in std.kinds:
            raise ValueError(f"unknown standard kind {self.kind!r}; known: {', '.join(std.kinds)}")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to is not after effective_from")
        kind = std.kinds[self.kind]
        targets: dict[str, str] = {}
        for path, fmap in self.fields.items():
            spec = kind.fields.get(fmap.to)
            if spec is None:
                raise ValueError(f"field {path!r}: unknown standard field {fmap.to!r} of {self.kind}; known: {', '.join(kind.fields)}")
            if fmap.to in targets:
                raise ValueError(f"fields {targets[fmap.to]!r} and {path!r} both map to {fmap.to!r}")
            targets[fmap.to] = path
            if fmap.unit is not None:
                if spec.unit is None:
                    raise ValueError(f"field {path!r}: {fmap.to} has no unit, so {fmap.unit!r} cannot be converted")
                try:
                    std.factor(spec.unit, fmap.unit)
                except KeyError as error:
                    raise ValueError(f"field {path!r}: {error.args[0]}") from None
            for theirs, ours in fmap.codes.items():
                try:
                    check_value(spec.type, ours, fmap.to)
                except FieldError as error:
                    raise ValueError(f"field {path!r}: code {theirs!r} translates to {ours!r}, which is not valid: {error.en}") from None
        for name, value in self.constants.items():
            spec = kind.fields.get(name)
            if spec is None:
                raise ValueError(f"constant {name!r}: unknown standard field of {self.kind}")
            check_value(spec.type, value, name)
        for name in self.required:
            if name not in kind.fields:
                raise ValueError(f"required {name!r}: unknown standard field of {self.kind}")
            if name not in targets and name not in self.constants:
                raise ValueError(f"required {name!r} is not mapped from any source field")
        for name in kind.key:
            if name not in targets and name not in self.constants:
                raise ValueError(f"the subject key field {name!r} of {self.kind} is not mapped")
        return self

    @property
    def tz(self) -> timezone:
        sign = -1 if self.timezone[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(self.timezone[1:3]), minutes=int(self.timezone[4:6])))

    def required_fields(self) -> list[str]:
        """The standard fields a record cannot do without: the declared ones and the subject key."""
        return list(dict.fromkeys([*standard().kinds[self.kind].key, *self.required]))

    def required_source_fields(self) -> list[str]:
        """The source fields behind the required standard fields, plus the id and watermark fields."""
        by_target = {fmap.to: path.split(".")[0] for path, fmap in self.fields.items()}
        hooked = {hook.args[name] for hook in self.hooks for name in HOOK_OUTPUTS[hook.name] if name in hook.args}
        names = [self.source_id, self.watermark, *(by_target[n] for n in self.required_fields() if n in by_target)]
        return [name for name in dict.fromkeys(names) if name not in hooked]


def load_mapping(path: Path) -> Mapping:
    """Load and validate one mapping file; MappingError names the file and what is wrong."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Mapping.model_validate(raw)
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path}: {error}") from None
    except ValidationError as error:
        raise MappingError(f"{path}: {error}") from None


@functools.cache
def mappings() -> dict[str, Mapping]:
    """Every mapping file of the package, by source code (a duplicate code is refused)."""
    found: dict[str, Mapping] = {}
    for path in sorted(SOURCES_DIR.glob("*.yaml")):
        mapping = load_mapping(path)
        if mapping.source in found:
            raise MappingError(f"{path}: source {mapping.source!r} is declared twice")
        if path.stem != mapping.source:
            raise MappingError(f"{path}: file name should be {mapping.source}.yaml")
        found[mapping.source] = mapping
    return found


def get_mapping(source: str) -> Mapping:
    """The mapping of one source; FieldError names an unknown source."""
    found = mappings()
    if source not in found:
        raise FieldError("source", f"未知的数据来源：{source}", f"unknown source system {source!r}; known: {', '.join(found)}")
    return found[source]


# ------------------------------------------------------------------------------------ mapping a record


def get_path(raw: dict[str, Any], path: str) -> Any:
    """A value by a dotted path (`dsr.0.hphm`: the first party's plate); None where it is absent."""
    value: Any = raw
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def source_id_of(mapping: Mapping, raw: dict[str, Any]) -> str | None:
    """The record's id in its own system, half-width and trimmed; None when it has none."""
    value = raw.get(mapping.source_id)
    return None if _empty(value) else half_width(str(value))


def watermark_of(mapping: Mapping, raw: dict[str, Any]) -> datetime | None:
    value = raw.get(mapping.watermark)
    if _empty(value):
        return None
    try:
        return parse_datetime(value, mapping.watermark, mapping.watermark_formats, mapping.tz)
    except FieldError:
        return None


def watermark_key(mapping: Mapping, raw: dict[str, Any]) -> str:
    """The watermark as text that sorts in time order (UTC, fixed width); "" when it cannot be read."""
    moment = watermark_of(mapping, raw)
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cursor_of(mapping: Mapping, raw: dict[str, Any]) -> tuple[str, str]:
    """Where a record stands in the source's order: (watermark, source id)."""
    return watermark_key(mapping, raw), source_id_of(mapping, raw) or ""


def _fix_plate(plate: str, province: str | None) -> str:
    provinces = code_tables().provinces
    if province and plate and plate[0] not in provinces and re.match(r"^[A-Z]", plate):
        return province + plate
    return plate


def _one(mapping: Mapping, std: Standard, path: str, fmap: FieldMap, value: Any) -> Any:
    spec = std.kinds[mapping.kind].fields[fmap.to]
    if isinstance(value, str) and (fmap.halfwidth or spec.type != "text"):
        value = half_width(value)
    elif isinstance(value, str):
        value = value.strip()
    if fmap.codes:
        key = str(value)
        if key in fmap.codes:
            value = fmap.codes[key]
        else:
            try:
                return check_value(spec.type, value, fmap.to)
            except FieldError:
                raise FieldError(fmap.to, f"代码“{value}”无对应标准代码", f"code {value!r} has no translation to a standard code") from None
    if spec.type == "plate" and isinstance(value, str):
        value = _fix_plate(normalise_plate(value), mapping.default_province)
    if spec.type == "date" and fmap.formats and isinstance(value, str):
        value = parse_date(value, fmap.to, fmap.formats)
    if spec.type == "datetime" and not isinstance(value, datetime):
        value = parse_datetime(value, fmap.to, fmap.formats, mapping.tz)
    if fmap.unit is not None:
        assert spec.unit is not None
        factor = std.factor(spec.unit, fmap.unit)
        number = parse_number(value, fmap.to) * factor.numerator / factor.denominator
        value = number.normalize() if spec.type == "decimal" else number
    result = check_value(spec.type, value, fmap.to)
    if isinstance(result, Decimal):
        result = result.normalize() if result == result.to_integral_value() else result
    return result


def map_record(mapping: Mapping, raw: dict[str, Any], synced_at: datetime) -> SourceRecord | Rejected:
    """Map one raw record of `mapping`'s source onto the standard model, or say why it cannot be."""
    source = mapping.source
    if UNPARSED in raw:
        return Rejected(source, None, None, "记录不是有效的JSON", "the record is not valid JSON", dict(raw))
    original = dict(raw)
    for hook in mapping.hooks:
        raw = HOOKS[hook.name](raw, **hook.args)
    source_id = source_id_of(mapping, raw)
    if source_id is None:
        return Rejected(source, None, mapping.source_id, f"缺少记录编号（{mapping.source_id}）",
                        f"the record has no id ({mapping.source_id})", original)
    if len(source_id) > MAX_SOURCE_ID:
        return Rejected(source, source_id[:MAX_SOURCE_ID], mapping.source_id, f"记录编号超过{MAX_SOURCE_ID}个字符",
                        f"the record id is longer than {MAX_SOURCE_ID} characters", original)
    updated = raw.get(mapping.watermark)
    moment = watermark_of(mapping, raw)
    if moment is None:
        return Rejected(source, source_id, mapping.watermark, f"更新时间（{mapping.watermark}）缺失或无法识别：{updated}",
                        f"update time ({mapping.watermark}) is missing or unreadable: {updated!r}", original)
    std = standard()
    fields: dict[str, Any] = {name: value for name, value in mapping.constants.items()}
    errors: list[FieldError] = []
    for path, fmap in mapping.fields.items():
        value = get_path(raw, path)
        if _empty(value):
            value = fmap.default
        if _empty(value):
            fields[fmap.to] = None
            continue
        try:
            fields[fmap.to] = _one(mapping, std, path, fmap, value)
        except FieldError as error:
            if _kept_as_sent(mapping, std, fmap.to):
                fields[fmap.to] = half_width(str(value)).strip().upper()
                continue
            errors.append(FieldError(f"{fmap.to}", f"{path}：{error.zh}", f"{path}: {error.en}"))
    for name in mapping.required_fields():
        if fields.get(name) is None and not any(e.field == name for e in errors):
            label = std.kinds[mapping.kind].fields[name].label_zh
            errors.append(FieldError(name, f"必填字段{label}（{name}）缺失", f"required field {name} is missing"))
    errors.extend(_plate_pairs(fields))
    if errors:
        return Rejected(
            source, source_id, errors[0].field, "；".join(e.zh for e in errors), "; ".join(e.en for e in errors), original
        )
    return SourceRecord(source=source, kind=mapping.kind, source_id=source_id, fields=fields,
                        source_updated_at=moment.astimezone(UTC), synced_at=synced_at)


# A national identifier that fails its check (a swapped or dropped digit) is kept as sent when the record does
# not depend on it: entity resolution links such records by their other fields, and the quality report counts
# the value as invalid. A required or key field that fails still sends the record to quarantine.
SOFT_TYPES = frozenset({"id_number", "uscc", "vin"})


def _kept_as_sent(mapping: Mapping, std: Standard, field: str) -> bool:
    spec = std.kinds[mapping.kind]
    return spec.fields[field].type in SOFT_TYPES and field not in mapping.required_fields() and field not in spec.key


def _plate_pairs(fields: dict[str, Any]) -> list[FieldError]:
    """A plate number must fit its plate type (鲁A12345 is not a trailer plate)."""
    errors = []
    for name, plate in fields.items():
        if not name.endswith("plate_number") or plate is None:
            continue
        plate_type = fields.get(name[: -len("plate_number")] + "plate_type")
        if plate_type is None:
            continue
        try:
            validate_plate(plate, plate_type, field=name)
        except FieldError as error:
            errors.append(error)
    return errors
