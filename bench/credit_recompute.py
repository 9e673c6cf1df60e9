"""Benchmark: a full credit recompute — risk features of every vehicle, driver and company — from Parquet.

1. Generates a seeded synthetic bureau of its own (numpy; default 1 M drivers and 10 M events: violations,
   accident parties, inspections, GPS alarms; plus vehicles, companies, licences, employments) and writes
   it as Parquet files in the CreditData shape (credit/frames.py SCHEMAS) under bench/out/credit/.
2. Times, each side in a subprocess of its own (peak RSS from resource.getrusage; tracemalloc does not
   see Polars' allocations), reading the Parquet files and computing the same aggregates:
     ours     — credit.risk's own feature aggregation (`risk.features`: events with their weights,
                continuously decayed sums per vehicle, driver and company, decayed exposure, monitored
                days, empirical-Bayes shrinkage toward the peer mean per segment) in Polars;
     baseline — the same aggregates written in pandas as an analyst would (vectorised columns,
                groupby-sum, merges, a loop over groupby for the per-segment shrinkage estimate).
   The two results are compared column by column (they must agree to 1e-6); the ratio is baseline/ours.
   Optionally (--full-score) also the whole `score_risk` (model training at as_of - 12 months included).
3. Separately, loads a scaled-down set (--store-drivers / --store-events) into a fresh SQLite store (the
   tables created from their SQLAlchemy models) with bulk Core inserts and times `credit.frames.load(db)` — reading the events out of the store — with its peak RSS.

Goals (issue 5): ours >= 3x faster than the baseline and <= 60 s at full scale.

Usage: python bench/credit_recompute.py [--drivers 1000000] [--events 10000000] [--reuse] [--full-score]
       [--store-drivers N] [--store-events N] [--skip-store]
The pandas baseline needs the bench extra: pip install -e '.[bench]'
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

OUT = Path(__file__).resolve().parent / "out" / "credit"
AS_OF = datetime(2025, 6, 30, 16, tzinfo=UTC)  # end of 2025-06-30 in China
FRAMES = ("violations", "accident_parties", "inspections", "gps_alarms", "safety_records", "vehicles",
          "employments", "licences", "companies")
COMPANY_KINDS = ["passenger_transport", "freight_transport", "dangerous_goods", "bus", "other", "driving_school"]
USE_NATURES = ["A", "B", "F", "R", "C", "E"]
VEHICLE_TYPES = ["K33", "H11", "Q11", "K11", "H31", "K21"]
LIABILITIES = ["full", "main", "equal", "minor", "none"]
SEVERITIES = ["property", "injury", "fatal"]
DEFECTS = [None, "制动", "灯光", "轮胎 制动", "安全带 灯光 轮胎"]


# --- generator ----------------------------------------------------------------------------------------

def _utc(micros: np.ndarray) -> pl.Series:
    return pl.Series(micros.astype(np.int64)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _days(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype(np.int32)).cast(pl.Date)


def _where(keep: np.ndarray, values: pl.Series) -> pl.Series:
    """`values` where `keep`, else null."""
    return pl.select(pl.when(pl.lit(pl.Series(keep))).then(pl.lit(values))).to_series().alias(values.name)


def _keys(prefix: str, n: int, width: int) -> pl.Series:
    return pl.select(pl.format(prefix + "{}", pl.int_range(n, eager=False).cast(pl.String).str.zfill(width))).to_series()


def generate(drivers: int, events: int, out: Path, seed: int = 20251125) -> dict[str, int]:
    """Write the synthetic bureau as Parquet; returns the row counts."""
    from trafficgov.credit.frames import SCHEMAS
    from trafficgov.credit.rows import catalogue

    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_companies = max(20, drivers // 50)
    n_vehicles = max(50, int(drivers * 0.6))
    end_us = int(AS_OF.timestamp() * 1e6) - 86_400_000_000  # everything known a day before as_of
    span_us = int(3 * 365.25 * 86_400 * 1e6)
    epoch = date(1970, 1, 1)
    as_of_day = (AS_OF.date() - epoch).days

    companies = pl.DataFrame({
        "uscc": _keys("91370100MA", n_companies, 8),
        "name": _keys("公司", n_companies, 6),
        "kind": pl.Series(rng.choice(COMPANY_KINDS, n_companies, p=[0.2, 0.45, 0.08, 0.05, 0.2, 0.02])),
    })
    # Fleet sizes are skewed: a few large carriers, many with a handful of vehicles.
    company_weight = rng.lognormal(0.0, 1.3, n_companies)
    company_weight /= company_weight.sum()
    has_company = rng.random(n_vehicles) < 0.4
    company_index = rng.choice(n_companies, n_vehicles, p=company_weight)
    plates = pl.select(pl.format("鲁{}{}", pl.Series(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))
                                 .gather(np.arange(n_vehicles) // 100_000 % 24),
                                 (pl.int_range(n_vehicles, eager=False) % 100_000).cast(pl.String).str.zfill(5))).to_series()
    plate_type = pl.Series(np.where(rng.random(n_vehicles) < 0.3, "01", "02"))
    vehicle_keys = pl.select(pl.format("{}:{}", plates, plate_type)).to_series()
    person_ids = _keys("37010219", drivers, 10)
    use = rng.choice(USE_NATURES, n_vehicles, p=[0.55, 0.1, 0.2, 0.05, 0.05, 0.05])
    operator = _where(has_company, companies["uscc"].gather(company_index))
    owner = _where(~has_company, person_ids.gather(rng.integers(0, drivers, n_vehicles)))
    vehicles = pl.DataFrame({
        "vehicle": vehicle_keys, "plate_number": plates, "plate_type": plate_type, "owner_id": owner,
        "operator_uscc": operator, "company": operator, "use_nature": pl.Series(use),
        "vehicle_type": pl.Series(rng.choice(VEHICLE_TYPES, n_vehicles)),
        "registered_on": _days(as_of_day - rng.integers(30, 15 * 365, n_vehicles)),
        "key_vehicle": pl.Series(np.isin(use, ["B", "R", "E"])),
        "two_passenger_one_danger": pl.Series(np.isin(use, ["B", "R"])),
    })
    schools = companies.filter(pl.col("kind") == "driving_school")["uscc"]
    licences = pl.DataFrame({
        "id_number": person_ids,
        "school_uscc": schools.gather(rng.integers(0, max(1, len(schools)), drivers)) if len(schools) else None,
        "first_issued": _days(as_of_day - rng.integers(10, 30 * 365, drivers)),
        "classes": pl.Series(rng.choice(["C1", "A2", "B2", "A1"], drivers, p=[0.8, 0.08, 0.1, 0.02])),
        "points": pl.Series(rng.integers(0, 13, drivers)),
        "cycle_start": _days(as_of_day - rng.integers(0, 365, drivers)),
    })
    n_employed = drivers // 7
    employments = pl.DataFrame({
        "id_number": person_ids.gather(rng.choice(drivers, n_employed, replace=False)),
        "uscc": companies["uscc"].gather(rng.choice(n_companies, n_employed, p=company_weight)),
        "start": _days(as_of_day - rng.integers(1, 10 * 365, n_employed)),
        "end": pl.Series([None] * n_employed, dtype=pl.Date),
        "role": pl.Series(rng.choice(["driver", "escort", "safety_manager"], n_employed, p=[0.9, 0.05, 0.05])),
    })
    safety = pl.DataFrame({
        "uscc": companies["uscc"].gather(np.repeat(np.arange(n_companies), 12)),
        "month": pl.Series([f"2024-{m:02d}" for m in range(1, 13)] * n_companies),
        "training_hours": pl.Series(rng.gamma(2.0, 4.0, n_companies * 12)),
        "self_inspections": pl.Series(rng.poisson(3, n_companies * 12)),
        "monitoring_staff": pl.Series(rng.poisson(2, n_companies * 12)),
    })

    # Events: each vehicle has a latent risk; drivers are matched at random.
    vehicle_risk = rng.gamma(1.5, 1 / 1.5, n_vehicles)
    vehicle_p = vehicle_risk / vehicle_risk.sum()
    n_violations, n_parties = int(events * 0.70), int(events * 0.03) // 2 * 2
    n_inspections = int(events * 0.12)
    n_alarms = events - n_violations - n_parties - n_inspections

    def when(n: int) -> np.ndarray:
        return end_us - rng.integers(0, span_us, n)

    codes = sorted(catalogue()[0])
    v_idx = rng.choice(n_vehicles, n_violations, p=vehicle_p)
    occurred = when(n_violations)
    driver_known = rng.random(n_violations) < 0.7
    violations = pl.DataFrame({
        "violation_id": _keys("V", n_violations, 10),
        "occurred_at": _utc(occurred),
        "known_at": _utc(np.minimum(occurred + rng.integers(0, 20 * 86_400_000_000, n_violations), end_us)),
        "behavior": pl.Series(rng.choice(codes, n_violations)),
        "plate_number": plates.gather(v_idx), "plate_type": plate_type.gather(v_idx), "vehicle": vehicle_keys.gather(v_idx),
        "driver_id": _where(driver_known, person_ids.gather(rng.integers(0, drivers, n_violations))),
        "outcome": pl.Series(rng.choice(["fine", "warning", "no_penalty"], n_violations, p=[0.85, 0.1, 0.05])),
        "fine_yuan": pl.Series(rng.choice([0, 50, 100, 200], n_violations)),
        "points": pl.Series(rng.choice([0, 1, 3, 6], n_violations)),
    })

    n_accidents = n_parties // 2
    a_when = when(n_accidents)
    a_idx = rng.choice(n_vehicles, n_parties, p=vehicle_p)
    severity = rng.choice(SEVERITIES, n_accidents, p=[0.7, 0.27, 0.03])
    parties = pl.DataFrame({
        "accident_id": _keys("A", n_accidents, 9).gather(np.repeat(np.arange(n_accidents), 2)),
        "occurred_at": _utc(np.repeat(a_when, 2)),
        "known_at": _utc(np.minimum(np.repeat(a_when, 2) + 3_600_000_000, end_us)),
        "severity": pl.Series(np.repeat(severity, 2)),
        "injuries": pl.Series(np.repeat(np.where(severity == "property", 0, rng.integers(1, 4, n_accidents)), 2)),
        "deaths": pl.Series(np.repeat((severity == "fatal").astype(np.int64), 2)),
        "plate_number": plates.gather(a_idx), "plate_type": plate_type.gather(a_idx), "vehicle": vehicle_keys.gather(a_idx),
        "driver_id": person_ids.gather(rng.integers(0, drivers, n_parties)),
        "liability": pl.Series(rng.choice(LIABILITIES, n_parties, p=[0.3, 0.2, 0.1, 0.1, 0.3])),
        "vehicle_known": pl.Series(np.ones(n_parties, dtype=bool)),
    })

    i_idx = rng.choice(n_vehicles, n_inspections, p=vehicle_p)
    i_day = (end_us - rng.integers(0, span_us, n_inspections)) // 86_400_000_000
    kind = rng.choice(["roadside", "periodic", "company_audit"], n_inspections, p=[0.6, 0.35, 0.05])
    audit = kind == "company_audit"
    inspections = pl.DataFrame({
        "inspection_id": _keys("I", n_inspections, 10),
        "date": _days(i_day),
        "known_at": _utc(i_day * 86_400_000_000 + 16 * 3_600_000_000),
        "kind": pl.Series(kind),
        "vehicle": _where(~audit, vehicle_keys.gather(i_idx)),
        "driver_id": person_ids.gather(rng.integers(0, drivers, n_inspections)),
        "uscc": _where(audit, companies["uscc"].gather(rng.choice(n_companies, n_inspections, p=company_weight))),
        "defects": pl.Series(DEFECTS, dtype=pl.String).gather(rng.choice(len(DEFECTS), n_inspections, p=[0.7, 0.1, 0.1, 0.06, 0.04])),
        "out_of_service": pl.Series(rng.random(n_inspections) < 0.05),
    })

    monitored = np.flatnonzero(np.isin(use, ["B", "R", "F"]))
    g_idx = monitored[rng.integers(0, len(monitored), n_alarms)] if len(monitored) else rng.integers(0, n_vehicles, n_alarms)
    g_day = (end_us - rng.integers(0, span_us, n_alarms)) // 86_400_000_000
    alarms = pl.DataFrame({
        "date": _days(g_day),
        "known_at": _utc(g_day * 86_400_000_000 + 16 * 3_600_000_000),
        "vehicle": vehicle_keys.gather(g_idx),
        "kind": pl.Series(rng.choice(["fatigue", "speeding", "offline"], n_alarms, p=[0.4, 0.45, 0.15])),
        "count": pl.Series(rng.integers(1, 6, n_alarms)),
        "minutes": pl.Series(rng.integers(0, 240, n_alarms)),
    })
    frames = {"violations": violations, "accident_parties": parties, "inspections": inspections, "gps_alarms": alarms,
              "safety_records": safety, "vehicles": vehicles, "employments": employments, "licences": licences,
              "companies": companies}
    counts = {}
    for name, frame in frames.items():
        frame = frame.select([pl.col(c).cast(t) for c, t in SCHEMAS[name].items()])
        frame.write_parquet(out / f"{name}.parquet")
        counts[name] = frame.height
    (out / "counts.json").write_text(json.dumps(counts))
    return counts


# --- ours: credit.risk's aggregation in Polars --------------------------------------------------------

def run_ours(directory: Path, full_score: bool) -> dict:
    from trafficgov.credit import risk
    from trafficgov.credit.frames import CreditData
    from trafficgov.credit.risk_params import risk_params

    p = risk_params(AS_OF.date())
    start = time.perf_counter()
    data = CreditData(**{name: pl.read_parquet(directory / f"{name}.parquet") for name in FRAMES})
    read_s = time.perf_counter() - start
    tables = risk.features(data, AS_OF, params=p)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "read_seconds": read_s}
    _write_check(directory / "ours", {
        "vehicles": tables["vehicle"].select("vehicle", *_rate_columns(risk.VEHICLE_RATES)).rename({"vehicle": "unit"}),
        "drivers": tables["driver"].select("id_number", *_rate_columns(risk.DRIVER_RATES)).rename({"id_number": "unit"}),
        "companies": tables["company"].select("company", *_rate_columns(risk.COMPANY_RATES)).rename({"company": "unit"}),
    })
    if full_score:
        start = time.perf_counter()
        scores = risk.score_risk(data, AS_OF)
        result["full_score_seconds"] = time.perf_counter() - start
        result["scored_subjects"] = scores.height
    return result


def _rate_columns(rates: tuple[str, ...]) -> list[str]:
    return [f"{f}_rate" for f in rates] + ["exposure_dec"]


def _write_check(directory: Path, frames: dict[str, pl.DataFrame]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.write_parquet(directory / f"{name}.parquet")


# --- baseline: the same aggregates in pandas ----------------------------------------------------------

def run_pandas(directory: Path) -> dict:
    try:
        import pandas as pd
    except ImportError:
        sys.exit("the pandas baseline needs the bench extra: pip install -e '.[bench]'")
    from trafficgov.credit.risk import COMPANY_RATES, DENOMINATOR, DRIVER_RATES, VEHICLE_RATES
    from trafficgov.credit.risk_params import risk_params

    p = risk_params(AS_OF.date())
    start = time.perf_counter()
    read = {name: pd.read_parquet(directory / f"{name}.parquet") for name in FRAMES}
    read_s = time.perf_counter() - start
    as_of = pd.Timestamp(AS_OF)
    today = pd.Timestamp((AS_OF + timedelta(hours=8)).date())
    lam = math.log(2) / p.half_life_days
    for name in ("violations", "accident_parties", "inspections", "gps_alarms"):
        read[name] = read[name][read[name]["known_at"] <= as_of]
    vehicles = read["vehicles"][read["vehicles"]["registered_on"].isna() | (pd.to_datetime(read["vehicles"]["registered_on"]) <= today)]
    licences = read["licences"][read["licences"]["first_issued"].isna() | (pd.to_datetime(read["licences"]["first_issued"]) <= today)]
    employments = read["employments"][pd.to_datetime(read["employments"]["start"]) <= today]
    companies = read["companies"]

    # events: one row per (subject columns, time, feature, weight)
    weights = p.behaviour_weights()
    v = read["violations"]
    parts = [pd.DataFrame({"vehicle": v["vehicle"], "driver_id": v["driver_id"], "uscc": None, "t": v["occurred_at"],
                           "feature": "violations", "weight": v["behavior"].map(weights).fillna(p.default_behaviour_weight)})]
    a = read["accident_parties"].copy()
    a["lw"] = a["liability"].map(p.liability_weights)
    a = a[a["lw"] > 0]
    parts.append(pd.DataFrame({"vehicle": a["vehicle"], "driver_id": a["driver_id"], "uscc": None, "t": a["occurred_at"],
                               "feature": "crash_all", "weight": a["lw"]}))
    serious = a[a["severity"].isin(p.outcome_severities)]
    parts.append(pd.DataFrame({"vehicle": serious["vehicle"], "driver_id": serious["driver_id"], "uscc": None,
                               "t": serious["occurred_at"], "feature": "crash_if", "weight": serious["lw"]}))
    i = read["inspections"]
    noon = pd.to_datetime(i["date"]).dt.tz_localize("UTC") + pd.Timedelta(hours=4)
    defects = i["defects"].fillna("").apply(lambda text: len([d for d in text.split(" ") if d]))
    roadside = i["kind"] != "company_audit"
    for feature, weight in (("inspections", 1.0), ("oos", i["out_of_service"].astype(float)), ("defects", defects.astype(float))):
        w = weight if isinstance(weight, float) else weight[roadside]
        parts.append(pd.DataFrame({"vehicle": i.loc[roadside, "vehicle"], "driver_id": i.loc[roadside, "driver_id"], "uscc": None,
                                   "t": noon[roadside], "feature": feature, "weight": w}))
    audits = ~roadside & i["uscc"].notna()
    for feature, weight in (("audits", 1.0), ("audit_oos", i["out_of_service"].astype(float))):
        w = weight if isinstance(weight, float) else weight[audits]
        parts.append(pd.DataFrame({"vehicle": None, "driver_id": None, "uscc": i.loc[audits, "uscc"], "t": noon[audits],
                                   "feature": feature, "weight": w}))
    g = read["gps_alarms"]
    g_noon = pd.to_datetime(g["date"]).dt.tz_localize("UTC") + pd.Timedelta(hours=4)
    for kind in ("fatigue", "speeding", "offline"):
        rows = g["kind"] == kind
        w = g.loc[rows, "minutes"].fillna(g.loc[rows, "count"] * 60) if kind == "offline" else g.loc[rows, "count"]
        parts.append(pd.DataFrame({"vehicle": g.loc[rows, "vehicle"], "driver_id": None, "uscc": None, "t": g_noon[rows],
                                   "feature": f"gps_{kind}", "weight": w.astype(float)}))
    events = pd.concat(parts, ignore_index=True)
    events["t"] = pd.to_datetime(events["t"], utc=True)
    events["age"] = (as_of - events["t"]).dt.total_seconds() / 86_400.0
    events = events[(events["age"] >= 0) & (events["age"] <= p.lookback_days) & (events["weight"] > 0)]
    events["dw"] = events["weight"] * np.exp(-math.log(2) * events["age"] / p.half_life_days)

    def sums(key: str, features: tuple[str, ...]) -> pd.DataFrame:
        rows = events[events[key].notna() & events["feature"].isin(features)]
        wide = rows.pivot_table(index=key, columns="feature", values="dw", aggfunc="sum", fill_value=0.0)
        for f in features:
            if f not in wide.columns:
                wide[f] = 0.0
        wide = wide[list(features)]
        wide["events"] = rows.groupby(key).size()
        return wide

    def exposure(frame: pd.DataFrame, start_col: str) -> pd.DataFrame:
        window_start = today - pd.Timedelta(days=p.lookback_days)
        s = pd.to_datetime(frame[start_col]).fillna(window_start).clip(lower=window_start, upper=today)
        age_start = (today - s).dt.days.astype(float)
        frame["exposure_years"] = age_start / 365.25
        frame["exposure_dec"] = ((1.0 - np.exp(-lam * age_start)) / lam) / 365.25
        return frame

    def kind_segment(kinds: pd.Series) -> pd.Series:
        return kinds.map(p.segments.company_kinds).fillna("other")

    kinds = companies.set_index("uscc")["kind"]
    veh = vehicles.copy()
    veh["company_kind"] = veh["company"].map(kinds)
    veh["segment"] = veh["use_nature"].map(p.segments.use_natures).fillna(kind_segment(veh["company_kind"]))
    veh["monitored"] = veh["two_passenger_one_danger"].fillna(False).astype(bool) | veh["vehicle"].isin(set(g["vehicle"]))
    veh = exposure(veh, "registered_on")
    vs = sums("vehicle", (*VEHICLE_RATES, "inspections"))
    veh = veh.merge(vs, left_on="vehicle", right_index=True, how="left")
    veh[[*VEHICLE_RATES, "inspections", "events"]] = veh[[*VEHICLE_RATES, "inspections", "events"]].fillna(0.0)
    veh["monitored_days"] = np.where(veh["monitored"], veh["exposure_dec"] * 365.25, 0.0)

    first_event = events[events["driver_id"].notna()].groupby("driver_id")["t"].min()
    first_event = first_event.dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize().rename("first_event")
    first_event = first_event.rename_axis("id_number").reset_index()
    people = licences[["id_number", "first_issued", "school_uscc"]].drop_duplicates("id_number")
    people = people.merge(first_event, on="id_number", how="outer")
    people["start"] = pd.to_datetime(people["first_issued"]).fillna(people["first_event"])
    active = employments[employments["role"].isin(p.driving_roles) & (employments["end"].isna() | (pd.to_datetime(employments["end"]) >= today))]
    employer = active.sort_values("start", ascending=False).drop_duplicates("id_number")[["id_number", "uscc"]]
    people = people.merge(employer, on="id_number", how="left")
    people["segment"] = kind_segment(people["uscc"].map(kinds))
    people = exposure(people, "start")
    ds = sums("driver_id", (*DRIVER_RATES, "inspections"))
    people = people.merge(ds, left_on="id_number", right_index=True, how="left")
    people[[*DRIVER_RATES, "inspections", "events"]] = people[[*DRIVER_RATES, "inspections", "events"]].fillna(0.0)

    pooled_cols = [*VEHICLE_RATES, "inspections", "exposure_years", "exposure_dec", "monitored_days", "events"]
    pooled = veh[veh["company"].notna()].groupby("company")[pooled_cols].sum()
    audit_sums = sums("uscc", ("audits", "audit_oos")).drop(columns="events")
    schools = set(companies.loc[companies["kind"] == "driving_school", "uscc"])
    ids = set(companies.loc[companies["kind"].fillna("") != "driving_school", "uscc"]) | set(pooled.index)
    comp = pd.DataFrame(index=pd.Index(sorted(ids - schools), name="company"))
    comp = comp.join(pooled).join(audit_sums).fillna(0.0)
    comp["segment"] = kind_segment(comp.index.to_series().map(kinds))
    comp = comp.reset_index()

    def shrink(table: pd.DataFrame, features: tuple[str, ...]) -> pd.DataFrame:
        for f in features:
            den = DENOMINATOR[f]
            floor, cap = p.k_floor[f], p.k_cap[f]
            rows = table.loc[table[den] > 0, ["segment", f, den]]
            mu_all = rows[f].sum() / rows[den].sum() if rows[den].sum() > 0 else 0.0
            pseudo = floor * p.min_group_units

            def moments(group: pd.DataFrame, f: str = f, den: str = den, pseudo: float = pseudo, mu_all: float = mu_all) -> tuple[float, float, float]:
                x, e = group[f].to_numpy(), group[den].to_numpy()
                mu_g = float((x.sum() + pseudo * mu_all) / (e.sum() + pseudo))
                if len(e) < 2 or mu_g <= 0:
                    return mu_g, 0.0, 0.0
                return (mu_g, float(np.sum((x - mu_g * e) ** 2 / e) - (len(e) - 1) * mu_g),
                        float(mu_g**2 * (e.sum() - np.sum(e**2) / e.sum())))

            stats = {segment: moments(group) for segment, group in rows.groupby("segment")}
            numerator = sum(s[1] for s in stats.values())
            denominator = sum(s[2] for s in stats.values())
            shape = denominator / numerator if numerator > 0 and denominator > 0 else math.inf
            means = {segment: s[0] for segment, s in stats.items()}
            k = {segment: min(max(shape / m if m > 0 and math.isfinite(shape) else cap, floor), cap) for segment, m in means.items()}
            mu = table["segment"].map(means).fillna(mu_all)
            kk = table["segment"].map(k).fillna(cap if mu_all == 0 else floor)
            table[f"{f}_rate"] = (table[f] + kk * mu) / (table[den] + kk)
        return table

    veh = shrink(veh, VEHICLE_RATES)
    people = shrink(people, DRIVER_RATES)
    comp = shrink(comp, COMPANY_RATES)
    seconds = time.perf_counter() - start
    check = directory / "baseline"
    check.mkdir(parents=True, exist_ok=True)
    veh[["vehicle", *_rate_columns(VEHICLE_RATES)]].rename(columns={"vehicle": "unit"}).to_parquet(check / "vehicles.parquet")
    people[["id_number", *_rate_columns(DRIVER_RATES)]].rename(columns={"id_number": "unit"}).to_parquet(check / "drivers.parquet")
    comp[["company", *_rate_columns(COMPANY_RATES)]].rename(columns={"company": "unit"}).to_parquet(check / "companies.parquet")
    return {"seconds": seconds, "read_seconds": read_s}


def compare(directory: Path) -> dict[str, float]:
    """Largest relative difference per table between ours and the baseline (rows matched by unit)."""
    out = {}
    for name in ("vehicles", "drivers", "companies"):
        ours = pl.read_parquet(directory / "ours" / f"{name}.parquet")
        base = pl.read_parquet(directory / "baseline" / f"{name}.parquet")
        if ours.height != base.height:
            raise SystemExit(f"{name}: {ours.height} rows ours, {base.height} baseline")
        joined = ours.join(base, on="unit", how="inner", suffix="_b")
        if joined.height != ours.height:
            raise SystemExit(f"{name}: units differ")
        worst = 0.0
        for column in ours.columns[1:]:
            a, b = joined[column].to_numpy(), joined[f"{column}_b"].to_numpy()
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))) if len(a) else 0.0)
        out[name] = worst
    return out


# --- the store ----------------------------------------------------------------------------------------

def load_store(directory: Path, url: str) -> dict[str, float]:
    """Bulk-insert the Parquet set of `directory` into a fresh store at `url`."""
    from trafficgov.credit.store import (
        CreditAccidentPartyRow,
        CreditAccidentRow,
        CreditGpsAlarmRow,
        CreditInspectionRow,
        CreditSafetyRecordRow,
        CreditViolationRow,
    )
    from trafficgov.registry.store import CompanyRow, EmploymentRow, LicenceRow, PersonRow, VehicleRow
    from trafficgov.store.base import Base
    from trafficgov.store.db import Database

    # The tables frames.load reads, created from their models (no other context's migrations needed).
    db = Database(url, migrate=False)
    models = (PersonRow, CompanyRow, LicenceRow, VehicleRow, EmploymentRow, CreditViolationRow, CreditAccidentRow,
              CreditAccidentPartyRow, CreditInspectionRow, CreditSafetyRecordRow, CreditGpsAlarmRow)
    Base.metadata.create_all(db.engine, tables=[m.__table__ for m in models])
    now = datetime.now(UTC)
    read = {name: pl.read_parquet(directory / f"{name}.parquet") for name in FRAMES}
    people = pl.concat([read["licences"]["id_number"], read["employments"]["id_number"]]).unique()
    tables = [
        (PersonRow, pl.DataFrame({"id_number": people})),
        (CompanyRow, read["companies"]),
        (LicenceRow, read["licences"]),
        (VehicleRow, read["vehicles"].select("plate_number", "plate_type", "owner_id", "operator_uscc", "use_nature", "vehicle_type", "registered_on")),
        (EmploymentRow, read["employments"].rename({"start": "from_date", "end": "to_date"})),
        (CreditViolationRow, read["violations"].with_columns(decided_at=pl.col("known_at")).drop("known_at", "vehicle")),
        (CreditAccidentRow, read["accident_parties"].unique("accident_id", keep="first").select(
            "accident_id", "occurred_at", pl.col("known_at").alias("reported_at"), "severity", "injuries", "deaths")),
        (CreditAccidentPartyRow, read["accident_parties"].with_columns(party_no=pl.int_range(pl.len()).over("accident_id") + 1).select(
            "accident_id", "party_no", "plate_number", "plate_type", "driver_id", "liability", "vehicle_known")),
        (CreditInspectionRow, read["inspections"].with_columns(
            plate_number=pl.col("vehicle").str.split(":").list.first(), plate_type=pl.col("vehicle").str.split(":").list.last()).drop("known_at", "vehicle")),
        (CreditSafetyRecordRow, read["safety_records"]),
        (CreditGpsAlarmRow, read["gps_alarms"].unique(["date", "vehicle", "kind"]).with_columns(
            plate_number=pl.col("vehicle").str.split(":").list.first(), plate_type=pl.col("vehicle").str.split(":").list.last()).drop("known_at", "vehicle")),
    ]
    start = time.perf_counter()
    rows = 0
    with db.transaction(write=True) as session:
        for model, frame in tables:
            table = model.__table__
            columns = [c for c in frame.columns if c in table.c]
            if "updated_at" in table.c:
                frame = frame.with_columns(updated_at=pl.lit(now))
                columns.append("updated_at")
            for chunk in frame.select(columns).iter_slices(50_000):
                session.execute(table.insert(), chunk.to_dicts())
            rows += frame.height
    return {"insert_seconds": time.perf_counter() - start, "rows": rows}


def run_store_read(url: str) -> dict:
    from trafficgov.credit.frames import load
    from trafficgov.store.db import Database

    db = Database(url, migrate=False)
    start = time.perf_counter()
    data = load(db)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "events": sum(getattr(data, n).height for n in ("violations", "accident_parties", "inspections", "gps_alarms"))}


# --- driver -------------------------------------------------------------------------------------------

def _child(args: list[str]) -> dict:
    """Run this script as a subprocess for one side; its last stdout line is a JSON result."""
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20251125)
    parser.add_argument("--reuse", action="store_true", help="reuse the Parquet files of an earlier run of the same size")
    parser.add_argument("--full-score", action="store_true", help="also time the whole score_risk (training included)")
    parser.add_argument("--store-drivers", type=int, default=None, help="size of the store set (default drivers/10)")
    parser.add_argument("--store-events", type=int, default=None, help="events of the store set (default events/10)")
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--side", choices=["ours", "pandas", "store"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:
        if args.side == "ours":
            result = run_ours(args.dir, args.full_score)
        elif args.side == "pandas":
            result = run_pandas(args.dir)
        else:
            result = run_store_read(args.url)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024.0
        result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # whole process, imports included
        print(json.dumps(result))
        return

    try:
        import pandas  # noqa: F401
    except ImportError:
        sys.exit("the pandas baseline needs the bench extra: pip install -e '.[bench]'")
    directory = OUT / f"d{args.drivers}_e{args.events}"
    if not (args.reuse and (directory / "counts.json").exists()):
        t0 = time.perf_counter()
        counts = generate(args.drivers, args.events, directory, args.seed)
        print(f"generated in {time.perf_counter() - t0:.1f} s: {counts}")
    counts = json.loads((directory / "counts.json").read_text())
    size_mb = sum(f.stat().st_size for f in directory.glob("*.parquet")) / 2**20
    print(f"data: {args.drivers:,} drivers, {args.events:,} events ({size_mb:.0f} MiB of Parquet) in {directory}")
    ours = _child(["--side", "ours", "--dir", str(directory), *(["--full-score"] if args.full_score else [])])
    base = _child(["--side", "pandas", "--dir", str(directory)])
    differences = compare(directory)
    print(f"ours     (Polars, risk.features): {ours['seconds']:.1f} s (read {ours['read_seconds']:.1f} s), "
          f"process CPU {ours['cpu_seconds']:.1f} s, peak RSS {ours['peak_rss_mb']:,.0f} MiB")
    print(f"baseline (pandas, same aggregates): {base['seconds']:.1f} s (read {base['read_seconds']:.1f} s), "
          f"process CPU {base['cpu_seconds']:.1f} s, peak RSS {base['peak_rss_mb']:,.0f} MiB")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"ratio baseline/ours: {base['seconds'] / ours['seconds']:.2f}x faster; memory ours/baseline {ours['peak_rss_mb'] / base['peak_rss_mb']:.2f}")
    print(f"largest relative difference ours vs baseline: {differences}")
    if "full_score_seconds" in ours:
        print(f"full score_risk (features twice, GLMs, bands, reasons): {ours['full_score_seconds']:.1f} s for {ours['scored_subjects']:,} subjects")
    summary = {"drivers": args.drivers, "events": args.events, "counts": counts, "ours": ours, "baseline": base,
               "ratio": base["seconds"] / ours["seconds"], "max_rel_diff": differences}

    if not args.skip_store:
        store_drivers = args.store_drivers or max(1000, args.drivers // 10)
        store_events = args.store_events or max(10_000, args.events // 10)
        store_dir = OUT / f"d{store_drivers}_e{store_events}"
        if not (args.reuse and (store_dir / "counts.json").exists()):
            generate(store_drivers, store_events, store_dir, args.seed + 1)
        db_path = store_dir / "store.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db_path}"
        loaded = load_store(store_dir, url)
        read = _child(["--side", "store", "--url", url])
        print(f"store: {store_events:,} events, {loaded['rows']:,} rows bulk-inserted into SQLite in {loaded['insert_seconds']:.1f} s; "
              f"credit.frames.load: {read['seconds']:.1f} s ({read['events'] / read['seconds']:,.0f} events/s), peak RSS {read['peak_rss_mb']:,.0f} MiB")
        summary["store"] = {"drivers": store_drivers, "events": store_events, **loaded, "load": read}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
