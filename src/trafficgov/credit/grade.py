"""信用等级 — credit grades AAA/AA/A/B of transport companies (质量信誉考核), driving schools (培训质量考核)
and operating drivers (驾驶员诚信考核), as pure functions over dated point tables (data/grades.yaml).

A grade is reproducible for its day: `grade_company(inputs, as_of)` reads the table version in force on
`as_of` (or the one named), counts the records of the assessment period, itemises every deduction,
applies the veto items (一票否决 -> B) and says which rows are the bureau's configurable defaults
(UNCONFIRMED against a primary text), so every page that shows a grade can say so.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from trafficgov.errors import FieldError
from trafficgov.rules.schema import LegalBasis

DATA = Path(__file__).parent / "data"
GRADES = ("AAA", "AA", "A", "B")
GRADE_RANK = {g: i for i, g in enumerate(GRADES)}  # 0 = best
SEVERITIES = ("property", "injury", "fatal")
LIABILITIES = ("full", "main", "equal", "minor", "none")
TIERS = (20, 10, 5, 3, 1)
SubjectKind = Literal["company", "school", "driver"]

# Measures each subject kind's deduction rows may name (computed in `_measures_*`).
MEASURES: dict[str, frozenset[str]] = {
    "company": frozenset({
        "accident_fatal_responsible", "accident_fatal_minor", "accident_injury_responsible", "accident_injury_minor",
        "accident_property_responsible", "violation_serious", "violation_general", "violation_minor",
        "inspection_out_of_service", "training_shortfall_months", "self_inspection_shortfall_months",
        "monitoring_shortfall_months", "safety_records_missing_months", "gps_offline_days",
    }),
    "school": frozenset({
        "graduate_violation_serious", "graduate_violation_general", "graduate_violation_minor",
        "graduate_accident_fatal_responsible", "graduate_accident_injury_responsible", "exam_pass_shortfall_pct",
        "own_violations", "own_out_of_service",
    }),
    "driver": frozenset({"accident_injury_responsible", "accident_property_responsible"}),
}
THRESHOLDS: dict[str, frozenset[str]] = {
    "company": frozenset({
        "training_hours_per_driver_month", "self_inspections_per_month", "vehicles_per_monitoring_staff",
        "gps_offline_minutes_per_day",
    }),
    "school": frozenset({"exam_first_pass_rate"}),
    "driver": frozenset(),
}
TRIGGERS: dict[str, frozenset[str]] = {
    "company": frozenset({"responsible_fatal_accident", "behaviour"}),
    "school": frozenset({"misconduct", "responsible_fatal_accident", "behaviour"}),
    "driver": frozenset({"responsible_fatal_accident", "behaviour", "order163_full_score"}),
}


class GradeTableError(ValueError):
    """评分表错误 — a grade/list/plan data file that must not be loaded; names the file and the row."""


# ---------------------------------------------------------------- data schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Based(_Strict):
    """A row resting on a legal basis, or marked as the bureau's configurable default (UNCONFIRMED)."""

    legal_basis: LegalBasis | None = None
    default: bool = False
    note: StrictStr | None = None

    @model_validator(mode="after")
    def _basis(self) -> Based:
        if self.legal_basis is None and not self.default:
            raise ValueError("missing legal_basis (or default: true for the bureau's configurable default)")
        return self

    def basis_text(self) -> str:
        text = self.legal_basis.text() if self.legal_basis else ""
        if self.default:
            text = f"{text}（本局可配置默认值，未经原文确认）" if text else "本局可配置默认值（未经原文确认）"
        return text


class Value(Based):
    value: float


class BehaviourTier(Based):
    behaviour: StrictStr
    points: Literal[20, 10, 5, 3, 1]


class Order163Tier(Based):
    order163: Literal[12, 9, 6, 3, 1, 0]
    points: Literal[20, 10, 5, 3, 1, 0]


class GradeBand(Based):
    grade: Literal["AAA", "AA", "A", "B"]
    from_: float | None = Field(default=None, alias="from")
    below: float | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def contains(self, value: float) -> bool:
        return (self.from_ is None or value >= self.from_) and (self.below is None or value < self.below)


