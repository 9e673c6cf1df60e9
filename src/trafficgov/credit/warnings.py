"""主动预警 — proactive warnings detected from credit supervision's inputs, sent to the company's and the
officer's pages before a duty is missed or a risk turns into a crash.

`detect(data, vehicle_dates, as_of)` is pure: a `CreditData`, a small frame of the registry's due dates
(the CreditData vehicles frame carries no inspection or insurance dates) and the day. Kinds:
- driver_points: an operating driver (employed as a driver at a company on as_of) at >= 9 points in the
  current 12-month cycle (记分管理办法 Arts. 3, 15, 17: 12 is the full score);
- inspection_overdue / inspection_due_soon, insurance_overdue / insurance_due_soon: a company's vehicle
  whose inspection (道路交通安全法 Art. 13) or compulsory insurance (Arts. 17, 98) is past due or falls
  due within N days;
- gps_offline: a vehicle whose terminal was offline more than X minutes a day on Y of the last Z days;
- fatigue_rising: a vehicle's (and a company's) fatigue alarms of the last 30 days well above its own rate
  over the 90 days before (a ratio and a minimum count, or a Poisson tail: the data says which);
- accident_rate_jump: a company's responsible accidents of the last 90 days improbably many for the rate
  of its previous 12 months (Poisson upper tail below a threshold), with a minimum count.
Thresholds are dated data (credit/data/warnings.yaml). Each warning has a `dedupe_key` = kind + subject +
period (the due date, the points cycle, or the month of as_of), so a daily run never raises a warning
that is already there. Only what the bureau knew by the end of `as_of` (China time) is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator
from scipy.stats import poisson

from trafficgov.credit.grade import Based, at_version, check_no_overlap, parse_versions
from trafficgov.registry.masking import mask_id_number
from trafficgov.registry.points import anniversary, cycle_containing

if TYPE_CHECKING:
    from trafficgov.credit.frames import CreditData

DATA_FILE = Path(__file__).parent / "data" / "warnings.yaml"
KINDS = (
    "driver_points", "inspection_overdue", "inspection_due_soon", "insurance_overdue", "insurance_due_soon",
    "gps_offline", "fatigue_rising", "accident_rate_jump",
)
KIND_LABELS_ZH = {
    "driver_points": "驾驶人记分临近满分",
    "inspection_overdue": "逾期未检验",
    "inspection_due_soon": "检验即将到期",
    "insurance_overdue": "交强险已过期",
    "insurance_due_soon": "交强险即将到期",
    "gps_offline": "卫星定位终端离线",
    "fatigue_rising": "疲劳驾驶报警上升",
    "accident_rate_jump": "责任事故上升",
}
SUBJECT_LABELS_ZH = {"company": "企业", "vehicle": "车辆", "driver": "驾驶人", "school": "驾校"}
LIABILITY_ZH = {"full": "全部", "main": "主要", "equal": "同等", "minor": "次要", "none": "无"}
# A day's events are known once it is over in China (UTC+8): 16:00 UTC of that date (frames.py).
CHINA = timedelta(hours=8)
VEHICLE_DATES_SCHEMA = {"vehicle": pl.String, "inspection_due": pl.Date, "insurance_expiry": pl.Date, "status": pl.String}


class WarningRulesError(ValueError):
    """预警规则文件错误 — warnings.yaml must not be loaded; names the version and the field."""


# ---------------------------------------------------------------- data schema


class Rule(Based):
    """A rule resting on a legal basis, or marked as the bureau's configurable default (UNCONFIRMED)."""

    label_zh: StrictStr = Field(min_length=1)


class DriverPointsRule(Rule):
    min_points: int = Field(ge=1)
    full_score: int = Field(ge=1)
    employment_roles: list[StrictStr] = Field(min_length=1)

    @model_validator(mode="after")
    def _below_full(self) -> DriverPointsRule:
        if self.min_points > self.full_score:
            raise ValueError("min_points above full_score")
        return self


