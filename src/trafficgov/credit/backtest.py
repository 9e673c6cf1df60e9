"""回测 — how well the risk score, and the SMS-like yardstick beside it, foretold the crashes after a date.

`backtest(data, as_of, horizon_months=12)` scores every company at `as_of` (and one month earlier) from
what was known then (`data.known_by`), and compares with what happened in (as_of, as_of + horizon]: the
injury and fatal accidents in which a vehicle of the company was a party with liability other than
none (from the FULL data, not known_by; one accident counts once per company). It returns the JSON object
of `trafficgov credit backtest`.

Definitions (the metric functions below are pure numpy/scipy and unit-tested on hand-computed cases):
- predicted crashes of a company = risk_score (per vehicle-year) x vehicles registered at as_of x horizon
  in years; a company without a risk_score takes the median of the others;
- `auc`: companies with at least one outcome crash vs. none, ranked by predicted crashes (Mann-Whitney
  with average ranks for ties); `auc_sms`: ranked by the SMS worst-category percentile, companies
  without a percentile below every one with, ties inside broken by the overall SMS measure;
  `auc_exposure`: ranked by fleet size alone (what any score must beat);
- `capture_top10`: share of the outcome crashes that fall to the companies ranked first until 10% of the
  vehicles are covered; the company that crosses 10% counts with the fraction that reaches exactly 10%,
  and tied scores form one block taken pro rata, so both rankings are compared at the same flag rate;
- `lift_vs_sms` = capture_top10 / capture_top10_sms - 1;
- `calibration_slope`: Poisson GLM of observed crashes on log(predicted) (log mu = a + b log predicted,
  fitted by IRLS over companies with predicted > 0); b = 1 is perfect, < 1 too extreme, > 1 too flat;
- `rank_rho_monthly`: Spearman between company risk scores at as_of and at as_of minus one month;
  `rank_rho_risk_vs_sms`: Spearman between risk_score and sms_measure at as_of;
- `small_false_flag_ratio`: the top 10% of companies by risk_score are flagged; a flag is false when the
  company had no outcome crash; the false-flag rate (false flags / companies without a crash) of small
  companies (<= 4 vehicles) divided by that of large ones (>= 21 vehicles).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import rankdata, spearmanr

from trafficgov.credit.sms import as_utc, months_before, score_sms

Scorer = Callable[[Any, datetime], pl.DataFrame]
FLAG_SHARE = 0.10
SMALL_MAX_VEHICLES = 4
LARGE_MIN_VEHICLES = 21
OUTCOME_SEVERITIES = ("injury", "fatal")


# --- metrics (pure) -----------------------------------------------------------------------------------

def auc(scores: Any, labels: Any) -> float | None:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counting 1/2.

    None when either class is empty."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(s, method="average")
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def capture_at(scores: Any, weights: Any, outcomes: Any, share: float = FLAG_SHARE) -> float | None:
    """Share of `outcomes` caught by the highest scores until `share` of the total weight is covered.

    Tied scores form one block taken pro rata; the block that crosses the share counts with the fraction
    that reaches it exactly. None when there is no outcome or no weight."""
    s = np.asarray(scores, dtype=float)
    w = np.asarray(weights, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    total_y, total_w = y.sum(), w.sum()
    if total_y <= 0 or total_w <= 0:
        return None
    values, inverse = np.unique(-s, return_inverse=True)  # ascending in -score = descending in score
    block_w = np.bincount(inverse, weights=w, minlength=len(values))
    block_y = np.bincount(inverse, weights=y, minlength=len(values))
    target = share * total_w
    covered = caught = 0.0
    for bw, by in zip(block_w, block_y, strict=True):
        if covered + bw >= target:
            if bw > 0:
                caught += by * (target - covered) / bw
            break
        covered += bw
        caught += by
    return float(caught / total_y)


def calibration_slope(observed: Any, predicted: Any, *, iterations: int = 50) -> float | None:
    """Slope b of the Poisson GLM log E[observed] = a + b log(predicted), fitted by IRLS.

    Only rows with predicted > 0 take part; None with fewer than two distinct predictions or no event."""
    y = np.asarray(observed, dtype=float)
    p = np.asarray(predicted, dtype=float)
    keep = np.isfinite(p) & (p > 0)
    y, x = y[keep], np.log(p[keep])
    if len(np.unique(x)) < 2 or y.sum() <= 0:
        return None
    design = np.column_stack([np.ones_like(x), x])
    beta = np.array([np.log(y.mean()) - x.mean(), 1.0])
    for _ in range(iterations):
        eta = np.clip(design @ beta, -30, 30)
        mu = np.exp(eta)
        z = eta + (y - mu) / mu
        weighted = design * mu[:, None]
        step = np.linalg.lstsq(design.T @ weighted, weighted.T @ z, rcond=None)[0]
        if np.max(np.abs(step - beta)) < 1e-10:
            beta = step
            break
        beta = step
    return float(beta[1])


def spearman(a: Any, b: Any) -> float | None:
    """Spearman's rho; None with fewer than three pairs or a constant side."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(spearmanr(x, y).statistic)