class DeductionRow(Based):
    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text_zh: StrictStr = Field(min_length=1)
    measure: StrictStr
    per: Literal["vehicle", "graduates_100"] | None = None
    points: float = Field(gt=0)
    max_points: float | None = Field(default=None, gt=0)
    improve_zh: StrictStr = Field(min_length=1)


class VetoRow(Based):
    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text_zh: StrictStr = Field(min_length=1)
    trigger: Literal["responsible_fatal_accident", "behaviour", "order163_full_score", "misconduct"]
    behaviours: list[StrictStr] = []
    misconduct: list[StrictStr] = []
    threshold: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _args(self) -> VetoRow:
        if self.trigger == "behaviour" and not self.behaviours:
            raise ValueError(f"{self.code}: a behaviour veto names its behaviours")
        if self.trigger == "misconduct" and not self.misconduct:
            raise ValueError(f"{self.code}: a misconduct veto names its misconduct codes")
        if self.trigger == "order163_full_score" and self.threshold is None:
            raise ValueError(f"{self.code}: a full-score veto needs its threshold")
        return self


class KindTable(_Strict):
    label_zh: StrictStr
    period_months: int = Field(ge=1, le=36)
    base_score: Value | None = None
    bands: list[GradeBand]
    thresholds: dict[str, Value] = {}
    deductions: list[DeductionRow] = []
    vetoes: list[VetoRow] = []


class GradeVersion(_Strict):
    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    responsible_liabilities: list[Literal["full", "main", "equal", "minor"]]
    violation_groups: dict[Literal["serious", "general", "minor"], list[Literal[20, 10, 5, 3, 1]]]
    behaviour_tiers: list[BehaviourTier]
    by_order163_points: list[Order163Tier]
    company: KindTable
    school: KindTable
    driver: KindTable

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def table(self, kind: str) -> KindTable:
        return {"company": self.company, "school": self.school, "driver": self.driver}[kind]

    @property
    def tier_of_behaviour(self) -> dict[str, BehaviourTier]:
        return {row.behaviour: row for row in self.behaviour_tiers}

    @property
    def tier_of_order163(self) -> dict[int, Order163Tier]:
        return {row.order163: row for row in self.by_order163_points}

    def group_of_tier(self, tier: int) -> str | None:
        for name, tiers in self.violation_groups.items():
            if tier in tiers:
                return name
        return None


def _check_bands(where: str, kind: str, bands: list[GradeBand]) -> None:
    """Four grades, once each, contiguous: no gap and no overlap, open at the top (and at the bottom for scores)."""
    if sorted(b.grade for b in bands) != sorted(GRADES):
        raise GradeTableError(f"{where}: {kind} bands must name AAA, AA, A and B once each")
    ordered = sorted(bands, key=lambda b: float("-inf") if b.from_ is None else b.from_)
    for band in ordered:
        if band.from_ is not None and band.below is not None and band.below <= band.from_:
            raise GradeTableError(f"{where}: {kind} band {band.grade} is empty")
    for low, high in zip(ordered, ordered[1:], strict=False):
        if low.below is None or high.from_ is None or low.below != high.from_:
            raise GradeTableError(f"{where}: {kind} bands {low.grade} and {high.grade} leave a gap or overlap")
    if ordered[-1].below is not None:
        raise GradeTableError(f"{where}: {kind} bands leave values from {ordered[-1].below} without a grade")
    first = ordered[0].from_
    if kind == "driver":
        if first != 0:
            raise GradeTableError(f"{where}: driver bands must start at 0 points")
        monotone = [b.grade for b in ordered] == list(GRADES)  # more points, worse grade
    else:
        if first is not None:
            raise GradeTableError(f"{where}: {kind} bands leave scores below {first} without a grade")
        monotone = [b.grade for b in ordered] == list(reversed(GRADES))  # higher score, better grade
    if not monotone:
        raise GradeTableError(f"{where}: {kind} bands are not in grade order")


