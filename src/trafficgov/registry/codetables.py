"""代码表 — the registry's national-standard code tables, loaded from dated YAML files and validated.

Each table is one file under `registry/data/` (`<table>.yaml`) that names its source, the day it was
compiled and its entries. The loader refuses a table with a duplicate code, a missing label or source,
a regular expression that does not compile, or date periods that overlap; the platform should refuse to
start on such a file rather than validate records against it. Periods are half-open: a row is in force
from `effective_from` up to, not including, `effective_to`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from trafficgov.errors import FieldError

DATA_DIR = Path(__file__).with_name("data")
# libyaml's safe loader when it is built in: ten times faster than the pure-Python one.
YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SERIAL_CHAR = "[A-HJ-NP-Z0-9]"  # plate serials never use I or O (they read as 1 and 0)
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")

VehicleFamily = Literal["truck", "passenger", "tractor", "trailer", "motorcycle", "special", "other"]
VehicleSize = Literal["heavy", "medium", "light", "mini", "large", "small", "none"]
_SIZES_BY_FAMILY: dict[str, set[str]] = {
    "truck": {"heavy", "medium", "light", "mini"},
    "tractor": {"heavy", "medium", "light"},
    "trailer": {"heavy", "medium", "light"},
    "passenger": {"large", "medium", "small", "mini"},
    "special": {"heavy", "medium", "light", "mini", "large", "small", "none"},
    "motorcycle": {"none"},
    "other": {"none"},
}


class CodeTableError(Exception):
    """代码表错误 — a code-table file that must not be used: the message names the file and the fault."""


def _check_period(start: date | None, end: date | None, what: str) -> None:
    if start is not None and end is not None and end <= start:
        raise ValueError(f"{what}: effective_to {end} is not after effective_from {start}")


def _in_force(start: date | None, end: date | None, as_of: date) -> bool:
    return (start is None or start <= as_of) and (end is None or as_of < end)


class CodeEntry(BaseModel):
    """代码项 — one code of a table with its Chinese label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: StrictStr = Field(min_length=1, pattern=r"^\S+$")
    label_zh: StrictStr = Field(min_length=1)
    note: str | None = None
    unconfirmed: bool = False
    effective_from: date | None = None
    effective_to: date | None = None

    @model_validator(mode="after")
    def _period_is_ordered(self) -> CodeEntry:
        _check_period(self.effective_from, self.effective_to, f"code {self.code}")
        return self

    def in_force(self, as_of: date) -> bool:
        """Whether the code may be newly used on `as_of` (old records keep codes that have lapsed)."""
        return _in_force(self.effective_from, self.effective_to, as_of)


class DatedPatterns(BaseModel):
    """A period during which a plate type's numbers take the given formats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    effective_from: date
    effective_to: date | None = None
    patterns: list[StrictStr] = Field(min_length=1)
    note: str | None = None
    unconfirmed: bool = False

    @model_validator(mode="after")
    def _period_is_ordered(self) -> DatedPatterns:
        _check_period(self.effective_from, self.effective_to, "dated_patterns")
        return self


class PlateType(CodeEntry):
    """号牌种类 — a plate type, its colour and the formats of its numbers."""

    color: Literal["yellow", "blue", "black", "white", "yellow_green", "gradient_green", "none", "unknown"]
    patterns: list[StrictStr] = Field(default_factory=list)
    dated_patterns: list[DatedPatterns] = Field(default_factory=list)

    _any: re.Pattern[str] | None = PrivateAttr(default=None)
    _undated: re.Pattern[str] | None = PrivateAttr(default=None)
    _dated: tuple[tuple[date, date | None, re.Pattern[str]], ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _has_patterns_and_no_overlap(self) -> PlateType:
        if not self.patterns and not self.dated_patterns:
            raise ValueError(f"plate type {self.code}: no patterns")
        periods = sorted(self.dated_patterns, key=lambda p: p.effective_from)
        for earlier, later in zip(periods, periods[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to > later.effective_from:
                raise ValueError(
                    f"plate type {self.code}: dated_patterns overlap "
                    f"({earlier.effective_from}..{earlier.effective_to} and {later.effective_from}..)"
                )
        return self

    def compile(self, placeholders: dict[str, str]) -> None:
        """Expand the placeholders and compile every pattern once (called by the loader)."""

        def one(source: str) -> str:
            expanded = source
            for name, value in placeholders.items():
                expanded = expanded.replace("{" + name + "}", value)
            left = _PLACEHOLDER.search(expanded)
            if left:
                raise ValueError(f"plate type {self.code}: unknown placeholder {left.group()} in {source!r}")
            try:
                re.compile(expanded)
            except re.error as error:
                raise ValueError(f"plate type {self.code}: bad regex {source!r}: {error}") from None
            return expanded

        undated = [one(p) for p in self.patterns]
        dated = [(period, [one(p) for p in period.patterns]) for period in self.dated_patterns]
        everything = undated + [p for _, group in dated for p in group]
        self._any = _union(everything)
        self._undated = _union(undated) if undated else None
        self._dated = tuple(
            (period.effective_from, period.effective_to, _union(group)) for period, group in dated
        )

    def matches(self, plate: str, as_of: date | None = None) -> bool:
        """Whether a normalised plate number has one of this type's formats (in force on `as_of`)."""
        if self._any is None:
            raise CodeTableError(f"plate type {self.code} was not compiled; load it with load_code_tables()")
        if as_of is None:
            return self._any.fullmatch(plate) is not None
        if self._undated is not None and self._undated.fullmatch(plate):
            return True
        return any(_in_force(start, end, as_of) and rx.fullmatch(plate) for start, end, rx in self._dated)


