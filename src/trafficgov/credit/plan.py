"""检查计划 — on-site inspection intervals from risk band, list and grade (红名单无事不扰, 高风险多查), and
the earned-recognition KPIs of a company applying for the red list, as pure functions over dated data
(data/inspection_plan.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from trafficgov.credit.grade import (
    GRADES,
    Based,
    GradeTableError,
    at_version,
    check_no_overlap,
    parse_versions,
)
from trafficgov.credit.lists import BANDS, LIST_NAMES
from trafficgov.errors import FieldError

DATA = Path(__file__).parent / "data"
KPI_CODES = ("periodic_first_pass_rate", "gps_online_rate", "training_completion_rate", "violations_per_vehicle")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(Based):
    interval_days: int | None = Field(ge=1)
    text_zh: StrictStr = Field(min_length=1)
    mode: Literal["on_site", "remote_only"] = "on_site"


class Kpi(Based):
    code: Literal["periodic_first_pass_rate", "gps_online_rate", "training_completion_rate", "violations_per_vehicle"]
    text_zh: StrictStr
    comparison: Literal["at_least", "at_most"]
    threshold: float = Field(ge=0)


class PlanVersion(_Strict):
    version_id: StrictStr
    effective_from: date
    effective_to: date | None = None
    by_band: dict[str, Interval]
    by_grade: dict[str, Interval]
    by_list: dict[str, Interval]
    red_overridden_by_bands: list[Literal["low", "medium", "high", "insufficient_data"]] = []
    no_data: Interval
    earned_recognition: list[Kpi]

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def _check(v: PlanVersion) -> None:
    where = v.version_id
    if set(v.by_band) != set(BANDS):
        raise GradeTableError(f"{where}: by_band must give every band {list(BANDS)}")
    if set(v.by_grade) != set(GRADES):
        raise GradeTableError(f"{where}: by_grade must give every grade {list(GRADES)}")
    if set(v.by_list) != set(LIST_NAMES):
        raise GradeTableError(f"{where}: by_list must give red and black")
    if v.by_list["red"].mode != "remote_only" or v.by_list["red"].interval_days is not None:
        raise GradeTableError(f"{where}: the red list is remote monitoring only (interval_days: null, mode: remote_only)")
    for name, row in [*v.by_band.items(), *v.by_grade.items(), ("black", v.by_list["black"]), ("no_data", v.no_data)]:
        if row.interval_days is None:
            raise GradeTableError(f"{where}: {name} needs an interval")
    if sorted(k.code for k in v.earned_recognition) != sorted(KPI_CODES):
        raise GradeTableError(f"{where}: earned_recognition must give each KPI {list(KPI_CODES)} once")


class PlanRules:
    def __init__(self, versions: list[PlanVersion]) -> None:
        for v in versions:
            _check(v)
        self.versions = check_no_overlap(versions, "inspection_plan")

    def at(self, as_of: date, version: str | None = None) -> PlanVersion:
        return at_version(self.versions, as_of, version, "检查计划规则")


def parse_plan(raw: Any) -> PlanRules:
    return PlanRules(parse_versions(raw, PlanVersion, "inspection_plan"))


@cache
def plan_rules() -> PlanRules:
    return parse_plan(yaml.safe_load((DATA / "inspection_plan.yaml").read_text(encoding="utf-8")))


@dataclass(frozen=True)
class IntervalDecision:
    interval_days: int | None  # None: remote monitoring only (无事不扰), no scheduled on-site visit
    mode: Literal["on_site", "remote_only"]
    text_zh: str
    basis: str
    configurable_default: bool
    table_version: str


def inspection_plan(band: str | None, list_name: str | None, grade: str | None, *, as_of: date,
                    version: str | None = None, rules: PlanRules | None = None) -> IntervalDecision:
    """The on-site inspection interval with its reason (the shortest of band and grade; lists override)."""
    v = (rules or plan_rules()).at(as_of, version)
    if band is not None and band not in BANDS:
        raise FieldError("band", "风险等级应为low、medium、high或insufficient_data", "unknown band")
    if grade is not None and grade not in GRADES:
        raise FieldError("grade", "信用等级应为AAA、AA、A或B", "unknown grade")
    if list_name not in (None, "none", *LIST_NAMES):
        raise FieldError("list", "名单应为red、black或none", "unknown list")
    rows = [r for r in (v.by_band.get(band or ""), v.by_grade.get(grade or "")) if r is not None]
    if list_name == "red" and band not in v.red_overridden_by_bands:
        rows = [v.by_list["red"]]
    elif list_name == "black":
        rows.append(v.by_list["black"])
    if not rows:
        rows = [v.no_data]
    chosen = min(rows, key=lambda r: r.interval_days if r.interval_days is not None else 10**9)
    if list_name == "red" and band in v.red_overridden_by_bands:
        text = f"红名单但风险等级为{band}：{chosen.text_zh}"
    else:
        text = chosen.text_zh
    return IntervalDecision(chosen.interval_days, chosen.mode, text, chosen.basis_text(), any(r.default for r in rows), v.version_id)


def inspection_interval_days(band: str | None, list_name: str | None, grade: str | None, *, as_of: date,
                             version: str | None = None, rules: PlanRules | None = None) -> int | None:
    """检查间隔天数 — None for the red list (无事不扰: remote monitoring only)."""
    return inspection_plan(band, list_name, grade, as_of=as_of, version=version, rules=rules).interval_days


@dataclass(frozen=True)
class KpiInputs:
    """A company's last 12 months, for its red-list application (earned recognition)."""

    vehicles: int
    periodic_inspections: int
    periodic_first_pass: int
    gps_expected_minutes: float  # vehicles x monitored days x 1440
    gps_offline_minutes: float
    training_hours_required: float
    training_hours_done: float
    violations: int


