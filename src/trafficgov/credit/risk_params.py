"""风险评分参数 — the dated parameters of the statistical risk score (data/risk.yaml), validated on load.

Pure: pydantic and YAML only. `risk_params(as_of)` gives the version in force on a day; an invalid file
(overlapping versions, unknown feature, a behaviour in two groups, thresholds out of order) refuses to load.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

RISK_FILE = Path(__file__).parent / "data" / "risk.yaml"
SUBJECT_KINDS = ("vehicle", "driver", "company", "school")
SEGMENTS = ("passenger", "freight", "dangerous", "other")
LIABILITIES = ("full", "main", "equal", "minor", "none")
SEVERITIES = ("property", "injury", "fatal")
# Rates of a subject's record: per exposure-year, per inspection, per monitored vehicle-day, per audit.
RATE_FEATURES = (
    "crash_if", "crash_all", "violations", "oos", "defects", "gps_fatigue", "gps_speeding", "gps_offline", "audit_oos",
)
# Terms of the linear predictor the prior may weight: own rates, the driver-risk term, the company's rates.
MANAGEMENT_TERMS = ("training_gap", "selfcheck_gap")
MODEL_TERMS = (*RATE_FEATURES, "drivers", *(f"company_{f}" for f in (*RATE_FEATURES, *MANAGEMENT_TERMS)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BehaviourGroup(_Strict):
    """A group of violation behaviours with one crash-relevance weight."""

    code: StrictStr = Field(min_length=1)
    label_zh: StrictStr = Field(min_length=1)
    weight: float = Field(ge=0)
    behaviours: list[StrictStr] = Field(min_length=1)


class Reason(_Strict):
    code: StrictStr = Field(min_length=1)
    text_zh: StrictStr = Field(min_length=1)


class RiskBands(_Strict):
    low_below: float = Field(gt=0)
    high_at_or_above: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RiskBands:
        if self.high_at_or_above <= self.low_below:
            raise ValueError("risk_bands: high_at_or_above must exceed low_below")
        return self


class Segments(_Strict):
    use_natures: dict[StrictStr, StrictStr]
    company_kinds: dict[StrictStr, StrictStr]

    @model_validator(mode="after")
    def _known(self) -> Segments:
        for value in (*self.use_natures.values(), *self.company_kinds.values()):
            if value not in SEGMENTS:
                raise ValueError(f"unknown segment {value!r}; use one of {', '.join(SEGMENTS)}")
        return self


def _per_kind(values: dict[str, float], name: str) -> None:
    if set(values) != set(SUBJECT_KINDS):
        raise ValueError(f"{name} must give each of {', '.join(SUBJECT_KINDS)}")


class RiskParams(_Strict):
    """One dated version of the risk score's parameters."""

    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    basis: StrictStr = Field(min_length=1)
    unconfirmed: bool = False
    note: str | None = None
    half_life_days: float = Field(gt=0)
    lookback_days: int = Field(gt=0)
    training_horizon_days: int = Field(gt=0)
    training_origins: int = Field(ge=1, le=5)
    outcome_severities: list[StrictStr] = Field(min_length=1)
    liability_weights: dict[StrictStr, float]
    min_training_outcomes: int = Field(ge=1)
    glm_alpha: float = Field(ge=0)
    min_dummy_units: int = Field(ge=1)
    k_floor: dict[StrictStr, float]
    k_cap: dict[StrictStr, float]
    band_prior_cap_years: float = Field(gt=0)
    min_group_units: int = Field(ge=1)
    band_level: float = Field(gt=0, lt=1)
    min_exposure_years: dict[StrictStr, float]
    max_relative_band_width: dict[StrictStr, float]
    risk_bands: RiskBands
    segments: Segments
    driving_roles: list[StrictStr] = Field(min_length=1)
    school_years: float = Field(gt=0)
    prior_coefficients: dict[StrictStr, float]
    default_behaviour_weight: float = Field(ge=0)
    behaviour_groups: list[BehaviourGroup]
    reasons: dict[StrictStr, Reason]
    peer_labels_zh: dict[StrictStr, StrictStr]
    exposure_units_zh: dict[StrictStr, StrictStr]

    @model_validator(mode="after")
    def _valid(self) -> RiskParams:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError(f"{self.version_id}: effective_to is not after effective_from")
        for severity in self.outcome_severities:
            if severity not in SEVERITIES:
                raise ValueError(f"unknown severity {severity!r}")
        if set(self.liability_weights) != set(LIABILITIES) or self.liability_weights["none"] != 0:
            raise ValueError("liability_weights must give each liability, and 0 for none")
        if any(w < 0 for w in self.liability_weights.values()):
            raise ValueError("liability_weights must not be negative")
        if set(self.k_floor) != set(RATE_FEATURES) or any(k <= 0 for k in self.k_floor.values()):
            raise ValueError(f"k_floor must give a positive floor for each of {', '.join(RATE_FEATURES)}")
        if set(self.k_cap) != set(RATE_FEATURES) or any(self.k_floor[f] > self.k_cap[f] for f in RATE_FEATURES):
            raise ValueError("k_cap must give each feature a cap no lower than its floor")
        _per_kind(self.min_exposure_years, "min_exposure_years")
        _per_kind(self.max_relative_band_width, "max_relative_band_width")
        unknown = set(self.prior_coefficients) - set(MODEL_TERMS)
        if unknown or any(c < 0 for c in self.prior_coefficients.values()):
            raise ValueError(f"prior_coefficients: unknown terms {sorted(unknown)} or a negative coefficient")
        seen: set[str] = set()
        for group in self.behaviour_groups:
            overlap = seen & set(group.behaviours)
            if overlap:
                raise ValueError(f"behaviours {sorted(overlap)} are in two groups")
            seen |= set(group.behaviours)
        if len({g.code for g in self.behaviour_groups}) != len(self.behaviour_groups):
            raise ValueError("duplicate behaviour group code")
        if set(self.reasons) - {*RATE_FEATURES, "drivers"}:
            raise ValueError("reasons name an unknown feature")
        if set(self.peer_labels_zh) != set(SUBJECT_KINDS) or set(self.exposure_units_zh) != set(SUBJECT_KINDS):
            raise ValueError("peer_labels_zh and exposure_units_zh must name each subject kind")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def behaviour_weights(self) -> dict[str, float]:
        return {b: g.weight for g in self.behaviour_groups for b in g.behaviours}


class RiskParamsFile(_Strict):
    source: StrictStr = Field(min_length=1)
    versions: list[RiskParams] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlap(self) -> RiskParamsFile:
        ordered = sorted(self.versions, key=lambda v: v.effective_from)
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to > later.effective_from:
                raise ValueError(f"versions {earlier.version_id} and {later.version_id} overlap")
        return self

    def at(self, day: date) -> RiskParams:
        for version in self.versions:
            if version.in_force(day):
                return version
        raise LookupError(f"no risk parameters are in force on {day}")


def parse_risk_params(text: str) -> RiskParamsFile:
    return RiskParamsFile.model_validate(yaml.safe_load(text))


@functools.cache
def risk_params_file(path: Path = RISK_FILE) -> RiskParamsFile:
    return parse_risk_params(path.read_text(encoding="utf-8"))


def risk_params(day: date) -> RiskParams:
    """The parameters in force on `day`."""
    return risk_params_file().at(day)