def lexicographic_score(primary: Any, secondary: Any) -> np.ndarray:
    """One number per row that orders by `primary`, then `secondary`; equal pairs get equal numbers."""
    a, b = np.asarray(primary, dtype=float), np.asarray(secondary, dtype=float)
    score = np.zeros(len(a))
    if len(a) == 0:
        return score
    order = np.lexsort([b, a])
    new_block = np.ones(len(a), dtype=bool)
    new_block[1:] = (np.diff(a[order]) != 0) | (np.diff(b[order]) != 0)
    score[order] = np.cumsum(new_block)
    return score


def top_share_flags(scores: Any, share: float = FLAG_SHARE, tiebreak: Any = None) -> np.ndarray:
    """Flags for the first ceil(share x n) subjects by score (ties broken by `tiebreak`, then position)."""
    s = np.asarray(scores, dtype=float)
    n = len(s)
    flags = np.zeros(n, dtype=bool)
    if n == 0:
        return flags
    count = int(np.ceil(share * n - 1e-9))
    keys = [np.arange(n)] + ([np.asarray(tiebreak)] if tiebreak is not None else []) + [-s]
    flags[np.lexsort(keys)[:count]] = True
    return flags


def false_flag_rates(flags: Any, crashed: Any, vehicles: Any) -> dict[str, float | None]:
    """False-flag rate (flagged without a crash / all without a crash) of small and large companies."""
    f = np.asarray(flags, dtype=bool)
    c = np.asarray(crashed, dtype=bool)
    v = np.asarray(vehicles, dtype=float)
    out: dict[str, float | None] = {}
    for name, group in (("small", v <= SMALL_MAX_VEHICLES), ("large", v >= LARGE_MIN_VEHICLES)):
        clean = group & ~c
        out[name] = float((f & clean).sum() / clean.sum()) if clean.sum() else None
    small, large = out["small"], out["large"]
    out["ratio"] = small / large if small is not None and large else None
    return out


# --- the backtest -------------------------------------------------------------------------------------

def _outcomes(data: Any, moment: datetime, end: datetime, vehicles: pl.DataFrame) -> pl.DataFrame:
    """Per company: injury/fatal accidents in (moment, end] with one of its vehicles liable."""
    parties = data.accident_parties.filter(
        pl.col("severity").is_in(OUTCOME_SEVERITIES) & (pl.col("liability") != "none")
        & (pl.col("occurred_at") > pl.lit(moment)) & (pl.col("occurred_at") <= pl.lit(end))
    )
    return parties.join(vehicles.select("vehicle", "company"), on="vehicle", how="inner").group_by("company").agg(
        crashes=pl.col("accident_id").n_unique().cast(pl.Float64),
    )


def _default_risk(data: Any, moment: datetime) -> pl.DataFrame:
    from trafficgov.credit.risk import score_risk

    return score_risk(data, moment)


def _company_scores(data: Any, moment: datetime, risk: Scorer, sms: Scorer) -> pl.DataFrame:
    known = data.known_by(moment)
    risk_frame = risk(known, moment).filter(pl.col("subject_kind") == "company").select(
        pl.col("subject_id").alias("company"), pl.col("risk_score").cast(pl.Float64),
        pl.col("data_sufficient").cast(pl.Boolean),
    )
    sms_frame = sms(known, moment).filter(pl.col("subject_kind") == "company").select(
        pl.col("subject_id").alias("company"), "sms_measure", "sms_percentile", "sms_alert",
    )
    return risk_frame.join(sms_frame, on="company", how="full", coalesce=True)