@dataclass(frozen=True)
class KpiResult:
    code: str
    text_zh: str
    value: float | None  # None: no data (counts as not met)
    threshold: float
    comparison: str
    met: bool
    basis: str
    default: bool


def earned_recognition_kpis(inputs: KpiInputs, as_of: date, version: str | None = None,
                            rules: PlanRules | None = None) -> list[KpiResult]:
    """守信认定指标 — each KPI with its value, threshold and whether it is met; no data means not met."""
    v = (rules or plan_rules()).at(as_of, version)
    for name in ("vehicles", "periodic_inspections", "periodic_first_pass", "gps_expected_minutes", "gps_offline_minutes",
                 "training_hours_required", "training_hours_done", "violations"):
        if getattr(inputs, name) < 0:
            raise FieldError(name, "数值不能为负", f"{name} must not be negative")
    if inputs.periodic_first_pass > inputs.periodic_inspections:
        raise FieldError("periodic_first_pass", "一次合格数不能大于检验数", "first passes exceed inspections")
    if inputs.gps_offline_minutes > inputs.gps_expected_minutes:
        raise FieldError("gps_offline_minutes", "离线时长不能大于应在线时长", "offline exceeds expected minutes")
    values: dict[str, float | None] = {
        "periodic_first_pass_rate": inputs.periodic_first_pass / inputs.periodic_inspections if inputs.periodic_inspections else None,
        "gps_online_rate": 1 - inputs.gps_offline_minutes / inputs.gps_expected_minutes if inputs.gps_expected_minutes else None,
        "training_completion_rate": min(1.0, inputs.training_hours_done / inputs.training_hours_required) if inputs.training_hours_required else None,
        "violations_per_vehicle": inputs.violations / inputs.vehicles if inputs.vehicles else None,
    }
    out = []
    for kpi in v.earned_recognition:
        value = values[kpi.code]
        met = value is not None and (value >= kpi.threshold if kpi.comparison == "at_least" else value <= kpi.threshold)
        out.append(KpiResult(kpi.code, kpi.text_zh, None if value is None else round(value, 4), kpi.threshold, kpi.comparison,
                             met, kpi.basis_text(), kpi.default))
    return out