class DueRule(Rule):
    due_soon_days: int = Field(ge=0, le=366)
    skip_statuses: list[StrictStr] = []


class GpsOfflineRule(Rule):
    min_minutes_per_day: int = Field(ge=0, le=1440)
    min_days: int = Field(ge=1)
    window_days: int = Field(ge=1, le=366)

    @model_validator(mode="after")
    def _fits(self) -> GpsOfflineRule:
        if self.min_days > self.window_days:
            raise ValueError("min_days above window_days")
        return self


class FatigueRule(Rule):
    method: Literal["ratio", "poisson"]
    recent_days: int = Field(ge=1, le=366)
    baseline_days: int = Field(ge=1, le=1096)
    min_count: int = Field(ge=1)
    min_ratio: float = Field(gt=1)
    p_value: float = Field(gt=0, lt=1)
    min_baseline_count: float = Field(gt=0)
    subjects: list[Literal["vehicle", "company"]] = Field(min_length=1)


class AccidentJumpRule(Rule):
    recent_days: int = Field(ge=1, le=366)
    baseline_days: int = Field(ge=1, le=1096)
    min_count: int = Field(ge=1)
    p_value: float = Field(gt=0, lt=1)
    min_baseline_count: float = Field(gt=0)
    liabilities: list[Literal["full", "main", "equal", "minor"]] = Field(min_length=1)
    severities: list[Literal["property", "injury", "fatal"]] = Field(min_length=1)


class WarningRules(BaseModel):
    """One dated version of every warning rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    driver_points: DriverPointsRule
    inspection: DueRule
    insurance: DueRule
    gps_offline: GpsOfflineRule
    fatigue_rising: FatigueRule
    accident_rate_jump: AccidentJumpRule

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class WarningRulebook:
    """主动预警规则 — every dated version; `at(as_of)` answers which is in force."""

    def __init__(self, versions: list[WarningRules]) -> None:
        self.versions = check_no_overlap(versions, "warnings", WarningRulesError)

    def at(self, as_of: date) -> WarningRules:
        return at_version(self.versions, as_of, None, "预警规则")


def parse_rules(raw: Any) -> WarningRulebook:
    """Validate a parsed warnings document; raise WarningRulesError naming what is wrong."""
    return WarningRulebook(parse_versions(raw, WarningRules, "warnings", WarningRulesError))


@cache
def warning_rules() -> WarningRulebook:
    """The shipped rules, validated on first use."""
    return parse_rules(yaml.safe_load(DATA_FILE.read_text(encoding="utf-8")))


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Warning:  # the domain's own name (shadows the builtin category only inside this module)
    """预警 — one warning: what, about whom, whose page shows it, why (in Chinese), and its dedupe key."""

    kind: str
    subject_kind: str
    subject_id: str
    company_uscc: str | None
    reason_zh: str
    detail: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "subject_kind": self.subject_kind, "subject_id": self.subject_id,
            "company_uscc": self.company_uscc, "reason_zh": self.reason_zh, "detail": self.detail,
            "dedupe_key": self.dedupe_key,
        }


def dedupe_key(kind: str, subject_kind: str, subject_id: str, period: str, company_uscc: str | None = None) -> str:
    """kind + subject (+ company, where one subject is warned to several) + period."""
    parts = [kind, subject_kind, subject_id] + ([company_uscc] if company_uscc else []) + [period]
    return ":".join(parts)


def empty_vehicle_dates() -> pl.DataFrame:
    return pl.DataFrame(schema=VEHICLE_DATES_SCHEMA)


# ---------------------------------------------------------------- detection


def detect(data: CreditData, vehicle_dates: pl.DataFrame | None, as_of: date, rules: WarningRules | None = None) -> list[Warning]:
    """Every warning due on `as_of` from what was known by the end of that day (China time).

    `vehicle_dates`: columns vehicle ("PLATE:TYPE"), inspection_due, insurance_expiry, status (registry
    status code, may be null) — built by the service from the registry."""
    rules = rules or warning_rules().at(as_of)
    known = data.known_by(datetime.combine(as_of, time(), tzinfo=UTC) + timedelta(hours=16))
    period = f"{as_of.year:04d}-{as_of.month:02d}"
    found: list[Warning] = []
    found += _driver_points(known, as_of, rules)
    dates = vehicle_dates if vehicle_dates is not None else empty_vehicle_dates()
    found += _due_dates(known, dates, as_of, rules)
    found += _gps_offline(known, as_of, period, rules)
    found += _fatigue_rising(known, as_of, period, rules)
    found += _accident_rate_jump(known, as_of, period, rules)
    unique: dict[str, Warning] = {}
    for w in found:
        unique.setdefault(w.dedupe_key, w)
    return sorted(unique.values(), key=lambda w: (KINDS.index(w.kind), w.company_uscc or "", w.subject_id))


def _basis(rule: Rule, version: str) -> dict[str, Any]:
    return {"basis": rule.basis_text(), "configurable_default": rule.default, "rules_version": version}


def _window(as_of: date, days: int, ending: date | None = None) -> tuple[date, date]:
    """[first, last] of `days` calendar days ending on `ending` (default as_of), both included."""
    last = ending or as_of
    return last - timedelta(days=days - 1), last


def _local_date(column: str) -> pl.Expr:
    """A UTC moment's calendar day in China."""
    return (pl.col(column) + pl.duration(hours=8)).dt.date()


