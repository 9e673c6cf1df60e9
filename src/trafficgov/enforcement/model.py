"""处罚案件与决定 — the case a decision is made on and the decision itself (public batch contract).

Field names are the public contract of `trafficgov penalty decide` (docs/enforcement.md); they keep
the issue's spelling (`behavior`, `class`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictStr

CATEGORIES = (
    "small_passenger_car", "passenger_car_7plus", "medium_passenger", "large_passenger", "school_bus",
    "highway_bus", "tourist_bus", "truck_light", "truck_medium", "truck_heavy", "tractor",
    "dangerous_goods", "motorcycle",
)
Category = Literal[
    "small_passenger_car", "passenger_car_7plus", "medium_passenger", "large_passenger", "school_bus",
    "highway_bus", "tourist_bus", "truck_light", "truck_medium", "truck_heavy", "tractor",
    "dangerous_goods", "motorcycle",
]
Outcome = Literal["no_penalty", "warning", "fine", "fine_and_licence", "referral"]
MAX_MASS_KG = 200_000  # anything heavier is an impossible measurement


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Vehicle(_In):
    category: Category
    rated_passengers: int | None = Field(default=None, ge=1, le=100)
    max_total_mass_kg: int | None = Field(default=None, gt=0, le=MAX_MASS_KG)
    rated_load_kg: int | None = Field(default=None, gt=0, le=MAX_MASS_KG)
    operating: bool = False


class Road(_In):
    type: Literal["expressway", "urban_expressway", "ordinary"] = "ordinary"
    road_class: Literal["urban", "highway"] | None = Field(default=None, alias="class")
    speed_limit_kmh: int | None = Field(default=None, gt=0, le=150)


class Measured(_In):
    speed_kmh: float | None = Field(default=None, ge=0, le=400)
    passengers: int | None = Field(default=None, ge=0, le=300)
    total_mass_kg: float | None = Field(default=None, ge=0, le=MAX_MASS_KG)
    load_kg: float | None = Field(default=None, ge=0, le=MAX_MASS_KG)
    continuous_driving_min: int | None = Field(default=None, ge=0, le=24 * 60)
    rest_min: int | None = Field(default=None, ge=0, le=24 * 60)
    bac_mg_per_100ml: float | None = Field(default=None, ge=0, le=1000)


class Circumstances(_In):
    accident: bool = False
    congestion: bool = False
    corrected: bool = False
    on_site: bool = False


class PriorViolation(_In):
    behavior: StrictStr
    occurred_at: AwareDatetime
    outcome: Literal["no_penalty", "warning", "fine", "fine_and_licence", "referral", "pending"]
    region: StrictStr | None = Field(default=None, pattern=r"^\d{6}$")
    party: Literal["driver", "vehicle", "both"] = "both"


class Case(_In):
    """处罚案件 — one case to decide."""

    case_id: StrictStr = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    region: StrictStr | None = Field(default=None, pattern=r"^\d{6}$")
    behavior: StrictStr | None = None
    violation_code: StrictStr | None = None
    vehicle: Vehicle | None = None
    road: Road | None = None
    measured: Measured = Measured()
    circumstances: Circumstances = Circumstances()
    history: list[PriorViolation] = []

    @property
    def decided(self) -> datetime:
        return self.decided_at or self.occurred_at


class Decision(BaseModel):
    """处罚决定建议 — the engine's decision for one case."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    outcome: Outcome
    fine_yuan: int | None
    fine_range_yuan: list[int] | None
    points: int
    licence_action: Literal["none", "suspend", "revoke"]
    licence_months: int | None
    licence_bar_years: int | None
    detention_days_max: int | None
    education: bool
    rule_ids: list[str]
    legal_basis: list[str]
    explanation_zh: str