def backtest(
    data: Any,
    as_of: date | datetime,
    horizon_months: int = 12,
    *,
    risk_scorer: Scorer | None = None,
    sms_scorer: Scorer | None = None,
) -> dict[str, Any]:
    """回测 — the JSON object of `trafficgov credit backtest` (see the module docstring)."""
    risk = risk_scorer or _default_risk
    sms = sms_scorer or score_sms
    moment = as_utc(as_of)
    end = months_before(moment, -horizon_months)
    earlier = months_before(moment, 1)

    schools = data.companies.filter(pl.col("kind") == "driving_school").select(pl.col("uscc").alias("company"))
    fleet = data.known_by(moment).vehicles.filter(pl.col("company").is_not_null()).join(schools, on="company", how="anti")
    sizes = fleet.group_by("company").agg(vehicles=pl.len().cast(pl.Float64))

    scores = _company_scores(data, moment, risk, sms)
    frame = sizes.join(scores, on="company", how="left").join(
        _outcomes(data, moment, end, fleet), on="company", how="left",
    ).with_columns(pl.col("crashes").fill_null(0.0)).sort("company")
    fallback = frame["risk_score"].drop_nulls().median()
    frame = frame.with_columns(
        risk_filled=pl.col("risk_score").fill_null(fallback if fallback is not None else 0.0),
    ).with_columns(predicted=pl.col("risk_filled") * pl.col("vehicles") * (horizon_months / 12.0))

    crashed = (frame["crashes"] > 0).to_numpy()
    vehicles = frame["vehicles"].to_numpy()
    predicted = frame["predicted"].to_numpy()
    # SMS order: percentile first (none below every percentile), the overall measure inside ties.
    sms_pct = frame["sms_percentile"].fill_null(-1.0).to_numpy()
    sms_measure = frame["sms_measure"].fill_null(0.0).to_numpy()
    sms_score = lexicographic_score(sms_pct, sms_measure)

    capture = capture_at(predicted, vehicles, frame["crashes"].to_numpy())
    capture_sms = capture_at(sms_score, vehicles, frame["crashes"].to_numpy())

    observed_total = float(frame["crashes"].sum())
    previous = _company_scores(data, earlier, risk, sms).select(
        "company", pl.col("risk_score").alias("risk_before"), pl.col("sms_measure").alias("sms_before"),
    )
    monthly = frame.select("company", "risk_score", "sms_measure").join(previous, on="company", how="inner").drop_nulls(
        ["risk_score", "risk_before"],
    )
    ids = frame["company"].to_numpy()
    risk_flags = top_share_flags(frame["risk_filled"].to_numpy(), tiebreak=ids)
    sms_flags = top_share_flags(sms_score, tiebreak=ids)
    fairness = false_flag_rates(risk_flags, crashed, vehicles)
    fairness_sms = false_flag_rates(sms_flags, crashed, vehicles)
    both = frame.drop_nulls(["risk_score", "sms_measure"])

    return {
        "as_of": moment.isoformat(),
        "horizon_months": horizon_months,
        "subjects": frame.height,
        "auc": auc(predicted, crashed),
        "auc_sms": auc(sms_score, crashed),
        "auc_exposure": auc(vehicles, crashed),
        "capture_top10": capture,
        "capture_top10_sms": capture_sms,
        "lift_vs_sms": (capture / capture_sms - 1.0) if capture is not None and capture_sms else None,
        "calibration_slope": calibration_slope(frame["crashes"].to_numpy(), predicted),
        "calibration_method": "poisson_glm_slope_of_log_predicted",
        "observed_over_predicted": observed_total / float(predicted.sum()) if predicted.sum() > 0 else None,
        "rank_rho_monthly": spearman(monthly["risk_score"].to_numpy(), monthly["risk_before"].to_numpy()),
        "rank_rho_monthly_sms": spearman(
            monthly["sms_measure"].fill_null(0.0).to_numpy(), monthly["sms_before"].fill_null(0.0).to_numpy(),
        ),
        "rank_rho_risk_vs_sms": spearman(both["risk_score"].to_numpy(), both["sms_measure"].to_numpy()),
        "small_false_flag_ratio": fairness["ratio"],
        "small_false_flag_ratio_sms": fairness_sms["ratio"],
        "false_flag_rates": {"small": fairness["small"], "large": fairness["large"],
                             "small_sms": fairness_sms["small"], "large_sms": fairness_sms["large"]},
        "counts": {
            "companies": frame.height,
            "vehicles": int(vehicles.sum()),
            "small_companies": int((vehicles <= SMALL_MAX_VEHICLES).sum()),
            "large_companies": int((vehicles >= LARGE_MIN_VEHICLES).sum()),
            "outcome_crashes": int(observed_total),
            "companies_with_crash": int(crashed.sum()),
            "flagged": int(risk_flags.sum()),
            "risk_missing": int(frame["risk_score"].null_count()),
            "risk_insufficient": int((~frame["data_sufficient"].fill_null(False)).sum()),
            "sms_with_percentile": int(frame["sms_percentile"].is_not_null().sum()),
            "sms_alerts": int(frame["sms_alert"].fill_null(False).sum()),
            "monthly_pairs": monthly.height,
        },
    }