def _driver_points(data: CreditData, as_of: date, rules: WarningRules) -> list[Warning]:
    rule = rules.driver_points
    employed = data.employments.filter(
        (pl.col("start") <= as_of)
        & (pl.col("end").is_null() | (pl.col("end") >= as_of))
        & (pl.col("role").is_null() | pl.col("role").is_in(rule.employment_roles))
    )
    if employed.is_empty():
        return []
    drivers = set(employed["id_number"].to_list())
    licences = data.licences.filter(pl.col("id_number").is_in(drivers))
    decided = (
        data.violations.filter(pl.col("driver_id").is_in(drivers) & (pl.col("points").fill_null(0) > 0))
        .with_columns(day=_local_date("known_at"))
        .select("driver_id", "day", "points")
    )
    by_driver: dict[str, list[tuple[date, int]]] = {}
    for driver, day, points in decided.iter_rows():
        by_driver.setdefault(driver, []).append((day, points))
    companies: dict[str, list[str]] = {}
    for id_number, uscc in employed.select("id_number", "uscc").unique().sort("id_number", "uscc").iter_rows():
        companies.setdefault(id_number, []).append(uscc)
    out: list[Warning] = []
    for id_number, first_issued, stored, cycle_start in licences.select("id_number", "first_issued", "points", "cycle_start").iter_rows():
        anchor = first_issued or cycle_start
        if anchor is None or anchor > as_of:
            continue
        start, end = cycle_containing(anchor, as_of)
        stored = stored or 0
        registry_points = 0
        carried = False
        if cycle_start is None or cycle_start >= start:
            registry_points = stored
        elif stored >= rule.full_score:
            # Art. 15 clears an ended cycle only under 12 points; a full score stays until education is done.
            registry_points, carried, start = stored, True, cycle_start
            end = anniversary(cycle_start, 1)
        violation_points = sum(p for day, p in by_driver.get(id_number, []) if start <= day <= as_of)
        points = max(registry_points, violation_points)
        if points < rule.min_points:
            continue
        full = points >= rule.full_score
        masked = mask_id_number(id_number)
        cycle_text = f"{start.isoformat()}至{(end - timedelta(days=1)).isoformat()}"
        if full:
            reason = (
                f"驾驶人{masked}本记分周期（{cycle_text}）累积记分{points}分，已达满分{rule.full_score}分："
                f"应扣留驾驶证并参加满分学习、考试（《道路交通安全违法行为记分管理办法》第十七条），请立即停止安排其驾驶营运车辆。"
            )
        else:
            reason = (
                f"驾驶人{masked}本记分周期（{cycle_text}）累积记分{points}分，距满分{rule.full_score}分仅差"
                f"{rule.full_score - points}分；满分将被扣留驾驶证并参加满分学习（《道路交通安全违法行为记分管理办法》第三条、第十七条），"
                f"请加强教育、合理安排驾驶任务。"
            )
        detail = {
            "points": points, "registry_points": registry_points, "violation_points": violation_points,
            "full_score": rule.full_score, "threshold": rule.min_points, "cycle_start": start.isoformat(),
            "cycle_end": end.isoformat(), "full": full, "carried_over": carried, **_basis(rule, rules.version_id),
        }
        for uscc in companies.get(id_number, []):
            out.append(Warning(
                "driver_points", "driver", id_number, uscc, reason, detail,
                dedupe_key("driver_points", "driver", id_number, start.isoformat(), uscc),
            ))
    return out


