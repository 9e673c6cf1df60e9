"""回测 — the backtest's metric functions on hand-computed cases, and a backtest on a small synthetic city."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from trafficgov.credit.backtest import (
    auc,
    backtest,
    calibration_slope,
    capture_at,
    false_flag_rates,
    lexicographic_score,
    spearman,
    top_share_flags,
)
from trafficgov.credit.frames import CreditData

AS_OF = date(2025, 6, 30)


# --- metrics ------------------------------------------------------------------------------------------

def test_auc_of_four_rows_counts_each_positive_negative_pair():
    # positives 0.9 and 0.4, negatives 0.6 and 0.1: pairs (0.9>0.6, 0.9>0.1, 0.4<0.6, 0.4>0.1) = 3/4
    assert auc([0.9, 0.6, 0.4, 0.1], [1, 0, 1, 0]) == pytest.approx(0.75)


def test_auc_counts_a_tie_as_half():
    assert auc([0.5, 0.5, 0.2], [1, 0, 0]) == pytest.approx((0.5 + 1) / 2)


def test_auc_is_none_without_both_classes():
    assert auc([0.1, 0.2], [0, 0]) is None


def test_capture_interpolates_the_company_that_crosses_the_share():
    # order by score: A (2 vehicles, 3 crashes), B (4 vehicles, 1 crash), C (14 vehicles, 6 crashes).
    # 10% of 20 vehicles = 2 -> exactly A: 3/10. 20% = 4 -> A + half of B: (3 + 0.5)/10.
    scores, vehicles, crashes = [3.0, 2.0, 1.0], [2, 4, 14], [3, 1, 6]
    assert capture_at(scores, vehicles, crashes, 0.10) == pytest.approx(0.3)
    assert capture_at(scores, vehicles, crashes, 0.20) == pytest.approx(0.35)
    assert capture_at(scores, vehicles, crashes, 1.0) == pytest.approx(1.0)


def test_capture_takes_tied_scores_as_one_block_pro_rata():
    # A and B tie (10 vehicles together, 5 crashes); 10% of 20 = 2 vehicles = 2/10 of the block -> 1 crash.
    assert capture_at([1.0, 1.0, 0.0], [5, 5, 10], [5, 0, 5], 0.10) == pytest.approx(0.1)


def test_capture_is_none_without_outcomes():
    assert capture_at([1.0, 0.5], [1, 1], [0, 0]) is None


def test_calibration_slope_is_one_when_observed_equals_expected():
    predicted = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    assert calibration_slope(predicted, predicted) == pytest.approx(1.0, abs=1e-6)


def test_calibration_slope_is_half_when_predictions_are_too_extreme():
    predicted = np.array([0.25, 1.0, 4.0, 16.0])
    observed = np.sqrt(predicted)  # log observed = 0.5 log predicted
    assert calibration_slope(observed, predicted) == pytest.approx(0.5, abs=1e-6)


def test_spearman_of_a_monotone_pair_is_one_and_none_for_a_constant():
    assert spearman([1, 2, 3, 4], [10, 20, 25, 100]) == pytest.approx(1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_lexicographic_score_orders_by_primary_then_secondary_with_ties_equal():
    score = lexicographic_score([50.0, -1.0, 50.0, 50.0], [1.0, 9.0, 3.0, 1.0])
    assert score[1] < score[0] == score[3] < score[2]


def test_top_share_flags_the_first_tenth_rounding_up():
    flags = top_share_flags(np.arange(11, dtype=float))
    assert flags.sum() == 2 and flags[10] and flags[9]


def test_false_flag_ratio_compares_clean_small_with_clean_large():
    # small: 2 clean companies, 1 flagged -> 0.5; large: 4 clean, 1 flagged -> 0.25; crashed ones ignored.
    flags = [True, False, True, False, False, False, True, True]
    crashed = [False, False, False, False, False, False, False, True]
    vehicles = [2, 3, 30, 25, 40, 21, 10, 50]
    rates = false_flag_rates(flags, crashed, vehicles)
    assert rates["small"] == pytest.approx(0.5)
    assert rates["large"] == pytest.approx(0.25)
    assert rates["ratio"] == pytest.approx(2.0)


# --- backtest on a synthetic city ---------------------------------------------------------------------

def _uscc(i: int) -> str:
    return f"91370100MA{i:08d}"


def synthetic_city(seed: int = 7) -> CreditData:
    """40 companies of 2-40 vehicles over three years; every fifth company crashes ten times as often
    (and speeds more), before and after AS_OF alike."""
    rng = np.random.default_rng(seed)
    start = datetime(2023, 7, 1, tzinfo=UTC)
    days = 3 * 365
    companies, vehicles, violations, parties = [], [], [], []
    for c in range(40):
        uscc = _uscc(c)
        risky = c % 5 == 0
        companies.append({"uscc": uscc, "name": f"公司{c}", "kind": "freight_transport"})
        for v in range(2 + (c * 7) % 39):
            plate = f"鲁A{c:02d}{v:03d}"
            vehicles.append({"plate_number": plate, "plate_type": "01", "operator_uscc": uscc, "vehicle_type": "H11",
                             "registered_on": date(2020, 1, 1)})
            for k in range(rng.poisson(3 * (0.6 if risky else 0.06))):
                day = start + timedelta(days=int(rng.integers(days)), hours=3)
                parties.append({"accident_id": f"A{c}-{v}-{k}", "occurred_at": day, "severity": "injury",
                                "plate_number": plate, "plate_type": "01", "driver_id": None, "liability": "full"})
            for k in range(rng.poisson(3 * (6 if risky else 1))):
                day = start + timedelta(days=int(rng.integers(days)), hours=2)
                violations.append({"violation_id": f"V{c}-{v}-{k}", "occurred_at": day, "behavior": "speeding",
                                   "plate_number": plate, "plate_type": "01", "driver_id": None})
    return CreditData.build(companies=companies, vehicles=vehicles, violations=violations, accident_parties=parties)


def transparent_risk(data: CreditData, moment: datetime) -> pl.DataFrame:
    """A small stand-in scorer: injury/fatal crashes per vehicle-year over two years, shrunk toward the mean."""
    window = moment - timedelta(days=730)
    crashes = data.accident_parties.filter(pl.col("occurred_at") > window).join(
        data.vehicles.select("vehicle", "company"), on="vehicle").group_by("company").agg(n=pl.len().cast(pl.Float64))
    fleet = data.vehicles.group_by("company").agg(years=pl.len().cast(pl.Float64) * 2).join(crashes, on="company", how="left")
    fleet = fleet.with_columns(pl.col("n").fill_null(0.0))
    mean = fleet["n"].sum() / fleet["years"].sum()
    return fleet.select(
        pl.lit("company").alias("subject_kind"), pl.col("company").alias("subject_id"),
        ((pl.col("n") + 10 * mean) / (pl.col("years") + 10)).alias("risk_score"), pl.lit(True).alias("data_sufficient"),
    )


def test_backtest_finds_the_company_that_crashes_more_and_returns_sane_fields():
    result = backtest(synthetic_city(), AS_OF, 12, risk_scorer=transparent_risk)
    json.dumps(result)  # one JSON object
    assert result["subjects"] == 40 and result["horizon_months"] == 12
    assert result["auc"] > 0.5
    assert 0.0 <= result["capture_top10"] <= 1.0 and 0.0 <= result["capture_top10_sms"] <= 1.0
    # risky companies are 1 in 5 but crash ten times as often: the top tenth of vehicles catches more than 10%
    assert result["capture_top10"] > 0.1
    assert result["rank_rho_monthly"] > 0.5
    assert result["calibration_slope"] > 0
    assert result["counts"]["outcome_crashes"] > 0
    assert result["counts"]["vehicles"] == sum(2 + (c * 7) % 39 for c in range(40))
    assert result["calibration_method"] == "poisson_glm_slope_of_log_predicted"


def test_backtest_outcome_uses_events_after_as_of_even_if_reported_late_and_ignores_unliable_parties():
    base = synthetic_city()
    late = {"accident_id": "LATE", "occurred_at": datetime(2025, 8, 1, tzinfo=UTC), "known_at": datetime(2027, 1, 1, tzinfo=UTC),
            "severity": "fatal", "plate_number": "鲁A01000", "plate_type": "01", "liability": "main"}
    innocent = {**late, "accident_id": "NONE", "liability": "none"}
    extra = pl.DataFrame([late, innocent]).with_columns(vehicle=pl.lit("鲁A01000:01"))
    parties = pl.concat([base.accident_parties, CreditData.build(accident_parties=extra).accident_parties])
    with_late = CreditData.build(**{f: getattr(base, f) for f in base.__dataclass_fields__} | {"accident_parties": parties})
    before = backtest(base, AS_OF, 12, risk_scorer=transparent_risk)["counts"]["outcome_crashes"]
    after = backtest(with_late, AS_OF, 12, risk_scorer=transparent_risk)["counts"]["outcome_crashes"]
    assert after == before + 1


def test_backtest_with_the_platforms_risk_score_ranks_the_crash_prone_companies_first():
    result = backtest(synthetic_city(), AS_OF, 12)
    assert result["subjects"] == 40
    assert result["auc"] > 0.5
    assert result["capture_top10"] > 0.1
    assert result["rank_rho_monthly"] is not None and result["calibration_slope"] is not None
