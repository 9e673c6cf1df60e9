"""SMS 式对照基准 — an SMS-like yardstick (FMCSA Safety Measurement System) the risk score is measured against.

`score_sms(data, as_of)` follows the SMS methodology (v3.12; credit-anchors.md §1) on our inputs: every
violation, out-of-service inspection and crash of the 24 months before `as_of` weighs severity (1-10 per
behaviour group, +2 out of service, crash 1 property / 2 injury or fatal) times time (3 within 6 months,
2 within 12, 1 within 24); per BASIC-like category the measure is sum(SW x TW) divided by the average
power units (companies, vehicles) or by the time-weighted relevant inspections (Vehicle Maintenance;
drivers); subjects are split into safety event groups by number of events, the percentile is the share
of peers in the group with a lower measure, and data sufficiency, the 12-month recency rule and the
intervention thresholds by carrier type decide the percentile and the alert.

Adapted where our inputs differ (each listed in credit/data/sms.yaml): catalogue behaviours stand for
FMCSA violation groups; each violation is a stop of its own (our violations do not come from
inspections); HOS, Driver Fitness and Controlled Substances use the per-power-unit measure; the
utilisation factor is 1 (no vehicle-km); average power units come from registration dates only; crashes
with liability "none" are left out as SMS leaves out Not Preventable ones; drivers are measured per stop.

One row per subject: `sms_percentile` is the worst percentile over the categories with sufficient data
(null where none has), `sms_alert` whether any category reaches its threshold, `sms_measure` the overall
sum(SW x TW) over the subject's denominator (a single number to order subjects without a percentile),
plus `sms_basic` (the category of the percentile), `sms_high_risk` and `sms_basics` (every category).
Pure: uses only events known at `as_of` (known_at <= as_of); time is an argument.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DATA_FILE = Path(__file__).parent / "data" / "sms.yaml"
BASIC_CODES = (
    "unsafe_driving", "crash", "hours_of_service", "driver_fitness", "controlled_substances", "vehicle_maintenance",
)
PASSENGER_KINDS = frozenset({"passenger_transport", "bus"})
HAZMAT_KINDS = frozenset({"dangerous_goods"})
SUBJECT_KINDS = ("company", "vehicle", "driver")
MAX_GROUPS = 8


class SmsFileError(ValueError):
    """SMS 基准文件错误 — sms.yaml must not be loaded; names the file and the row."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Basis(_Strict):
    document: str = Field(min_length=1)
    section: str = Field(min_length=1)


class TimeWeight(_Strict):
    within_months: int = Field(gt=0)
    weight: int = Field(gt=0)


class Method(_Strict):
    rule_id: str
    effective_from: date
    effective_to: date | None = None
    basis: Basis
    label_zh: str
    time_weights: tuple[TimeWeight, ...]
    oos_bonus: int = Field(ge=0)
    inspection_cap: int = Field(gt=0)
    defect_severity: int = Field(ge=1, le=10)
    crash_severity: dict[Literal["property", "injury", "fatal"], int]
    power_unit_months: tuple[int, ...]
    combination_share: float = Field(gt=0, le=1)
    combination_vehicle_types: tuple[str, ...]
    high_risk_percentile: float = Field(ge=0, le=100)
    high_risk_basics: tuple[str, ...]

    @model_validator(mode="after")
    def _ordered(self) -> Method:
        months = [w.within_months for w in self.time_weights]
        if not months or months != sorted(set(months)):
            raise ValueError("time_weights must be strictly increasing in within_months")
        if set(self.crash_severity) != {"property", "injury", "fatal"}:
            raise ValueError("crash_severity needs property, injury and fatal")
        if unknown := set(self.high_risk_basics) - set(BASIC_CODES):
            raise ValueError(f"unknown high_risk_basics {sorted(unknown)}")
        return self

    @property
    def window_months(self) -> int:
        return self.time_weights[-1].within_months


class Sufficiency(_Strict):
    events_of: Literal["basic", "stops"]
    minimum: int = Field(ge=1)


