"""规则数据结构 — pydantic schemas of the dated rule rows (behaviours, statutory ranges, points,
discretion benchmarks, leniency lists).

Every row carries `rule_id`, `effective_from`, `effective_to` (None = open), `legal_basis` and
`label_zh`. Tier bands record, per boundary, whether the number itself belongs to the band: the
Chinese text decides (以上 includes the number; 超过 / 不足 / 未达到 / 少于 exclude it).
"""

from __future__ import annotations

import functools
from datetime import date
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

# Units a band may be measured in; each names the basis of its percentage.
UNITS: dict[str, str] = {
    "percent_over_speed_limit": "超过规定时速的百分比（以限速为基数）",
    "percent_over_rated_passengers": "超过核定人数的百分比（以核定人数为基数）",
    "percent_over_max_total_mass": "超过最大允许总质量的百分比（以最大允许总质量为基数，记分办法）",
    "percent_over_rated_load": "超过核定载质量的百分比（以核定载质量为基数，道路交通安全法第九十二条）",
}

# Vehicle groups a rule may name; the engine derives them from the case's vehicle.
VEHICLE_GROUPS: dict[str, str] = {
    "key_vehicle": "记分办法所称校车、中型以上载客载货汽车、危险物品运输车辆（重点车辆）",
    "bus_school_highway_tourist": "校车、公路客运汽车、旅游客运汽车",
    "passenger_7plus": "上述以外的7座以上载客汽车",
    "passenger_other": "上述以外的其他载客汽车",
    "highway_passenger": "公路客运车辆（道路交通安全法第九十二条）",
    "medium_plus_passenger": "中型以上载客汽车",
    "truck": "载货汽车（货运机动车）",
    "dangerous_goods": "危险物品运输车辆",
    "motorcycle": "摩托车",
}

ROAD_GROUPS = {"expressway", "ordinary"}
OUTCOMES = ("no_penalty", "warning", "fine", "fine_and_licence", "referral")
TIERS_ZH = ("不予处罚", "减轻", "从轻", "一般", "从重")


@functools.lru_cache(maxsize=1024)
def as_fraction(value: float) -> Fraction:
    """The exact decimal a rule file wrote (10.5 -> 21/2), so boundaries compare without float error."""
    return Fraction(str(value))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalBasis(_Strict):
    document: StrictStr = Field(min_length=1)
    article: StrictStr = Field(min_length=1)

    def text(self) -> str:
        return f"《{self.document}》{self.article}"


class Bound(_Strict):
    value: float
    inclusive: bool


class Band(_Strict):
    """A half-open or closed interval of a unit; `upper` None = no upper limit."""

    unit: StrictStr
    lower: Bound
    upper: Bound | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.unit not in UNITS:
            raise ValueError(f"unknown unit {self.unit!r}")
        if self.upper is not None and (
            self.upper.value < self.lower.value
            or (self.upper.value == self.lower.value and not (self.upper.inclusive and self.lower.inclusive))
        ):
            raise ValueError(f"empty band: lower {self.lower.value} above upper {self.upper.value}")
        return self

    def contains(self, value: Fraction) -> bool:
        low = as_fraction(self.lower.value)
        if value < low or (value == low and not self.lower.inclusive):
            return False
        if self.upper is None:
            return True
        high = as_fraction(self.upper.value)
        return value < high or (value == high and self.upper.inclusive)

    def text_zh(self) -> str:
        low = f"{self.lower.value:g}%{'（含）' if self.lower.inclusive else '（不含）'}"
        if self.upper is None:
            return f"{low}以上"
        high = f"{self.upper.value:g}%{'（含）' if self.upper.inclusive else '（不含）'}"
        return f"{low}至{high}"


class When(_Strict):
    """Conditions besides the band; every condition given must hold."""

    vehicle_groups: list[StrictStr] | None = None
    not_vehicle_groups: list[StrictStr] | None = None
    road_groups: list[StrictStr] | None = None
    road_class: Literal["urban", "highway"] | None = None
    speed_limit_below_kmh: int | None = None
    operating: bool | None = None
    repeat: bool | None = None

    @model_validator(mode="after")
    def _known(self) -> When:
        for name in (self.vehicle_groups or []) + (self.not_vehicle_groups or []):
            if name not in VEHICLE_GROUPS:
                raise ValueError(f"unknown vehicle group {name!r}")
        for name in self.road_groups or []:
            if name not in ROAD_GROUPS:
                raise ValueError(f"unknown road group {name!r}")
        return self