def _due_dates(data: CreditData, dates: pl.DataFrame, as_of: date, rules: WarningRules) -> list[Warning]:
    company_vehicles = data.vehicles.filter(pl.col("company").is_not_null()).select("vehicle", "company").unique("vehicle")
    joined = company_vehicles.join(dates.select(list(VEHICLE_DATES_SCHEMA)), on="vehicle", how="inner")
    out: list[Warning] = []
    for what, column, rule in (("inspection", "inspection_due", rules.inspection), ("insurance", "insurance_expiry", rules.insurance)):
        horizon = as_of + timedelta(days=rule.due_soon_days)
        rows = joined.filter(
            pl.col(column).is_not_null()
            & (pl.col(column) <= horizon)
            & (pl.col("status").is_null() | ~pl.col("status").is_in(rule.skip_statuses))
        )
        for vehicle, company, due in rows.select("vehicle", "company", column).sort("vehicle").iter_rows():
            plate = vehicle.split(":")[0]
            overdue = due < as_of
            kind = f"{what}_overdue" if overdue else f"{what}_due_soon"
            days = (as_of - due).days if overdue else (due - as_of).days
            if what == "inspection":
                reason = (
                    f"车辆{plate}检验有效期至{due.isoformat()}，已逾期{days}日未检验；逾期未检验的机动车不得上道路行驶（《道路交通安全法》第十三条），请立即安排检验。"
                    if overdue else
                    f"车辆{plate}检验有效期至{due.isoformat()}，还有{days}日到期，请按期安排安全技术检验（《道路交通安全法》第十三条）。"
                )
            else:
                reason = (
                    f"车辆{plate}交强险已于{due.isoformat()}到期（已过{days}日）；未投保交强险的车辆将被扣留并处罚款（《道路交通安全法》第十七条、第九十八条），请立即续保。"
                    if overdue else
                    f"车辆{plate}交强险将于{due.isoformat()}到期（还有{days}日），请及时续保（《道路交通安全法》第十七条）。"
                )
            detail = {column: due.isoformat(), "days_overdue" if overdue else "days_left": days, "due_soon_days": rule.due_soon_days, **_basis(rule, rules.version_id)}
            out.append(Warning(kind, "vehicle", vehicle, company, reason, detail, dedupe_key(kind, "vehicle", vehicle, due.isoformat())))
    return out


def _vehicle_companies(data: CreditData) -> pl.DataFrame:
    return data.vehicles.select("vehicle", "company").unique("vehicle")