def _check_version(v: GradeVersion, behaviour_codes: frozenset[str]) -> None:
    where = v.version_id
    for row in v.behaviour_tiers:
        if row.behaviour not in behaviour_codes:
            raise GradeTableError(f"{where}: unknown behaviour {row.behaviour!r} (not in the enforcement catalogue)")
    if len(v.tier_of_behaviour) != len(v.behaviour_tiers):
        raise GradeTableError(f"{where}: a behaviour is given two tiers")
    if set(v.tier_of_order163) != {12, 9, 6, 3, 1, 0}:
        raise GradeTableError(f"{where}: by_order163_points must map 12, 9, 6, 3, 1 and 0 once each")
    grouped = [t for tiers in v.violation_groups.values() for t in tiers]
    if sorted(grouped) != sorted(TIERS):
        raise GradeTableError(f"{where}: violation_groups must put each tier 20/10/5/3/1 in exactly one group")
    for kind in ("company", "school", "driver"):
        table = v.table(kind)
        _check_bands(where, kind, table.bands)
        if (table.base_score is None) != (kind == "driver"):
            raise GradeTableError(f"{where}: {kind} needs a base_score" if kind != "driver" else f"{where}: driver grades count points, no base_score")
        for name in table.thresholds:
            if name not in THRESHOLDS[kind]:
                raise GradeTableError(f"{where}: {kind} has an unknown threshold {name!r}")
        missing = THRESHOLDS[kind] - set(table.thresholds)
        if missing:
            raise GradeTableError(f"{where}: {kind} lacks thresholds {sorted(missing)}")
        if any(value.value < 0 for value in table.thresholds.values()) or table.thresholds.get(
            "vehicles_per_monitoring_staff", Value(value=1, default=True)
        ).value < 1:
            raise GradeTableError(f"{where}: {kind} thresholds must not be negative (vehicles per staff at least 1)")
        codes = [d.code for d in table.deductions] + [x.code for x in table.vetoes]
        if len(set(codes)) != len(codes):
            raise GradeTableError(f"{where}: {kind} repeats a code")
        for row in table.deductions:
            if row.measure not in MEASURES[kind]:
                raise GradeTableError(f"{where}: {kind} deduction {row.code} has an unknown measure {row.measure!r}")
        for veto in table.vetoes:
            if veto.trigger not in TRIGGERS[kind]:
                raise GradeTableError(f"{where}: {kind} veto {veto.code}: trigger {veto.trigger} does not apply")
            for code in veto.behaviours:
                if code not in behaviour_codes:
                    raise GradeTableError(f"{where}: {kind} veto {veto.code}: unknown behaviour {code!r}")