class Thresholds(_Strict):
    general: float = Field(ge=0, le=100)
    passenger: float = Field(ge=0, le=100)
    hazmat: float = Field(ge=0, le=100)


class Basic(_Strict):
    code: Literal[
        "unsafe_driving", "crash", "hours_of_service", "driver_fitness", "controlled_substances", "vehicle_maintenance",
    ]
    label_zh: str
    denominator: Literal["power_units", "stops"]
    sufficiency: Sufficiency
    thresholds: Thresholds
    event_groups: dict[Literal["combination", "straight", "all"], tuple[int, ...]]
    unconfirmed: str | None = None

    @model_validator(mode="after")
    def _groups(self) -> Basic:
        keys = set(self.event_groups)
        if keys not in ({"all"}, {"combination", "straight"}):
            raise ValueError("event_groups is either {all} or {combination, straight}")
        for bounds in self.event_groups.values():
            if not bounds or list(bounds) != sorted(set(bounds)) or bounds[0] < 1 or len(bounds) > MAX_GROUPS:
                raise ValueError(f"event-group bounds: 1 to {MAX_GROUPS} positive, strictly increasing numbers")
        return self


class Severity(_Strict):
    rule_id: str
    behaviour: str
    basic: Literal[
        "unsafe_driving", "hours_of_service", "driver_fitness", "controlled_substances", "vehicle_maintenance", "none",
    ]
    severity: int | None = Field(default=None, ge=1, le=10)
    nearest: str = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None

    @model_validator(mode="after")
    def _weight(self) -> Severity:
        if (self.basic == "none") != (self.severity is None):
            raise ValueError("a behaviour in a BASIC needs a severity 1-10; one in no BASIC (none) has none")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True)
class SmsRules:
    """SMS 基准参数 — the validated contents of sms.yaml."""

    method: Method
    basics: tuple[Basic, ...]
    severities: tuple[Severity, ...]

    def basic(self, code: str) -> Basic:
        return next(b for b in self.basics if b.code == code)

    def severities_at(self, day: date) -> pl.DataFrame:
        """behaviour -> (basic, severity) in force on `day`; behaviours in no BASIC are left out."""
        rows = [s for s in self.severities if s.in_force(day) and s.basic != "none"]
        return pl.DataFrame(
            {"behavior": [s.behaviour for s in rows], "basic": [s.basic for s in rows],
             "sw": [float(s.severity or 0) for s in rows]},
            schema={"behavior": pl.String, "basic": pl.String, "sw": pl.Float64},
        )


def _catalogue_codes() -> frozenset[str]:
    from trafficgov.credit.rows import catalogue

    return catalogue()[0]