def _gps_offline(data: CreditData, as_of: date, period: str, rules: WarningRules) -> list[Warning]:
    rule = rules.gps_offline
    first, last = _window(as_of, rule.window_days)
    days = (
        data.gps_alarms.filter(
            (pl.col("kind") == "offline") & pl.col("vehicle").is_not_null()
            & (pl.col("date") >= first) & (pl.col("date") <= last)
        )
        .group_by("vehicle", "date").agg(pl.col("minutes").fill_null(0).sum())
        .filter(pl.col("minutes") > rule.min_minutes_per_day)
        .group_by("vehicle").agg(days=pl.len(), minutes=pl.col("minutes").sum(), longest=pl.col("minutes").max())
        .filter(pl.col("days") >= rule.min_days)
        .join(_vehicle_companies(data), on="vehicle", how="left")
        .sort("vehicle")
    )
    out = []
    for vehicle, n_days, minutes, longest, company in days.select("vehicle", "days", "minutes", "longest", "company").iter_rows():
        plate = vehicle.split(":")[0]
        reason = (
            f"车辆{plate}卫星定位终端近{rule.window_days}日内有{n_days}日单日离线超过{rule.min_minutes_per_day}分钟"
            f"（累计{minutes}分钟，单日最长{longest}分钟），动态监控失效期间无法发现疲劳、超速，请检修终端并核查是否人为断电。"
        )
        detail = {
            "offline_days": n_days, "offline_minutes": minutes, "longest_minutes": longest, "window_start": first.isoformat(),
            "window_end": last.isoformat(), "min_minutes_per_day": rule.min_minutes_per_day, "min_days": rule.min_days,
            **_basis(rule, rules.version_id),
        }
        out.append(Warning("gps_offline", "vehicle", vehicle, company, reason, detail, dedupe_key("gps_offline", "vehicle", vehicle, period)))
    return out