def parse_versions(raw: Any, model: type[BaseModel], what: str, error: type[ValueError] = GradeTableError) -> list[Any]:
    """The `versions` of a parsed dated-data document, each validated by `model`; `error` names what is wrong."""
    if not isinstance(raw, dict) or not isinstance(raw.get("versions"), list) or not raw["versions"]:
        raise error(f"{what}: a mapping with a non-empty list of versions")
    versions = []
    for i, item in enumerate(raw["versions"]):
        try:
            versions.append(model.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise error(f"{what}: versions[{i}]: {err['msg']} at {err['loc']}") from exc
    return versions


def check_no_overlap(versions: Sequence[Any], what: str, error: type[ValueError] = GradeTableError) -> list[Any]:
    """Sort dated versions; refuse a version that ends before it starts, and two in force on one day."""
    ordered = sorted(versions, key=lambda v: v.effective_from)
    ids = [v.version_id for v in ordered]
    if len(set(ids)) != len(ids):
        raise error(f"{what}: a version_id is used twice")
    for v in ordered:
        if v.effective_to is not None and v.effective_to < v.effective_from:
            raise error(f"{what}: {v.version_id} ends before it starts")
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.effective_to is None or before.effective_to >= after.effective_from:
            raise error(f"{what}: versions overlap: {before.version_id} and {after.version_id}")
    return ordered


def at_version(versions: Sequence[Any], as_of: date, version: str | None, what: str) -> Any:
    """The version named, or the one in force on `as_of`; FieldError when there is none."""
    if version is not None:
        for v in versions:
            if v.version_id == version:
                return v
        raise FieldError("version", f"未知的{what}版本：{version}", f"unknown {what} version {version!r}")
    for v in versions:
        if v.in_force(as_of):
            return v
    raise FieldError("as_of", f"{as_of.isoformat()}没有生效的{what}", f"no {what} in force on {as_of.isoformat()}")


@cache
def catalogue_codes() -> frozenset[str]:
    """Every behaviour code the enforcement catalogue has ever held (rules/data)."""
    from trafficgov.rules.loader import default_rulebook

    return frozenset(item.row.code for item in default_rulebook().rows("behaviours"))


class GradeTables:
    """信用等级评分表 — every dated version; `at(as_of)` answers which is in force."""

    def __init__(self, versions: list[GradeVersion], behaviour_codes: frozenset[str]) -> None:
        for v in versions:
            _check_version(v, behaviour_codes)
        self.versions = check_no_overlap(versions, "grades")
        self.behaviour_codes = behaviour_codes

    def at(self, as_of: date, version: str | None = None) -> GradeVersion:
        return at_version(self.versions, as_of, version, "信用等级评分表")


def parse_grades(raw: Any, behaviour_codes: Iterable[str] | None = None) -> GradeTables:
    """Validate a parsed grades document; raise GradeTableError naming what is wrong."""
    versions = parse_versions(raw, GradeVersion, "grades")
    codes = frozenset(behaviour_codes) if behaviour_codes is not None else catalogue_codes()
    return GradeTables(versions, codes)


@cache
def grade_tables() -> GradeTables:
    """The shipped tables, validated on first use."""
    return parse_grades(yaml.safe_load((DATA / "grades.yaml").read_text(encoding="utf-8")))


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Accident:
    """事故 — one crash counted against the subject (one party's share)."""

    on: date
    severity: Literal["property", "injury", "fatal"]
    liability: Literal["full", "main", "equal", "minor", "none"]
    deaths: int = 0


@dataclass(frozen=True)
class Offence:
    """违法 — one decided violation: its behaviour code (enforcement catalogue) and/or its Order 163 points."""

    on: date
    behavior: str | None = None
    points: int | None = None


@dataclass(frozen=True)
class Inspection:
    on: date
    out_of_service: bool
    kind: Literal["roadside", "periodic", "company_audit"] = "roadside"


@dataclass(frozen=True)
class SafetyMonth:
    """安全管理记录 — one month of a company's safety_records row."""

    month: str  # YYYY-MM
    training_hours: float
    self_inspections: int
    monitoring_staff: int


@dataclass(frozen=True)
class GpsDay:
    """一车一日的卫星定位离线时长."""

    on: date
    vehicle: str
    offline_minutes: float


@dataclass(frozen=True)
class CompanyGradeInputs:
    """Records of a transport company (its vehicles' violations, inspections and crashes; its safety records)."""

    subject_id: str
    vehicles: int
    drivers: int
    accidents: Sequence[Accident] = ()
    violations: Sequence[Offence] = ()
    inspections: Sequence[Inspection] = ()
    safety_months: Sequence[SafetyMonth] = ()
    gps_days: Sequence[GpsDay] = ()
    period_start: date | None = None  # None: the 12 months (period_months) up to as_of


@dataclass(frozen=True)
class SchoolGradeInputs:
    """Records of a driving school: its graduates' first two years (the caller selects the offences and
    crashes of graduates within two years of their first licence), its own vehicles, its exam pass rate."""

    subject_id: str
    graduates: int
    graduate_violations: Sequence[Offence] = ()
    graduate_accidents: Sequence[Accident] = ()
    exam_first_pass_rate: float | None = None
    own_violations: Sequence[Offence] = ()
    own_inspections: Sequence[Inspection] = ()
    misconduct: Sequence[tuple[date, str]] = ()  # (day, code) e.g. (…, "exam_fraud")
    period_start: date | None = None


@dataclass(frozen=True)
class DriverGradeInputs:
    """Records of an operating driver (从业资格证 holder); the cycle runs from the certificate's first issue."""

    subject_id: str
    certificate_first_issued: date
    offences: Sequence[Offence] = ()
    accidents: Sequence[Accident] = ()
    order163_cycle_points: int = 0  # highest Order 163 points in a licence cycle overlapping the credit cycle


# ---------------------------------------------------------------- result


@dataclass(frozen=True)
class VetoHit:
    code: str
    text_zh: str
    basis: str
    default: bool


@dataclass(frozen=True)
class DeductionItem:
    code: str
    text_zh: str
    points: float
    count: int
    value: float
    basis: str
    default: bool


@dataclass(frozen=True)
class GradeResult:
    subject_kind: str
    subject_id: str
    grade: str
    score: float  # company/school: base minus deductions; driver: points in the cycle
    score_kind: Literal["score", "points"]
    period_start: date
    period_end: date
    veto_items: tuple[VetoHit, ...]
    deductions: tuple[DeductionItem, ...]
    table_version: str
    configurable_default: bool
    improve_zh: str
    grade_basis: str
    notes_zh: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["period_start"] = self.period_start.isoformat()
        out["period_end"] = self.period_end.isoformat()
        return out


# ---------------------------------------------------------------- helpers


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day: 02-29 -> 02-28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def driver_cycle(certificate_first_issued: date, as_of: date, months: int = 12) -> tuple[date, date]:
    """诚信考核周期 — the cycle containing `as_of`, counted from the certificate's first issue (inclusive ends)."""
    if as_of < certificate_first_issued:
        raise FieldError("certificate_first_issued", "从业资格证初次领取日期晚于评定日", "certificate issued after as_of")
    n = ((as_of.year - certificate_first_issued.year) * 12 + as_of.month - certificate_first_issued.month) // months
    start = add_months(certificate_first_issued, n * months)
    if start > as_of:
        n -= 1
        start = add_months(certificate_first_issued, n * months)
    return start, add_months(certificate_first_issued, (n + 1) * months) - timedelta(days=1)


def _period(start: date | None, as_of: date, months: int) -> tuple[date, date]:
    if start is None:
        return add_months(as_of, -months) + timedelta(days=1), as_of
    if start > as_of:
        raise FieldError("period_start", "考核期开始日期晚于评定日", "period_start after as_of")
    return start, as_of


def _in(records: Sequence[Any], start: date, end: date, name: str) -> list[Any]:
    """Records of the period; a record dated after `end` (as_of) is refused: it cannot be known yet."""
    out = []
    for i, rec in enumerate(records):
        if rec.on > end:
            raise FieldError(f"{name}[{i}].on", "记录日期晚于评定日", f"{name}[{i}] dated after as_of")
        if rec.on >= start:
            out.append(rec)
    return out


def _check_accidents(accidents: Sequence[Accident], name: str) -> None:
    for i, acc in enumerate(accidents):
        if acc.severity not in SEVERITIES:
            raise FieldError(f"{name}[{i}].severity", "事故等级应为property、injury或fatal", "unknown severity")
        if acc.liability not in LIABILITIES:
            raise FieldError(f"{name}[{i}].liability", "责任应为full、main、equal、minor或none", "unknown liability")


def offence_tier(version: GradeVersion, offence: Offence, name: str, codes: frozenset[str]) -> tuple[int, Based]:
    """The credit points (20/10/5/3/1, or 0) of one offence and the row that gave them."""
    if offence.behavior is not None:
        if offence.behavior not in codes:
            raise FieldError(f"{name}.behavior", f"未知的违法行为代码：{offence.behavior}", f"unknown behaviour {offence.behavior!r}")
        row = version.tier_of_behaviour.get(offence.behavior)
        if row is not None:
            return row.points, row
    if offence.points is None:
        raise FieldError(f"{name}.points", "该违法行为的诚信分取决于所记分值，请提供记分", "points needed for this behaviour")
    by_points = version.tier_of_order163.get(offence.points)
    if by_points is None:
        raise FieldError(f"{name}.points", "记分应为12、9、6、3、1或0", f"Order 163 points {offence.points} unknown")
    return by_points.points, by_points


def _violation_groups(version: GradeVersion, offences: Sequence[Offence], name: str, codes: frozenset[str]) -> dict[str, int]:
    out = {"serious": 0, "general": 0, "minor": 0}
    for i, off in enumerate(offences):
        tier, _row = offence_tier(version, off, f"{name}[{i}]", codes)
        group = version.group_of_tier(tier)
        if group:
            out[group] += 1
    return out


def _responsible(version: GradeVersion, acc: Accident) -> bool:
    return acc.liability in version.responsible_liabilities


def _accident_counts(version: GradeVersion, accidents: Sequence[Accident]) -> dict[str, int]:
    out: dict[str, int] = {}
    for acc in accidents:
        if acc.liability == "none":
            continue
        share = "responsible" if _responsible(version, acc) else "minor"
        key = f"accident_{acc.severity}_{share}"
        out[key] = out.get(key, 0) + 1
    return out


def _whole_months(start: date, end: date) -> list[str]:
    """YYYY-MM of every calendar month lying wholly within [start, end]."""
    out = []
    day = date(start.year, start.month, 1)
    if day < start:
        day = add_months(day, 1)
    while add_months(day, 1) - timedelta(days=1) <= end:
        out.append(f"{day.year:04d}-{day.month:02d}")
        day = add_months(day, 1)
    return out


# ---------------------------------------------------------------- measures


def _company_measures(v: GradeVersion, t: KindTable, inp: CompanyGradeInputs, start: date, end: date, codes: frozenset[str]) -> dict[str, int]:
    if inp.vehicles <= 0:
        raise FieldError("vehicles", "企业车辆数须大于0（无车辆不评定等级）", "a company needs vehicles to be graded")
    if inp.drivers < 0:
        raise FieldError("drivers", "驾驶员人数不能为负", "drivers must not be negative")
    accidents = _in(inp.accidents, start, end, "accidents")
    _check_accidents(accidents, "accidents")
    m = _accident_counts(v, accidents)
    groups = _violation_groups(v, _in(inp.violations, start, end, "violations"), "violations", codes)
    m.update({f"violation_{k}": n for k, n in groups.items()})
    m["inspection_out_of_service"] = sum(1 for i in _in(inp.inspections, start, end, "inspections") if i.out_of_service)
    months = _whole_months(start, end)  # a month counts once it lies wholly inside the period
    records = {r.month: r for r in inp.safety_months}
    hours = t.thresholds["training_hours_per_driver_month"].value
    checks = t.thresholds["self_inspections_per_month"].value
    ratio = t.thresholds["vehicles_per_monitoring_staff"].value
    need_staff = -(-inp.vehicles // int(ratio))
    m["safety_records_missing_months"] = sum(1 for mo in months if mo not in records)
    m["training_shortfall_months"] = sum(1 for mo in months if mo in records and records[mo].training_hours < hours * inp.drivers)
    m["self_inspection_shortfall_months"] = sum(1 for mo in months if mo in records and records[mo].self_inspections < checks)
    m["monitoring_shortfall_months"] = sum(1 for mo in months if mo in records and records[mo].monitoring_staff < need_staff)
    limit = t.thresholds["gps_offline_minutes_per_day"].value
    m["gps_offline_days"] = sum(1 for g in _in(inp.gps_days, start, end, "gps_days") if g.offline_minutes > limit)
    return m


def _school_measures(v: GradeVersion, t: KindTable, inp: SchoolGradeInputs, start: date, end: date, codes: frozenset[str]) -> dict[str, int]:
    if inp.graduates < 0:
        raise FieldError("graduates", "学员人数不能为负", "graduates must not be negative")
    accidents = _in(inp.graduate_accidents, start, end, "graduate_accidents")
    _check_accidents(accidents, "graduate_accidents")
    counts = _accident_counts(v, accidents)
    groups = _violation_groups(v, _in(inp.graduate_violations, start, end, "graduate_violations"), "graduate_violations", codes)
    m = {f"graduate_violation_{k}": n for k, n in groups.items()}
    m["graduate_accident_fatal_responsible"] = counts.get("accident_fatal_responsible", 0)
    m["graduate_accident_injury_responsible"] = counts.get("accident_injury_responsible", 0)
    if inp.exam_first_pass_rate is not None:
        if not 0 <= inp.exam_first_pass_rate <= 1:
            raise FieldError("exam_first_pass_rate", "考试合格率应在0到1之间", "rate must be within 0..1")
        target = t.thresholds["exam_first_pass_rate"].value
        m["exam_pass_shortfall_pct"] = max(0, round((target - inp.exam_first_pass_rate) * 100))
    own = _in(inp.own_violations, start, end, "own_violations")
    for i, off in enumerate(own):
        offence_tier(v, off, f"own_violations[{i}]", codes)
    m["own_violations"] = len(own)
    m["own_out_of_service"] = sum(1 for i in _in(inp.own_inspections, start, end, "own_inspections") if i.out_of_service)
    return m


def _deduct(t: KindTable, measures: Mapping[str, int], exposure: Mapping[str, float]) -> list[tuple[DeductionRow, DeductionItem]]:
    out = []
    for row in t.deductions:
        count = measures.get(row.measure, 0)
        if not count:
            continue
        if row.per is not None:
            denominator = exposure.get(row.per, 0)
            if denominator <= 0:
                continue  # no exposure for a rate: the row cannot apply (reported in notes)
            value = count / denominator
        else:
            value = float(count)
        points = row.points * value
        if row.max_points is not None:
            points = min(points, row.max_points)
        points = round(points, 1)
        out.append((row, DeductionItem(row.code, row.text_zh, points, count, round(value, 4), row.basis_text(), row.default)))
    return out


def _band(t: KindTable, value: float) -> GradeBand:
    for band in t.bands:
        if band.contains(value):
            return band
    raise AssertionError("bands are checked to cover every value")  # pragma: no cover


def _vetoes(v: GradeVersion, t: KindTable, accidents: Sequence[Accident], offences: Sequence[Offence],
            misconduct: Sequence[str] = (), order163_points: int = 0) -> list[VetoHit]:
    hits = []
    behaviours = {o.behavior for o in offences if o.behavior}
    for veto in t.vetoes:
        hit = (
            (veto.trigger == "responsible_fatal_accident" and any(a.severity == "fatal" and _responsible(v, a) for a in accidents))
            or (veto.trigger == "behaviour" and bool(behaviours & set(veto.behaviours)))
            or (veto.trigger == "misconduct" and bool(set(misconduct) & set(veto.misconduct)))
            or (veto.trigger == "order163_full_score" and order163_points >= (veto.threshold or 12))
        )
        if hit:
            hits.append(VetoHit(veto.code, veto.text_zh, veto.basis_text(), veto.default))
    return hits


def _finish(kind: str, subject_id: str, v: GradeVersion, t: KindTable, start: date, end: date,
            items: list[tuple[Based, DeductionItem]], vetoes: list[VetoHit], improve: Mapping[str, str],
            notes: list[str]) -> GradeResult:
    total = round(sum(item.points for _row, item in items), 1)
    score = total if kind == "driver" else round(t.base_score.value - total, 1)  # type: ignore[union-attr]
    band = _band(t, score)
    grade = "B" if vetoes else band.grade
    used_default = (
        any(row.default for row, _ in items)
        or any(h.default for h in vetoes)
        or band.default
        or (t.base_score is not None and t.base_score.default)
    )
    veto_rows = [x for x in t.vetoes if x.code in {h.code for h in vetoes}]
    basis_rows: list[Based] = veto_rows if vetoes else [band]
    grade_basis = "；".join(dict.fromkeys(r.basis_text() for r in basis_rows))
    improve_zh = _improve(kind, t, score, grade, items, vetoes, improve, end)
    return GradeResult(
        kind, subject_id, grade, score, "points" if kind == "driver" else "score", start, end,
        tuple(vetoes), tuple(item for _row, item in items), v.version_id, used_default, improve_zh, grade_basis, tuple(notes),
    )


def _improve(kind: str, t: KindTable, score: float, grade: str, items: list[tuple[Based, DeductionItem]],
             vetoes: list[VetoHit], improve: Mapping[str, str], end: date) -> str:
    """改进建议 — the single change that would most improve the grade, in Chinese."""
    if vetoes:
        names = "、".join(h.text_zh for h in vetoes)
        tail = "；B级驾驶员完成继续教育后方可重新评定" if kind == "driver" else "；整改到位并经核查后，下一考核期重新评定"
        return f"存在一票否决项（{names}），本考核期等级为B{tail}"
    if not items:
        return "无扣分项，保持现有安全管理水平" if kind != "driver" else "考核周期内无记分，保持安全守法驾驶"
    row_item = max(items, key=lambda ri: ri[1].points)
    item = row_item[1]
    better = score - item.points if kind == "driver" else score + item.points
    new = _band(t, better).grade
    if kind == "driver":
        if grade == "B":
            return f"本周期累计{score:g}分，等级为B；须参加继续教育（学时见黑名单修复规则），周期届满（{end.isoformat()}之后）重新评定"
        return f"主要扣分：{item.text_zh}（{item.points:g}分）；周期内不再违法可保持{grade}级，周期届满（{end.isoformat()}之后）清零"
    text = f"{improve.get(item.code, item.text_zh)}，可减少扣分{item.points:g}分"
    if GRADE_RANK[new] < GRADE_RANK[grade]:
        text += f"，等级可由{grade}升至{new}"
    return text


# ---------------------------------------------------------------- grading


def grade_company(inputs: CompanyGradeInputs, as_of: date, version: str | None = None, tables: GradeTables | None = None) -> GradeResult:
    """质量信誉考核 — a transport company's grade for the 12 months up to `as_of` (or from period_start)."""
    book = tables or grade_tables()
    v = book.at(as_of, version)
    t = v.company
    start, end = _period(inputs.period_start, as_of, t.period_months)
    measures = _company_measures(v, t, inputs, start, end, book.behaviour_codes)
    items = _deduct(t, measures, {"vehicle": inputs.vehicles})
    accidents = _in(inputs.accidents, start, end, "accidents")
    vetoes = _vetoes(v, t, accidents, _in(inputs.violations, start, end, "violations"))
    return _finish("company", inputs.subject_id, v, t, start, end, items, vetoes, {r.code: r.improve_zh for r in t.deductions}, [])  # type: ignore[arg-type]


def grade_school(inputs: SchoolGradeInputs, as_of: date, version: str | None = None, tables: GradeTables | None = None) -> GradeResult:
    """培训质量考核 — a driving school's grade from its graduates' first two years and its own records."""
    book = tables or grade_tables()
    v = book.at(as_of, version)
    t = v.school
    start, end = _period(inputs.period_start, as_of, t.period_months)
    measures = _school_measures(v, t, inputs, start, end, book.behaviour_codes)
    items = _deduct(t, measures, {"graduates_100": inputs.graduates / 100})
    notes = []
    if inputs.graduates == 0:
        notes.append("考核期内无取得驾驶证的学员，学员违法率、事故率项目不评")
    misconduct = [code for day, code in inputs.misconduct if start <= day <= end]
    if any(day > end for day, _code in inputs.misconduct):
        raise FieldError("misconduct", "记录日期晚于评定日", "misconduct dated after as_of")
    # Graduates' crashes are deductions (per 100 graduates), not a veto of the school.
    vetoes = _vetoes(v, t, [], _in(inputs.own_violations, start, end, "own_violations"), misconduct)
    return _finish("school", inputs.subject_id, v, t, start, end, items, vetoes, {r.code: r.improve_zh for r in t.deductions}, notes)  # type: ignore[arg-type]


def grade_driver(inputs: DriverGradeInputs, as_of: date, version: str | None = None, tables: GradeTables | None = None) -> GradeResult:
    """驾驶员诚信考核 — an operating driver's grade in the cycle (from the certificate's first issue) containing `as_of`."""
    book = tables or grade_tables()
    v = book.at(as_of, version)
    t = v.driver
    start, end_cycle = driver_cycle(inputs.certificate_first_issued, as_of, t.period_months)
    end = as_of
    if inputs.order163_cycle_points < 0:
        raise FieldError("order163_cycle_points", "记分不能为负", "points must not be negative")
    offences = _in(inputs.offences, start, end, "offences")
    accidents = _in(inputs.accidents, start, end, "accidents")
    _check_accidents(accidents, "accidents")
    items: list[tuple[Based, DeductionItem]] = []
    by_row: dict[str, tuple[Based, str, int, int]] = {}
    for i, off in enumerate(offences):
        tier, row = offence_tier(v, off, f"offences[{i}]", book.behaviour_codes)
        if isinstance(row, BehaviourTier):
            code, text = f"offence.{row.behaviour}", _behaviour_label(row.behaviour)
        else:
            code, text = f"offence.order163_{off.points}", f"其他记{off.points}分的违法行为"
        prev = by_row.get(code)
        by_row[code] = (row, text, tier, (prev[3] if prev else 0) + 1)
    for code, (row, text, tier, count) in by_row.items():
        if tier:
            items.append((row, DeductionItem(code, text, float(tier * count), count, float(count), row.basis_text(), row.default)))
    measures = _accident_counts(v, accidents)
    items += _deduct(t, measures, {})
    vetoes = _vetoes(v, t, accidents, offences, order163_points=inputs.order163_cycle_points)
    return _finish("driver", inputs.subject_id, v, t, start, end_cycle, items, vetoes, {r.code: r.improve_zh for r in t.deductions}, [])


@cache
def _labels() -> dict[str, str]:
    from trafficgov.rules.loader import default_rulebook

    return {item.row.code: item.row.label_zh for item in default_rulebook().rows("behaviours")}


def _behaviour_label(code: str) -> str:
    return _labels().get(code, code)
