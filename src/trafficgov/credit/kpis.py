"""守信认定指标的输入 — a company's last 12 months read out of `CreditData` into the `plan.KpiInputs` of its
red-list application (earned-recognition style KPIs, plan.earned_recognition_kpis).

Pure: Polars and the credit tables, no store. Only what was known on `as_of` counts
(`data.known_by(risk.as_moment(as_of))`: the end of that day in China), and nothing dated after it.
The period is the 12 months up to as_of: from `add_months(as_of, -12) + 1 day` to as_of, as in the grades.

What each input reads, and the proxies (docs/credit.md, 守信认定指标):
- vehicles: the company's vehicles (frames' `company`: the operating company where set, else the owning
  company) registered by as_of.
- periodic inspections: inspections of kind `periodic` of those vehicles in the period. PROXY for the
  first pass: we hold no re-test data, so a periodic inspection counts as passed first time when it
  recorded no defects and did not put the vehicle out of service.
- GPS: expected minutes = monitored vehicles x days in the period x 1440, where a monitored vehicle is
  one of the company's vehicles with any GPS alarm row (any kind) in the period — PROXY: the store holds
  alarms, not the list of terminals, so a vehicle never seen by the monitoring platform is not counted as
  monitored. Offline minutes = the `offline` alarm minutes of its vehicles in the period, capped at the
  expected minutes.
- training: required = the grade table's `training_hours_per_driver_month` (the threshold of the
  company grade's training deduction, data/grades.yaml) x drivers employed on as_of in a driving role
  (as in the company grade) x months of the period with a safety record; done = the training hours of
  those safety_records months. Months without a record are not required here: the grade deducts for them
  (safety_records_missing_months).
- violations: violations of its vehicles that happened in the period and ended in a penalty — decided as
  in the grades (grade_inputs): an outcome that is not a non-penalty outcome (grade_inputs.NOT_PENALISED),
  or, where a source gives no outcome, points given.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from trafficgov.credit.grade import GradeTables, add_months, grade_tables
from trafficgov.credit.grade_inputs import is_driving_role, penalised
from trafficgov.credit.plan import KpiInputs
from trafficgov.credit.risk import as_moment

if TYPE_CHECKING:
    from trafficgov.credit.frames import CreditData

PERIOD_MONTHS = 12
MINUTES_PER_DAY = 1440


def period_start(as_of: date, months: int = PERIOD_MONTHS) -> date:
    """The first day of the 12 months up to and including `as_of`."""
    return add_months(as_of, -months) + timedelta(days=1)


def _local_day(column: str) -> pl.Expr:
    """The China (UTC+8) calendar day of a UTC datetime column."""
    return (pl.col(column) + pl.duration(hours=8)).dt.date()


def _no_defects() -> pl.Expr:
    defects = pl.col("defects").str.strip_chars()
    return defects.is_null() | (defects == "")


def kpi_inputs(data: CreditData, uscc: str, as_of: date, *, tables: GradeTables | None = None) -> KpiInputs:
    """守信认定指标的输入 — the company's last 12 months as known on `as_of` (see the module docstring)."""
    known = data.known_by(as_moment(as_of))
    start = period_start(as_of)
    days = (as_of - start).days + 1
    fleet = known.vehicles.filter(pl.col("company") == uscc).select("vehicle").drop_nulls().unique()
    vehicles = fleet["vehicle"].to_list()
    mine = pl.col("vehicle").is_in(vehicles)

    def dated(column: str) -> pl.Expr:
        return (pl.col(column) >= start) & (pl.col(column) <= as_of)

    periodic = (
        known.inspections.filter(mine & (pl.col("kind") == "periodic") & dated("date"))
        .unique("inspection_id", keep="first")
    )
    first_pass = periodic.filter(_no_defects() & ~pl.col("out_of_service").fill_null(False)).height

    alarms = known.gps_alarms.filter(mine & dated("date"))
    monitored = alarms["vehicle"].n_unique()
    expected = float(monitored * days * MINUTES_PER_DAY)
    offline = float(alarms.filter(pl.col("kind") == "offline")["minutes"].fill_null(0).sum())

    hours = (tables or grade_tables()).at(as_of).company.thresholds["training_hours_per_driver_month"].value
    drivers = (
        known.employments.filter(
            (pl.col("uscc") == uscc) & is_driving_role(pl.col("role")) & (pl.col("start") <= as_of)
            & (pl.col("end").is_null() | (pl.col("end") >= as_of))
        )["id_number"].n_unique()
    )
    first_month, last_month = f"{start.year:04d}-{start.month:02d}", f"{as_of.year:04d}-{as_of.month:02d}"
    months = (
        known.safety_records.filter((pl.col("uscc") == uscc) & (pl.col("month") >= first_month) & (pl.col("month") <= last_month))
        .unique("month", keep="last", maintain_order=True)
        .sort("month")  # a fixed order of summation: the same hours on every run
    )
    violations = known.violations.with_columns(on=_local_day("occurred_at")).filter(mine & penalised() & dated("on"))

    return KpiInputs(
        vehicles=len(vehicles),
        periodic_inspections=periodic.height,
        periodic_first_pass=first_pass,
        gps_expected_minutes=expected,
        gps_offline_minutes=min(offline, expected),
        training_hours_required=float(hours * drivers * months.height),
        training_hours_done=round(float(months["training_hours"].fill_null(0).sum()), 4),  # no float noise in a sum of tenths
        violations=violations.height,
    )


__all__ = ["kpi_inputs", "period_start"]
