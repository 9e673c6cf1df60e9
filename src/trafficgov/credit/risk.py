"""风险评分 — the statistical risk score: expected responsible injury or fatal crashes in the next 12 months,
per vehicle-year (vehicles, companies) or per driver-year (drivers, a school's graduates).

Pure (Polars, numpy, scipy, scikit-learn; no SQL): `score_risk(data, as_of)` takes a `CreditData` and uses
only what was known at `as_of`. Parameters are dated data (data/risk.yaml, credit/risk_params.py).

Method (docs/credit-validation.md, "Method"):
1. Exposure: vehicle-years a vehicle was registered within the look-back (3 years); driver-years from the
   licence's first issue (else the driver's first event); a company's is the sum over its vehicles; a
   school's the driver-years of its graduates in their first two years. Monitored vehicle-days (两客一危一货
   vehicles and any vehicle with GPS rows) are the denominator of GPS alarms.
2. Continuous time decay: every event and every day of exposure weighs exp(-ln2 · age / half-life), so a
   rate is a decayed count over a decayed exposure; events count only once known (known_at <= as_of).
3. Rates per subject: responsible injury/fatal crashes and all responsible crashes (liability-weighted)
   per exposure-year; violations weighted by crash relevance (behaviour groups in risk.yaml) per
   exposure-year; out-of-service orders and defects per inspection (clean inspections count in the
   denominator); fatigue and speeding alarms and offline minutes per monitored vehicle-day; a company's
   audit rectification orders per audit, and its training hours per driver and self-inspections per
   vehicle (decayed monthly means, as gaps below its segment).
4. Empirical-Bayes (Poisson-gamma) shrinkage of every rate toward its peer mean (peer = subject kind x
   segment: passenger / freight / dangerous / other): shrunk = (x + k·μ) / (e + k), k = a / μ with the
   gamma shape a estimated by the method of moments (pooled over the kind's segments), floored per feature.
   A subject with little exposure stays near its peers; a large one keeps its own rate.
5. A Poisson GLM (scikit-learn PoissonRegressor, exposure as sample weight = log-exposure offset) on the
   log of each shrunk rate relative to its peer mean, with segment and vehicle-class terms, is trained on
   the data itself: features as known at as_of − 12 months (and − 24 months, stacked, where the data reach
   back), outcome = responsible injury/fatal crashes in the 12 months after, as known at as_of; then applied
   to the features at as_of, each segment's mean calibrated to its latest observed rate. Coefficients are kept
   non-negative (a feature whose fitted sign is protective is dropped), so a new crash, violation or alarm
   never lowers a score. With too few outcomes to train on, a documented prior (the peer mean injury/fatal
   rate times the prior coefficients of risk.yaml) is used instead.
6. Drivers are scored by their own GLM; their risk follows them across companies. A vehicle's model adds
   its company's pooled rates and the risk of the company's drivers employed on the day (for a private
   vehicle: its owner's). A company's score is the mean over its vehicles; a school's applies the driver
   model to its graduates' pooled first-two-year rates.
7. Band: the 5th–95th percentile of a gamma with the score as its mean and the information of the peer
   prior (k) plus the subject's own decayed exposure; `insufficient_data` when exposure is below the
   minimum, or when the subject has no event at all and the band is too wide; low / medium / high by the
   score relative to the peer group's mean (thresholds in risk.yaml, the bureau's setting).
8. Up to three reasons in Chinese: the terms contributing most to the score above the peer level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from scipy.stats import gamma
from sklearn.linear_model import PoissonRegressor
from threadpoolctl import threadpool_limits

from trafficgov.credit.risk_params import RATE_FEATURES, RiskParams, risk_params

if TYPE_CHECKING:
    from trafficgov.credit.frames import CreditData

YEAR_DAYS = 365.25
UTC_TIME = pl.Datetime("us", "UTC")
REASON_TYPE = pl.List(pl.Struct({"code": pl.String, "text_zh": pl.String}))
PER_YEAR = ("crash_if", "crash_all", "violations")
PER_INSPECTION = ("oos", "defects")
PER_DAY = ("gps_fatigue", "gps_speeding", "gps_offline")
VEHICLE_RATES = (*PER_YEAR, *PER_INSPECTION, *PER_DAY)
DRIVER_RATES = (*PER_YEAR, *PER_INSPECTION)
COMPANY_RATES = (*VEHICLE_RATES, "audit_oos")
DENOMINATOR = {
    **{f: "exposure_dec" for f in PER_YEAR},
    **{f: "inspections" for f in PER_INSPECTION},
    **{f: "monitored_days" for f in PER_DAY},
    "audit_oos": "audits",
}
EVENT_FEATURES = (*RATE_FEATURES, "inspections", "audits")
OUTPUT_SCHEMA = {
    "subject_kind": pl.String, "subject_id": pl.String, "risk_score": pl.Float64, "risk_low": pl.Float64,
    "risk_high": pl.Float64, "band": pl.String, "data_sufficient": pl.Boolean, "exposure_years": pl.Float64,
    "reasons": REASON_TYPE, "segment": pl.String, "peer_mean": pl.Float64, "model": pl.String, "events": pl.Int64,
}
# A term whose log-rate ratio varies less than this across the training subjects carries no information.
MIN_TERM_SPREAD = 0.01
# Below this contribution to the log-score (about +5 %) a term is no reason.
MIN_REASON = 0.05


def as_moment(as_of: date | datetime) -> datetime:
    """A scoring date means the end of that day in China (UTC+8); a datetime must be aware."""
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        return as_of.astimezone(UTC)
    return datetime(as_of.year, as_of.month, as_of.day, 16, tzinfo=UTC)


def _day(moment: datetime) -> date:
    return (moment + timedelta(hours=8)).date()


# ---------------------------------------------------------------------------------------------- events


def decayed_events(data: CreditData, p: RiskParams, moment: datetime) -> pl.DataFrame:
    """Every event as (vehicle, driver_id, uscc, t, feature, weight, dw): dw is the decayed weight; only
    events in the look-back window up to `moment`."""
    weights = p.behaviour_weights()
    behaviour = pl.DataFrame({"behavior": list(weights), "bw": list(weights.values())}, schema={"behavior": pl.String, "bw": pl.Float64})
    liability = pl.DataFrame(
        {"liability": list(p.liability_weights), "lw": list(p.liability_weights.values())},
        schema={"liability": pl.String, "lw": pl.Float64},
    )
    none = pl.lit(None, pl.String)
    parts = [
        data.violations.join(behaviour, on="behavior", how="left").select(
            "vehicle", "driver_id", none.alias("uscc"), pl.col("occurred_at").alias("t"), pl.lit("violations").alias("feature"),
            pl.col("bw").fill_null(p.default_behaviour_weight).alias("weight"),
        )
    ]
    crashes = data.accident_parties.join(liability, on="liability", how="left").filter(pl.col("lw") > 0)
    crash_cols = ["vehicle", "driver_id", none.alias("uscc"), pl.col("occurred_at").alias("t")]
    parts.append(crashes.select(*crash_cols, pl.lit("crash_all").alias("feature"), pl.col("lw").alias("weight")))
    parts.append(
        crashes.filter(pl.col("severity").is_in(p.outcome_severities)).select(
            *crash_cols, pl.lit("crash_if").alias("feature"), pl.col("lw").alias("weight")
        )
    )
    # A dated record happened during its day: noon in China (04:00 UTC).
    day_time = (pl.col("date").cast(UTC_TIME) + pl.duration(hours=4)).alias("t")
    defects = (
        pl.col("defects").fill_null("").str.split(" ").list.eval(pl.element().filter(pl.element() != "")).list.len().cast(pl.Float64)
    )
    inspections = data.inspections.filter(pl.col("kind") != "company_audit")
    insp_cols = ["vehicle", "driver_id", none.alias("uscc"), day_time]
    parts += [
        inspections.select(*insp_cols, pl.lit("inspections").alias("feature"), pl.lit(1.0).alias("weight")),
        inspections.select(*insp_cols, pl.lit("oos").alias("feature"), pl.col("out_of_service").cast(pl.Float64).alias("weight")),
        inspections.select(*insp_cols, pl.lit("defects").alias("feature"), defects.alias("weight")),
    ]
    audits = data.inspections.filter((pl.col("kind") == "company_audit") & pl.col("uscc").is_not_null())
    audit_cols = [none.alias("vehicle"), none.alias("driver_id"), "uscc", day_time]
    parts += [
        audits.select(*audit_cols, pl.lit("audits").alias("feature"), pl.lit(1.0).alias("weight")),
        audits.select(*audit_cols, pl.lit("audit_oos").alias("feature"), pl.col("out_of_service").cast(pl.Float64).alias("weight")),
    ]
    gps_cols = ["vehicle", none.alias("driver_id"), none.alias("uscc"), day_time]
    # An offline alarm without minutes counts as one hour offline.
    offline = pl.coalesce(pl.col("minutes"), pl.col("count") * 60).cast(pl.Float64)
    parts += [
        data.gps_alarms.filter(pl.col("kind") == kind).select(
            *gps_cols, pl.lit(f"gps_{kind}").alias("feature"), (offline if kind == "offline" else pl.col("count").cast(pl.Float64)).alias("weight")
        )
        for kind in ("fatigue", "speeding", "offline")
    ]
    schema = {"vehicle": pl.String, "driver_id": pl.String, "uscc": pl.String, "t": UTC_TIME, "feature": pl.String, "weight": pl.Float64}
    events = pl.concat([part.cast(schema) for part in parts], how="vertical")  # type: ignore[arg-type]
    age = (pl.lit(moment, UTC_TIME) - pl.col("t")).dt.total_seconds(fractional=True) / 86_400.0
    return (
        events.with_columns(age=age)
        .filter((pl.col("age") >= 0) & (pl.col("age") <= p.lookback_days) & (pl.col("weight") > 0))
        .with_columns(dw=pl.col("weight") * (-math.log(2) * pl.col("age") / p.half_life_days).exp())
    )


def _sums(events: pl.DataFrame, key: str, features: tuple[str, ...]) -> pl.DataFrame:
    """Decayed sums of each feature per `key`, one column per feature, plus the count of events."""
    rows = events.filter(pl.col(key).is_not_null() & pl.col("feature").is_in(features))
    wide = rows.group_by(key, "feature").agg(pl.col("dw").sum()).pivot(on="feature", index=key, values="dw", aggregate_function="sum")
    wide = wide.with_columns([pl.lit(0.0).alias(f) for f in features if f not in wide.columns]).select(key, *features)
    counts = rows.group_by(key).agg(pl.len().cast(pl.Int64).alias("events"))
    return wide.join(counts, on=key, how="left").rename({key: "unit"})


def _exposure(frame: pl.DataFrame, start: str, end: str | None, moment: datetime, p: RiskParams) -> pl.DataFrame:
    """Add exposure_years (raw, within the look-back) and exposure_dec (decayed years) from date columns."""
    lam = math.log(2) / p.half_life_days
    window_start = _day(moment) - timedelta(days=p.lookback_days)
    today = _day(moment)
    s = pl.max_horizontal(pl.col(start).fill_null(window_start), pl.lit(window_start)).clip(upper_bound=today)
    e = pl.lit(today) if end is None else pl.col(end).fill_null(today).clip(upper_bound=today)
    age_start = (pl.lit(today) - s).dt.total_days().cast(pl.Float64)
    age_end = (pl.lit(today) - e).dt.total_days().cast(pl.Float64).clip(lower_bound=0.0)
    age_end = pl.min_horizontal(age_end, age_start)
    return frame.with_columns(
        exposure_years=(age_start - age_end) / YEAR_DAYS,
        exposure_dec=(((-lam * age_end).exp() - (-lam * age_start).exp()) / lam) / YEAR_DAYS,
    )


# ------------------------------------------------------------------------------------------- shrinkage


@dataclass(frozen=True)
class Shrinkage:
    """Peer means and prior strengths of one feature for one subject kind."""

    mu: dict[str, float]
    k: dict[str, float]
    mu_all: float
    eps: float


def _estimate(table: pl.DataFrame, feature: str, den: str, p: RiskParams) -> Shrinkage:
    """Peer means per segment (small segments pulled toward the kind's mean) and k = a / μ with the gamma
    shape a by the method of moments, pooled over segments."""
    rows = table.select(pl.col("segment"), pl.col(feature).alias("x"), pl.col(den).alias("e")).filter(pl.col("e") > 0)
    floor = p.k_floor[feature]
    total_x, total_e = float(rows["x"].sum() or 0.0), float(rows["e"].sum() or 0.0)
    mu_all = total_x / total_e if total_e > 0 else 0.0
    mu: dict[str, float] = {}
    k: dict[str, float] = {}
    numerator = denominator = 0.0
    for segment, group in sorted(rows.group_by("segment"), key=lambda item: str(item[0][0])):
        name = str(segment[0])
        x = group["x"].to_numpy()
        e = group["e"].to_numpy()
        pseudo = floor * p.min_group_units
        mu_g = (x.sum() + pseudo * mu_all) / (e.sum() + pseudo)
        mu[name] = float(mu_g)
        if len(e) >= 2 and mu_g > 0:
            spread = float(np.sum((x - mu_g * e) ** 2 / e))
            numerator += spread - (len(e) - 1) * mu_g
            denominator += mu_g**2 * float(e.sum() - np.sum(e**2) / e.sum())
    shape = denominator / numerator if numerator > 0 and denominator > 0 else math.inf
    cap = p.k_cap[feature]
    for name, mu_g in mu.items():
        raw = shape / mu_g if mu_g > 0 and math.isfinite(shape) else cap
        k[name] = float(min(max(raw, floor), cap))
    eps = 1e-3 * mu_all if mu_all > 0 else 1e-12
    return Shrinkage(mu=mu, k=k, mu_all=mu_all, eps=eps)


def _shrink(table: pl.DataFrame, features: tuple[str, ...], p: RiskParams, stats: dict[str, Shrinkage] | None) -> tuple[pl.DataFrame, dict[str, Shrinkage]]:
    """Add {f}_rate (shrunk), {f}_mu (peer mean), {f}_k and {f}_rel = log(shrunk / peer mean) per feature."""
    out = dict(stats or {})
    columns = []
    for f in features:
        den = DENOMINATOR[f]
        if f not in out:
            out[f] = _estimate(table, f, den, p)
        s = out[f]
        mu = pl.col("segment").replace_strict(s.mu, default=s.mu_all, return_dtype=pl.Float64)
        k = pl.col("segment").replace_strict(s.k, default=p.k_cap[f] if s.mu_all == 0 else p.k_floor[f], return_dtype=pl.Float64)
        columns += [mu.alias(f"{f}_mu"), k.alias(f"{f}_k")]
    table = table.with_columns(columns)
    table = table.with_columns(
        [((pl.col(f) + pl.col(f"{f}_k") * pl.col(f"{f}_mu")) / (pl.col(DENOMINATOR[f]) + pl.col(f"{f}_k"))).alias(f"{f}_rate") for f in features]
    )
    return table.with_columns(
        [((pl.col(f"{f}_rate") + out[f].eps).log() - (pl.col(f"{f}_mu") + out[f].eps).log()).alias(f"{f}_rel") for f in features]
    ), out


# ------------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class Glm:
    """log-rate = intercept + Σ coef·term + the dummies' values: a trained GLM or the documented prior."""

    coef: dict[str, float]
    intercept: float
    dummies: dict[str, dict[str, float]] = field(default_factory=dict)
    trained: bool = False
    outcomes: float = 0.0

    def relative(self, table: pl.DataFrame) -> np.ndarray:
        out = np.zeros(table.height)
        for term, beta in self.coef.items():
            if term in table.columns:
                out += beta * table[term].fill_null(0.0).to_numpy()
        return out

    def base(self, table: pl.DataFrame) -> np.ndarray:
        out = np.full(table.height, self.intercept)
        for column, values in self.dummies.items():
            out += table[column].replace_strict(values, default=values.get("other", 0.0), return_dtype=pl.Float64).to_numpy()
        return out

    def predict(self, table: pl.DataFrame) -> np.ndarray:
        return np.exp(self.base(table) + self.relative(table))


def _fit(table: pl.DataFrame, terms: list[str], dummy_columns: list[str], p: RiskParams) -> Glm | None:
    """Poisson GLM of outcome / outcome_exposure weighted by outcome_exposure; None with too few outcomes.
    A risk term fitted with a protective sign is dropped and the model refitted."""
    rows = table.filter(pl.col("outcome_exposure") > 0)
    y = rows["outcome"].to_numpy().astype(float)
    w = rows["outcome_exposure"].to_numpy().astype(float)
    if y.sum() < p.min_training_outcomes:
        return None
    levels = {c: sorted(str(v) for v in rows[c].unique().to_list() if v is not None) for c in dummy_columns}
    dummies = np.column_stack([(rows[c] == level).to_numpy().astype(float) for c in dummy_columns for level in levels[c]]) if levels else np.zeros((rows.height, 0))
    active = [t for t in terms if t in rows.columns]
    while True:
        # Terms are log-rate ratios, all on one scale: centred, not standardised, so the L2 penalty is the
        # same prior on every coefficient and a term that hardly varies cannot get a huge one.
        x = np.column_stack([rows[t].fill_null(0.0).to_numpy() for t in active]) if active else np.zeros((rows.height, 0))
        mean = (x * w[:, None]).sum(axis=0) / w.sum() if active else np.zeros(0)
        std = np.sqrt(((x - mean) ** 2 * w[:, None]).sum(axis=0) / w.sum()) if active else np.zeros(0)
        keep = std > MIN_TERM_SPREAD
        if not keep.all():
            active = [t for t, k in zip(active, keep, strict=True) if k]
            continue
        design = np.hstack([x - mean, dummies]) if active else dummies
        # One thread: the loss's OpenMP loops on a busy machine are ten times slower than one thread.
        with threadpool_limits(limits=1):
            model = PoissonRegressor(alpha=p.glm_alpha, max_iter=1000, tol=1e-6).fit(design, y / w, sample_weight=w)
        beta = model.coef_[: len(active)]
        if active and beta.min() < 0:
            active.pop(int(np.argmin(beta)))
            continue
        break
    coef = dict(zip(active, (float(b) for b in beta), strict=True))
    intercept = float(model.intercept_ - float(np.sum(beta * mean)))
    dummy_values: dict[str, dict[str, float]] = {}
    position = len(active)
    for c in dummy_columns:
        dummy_values[c] = {}
        for level in levels[c]:
            dummy_values[c][level] = float(model.coef_[position])
            position += 1
    return Glm(coef=coef, intercept=intercept, dummies=dummy_values, trained=True, outcomes=float(y.sum()))


def _prior(terms: list[str], base: Shrinkage, p: RiskParams) -> Glm:
    """The documented prior: the peer mean injury/fatal rate times exp(Σ prior coefficient · relative rate)."""
    floor = 1e-6
    segments = {s: math.log(max(m, floor)) for s, m in base.mu.items()}
    return Glm(
        coef={t: p.prior_coefficients[t] for t in terms if t in p.prior_coefficients},
        intercept=0.0,
        dummies={"segment": segments},
        trained=False,
    )


@dataclass(frozen=True)
class RiskModel:
    """A fitted risk model: the driver and vehicle GLMs and the shrinkage statistics at scoring time."""

    params: RiskParams
    driver: Glm
    vehicle: Glm
    stats: dict[str, dict[str, Shrinkage]]


# --------------------------------------------------------------------------------------------- subjects


def _segment_of_kind(p: RiskParams) -> pl.Expr:
    return pl.col("company_kind").replace_strict(p.segments.company_kinds, default="other", return_dtype=pl.String)


def _vehicle_units(data: CreditData, events: pl.DataFrame, moment: datetime, p: RiskParams) -> pl.DataFrame:
    kinds = data.companies.select(pl.col("uscc").alias("company"), pl.col("kind").alias("company_kind"))
    gps_vehicles = data.gps_alarms.select("vehicle").unique().with_columns(has_gps=pl.lit(True))
    vehicles = (
        data.vehicles.join(kinds, on="company", how="left")
        .join(gps_vehicles, on="vehicle", how="left")
        .with_columns(
            segment=pl.col("use_nature").replace_strict(p.segments.use_natures, default=None, return_dtype=pl.String),
            type_class=pl.col("vehicle_type").fill_null("").str.slice(0, 2),
            has_company=pl.col("company").is_not_null().cast(pl.String),
            monitored=pl.col("two_passenger_one_danger").fill_null(False) | pl.col("has_gps").fill_null(False),
        )
        .with_columns(segment=pl.coalesce(pl.col("segment"), _segment_of_kind(p)))
    )
    vehicles = _exposure(vehicles, "registered_on", None, moment, p)
    sums = _sums(events, "vehicle", (*VEHICLE_RATES, "inspections"))
    table = vehicles.join(sums, left_on="vehicle", right_on="unit", how="left").with_columns(
        [pl.col(f).fill_null(0.0) for f in (*VEHICLE_RATES, "inspections")] + [pl.col("events").fill_null(0)]
    )
    return table.with_columns(
        monitored_days=pl.when(pl.col("monitored")).then(pl.col("exposure_dec") * YEAR_DAYS).otherwise(0.0)
    )


def _driver_units(data: CreditData, events: pl.DataFrame, moment: datetime, p: RiskParams) -> pl.DataFrame:
    today = _day(moment)
    first_event = (
        events.filter(pl.col("driver_id").is_not_null())
        .group_by("driver_id")
        .agg(pl.col("t").min().dt.date().alias("first_event"))
        .rename({"driver_id": "id_number"})
    )
    people = (
        data.licences.select("id_number", "first_issued", "school_uscc")
        .unique("id_number")
        .join(first_event, on="id_number", how="full", coalesce=True)
        .with_columns(start=pl.coalesce("first_issued", "first_event"))
    )
    kinds = data.companies.select("uscc", pl.col("kind").alias("company_kind"))
    employer = (
        data.employments.filter(
            pl.col("role").is_in(p.driving_roles) & (pl.col("start") <= today) & (pl.col("end").is_null() | (pl.col("end") >= today))
        )
        .sort("start", descending=True)
        .unique("id_number", keep="first")
        .join(kinds, on="uscc", how="left")
        .select("id_number", pl.col("uscc").alias("employer"), "company_kind")
    )
    people = people.join(employer, on="id_number", how="left").with_columns(segment=_segment_of_kind(p))
    people = _exposure(people, "start", None, moment, p)
    sums = _sums(events, "driver_id", (*DRIVER_RATES, "inspections"))
    return people.join(sums, left_on="id_number", right_on="unit", how="left").with_columns(
        [pl.col(f).fill_null(0.0) for f in (*DRIVER_RATES, "inspections")] + [pl.col("events").fill_null(0)]
    )


def _company_units(data: CreditData, vehicles: pl.DataFrame, events: pl.DataFrame, p: RiskParams) -> pl.DataFrame:
    """Companies pooled over their vehicles (schools excluded: they are graded by their graduates)."""
    pooled = (
        vehicles.filter(pl.col("company").is_not_null())
        .group_by("company")
        .agg([pl.col(c).sum() for c in (*VEHICLE_RATES, "inspections", "exposure_years", "exposure_dec", "monitored_days", "events")])
        .with_columns(pl.col("events").cast(pl.Int64))
    )
    audits = _sums(events, "uscc", ("audits", "audit_oos")).rename({"unit": "company", "events": "audit_events"})
    ids = pl.concat(
        [
            data.companies.filter(pl.col("kind").fill_null("") != "driving_school").select(pl.col("uscc").alias("company")),
            pooled.select("company"),
        ]
    ).unique()
    schools = data.companies.filter(pl.col("kind") == "driving_school").select(pl.col("uscc").alias("company"))
    table = (
        ids.join(schools, on="company", how="anti")
        .join(pooled, on="company", how="left")
        .join(audits, on="company", how="left")
        .join(data.companies.select(pl.col("uscc").alias("company"), pl.col("kind").alias("company_kind")), on="company", how="left")
    )
    fill = [*VEHICLE_RATES, "inspections", "exposure_years", "exposure_dec", "monitored_days", "audits", "audit_oos"]
    return table.with_columns(
        [pl.col(c).fill_null(0.0) for c in fill]
        + [(pl.col("events").fill_null(0) + pl.col("audit_events").fill_null(0)).alias("events")]
    ).with_columns(segment=_segment_of_kind(p))


def _school_units(data: CreditData, drivers: pl.DataFrame, events: pl.DataFrame, moment: datetime, p: RiskParams) -> pl.DataFrame:
    """Each school's graduates pooled over their first `school_years` after first issue."""
    span = timedelta(days=round(p.school_years * YEAR_DAYS))
    graduates = drivers.filter(pl.col("school_uscc").is_not_null() & pl.col("first_issued").is_not_null()).select(
        "id_number", "school_uscc", "first_issued", (pl.col("first_issued") + span).alias("novice_end")
    )
    graduates = _exposure(graduates, "first_issued", "novice_end", moment, p)
    novice_events = (
        events.filter(pl.col("driver_id").is_not_null() & pl.col("feature").is_in((*DRIVER_RATES, "inspections")))
        .join(graduates.select(pl.col("id_number").alias("driver_id"), "school_uscc", "first_issued", "novice_end"), on="driver_id", how="inner")
        .filter((pl.col("t").dt.date() >= pl.col("first_issued")) & (pl.col("t").dt.date() <= pl.col("novice_end")))
    )
    sums = _sums(novice_events, "school_uscc", (*DRIVER_RATES, "inspections")).rename({"unit": "school"})
    exposure = graduates.group_by("school_uscc").agg(pl.col("exposure_years").sum(), pl.col("exposure_dec").sum()).rename({"school_uscc": "school"})
    ids = pl.concat(
        [
            data.companies.filter(pl.col("kind") == "driving_school").select(pl.col("uscc").alias("school")),
            graduates.select(pl.col("school_uscc").alias("school")),
        ]
    ).unique()
    return (
        ids.join(exposure, on="school", how="left")
        .join(sums, on="school", how="left")
        .with_columns(
            [pl.col(c).fill_null(0.0) for c in (*DRIVER_RATES, "inspections", "exposure_years", "exposure_dec")]
            + [pl.col("events").fill_null(0), pl.lit("other").alias("segment")]
        )
    )


def _outcomes(data: CreditData, start: datetime, end: datetime, p: RiskParams, key: str) -> pl.DataFrame:
    """Responsible injury/fatal crashes per `key` (vehicle or driver_id) that occurred in (start, end]."""
    return (
        data.accident_parties.filter(
            (pl.col("liability") != "none")
            & pl.col("severity").is_in(p.outcome_severities)
            & (pl.col("occurred_at") > start)
            & (pl.col("occurred_at") <= end)
            & pl.col(key).is_not_null()
        )
        .group_by(key)
        .agg(pl.len().cast(pl.Float64).alias("outcome"))
        .rename({key: "unit"})
    )


def _with_company_terms(vehicles: pl.DataFrame, companies: pl.DataFrame, driver_rel: pl.DataFrame, data: CreditData, moment: datetime, p: RiskParams) -> pl.DataFrame:
    """Add company_{f} (the company's relative rates) and drivers (the relative risk of the company's
    drivers employed on the day, or of a private vehicle's owner) to the vehicle table."""
    today = _day(moment)
    company_terms = companies.select(
        "company", *[pl.col(f"{f}_rel").alias(f"company_{f}") for f in COMPANY_RATES], *[pl.col(t).alias(f"company_{t}") for t in MANAGEMENT]
    )
    crew = (
        data.employments.filter(
            pl.col("role").is_in(p.driving_roles) & (pl.col("start") <= today) & (pl.col("end").is_null() | (pl.col("end") >= today))
        )
        .select("id_number", pl.col("uscc").alias("company"))
        .unique()
        .join(driver_rel, on="id_number", how="inner")
        .group_by("company")
        .agg(pl.col("driver_rel").mean().alias("crew_rel"))
    )
    owners = driver_rel.rename({"id_number": "owner_id", "driver_rel": "owner_rel"})
    return (
        vehicles.join(company_terms, on="company", how="left")
        .join(crew, on="company", how="left")
        .join(owners, on="owner_id", how="left")
        .with_columns(
            [pl.col(f"company_{f}").fill_null(0.0) for f in (*COMPANY_RATES, *MANAGEMENT)]
            + [pl.when(pl.col("company").is_not_null()).then(pl.col("crew_rel")).otherwise(pl.col("owner_rel")).fill_null(0.0).alias("drivers")]
        )
    )


MANAGEMENT = {"training_gap": ("training_hours", "crew", 0.1), "selfcheck_gap": ("self_inspections", "fleet", 0.01)}


def _with_management(companies: pl.DataFrame, data: CreditData, moment: datetime, p: RiskParams) -> pl.DataFrame:
    """Add training_gap and selfcheck_gap: minus the log of the company's decayed monthly training hours per
    driver and self-inspections per vehicle, relative to its segment's mean log (0 without records).
    Monitoring staff are not used: a whole person per few dozen vehicles reads as 0 for every small fleet."""
    today = _day(moment)
    crew = (
        data.employments.filter(
            pl.col("role").is_in(p.driving_roles) & (pl.col("start") <= today) & (pl.col("end").is_null() | (pl.col("end") >= today))
        )
        .group_by(pl.col("uscc").alias("company"))
        .agg(pl.col("id_number").n_unique().cast(pl.Float64).alias("crew"))
    )
    fleet = data.vehicles.filter(pl.col("company").is_not_null()).group_by("company").agg(pl.len().cast(pl.Float64).alias("fleet"))
    age = (pl.lit(today) - (pl.col("month") + "-15").str.to_date()).dt.total_days().cast(pl.Float64)
    records = (
        data.safety_records.with_columns(age=age)
        .filter((pl.col("age") >= 0) & (pl.col("age") <= p.lookback_days))
        .with_columns(w=(-math.log(2) * pl.col("age") / p.half_life_days).exp())
        .group_by(pl.col("uscc").alias("company"))
        .agg(
            [
                ((pl.col(c).cast(pl.Float64) * pl.col("w")).sum() / pl.col("w").filter(pl.col(c).is_not_null()).sum()).alias(c)
                for c in ("training_hours", "self_inspections")
            ]
        )
    )
    table = companies.join(records, on="company", how="left").join(crew, on="company", how="left").join(fleet, on="company", how="left")
    for term, (column, size, eps) in MANAGEMENT.items():
        table = table.with_columns(
            _log=pl.when(pl.col(column).is_not_null() & (pl.col(size) > 0)).then((pl.col(column) / pl.col(size) + eps).log())
        )
        table = table.with_columns((-(pl.col("_log") - pl.col("_log").mean().over("segment"))).fill_null(0.0).fill_nan(0.0).alias(term)).drop("_log")
    return table.drop("training_hours", "self_inspections", "crew", "fleet")


@dataclass
class _Tables:
    vehicles: pl.DataFrame
    drivers: pl.DataFrame
    companies: pl.DataFrame
    schools: pl.DataFrame


def _base_tables(data: CreditData, moment: datetime, p: RiskParams, stats: dict[str, dict[str, Shrinkage]] | None) -> tuple[_Tables, dict[str, dict[str, Shrinkage]]]:
    """Every subject's shrunk features at `moment` (data already cut to what was known then)."""
    stats = {kind: dict(values) for kind, values in (stats or {}).items()}
    events = decayed_events(data, p, moment)
    vehicles, stats["vehicle"] = _shrink(_vehicle_units(data, events, moment, p), VEHICLE_RATES, p, stats.get("vehicle"))
    drivers, stats["driver"] = _shrink(_driver_units(data, events, moment, p), DRIVER_RATES, p, stats.get("driver"))
    companies, stats["company"] = _shrink(_company_units(data, vehicles, events, p), COMPANY_RATES, p, stats.get("company"))
    companies = _with_management(companies, data, moment, p)
    schools, stats["school"] = _shrink(_school_units(data, drivers, events, moment, p), DRIVER_RATES, p, stats.get("school"))
    return _Tables(vehicles, drivers, companies, schools), stats


def _attach(tables: _Tables, driver_glm: Glm, data: CreditData, moment: datetime, p: RiskParams) -> _Tables:
    """Add the drivers' relative risk and, to each vehicle, its company's terms and its drivers' risk."""
    driver_terms = tables.drivers.select("id_number", *[pl.col(f"{f}_rel").alias(f) for f in DRIVER_RATES])
    drivers = tables.drivers.with_columns(driver_rel=pl.Series(driver_glm.relative(driver_terms), dtype=pl.Float64))
    vehicles = _with_company_terms(tables.vehicles, tables.companies, drivers.select("id_number", "driver_rel"), data, moment, p)
    return _Tables(vehicles, drivers, tables.companies, tables.schools)


def _tables(data: CreditData, moment: datetime, p: RiskParams, driver_glm: Glm | None, stats: dict[str, dict[str, Shrinkage]] | None) -> tuple[_Tables, dict[str, dict[str, Shrinkage]]]:
    tables, stats = _base_tables(data, moment, p, stats)
    return (_attach(tables, driver_glm, data, moment, p) if driver_glm is not None else tables), stats


def features(data: CreditData, as_of: date | datetime, *, params: RiskParams | None = None) -> dict[str, pl.DataFrame]:
    """Each kind's table of decayed counts, exposures and shrunk rates at as_of ({f}, {f}_rate, {f}_mu,
    {f}_k, {f}_rel per rate), the peer statistics estimated afresh — for pages and tests."""
    moment = as_moment(as_of)
    p = params or risk_params(_day(moment))
    tables, _ = _tables(data.known_by(moment), moment, p, None, None)
    return {"vehicle": tables.vehicles, "driver": tables.drivers, "company": tables.companies, "school": tables.schools}


def _terms(table: pl.DataFrame, rates: tuple[str, ...]) -> pl.DataFrame:
    """The model's terms of a table: each rate's relative log-rate under the rate's own name, plus extras."""
    return table.with_columns([pl.col(f"{f}_rel").alias(f) for f in rates])


VEHICLE_TERMS = [*VEHICLE_RATES, "drivers", *(f"company_{f}" for f in (*COMPANY_RATES, *MANAGEMENT))]
VEHICLE_DUMMIES = ["segment", "type_class", "has_company"]


def fit_risk_model(data: CreditData, as_of: date | datetime, *, params: RiskParams | None = None) -> RiskModel:
    """Train the driver and vehicle models on the data itself: features as known at each training origin
    (as_of − horizon, as_of − 2·horizon, …), outcome = responsible injury/fatal crashes in the horizon
    after it, as known at as_of; origins stacked (see module)."""
    return _fit_model(data, as_moment(as_of), params)[0]


def _fit_model(data: CreditData, moment: datetime, params: RiskParams | None) -> tuple[RiskModel, _Tables]:
    """The fitted model and the subjects' tables at as_of it was calibrated on."""
    p = params or risk_params(_day(moment))
    now_data = data.known_by(moment)
    horizon = timedelta(days=p.training_horizon_days)
    horizon_years = p.training_horizon_days / YEAR_DAYS
    origins = []
    for number in range(1, p.training_origins + 1):
        origin = moment - number * horizon
        then_data = data.known_by(origin)
        if number > 1:
            events = decayed_events(then_data, p, origin)
            if events.height == 0 or events["age"].max() < p.training_horizon_days:  # type: ignore[operator]
                break  # an origin with less than a horizon of history behind it would teach noise
        origins.append((origin, origin + horizon, then_data, _base_tables(then_data, origin, p, None)[0]))

    # Drivers first: their relative risk is a term of the vehicle model.
    driver_rows = []
    for origin, end, _, then in origins:
        rows = _terms(then.drivers, DRIVER_RATES).join(_outcomes(now_data, origin, end, p, "driver_id"), left_on="id_number", right_on="unit", how="left")
        driver_rows.append(_training_columns(rows, origin, end, horizon_years))
    drivers = pl.concat(driver_rows, how="diagonal_relaxed")
    driver_glm = _fit(drivers, list(DRIVER_RATES), ["segment"], p)

    vehicle_rows = []
    for origin, end, then_data, then in origins:
        attached = _attach(then, driver_glm or _prior(list(DRIVER_RATES), Shrinkage({}, {}, 0.0, 1e-12), p), then_data, origin, p)
        rows = _terms(attached.vehicles, VEHICLE_RATES).join(_outcomes(now_data, origin, end, p, "vehicle"), left_on="vehicle", right_on="unit", how="left")
        vehicle_rows.append(rows.with_columns(outcome=pl.col("outcome").fill_null(0.0), outcome_exposure=pl.lit(horizon_years), origin=pl.lit(origin)))
    vehicles = pl.concat(vehicle_rows, how="diagonal_relaxed")
    latest = origins[0][0]
    class_counts = vehicles.filter(pl.col("origin") == latest).group_by("type_class").len()
    common = set(class_counts.filter(pl.col("len") >= p.min_dummy_units)["type_class"].to_list())
    vehicles = vehicles.with_columns(type_class=pl.when(pl.col("type_class").is_in(common)).then(pl.col("type_class")).otherwise(pl.lit("other")))
    vehicle_glm = _fit(vehicles, VEHICLE_TERMS, VEHICLE_DUMMIES, p)

    base, now_stats = _base_tables(now_data, moment, p, None)
    if driver_glm is None:
        driver_glm = _prior(list(DRIVER_RATES), now_stats["driver"]["crash_if"], p)
    now = _attach(base, driver_glm, now_data, moment, p)
    if vehicle_glm is None:
        vehicle_glm = _prior(VEHICLE_TERMS, now_stats["vehicle"]["crash_if"], p)
    # Calibration in the large: features only share out risk; each segment's mean score at as_of is set to
    # its observed rate in the latest training horizon (trained model) or its peer mean rate (prior).
    driver_glm = _calibrate(driver_glm, _terms(now.drivers, DRIVER_RATES), _targets(drivers.filter(pl.col("origin") == latest), driver_glm, now_stats["driver"]["crash_if"], p))
    vehicle_glm = _calibrate(vehicle_glm, _terms(now.vehicles, VEHICLE_RATES), _targets(vehicles.filter(pl.col("origin") == latest), vehicle_glm, now_stats["vehicle"]["crash_if"], p))
    return RiskModel(params=p, driver=driver_glm, vehicle=vehicle_glm, stats=now_stats), now


def _training_columns(rows: pl.DataFrame, origin: datetime, end: datetime, horizon_years: float) -> pl.DataFrame:
    return rows.with_columns(
        outcome=pl.col("outcome").fill_null(0.0),
        outcome_exposure=pl.lit(horizon_years) - _late_start(pl.col("start"), origin, end),
        origin=pl.lit(origin),
    )


def _targets(training: pl.DataFrame, glm: Glm, peer: Shrinkage, p: RiskParams) -> dict[str, float]:
    """Each segment's rate to calibrate to: the training year's observed rate, pulled toward the overall
    rate in small segments (trained), or the peer mean (prior)."""
    if not glm.trained:
        return dict(peer.mu)
    rows = training.filter(pl.col("outcome_exposure") > 0)
    total = float(rows["outcome"].sum()) / max(float(rows["outcome_exposure"].sum()), 1e-12)
    pseudo = p.k_floor["crash_if"] * p.min_group_units
    by_segment = rows.group_by("segment").agg(pl.col("outcome").sum(), pl.col("outcome_exposure").sum())
    return {
        str(r["segment"]): (r["outcome"] + pseudo * total) / (r["outcome_exposure"] + pseudo)
        for r in by_segment.iter_rows(named=True)
    }


def _calibrate(glm: Glm, table: pl.DataFrame, targets: dict[str, float]) -> Glm:
    """Shift each segment's term so that its mean score over the subjects exposed at as_of is its target."""
    exposed = table.filter(pl.col("exposure_years") > 0)
    if exposed.height == 0:
        return glm
    scored = exposed.select("segment").with_columns(score=pl.Series(glm.predict(exposed), dtype=pl.Float64))
    means = {str(r["segment"]): r["score"] for r in scored.group_by("segment").agg(pl.col("score").mean()).iter_rows(named=True)}
    segments = dict(glm.dummies.get("segment", {}))
    for segment, mean in means.items():
        target = targets.get(segment)
        if target is not None and target > 0 and mean > 0:
            segments[segment] = segments.get(segment, 0.0) + math.log(target / mean)
    return replace(glm, dummies={**glm.dummies, "segment": segments})


def _late_start(start: pl.Expr, origin: datetime, moment: datetime) -> pl.Expr:
    """Years of the training horizon before a driver's start (a licence issued during it)."""
    first = _day(origin)
    return ((start.fill_null(first).clip(lower_bound=first, upper_bound=_day(moment)) - pl.lit(first)).dt.total_days().cast(pl.Float64) / YEAR_DAYS)


# ---------------------------------------------------------------------------------------------- scoring


def score_risk(data: CreditData, as_of: date | datetime, *, params: RiskParams | None = None, model: RiskModel | None = None) -> pl.DataFrame:
    """Risk of every vehicle, driver, company and school at `as_of` (columns: OUTPUT_SCHEMA)."""
    moment = as_moment(as_of)
    if model is None:
        model, tables = _fit_model(data, moment, params)
    else:
        tables, _ = _tables(data.known_by(moment), moment, model.params, model.driver, model.stats)
    stats = model.stats
    drivers = _terms(tables.drivers, DRIVER_RATES)
    driver_score = model.driver.predict(drivers)
    vehicles = _terms(tables.vehicles, VEHICLE_RATES)
    vehicle_score = model.vehicle.predict(vehicles)
    vehicles = vehicles.with_columns(score=pl.Series(vehicle_score, dtype=pl.Float64))
    company_score = (
        vehicles.filter(pl.col("company").is_not_null())
        .group_by("company")
        .agg(pl.col("score").mean(), pl.col("drivers").mean().alias("crew"))
    )
    companies = tables.companies.join(company_score, on="company", how="left")
    schools = _terms(tables.schools, DRIVER_RATES)
    graduates = stats["school"]["crash_if"]
    school_base = math.log(max(graduates.mu_all or stats["driver"]["crash_if"].mu_all, 1e-6))
    school_score = np.exp(school_base + model.driver.relative(schools))
    companies = companies.with_columns(
        score=pl.col("score").fill_null(
            pl.col("segment").replace_strict(stats["company"]["crash_if"].mu, default=stats["company"]["crash_if"].mu_all, return_dtype=pl.Float64)
        ),
        crew=pl.col("crew").fill_null(0.0),
    )
    parts = [
        _finish("vehicle", vehicles["vehicle"], vehicles, vehicle_score, "crash_if_k", VEHICLE_RATES, model.vehicle, model, True),
        _finish("driver", drivers["id_number"], drivers, driver_score, "crash_if_k", DRIVER_RATES, model.driver, model, False),
        _finish("company", companies["company"], companies, companies["score"].to_numpy(), "crash_if_k", COMPANY_RATES, model.vehicle, model, True),
        _finish("school", schools["school"], schools, school_score, "crash_if_k", DRIVER_RATES, model.driver, model, False),
    ]
    return pl.concat(parts, how="vertical").sort("subject_kind", "subject_id")


def _finish(kind: str, ids: pl.Series, table: pl.DataFrame, score: np.ndarray, k_column: str, rates: tuple[str, ...], glm: Glm, model: RiskModel, per_vehicle: bool) -> pl.DataFrame:
    p = model.params
    if table.height == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    information = np.minimum(table[k_column].to_numpy(), p.band_prior_cap_years) + table["exposure_dec"].to_numpy()
    shape = np.maximum(score * information, 1e-12)
    tail = (1.0 - p.band_level) / 2.0
    # Many subjects share their (shape, information) — every clean driver of a segment — so each distinct
    # pair is inverted once.
    pairs, inverse = np.unique(np.column_stack([shape, information]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    low = gamma.ppf(tail, pairs[:, 0], scale=1.0 / pairs[:, 1])[inverse]
    high = gamma.ppf(1.0 - tail, pairs[:, 0], scale=1.0 / pairs[:, 1])[inverse]
    exposure = table["exposure_years"].to_numpy()
    events = table["events"].fill_null(0).to_numpy()
    width = np.where(score > 0, (high - low) / np.maximum(score, 1e-300), np.inf)
    too_little = exposure < p.min_exposure_years[kind]
    too_wide = (events == 0) & (width > p.max_relative_band_width[kind])
    sufficient = ~(too_little | too_wide)
    frame = pl.DataFrame(
        {
            "subject_kind": [kind] * table.height, "subject_id": ids.cast(pl.String), "risk_score": score, "risk_low": low,
            "risk_high": high, "data_sufficient": sufficient, "exposure_years": exposure, "segment": table["segment"].fill_null("other"),
            "events": events.astype(np.int64),
        }
    )
    peer = (
        frame.filter(pl.col("exposure_years") > 0)
        .group_by("segment")
        .agg(((pl.col("risk_score") * pl.col("exposure_years")).sum() / pl.col("exposure_years").sum()).alias("peer_mean"))
    )
    frame = frame.join(peer, on="segment", how="left", maintain_order="left").with_columns(pl.col("peer_mean").fill_null(pl.col("risk_score")))
    ratio = pl.col("risk_score") / pl.col("peer_mean")
    frame = frame.with_columns(
        band=pl.when(~pl.col("data_sufficient"))
        .then(pl.lit("insufficient_data"))
        .when(ratio < p.risk_bands.low_below)
        .then(pl.lit("low"))
        .when(ratio >= p.risk_bands.high_at_or_above)
        .then(pl.lit("high"))
        .otherwise(pl.lit("medium")),
        model=pl.lit("glm" if glm.trained else "prior"),
    )
    reasons = _reasons(kind, table, rates, glm, model, too_little, too_wide, exposure)
    # Built flat and grouped: a Series of nested dicts is slow to construct at a million rows.
    listed = (
        pl.DataFrame(reasons, schema={"row": pl.Int64, "code": pl.String, "text_zh": pl.String}, orient="row")
        .group_by("row", maintain_order=True)
        .agg(pl.struct("code", "text_zh").alias("reasons"))
    )
    frame = (
        frame.with_row_index("row")
        .with_columns(pl.col("row").cast(pl.Int64))
        .join(listed, on="row", how="left", maintain_order="left")
        .with_columns(pl.col("reasons").fill_null(pl.lit([], dtype=REASON_TYPE)).cast(REASON_TYPE))
    )
    return frame.select(list(OUTPUT_SCHEMA))


def _format(feature: str, value: float) -> str:
    if feature in ("oos", "audit_oos"):
        return f"{value:.0%}"
    return f"{value:.3g}"


def _reasons(kind: str, table: pl.DataFrame, rates: tuple[str, ...], glm: Glm, model: RiskModel, too_little: np.ndarray, too_wide: np.ndarray, exposure: np.ndarray) -> list[tuple[int, str, str]]:
    """Up to three reasons a subject's score is above its peers', largest contribution first."""
    p = model.params
    terms: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []  # (feature, contribution, value, ratio)
    for f in rates:
        beta = glm.coef.get(f, 0.0)
        if kind == "company":
            beta += glm.coef.get(f"company_{f}", 0.0)
        if beta <= 0 or f not in p.reasons:
            continue
        rel = table[f"{f}_rel"].to_numpy()
        rate = table[f"{f}_rate"].to_numpy()
        mu = table[f"{f}_mu"].to_numpy()
        ratio = np.divide(rate, mu, out=np.ones_like(rate), where=mu > 0)
        terms.append((f, beta * rel, rate, ratio))
    crew_column = "drivers" if kind == "vehicle" else ("crew" if kind == "company" else None)
    if crew_column is not None and crew_column in table.columns and glm.coef.get("drivers", 0.0) > 0:
        rel = table[crew_column].to_numpy()
        terms.append(("drivers", glm.coef["drivers"] * rel, np.exp(rel), np.exp(rel)))
    unit = p.exposure_units_zh[kind]
    peer = p.peer_labels_zh[kind]
    years = p.lookback_days // 365
    no_record = f"近{years}年无任何违法、事故、检查或报警记录，风险估计的不确定性过大，暂不评定风险等级"
    contributions = np.column_stack([t[1] for t in terms]) if terms else np.zeros((table.height, 0))
    # The three largest contributions of every row at once; rows with none worth naming stay empty.
    top = np.argsort(-contributions, axis=1)[:, :3] if terms else np.zeros((table.height, 0), dtype=int)
    named = (np.take_along_axis(contributions, top, axis=1) >= MIN_REASON) if terms else np.zeros((table.height, 0), dtype=bool)
    out: list[tuple[int, str, str]] = []
    for row in np.flatnonzero(too_little | too_wide | named.any(axis=1)):
        if too_little[row]:
            out.append((int(row), "insufficient_exposure", f"近{years}年暴露量{exposure[row]:.2f}{unit}，低于评定所需的{p.min_exposure_years[kind]:g}{unit}，暂不评定风险等级"))
            continue
        if too_wide[row]:
            out.append((int(row), "no_record", no_record))
            continue
        for index, worth in zip(top[row], named[row], strict=True):
            if not worth:
                break
            feature, _, rate, ratio = terms[index]
            reason = p.reasons[feature]
            text = reason.text_zh.format(value=_format(feature, float(rate[row])), ratio=f"{float(ratio[row]):.1f}", peer=peer, unit=unit)
            out.append((int(row), reason.code, text))
    return out