def _upper_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected)."""
    return float(poisson.sf(observed - 1, expected))


def _rising(observed: int, baseline: int, recent_days: int, baseline_days: int, rule: FatigueRule | AccidentJumpRule, *, method: str) -> tuple[bool, float, float]:
    """(warn, expected count in the recent window at the subject's own floored baseline rate, tail p)."""
    expected = max(baseline, rule.min_baseline_count) * recent_days / baseline_days
    p = _upper_tail(observed, expected)
    if observed < rule.min_count:
        return False, expected, p
    if method == "ratio":
        return observed >= rule.min_ratio * expected, expected, p  # type: ignore[union-attr]
    return p < rule.p_value, expected, p


def _fatigue_rising(data: CreditData, as_of: date, period: str, rules: WarningRules) -> list[Warning]:
    rule = rules.fatigue_rising
    recent_first, recent_last = _window(as_of, rule.recent_days)
    base_first, base_last = _window(as_of, rule.baseline_days, ending=recent_first - timedelta(days=1))
    alarms = (
        data.gps_alarms.filter(
            (pl.col("kind") == "fatigue") & pl.col("vehicle").is_not_null()
            & (pl.col("date") >= base_first) & (pl.col("date") <= recent_last)
        )
        .with_columns(recent=pl.col("date") >= recent_first)
        .join(data.vehicles.select("vehicle", "company", "registered_on").unique("vehicle"), on="vehicle", how="left")
    )
    out: list[Warning] = []
    for subject_kind in rule.subjects:
        key = "vehicle" if subject_kind == "vehicle" else "company"
        frame = alarms.filter(pl.col(key).is_not_null())
        if subject_kind == "vehicle":
            # A vehicle registered inside the baseline window has no rate of its own to rise above.
            frame = frame.filter(pl.col("registered_on").is_null() | (pl.col("registered_on") <= base_first))
        counts = (
            frame.group_by(key).agg(
                recent=pl.col("count").filter(pl.col("recent")).sum(),
                baseline=pl.col("count").filter(~pl.col("recent")).sum(),
                owner=pl.col("company").first(),
            ).sort(key)
        )
        for subject, recent, baseline, company in counts.select(key, "recent", "baseline", "owner").iter_rows():
            warn, expected, p = _rising(int(recent), int(baseline), rule.recent_days, rule.baseline_days, rule, method=rule.method)
            if not warn:
                continue
            who = f"车辆{subject.split(':')[0]}" if subject_kind == "vehicle" else "本单位车辆"
            ratio = recent / expected
            reason = (
                f"{who}近{rule.recent_days}日疲劳驾驶报警{recent}次，前{rule.baseline_days}日共{baseline}次"
                f"（按此水平{rule.recent_days}日约{expected:.1f}次），升至{ratio:.1f}倍；连续驾驶超过4小时未休息属违法行为"
                f"（《道路交通安全法实施条例》第六十二条第（七）项），请核查排班和驾驶员休息。"
            )
            detail = {
                "recent_count": int(recent), "baseline_count": int(baseline), "expected": round(expected, 3), "ratio": round(ratio, 2),
                "p_value": p, "method": rule.method, "min_count": rule.min_count, "min_ratio": rule.min_ratio,
                "p_threshold": rule.p_value, "recent_start": recent_first.isoformat(), "baseline_start": base_first.isoformat(),
                **_basis(rule, rules.version_id),
            }
            company_uscc = company if subject_kind == "vehicle" else subject
            out.append(Warning("fatigue_rising", subject_kind, subject, company_uscc, reason, detail, dedupe_key("fatigue_rising", subject_kind, subject, period)))
    return out


def _accident_rate_jump(data: CreditData, as_of: date, period: str, rules: WarningRules) -> list[Warning]:
    rule = rules.accident_rate_jump
    recent_first, recent_last = _window(as_of, rule.recent_days)
    base_first, _ = _window(as_of, rule.baseline_days, ending=recent_first - timedelta(days=1))
    parties = (
        data.accident_parties.filter(pl.col("liability").is_in(rule.liabilities) & pl.col("severity").is_in(rule.severities))
        .with_columns(day=_local_date("occurred_at"))
        .filter((pl.col("day") >= base_first) & (pl.col("day") <= recent_last))
        .join(_vehicle_companies(data), on="vehicle", how="inner")
        .filter(pl.col("company").is_not_null())
        # One crash counts once for a company, whichever number of its vehicles were in it.
        .group_by("company", "accident_id").agg(day=pl.col("day").first(), severity=pl.col("severity").first())
    )
    counts = parties.group_by("company").agg(
        recent=(pl.col("day") >= recent_first).sum(),
        baseline=(pl.col("day") < recent_first).sum(),
        harmed=((pl.col("day") >= recent_first) & pl.col("severity").is_in(["injury", "fatal"])).sum(),
    ).sort("company")
    out = []
    for company, recent, baseline, harmed in counts.select("company", "recent", "baseline", "harmed").iter_rows():
        warn, expected, p = _rising(int(recent), int(baseline), rule.recent_days, rule.baseline_days, rule, method="poisson")
        if not warn:
            continue
        liabilities = "、".join(LIABILITY_ZH[x] for x in rule.liabilities)
        reason = (
            f"本单位车辆近{rule.recent_days}日发生负有{liabilities}责任的事故{recent}起（其中伤亡事故{harmed}起），"
            f"此前{rule.baseline_days}日共{baseline}起，按此水平{rule.recent_days}日约{expected:.1f}起；出现这么多起的概率约{p:.2%}，"
            f"事故率明显上升，请排查车辆、驾驶员和线路的安全隐患。"
        )
        detail = {
            "recent_count": int(recent), "baseline_count": int(baseline), "harmed_recent": int(harmed), "expected": round(expected, 3),
            "p_value": p, "p_threshold": rule.p_value, "min_count": rule.min_count, "liabilities": list(rule.liabilities),
            "recent_start": recent_first.isoformat(), "baseline_start": base_first.isoformat(), **_basis(rule, rules.version_id),
        }
        out.append(Warning("accident_rate_jump", "company", company, company, reason, detail, dedupe_key("accident_rate_jump", "company", company, period)))
    return out