def _union(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


class VehicleType(CodeEntry):
    """车辆类型 — a GA 802 vehicle type with the family and size its name states."""

    family: VehicleFamily
    size: VehicleSize

    @model_validator(mode="after")
    def _size_fits_family(self) -> VehicleType:
        if self.size not in _SIZES_BY_FAMILY[self.family]:
            raise ValueError(
                f"vehicle type {self.code}: size {self.size!r} does not apply to family {self.family!r}"
            )
        return self


class LicenceClass(CodeEntry):
    """准驾车型 — a driving-licence class."""

    description: StrictStr = Field(min_length=1)


class DocumentType(CodeEntry):
    """证件类型 — an identity document and the shape of its number."""

    pattern: StrictStr = Field(min_length=1)

    _compiled: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ValueError(f"bad regex {pattern!r}: {error}") from None
        return pattern

    def model_post_init(self, context: Any, /) -> None:
        self._compiled = re.compile(self.pattern)

    @property
    def pattern_re(self) -> re.Pattern[str]:
        """The compiled `pattern`; a number must match it in full (`fullmatch`)."""
        assert self._compiled is not None
        return self._compiled

    def matches(self, number: str) -> bool:
        """Whether a normalised document number has this document's shape."""
        return self.pattern_re.fullmatch(number) is not None


class Division(CodeEntry):
    """行政区划 — an administrative division; abolished codes stay, since ID numbers keep them for life."""

    code: StrictStr = Field(pattern=r"^[0-9]{6}$")
    level: Literal["province", "city", "district", "county"]
    parent: StrictStr | None = None
    abolished: bool = False
    replaced_by: list[StrictStr] = Field(default_factory=list)


class Province(CodeEntry):
    """号牌省份简称 — a one-character province abbreviation and its division."""

    code: StrictStr = Field(min_length=1, max_length=1)
    division: StrictStr = Field(pattern=r"^[0-9]{6}$")


E = TypeVar("E", bound=CodeEntry)


class TableInfo(BaseModel):
    """What a table file says about itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: StrictStr
    label_zh: StrictStr = Field(min_length=1)
    source: StrictStr = Field(min_length=1)
    compiled_on: date


class TableFile(TableInfo, Generic[E]):
    entries: list[E] = Field(min_length=1)


TABLE_MODELS: dict[str, type[CodeEntry]] = {
    "plate_types": PlateType,
    "vehicle_types": VehicleType,
    "licence_classes": LicenceClass,
    "licence_statuses": CodeEntry,
    "use_natures": CodeEntry,
    "vehicle_statuses": CodeEntry,
    "company_kinds": CodeEntry,
    "employment_roles": CodeEntry,
    "document_types": DocumentType,
    "divisions": Division,
    "query_purposes": CodeEntry,
    "provinces": Province,
}


class CodeTables:
    """代码表集 — every code table, each a dict keyed by code; `provinces` is the list of abbreviations."""

    plate_types: dict[str, PlateType]
    vehicle_types: dict[str, VehicleType]
    licence_classes: dict[str, LicenceClass]
    licence_statuses: dict[str, CodeEntry]
    use_natures: dict[str, CodeEntry]
    vehicle_statuses: dict[str, CodeEntry]
    company_kinds: dict[str, CodeEntry]
    employment_roles: dict[str, CodeEntry]
    document_types: dict[str, DocumentType]
    divisions: dict[str, Division]
    query_purposes: dict[str, CodeEntry]
    provinces: list[str]

    def __init__(self, tables: dict[str, dict[str, Any]], info: dict[str, TableInfo]) -> None:
        self._tables = tables
        self.info = info
        for name, entries in tables.items():
            if name != "provinces":
                setattr(self, name, entries)
        self.province_entries: dict[str, Province] = tables["provinces"]
        self.provinces = list(self.province_entries)

    def entries(self, table: str) -> dict[str, CodeEntry]:
        """The entries of a table by its name; KeyError names the unknown table."""
        try:
            return self._tables[table]
        except KeyError:
            raise KeyError(
                f"unknown code table {table!r}; known: {', '.join(sorted(self._tables))}"
            ) from None

    def label(self, table: str, code: str) -> str:
        """The Chinese label of a code, or the code itself when the table does not know it."""
        entry = self.entries(table).get(code)
        return entry.label_zh if entry is not None else code

    def require(self, table: str, code: str, field: str) -> str:
        """Return `code` if the table knows it; otherwise raise FieldError naming the table and the code."""
        entries = self.entries(table)
        if isinstance(code, str) and code in entries:
            return code
        name_zh = self.info[table].label_zh
        raise FieldError(field, f"{name_zh}代码无效：{code}", f"unknown {table} code: {code!r}")


def _read_table(directory: Path, name: str, model: type[CodeEntry]) -> tuple[TableInfo, dict[str, Any]]:
    path = directory / f"{name}.yaml"
    if not path.is_file():
        raise CodeTableError(f"{path}: code table {name!r} is missing")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except yaml.YAMLError as error:
        raise CodeTableError(f"{path}: not valid YAML: {error}") from None
    try:
        parsed = TableFile[model].model_validate(raw)  # type: ignore[valid-type]
    except ValidationError as error:
        raise CodeTableError(f"{path}: {error}") from None
    if parsed.table != name:
        raise CodeTableError(f"{path}: says it is table {parsed.table!r}, expected {name!r}")
    entries: dict[str, Any] = {}
    for entry in parsed.entries:
        if entry.code in entries:
            raise CodeTableError(f"{path}: duplicate code {entry.code!r}")
        entries[entry.code] = entry
    info = TableInfo(
        table=name, label_zh=parsed.label_zh, source=parsed.source, compiled_on=parsed.compiled_on
    )
    return info, entries


def _check_references(tables: dict[str, dict[str, Any]], directory: Path) -> None:
    divisions: dict[str, Division] = tables["divisions"]
    for division in divisions.values():
        for ref in [division.parent, *division.replaced_by]:
            if ref is not None and ref not in divisions:
                raise CodeTableError(
                    f"{directory / 'divisions.yaml'}: {division.code} refers to unknown division {ref}"
                )
        if division.replaced_by and not division.abolished:
            raise CodeTableError(
                f"{directory / 'divisions.yaml'}: {division.code} has replaced_by but is not abolished"
            )
    for province in tables["provinces"].values():
        if province.division not in divisions:
            raise CodeTableError(
                f"{directory / 'provinces.yaml'}: {province.code} refers to unknown division {province.division}"
            )


def load_code_tables(directory: Path | None = None) -> CodeTables:
    """Load and validate every code table of `directory` (default: the package's data); CodeTableError if any is bad."""
    directory = DATA_DIR if directory is None else Path(directory)
    tables: dict[str, dict[str, Any]] = {}
    info: dict[str, TableInfo] = {}
    for name, model in TABLE_MODELS.items():
        info[name], tables[name] = _read_table(directory, name, model)
    _check_references(tables, directory)
    provinces = "".join(tables["provinces"])
    placeholders = {"province": f"[{provinces}]", "province_chars": provinces, "serial_char": SERIAL_CHAR}
    for plate_type in tables["plate_types"].values():
        try:
            plate_type.compile(placeholders)
        except ValueError as error:
            raise CodeTableError(f"{directory / 'plate_types.yaml'}: {error}") from None
    return CodeTables(tables, info)


@functools.cache
def code_tables() -> CodeTables:
    """The package's own code tables, loaded once."""
    return load_code_tables()