def parse_rules(doc: Any, name: str, codes: frozenset[str]) -> SmsRules:
    """Validate a parsed sms.yaml against the behaviour catalogue `codes`; SmsFileError on any fault."""
    if not isinstance(doc, dict) or set(doc) != {"method", "basics", "severities"}:
        raise SmsFileError(f"{name}: needs exactly the keys method, basics, severities")
    try:
        method = Method.model_validate(doc["method"])
        basics = tuple(Basic.model_validate(b) for b in doc["basics"])
        severities = tuple(Severity.model_validate(s) for s in doc["severities"])
    except (ValidationError, TypeError) as exc:
        raise SmsFileError(f"{name}: {exc}") from exc
    if sorted(b.code for b in basics) != sorted(BASIC_CODES):
        raise SmsFileError(f"{name}: basics must be exactly {sorted(BASIC_CODES)}")
    unknown = sorted({s.behaviour for s in severities} - codes)
    if unknown:
        raise SmsFileError(f"{name}: behaviours not in enforcement's catalogue: {unknown}")
    missing = sorted(codes - {s.behaviour for s in severities})
    if missing:
        raise SmsFileError(f"{name}: catalogue behaviours without a severity row: {missing}")
    by_id: dict[str, list[Severity]] = {}
    for s in severities:
        by_id.setdefault(s.rule_id, []).append(s)
    for rule_id, rows in by_id.items():
        if len({s.behaviour for s in rows}) > 1:
            raise SmsFileError(f"{name}: {rule_id} names more than one behaviour")
        rows.sort(key=lambda s: s.effective_from)
        for earlier, later in zip(rows, rows[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                raise SmsFileError(f"{name}: {rule_id} has overlapping effective dates")
    by_behaviour: dict[str, str] = {}
    for s in severities:
        if by_behaviour.setdefault(s.behaviour, s.rule_id) != s.rule_id:
            raise SmsFileError(f"{name}: behaviour {s.behaviour} has two rule_ids")
    return SmsRules(method, basics, severities)


@functools.cache
def load_rules(path: Path = DATA_FILE) -> SmsRules:
    """Read and validate sms.yaml (cached)."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SmsFileError(f"{path}: not valid YAML: {exc}") from exc
    return parse_rules(doc, str(path), _catalogue_codes())


# --- time ---------------------------------------------------------------------------------------------

def as_utc(as_of: date | datetime) -> datetime:
    """A date means the end of that day in China (00:00 +08:00 of the next day = 16:00 UTC), as
    frames.CreditData.known_by reads days; a naive datetime is taken as UTC."""
    if isinstance(as_of, datetime):
        return (as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)).astimezone(UTC)
    return datetime.combine(as_of, time(16, 0), tzinfo=UTC)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day-of-month `months` earlier, clamped to the month's last day."""
    total = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


def _time_weight(column: pl.Expr, moment: datetime, method: Method) -> pl.Expr:
    """Time weight of an event time (a datetime column): 3/2/1 by age bands, 0 beyond the window."""
    expr: pl.Expr = pl.lit(0.0)
    for band in reversed(method.time_weights):
        start = months_before(moment, band.within_months)
        expr = pl.when(column > pl.lit(start)).then(pl.lit(float(band.weight))).otherwise(expr)
    return pl.when(column <= pl.lit(moment)).then(expr).otherwise(0.0)


def _to_datetime(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        # An inspection on a day counts as of the end of that day in China, like a date as_of.
        return pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") + pl.duration(hours=16)
    return pl.col(column)


def _known(frame: pl.DataFrame, moment: datetime) -> pl.DataFrame:
    return frame.filter(_to_datetime("known_at", frame.schema["known_at"]) <= pl.lit(moment))


# --- events -------------------------------------------------------------------------------------------

_EVENT_SCHEMA = {
    "vehicle": pl.String, "driver_id": pl.String, "company": pl.String, "basic": pl.String, "weight": pl.Float64,
    "tw": pl.Float64, "recent": pl.Boolean, "stop": pl.Boolean,
}


def _events(data: Any, moment: datetime, rules: SmsRules) -> pl.DataFrame:
    """Long table of weighted events: one row per violation, per inspection and per crash party.

    `weight` = SW (capped per inspection), `tw` = time weight, `stop` = counts as a relevant inspection,
    `basic` null for a clean inspection (a stop without a violation)."""
    method = rules.method
    recent_start = months_before(moment, 12)
    company_of = data.vehicles.select("vehicle", pl.col("company").alias("vehicle_company"))
    parts: list[pl.DataFrame] = []

    violations = _known(data.violations, moment).join(rules.severities_at(moment.date()), on="behavior", how="left")
    violations = violations.with_columns(tw=_time_weight(pl.col("occurred_at"), moment, method)).filter(pl.col("tw") > 0)
    violations = violations.join(company_of, on="vehicle", how="left")
    parts.append(violations.select(
        "vehicle", "driver_id", pl.col("vehicle_company").alias("company"), "basic",
        pl.col("sw").fill_null(0.0).clip(upper_bound=method.inspection_cap).alias("weight"), "tw",
        (pl.col("occurred_at") > pl.lit(recent_start)).alias("recent"), pl.lit(True).alias("stop"),
    ))

    inspections = _known(data.inspections, moment).filter(pl.col("kind").is_in(["roadside", "periodic"]))
    at = _to_datetime("date", inspections.schema["date"])
    inspections = inspections.with_columns(at=at).with_columns(tw=_time_weight(pl.col("at"), moment, method))
    inspections = inspections.filter(pl.col("tw") > 0).join(company_of, on="vehicle", how="left")
    found = (pl.col("defects").fill_null("").str.strip_chars() != "") | pl.col("out_of_service").fill_null(False)
    weight = pl.lit(float(method.defect_severity)) + pl.when(pl.col("out_of_service").fill_null(False)).then(float(method.oos_bonus)).otherwise(0.0)
    parts.append(inspections.select(
        "vehicle", "driver_id", pl.coalesce("uscc", "vehicle_company").alias("company"),
        pl.when(found).then(pl.lit("vehicle_maintenance")).otherwise(None).alias("basic"),
        pl.when(found).then(weight.clip(upper_bound=method.inspection_cap)).otherwise(0.0).alias("weight"), "tw",
        (pl.col("at") > pl.lit(recent_start)).alias("recent"), pl.lit(True).alias("stop"),
    ))

    severity = method.crash_severity
    crashes = _known(data.accident_parties, moment).filter(pl.col("liability") != "none")
    crashes = crashes.with_columns(tw=_time_weight(pl.col("occurred_at"), moment, method)).filter(pl.col("tw") > 0)
    crashes = crashes.join(company_of, on="vehicle", how="left")
    parts.append(crashes.select(
        "vehicle", "driver_id", pl.col("vehicle_company").alias("company"), pl.lit("crash").alias("basic"),
        pl.col("severity").replace_strict(severity, default=0, return_dtype=pl.Float64).alias("weight"), "tw",
        (pl.col("occurred_at") > pl.lit(recent_start)).alias("recent"), pl.lit(False).alias("stop"),
    ))
    return pl.concat([p.cast(_EVENT_SCHEMA) for p in parts], how="vertical")  # type: ignore[arg-type]


def _power_units(data: Any, moment: datetime, rules: SmsRules) -> pl.DataFrame:
    """Per company: average power units (vehicles registered at as_of and 6, 18 months before) and segment."""
    vehicles = data.vehicles.filter(pl.col("company").is_not_null())
    counts = []
    for months in rules.method.power_unit_months:
        day = months_before(moment, months).date()
        registered = pl.col("registered_on").is_null() | (pl.col("registered_on") <= pl.lit(day))
        counts.append(pl.col("vehicle").filter(registered).count().cast(pl.Float64))
    prefixes = rules.method.combination_vehicle_types
    combination = pl.any_horizontal([pl.col("vehicle_type").fill_null("").str.starts_with(p) for p in prefixes])
    now_registered = pl.col("registered_on").is_null() | (pl.col("registered_on") <= pl.lit(moment.date()))
    return vehicles.group_by("company").agg(
        avg_pu=pl.mean_horizontal(counts),
        combination_share=combination.filter(now_registered).mean(),
    ).with_columns(
        segment=pl.when(pl.col("combination_share").fill_null(0.0) >= rules.method.combination_share)
        .then(pl.lit("combination")).otherwise(pl.lit("straight")),
    )


def _aggregate(events: pl.DataFrame, key: str, kind: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per subject: stops (count, time-weighted) and per (subject, basic): events, sum(SW x TW), recent."""
    keyed = events.filter(pl.col(key).is_not_null()).rename({key: "subject_id"})
    stops = keyed.group_by("subject_id").agg(
        stops=pl.col("stop").sum().cast(pl.Float64),
        stop_tw=(pl.col("tw") * pl.col("stop").cast(pl.Float64)).sum(),
        total_swtw=(pl.col("weight") * pl.col("tw")).sum(),
    )
    per_basic = keyed.filter(pl.col("basic").is_not_null() & (pl.col("weight") > 0)).group_by("subject_id", "basic").agg(
        basic_events=pl.len().cast(pl.Float64),
        swtw=(pl.col("weight") * pl.col("tw")).sum(),
        recent=pl.col("recent").any(),
    )
    return stops.with_columns(subject_kind=pl.lit(kind)), per_basic.with_columns(subject_kind=pl.lit(kind))


def _basics_table(rules: SmsRules) -> pl.DataFrame:
    rows = []
    for b in rules.basics:
        for segment, bounds in b.event_groups.items():
            segments = ["combination", "straight"] if segment == "all" else [segment]
            for seg_name in segments:
                padded = list(bounds) + [None] * (MAX_GROUPS - len(bounds))
                rows.append({
                    "basic": b.code, "segment": seg_name, **{f"bound_{i}": v for i, v in enumerate(padded)}, "per_stops": b.denominator == "stops",
                    "events_of_stops": b.sufficiency.events_of == "stops", "minimum": float(b.sufficiency.minimum),
                    "threshold_general": b.thresholds.general, "threshold_passenger": b.thresholds.passenger,
                    "threshold_hazmat": b.thresholds.hazmat, "needs_recent": b.code != "crash",
                })
    return pl.DataFrame(rows, schema_overrides={f"bound_{i}": pl.Float64 for i in range(MAX_GROUPS)})


def score_sms(data: Any, as_of: date | datetime, *, rules: SmsRules | None = None) -> pl.DataFrame:
    """SMS 式测度 — one row per company, vehicle and driver (see the module docstring)."""
    rules = rules or load_rules()
    moment = as_utc(as_of)
    events = _events(data, moment, rules)
    units = _power_units(data, moment, rules)
    kinds = data.companies.select(pl.col("uscc").alias("company"), pl.col("kind").alias("company_kind"))

    vehicles = data.vehicles.filter(pl.col("registered_on").is_null() | (pl.col("registered_on") <= pl.lit(moment.date())))
    vehicle_info = vehicles.select(
        pl.col("vehicle").alias("subject_id"), pl.col("company"),
        pl.when(pl.any_horizontal([pl.col("vehicle_type").fill_null("").str.starts_with(p) for p in rules.method.combination_vehicle_types]))
        .then(pl.lit("combination")).otherwise(pl.lit("straight")).alias("segment"),
        pl.lit(1.0).alias("avg_pu"),
    ).join(kinds, on="company", how="left").drop("company")
    # Companies: those registered plus any company a vehicle names (as risk.py pools them); not schools.
    schools = data.companies.filter(pl.col("kind") == "driving_school").select(pl.col("uscc").alias("subject_id"))
    company_ids = pl.concat([
        data.companies.select(pl.col("uscc").alias("subject_id")),
        units.select(pl.col("company").alias("subject_id")),
    ]).unique().join(schools, on="subject_id", how="anti")
    company_info = (
        company_ids.join(kinds.rename({"company": "subject_id"}), on="subject_id", how="left")
        .join(units.select(pl.col("company").alias("subject_id"), "avg_pu", "segment"), on="subject_id", how="left")
        .with_columns(pl.col("segment").fill_null("straight"))
    )
    drivers = pl.concat([
        data.licences.select(pl.col("id_number").alias("subject_id")),
        events.select(pl.col("driver_id").alias("subject_id")),
    ]).drop_nulls().unique()
    driver_info = drivers.with_columns(
        company_kind=pl.lit(None, pl.String), avg_pu=pl.lit(1.0), segment=pl.lit("straight"),
    )
    subjects = pl.concat([
        company_info.select("subject_id", "company_kind", "avg_pu", "segment").with_columns(subject_kind=pl.lit("company")),
        vehicle_info.select("subject_id", "company_kind", "avg_pu", "segment").with_columns(subject_kind=pl.lit("vehicle")),
        driver_info.select("subject_id", "company_kind", "avg_pu", "segment").with_columns(subject_kind=pl.lit("driver")),
    ], how="vertical_relaxed")

    stop_parts, basic_parts = [], []
    for key, kind in (("company", "company"), ("vehicle", "vehicle"), ("driver_id", "driver")):
        stops, per_basic = _aggregate(events, key, kind)
        stop_parts.append(stops)
        basic_parts.append(per_basic)
    subjects = subjects.join(pl.concat(stop_parts), on=["subject_kind", "subject_id"], how="left").with_columns(
        pl.col("stops", "stop_tw", "total_swtw").fill_null(0.0),
    )
    per_basic = pl.concat(basic_parts).join(
        subjects.select("subject_kind", "subject_id", "avg_pu", "segment", "company_kind", "stops", "stop_tw"),
        on=["subject_kind", "subject_id"], how="inner",
    ).join(_basics_table(rules), on=["basic", "segment"], how="inner")

    is_driver = pl.col("subject_kind") == "driver"
    # Drivers and Vehicle Maintenance: per time-weighted stop; otherwise per average power unit.
    denominator = pl.when(is_driver & (pl.col("basic") != "crash")).then(pl.col("stop_tw")) \
        .when(pl.col("per_stops")).then(pl.col("stop_tw")).otherwise(pl.col("avg_pu"))
    events_for_group = pl.when(pl.col("events_of_stops")).then(pl.col("stops")).otherwise(pl.col("basic_events"))
    per_basic = per_basic.with_columns(
        measure=pl.when(denominator > 0).then(pl.col("swtw") / denominator).otherwise(None),
        group_events=events_for_group,
    ).with_columns(
        sufficient=(pl.col("group_events") >= pl.col("minimum")) & (pl.col("measure") > 0)
        & (pl.col("recent") | ~pl.col("needs_recent")),
        event_group=pl.sum_horizontal([
            (pl.col("group_events") >= pl.col(f"bound_{i}")).fill_null(False).cast(pl.Int64) for i in range(MAX_GROUPS)
        ]),
    )
    ranked = per_basic.filter(pl.col("sufficient") & (pl.col("event_group") > 0)).with_columns(
        percentile=100.0 * (pl.col("measure").rank("min").over("subject_kind", "basic", "segment", "event_group") - 1)
        / pl.len().over("subject_kind", "basic", "segment", "event_group"),
    )
    per_basic = per_basic.join(
        ranked.select("subject_kind", "subject_id", "basic", "percentile"), on=["subject_kind", "subject_id", "basic"], how="left",
    ).with_columns(
        threshold=pl.when(pl.col("company_kind").is_in(list(PASSENGER_KINDS))).then(pl.col("threshold_passenger"))
        .when(pl.col("company_kind").is_in(list(HAZMAT_KINDS))).then(pl.col("threshold_hazmat"))
        .otherwise(pl.col("threshold_general")),
    ).with_columns(alert=(pl.col("percentile") >= pl.col("threshold")).fill_null(False))

    high = rules.method.high_risk_percentile
    summary = per_basic.group_by("subject_kind", "subject_id").agg(
        sms_percentile=pl.col("percentile").max(),
        sms_basic=pl.col("basic").filter(pl.col("percentile").is_not_null())
        .sort_by(pl.col("percentile").filter(pl.col("percentile").is_not_null()), descending=True).first(),
        sms_alert=pl.col("alert").any(),
        sms_high_risk=(pl.col("basic").is_in(list(rules.method.high_risk_basics)) & (pl.col("percentile") >= high)).sum() >= 2,
        sms_basics=pl.struct(
            "basic", "measure", "percentile", "alert", pl.col("group_events").alias("events"), "sufficient",
        ),
    )
    overall = pl.when(is_driver).then(pl.when(pl.col("stop_tw") > 0).then(pl.col("total_swtw") / pl.col("stop_tw")))\
        .otherwise(pl.when(pl.col("avg_pu") > 0).then(pl.col("total_swtw") / pl.col("avg_pu")))
    out = subjects.with_columns(sms_measure=overall).join(summary, on=["subject_kind", "subject_id"], how="left")
    return out.select(
        "subject_kind", "subject_id", "sms_measure", "sms_percentile",
        pl.col("sms_alert").fill_null(False), pl.col("sms_high_risk").fill_null(False), "sms_basic", "sms_basics",
    ).sort("subject_kind", "subject_id")