class Row(_Strict):
    """Fields every dated rule row shares."""

    rule_id: StrictStr = Field(min_length=1, pattern=r"^[a-z0-9_.\-]+$")
    effective_from: date
    effective_to: date | None = None
    legal_basis: LegalBasis
    label_zh: StrictStr = Field(min_length=1)
    unconfirmed: bool = False
    note: StrictStr | None = None

    @model_validator(mode="after")
    def _dates(self) -> Row:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"{self.rule_id}: effective_to before effective_from")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class Establish(_Strict):
    """Thresholds that establish a behaviour from measurements (e.g. BAC, driving time)."""

    bac_from: float | None = None
    bac_below: float | None = None
    continuous_over_min: int | None = None
    rest_under_min: int | None = None


class Behaviour(Row):
    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    ga408_codes: list[StrictStr] = []
    measure: Literal["speed", "passengers", "freight", "fatigue", "bac", "none"] = "none"
    establish: Establish | None = None


class Tiered(Row):
    behaviour: StrictStr
    table: StrictStr
    when: When = When()
    band: Band | None = None
    # The text leaves the band's lower boundary point unassigned (both neighbours say 超过/不足);
    # the lighter neighbour then applies. Must be declared, never silently allowed.
    gap_below: Literal["lighter"] | None = None


class Statutory(Tiered):
    fine_min: int | None = Field(default=None, ge=0)
    fine_max: int | None = Field(default=None, ge=0)
    warning_allowed: bool = False
    licence_action: Literal["none", "suspend", "revoke"] = "none"
    licence_months: int | None = None
    licence_bar_years: int | None = None
    licence_may_revoke: bool = False
    detention_days_max: int | None = None
    referral: bool = False

    @model_validator(mode="after")
    def _range(self) -> Statutory:
        if (self.fine_min is None) != (self.fine_max is None):
            raise ValueError(f"{self.rule_id}: give both fine_min and fine_max or neither")
        if self.fine_min is not None and self.fine_max is not None and self.fine_min > self.fine_max:
            raise ValueError(f"{self.rule_id}: fine_min above fine_max")
        if self.licence_action == "suspend" and not self.licence_months:
            raise ValueError(f"{self.rule_id}: a suspension needs licence_months")
        return self


class Points(Tiered):
    points: Literal[0, 1, 3, 6, 9, 12]


class Discretion(Tiered):
    outcome: Literal["warning", "fine"] = "fine"
    fine_yuan: int | None = Field(default=None, ge=0)
    tier_zh: Literal["不予处罚", "减轻", "从轻", "一般", "从重"] = "一般"

    @model_validator(mode="after")
    def _amount(self) -> Discretion:
        if self.outcome == "fine" and self.fine_yuan is None:
            raise ValueError(f"{self.rule_id}: a fine row needs fine_yuan")
        return self


class LeniencyItem(_Strict):
    behaviour: StrictStr
    ga408_code: StrictStr | None = None
    label_zh: StrictStr | None = None
    when: When = When()
    band: Band | None = None
    unconfirmed: bool = False


class LeniencyConditions(_Strict):
    lookback_months: int | None = Field(default=None, ge=1)
    history_party: Literal["driver", "vehicle", "both"] = "both"
    scope: Literal["province", "city", "anywhere"] = "anywhere"
    no_accident: bool = True
    no_congestion: bool = True
    corrected: bool = True
    on_site_only: bool = False
    past_settled: bool = False
    uses_per_12_months: int | None = Field(default=None, ge=1)
    excluded_behaviours: list[StrictStr] = []
    leniency_counts_as_prior: bool = True


class Leniency(Row):
    list_id: StrictStr
    outcome: Literal["no_penalty", "warning"]
    conditions: LeniencyConditions
    items: list[LeniencyItem] = Field(min_length=1)
