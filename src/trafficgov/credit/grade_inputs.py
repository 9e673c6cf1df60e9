"""信用等级的输入 — from `CreditData` (Polars frames) to the pure graders of grade.py, the veto events the
red/black lists read, and the list facts of every subject.

Pure: Polars and the grade/lists modules, no store. Every record is attributed to its subjects once,
with joins and one pass over the rows (never a filter of a whole frame per subject), so a city of tens
of thousands of subjects is graded in seconds.

Only what was known on `as_of` is used: `data.known_by(as_of)` (the end of that day in China), and no
event dated after `as_of`.

Subjects and what is attributed to them
- company (道路运输企业: kind passenger_transport, freight_transport, dangerous_goods, bus): its vehicles
  (frames' `company`: the operating company where set, else the owning company) registered by as_of;
  drivers = people employed on as_of in a driving role; the accidents (severity, that party's liability,
  deaths), decided violations, inspections and GPS offline minutes of its vehicles; inspections naming
  its USCC; its safety_records months. A company without vehicles on as_of is not graded (grade.py:
  无车辆不评定等级). Records are those of the period grade.py uses (`period_months` of the table in force).
- school (kind driving_school): graduates = licences naming the school whose first two years
  (first_issued up to, not including, the second anniversary) overlap the assessment period — the
  drivers licensed under two years of 第五十八条第二款 (机动车驾驶证申领和使用规定, "三年内驾龄驾驶人交通违法率",
  two years per issue 5); graduate violations/accidents = theirs in the period and within those two
  years. NOT IN OUR INPUTS: the exam first-pass rate (exam_first_pass_rate=None: the row is not scored)
  and training misconduct (misconduct=(): the veto cannot be raised from this data). Own violations and
  inspections: those of the school's own vehicles.
- driver (道路运输驾驶员): a person employed on as_of in a driving role by a transport company.
  PROXY: we hold no qualification-certificate (从业资格证) data, so `certificate_first_issued` is the
  earliest start of such an employment. Offences and accidents: those naming the person (a driver's
  record follows them across companies). `order163_cycle_points`: the highest Order 163 points in a
  licence cycle (记分办法 第三条: twelve months from the licence's first issue; points count on the
  decision day, 第九条/registry.points) overlapping the credit cycle, from the decided violations up to
  as_of, or the licences frame's `points` where its cycle (from `cycle_start`) overlaps and began by
  as_of — that value is the store's current one, so for a past as_of it may include later points.

A violation counts once decided: `outcome` given and not a non-penalty outcome (NOT_PENALISED), or,
where a source gives no outcome, `points` given. A behaviour code unknown to the catalogue is dropped
(the points still count); a violation that cannot be given a credit tier (no fixed tier for its
behaviour and points not one of 0/1/3/6/9/12) is left out. Unknown severities or liabilities are left
out. Dates are China (UTC+8) calendar days of `occurred_at` (decision days: of `known_at`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from trafficgov.credit import lists
from trafficgov.credit.grade import (
    LIABILITIES,
    SEVERITIES,
    Accident,
    CompanyGradeInputs,
    DriverGradeInputs,
    GpsDay,
    GradeResult,
    GradeTables,
    GradeVersion,
    Inspection,
    Offence,
    SafetyMonth,
    SchoolGradeInputs,
    add_months,
    driver_cycle,
    grade_company,
    grade_driver,
    grade_school,
    grade_tables,
)

if TYPE_CHECKING:
    from trafficgov.credit.frames import CreditData

TRANSPORT_KINDS = frozenset({"passenger_transport", "freight_transport", "dangerous_goods", "bus"})
SCHOOL_KIND = "driving_school"
SUBJECT_KINDS = ("company", "school", "driver")
NOVICE_YEARS = 2  # issue 5: a school is graded by its graduates' first two years
NOT_PENALISED = frozenset({"no_penalty", "not_penalised", "cancelled", "revoked", "withdrawn"})
ORDER163_POINTS = (0, 1, 3, 6, 9, 12)
INSPECTION_KINDS = ("roadside", "periodic", "company_audit")
Key = tuple[str, str]
OFFENCE_COLS = ["on", "behavior", "points"]
ACCIDENT_COLS = ["on", "severity", "liability", "deaths"]
INSPECTION_COLS = ["on", "out_of_service", "kind"]


def penalised() -> pl.Expr:
    """A violation that ended in a penalty: an outcome not in NOT_PENALISED, or no outcome but points given."""
    outcome = pl.col("outcome").str.strip_chars()
    return pl.when(outcome.is_null() | (outcome == "")).then(pl.col("points").is_not_null()).otherwise(~outcome.is_in(sorted(NOT_PENALISED)))


def is_driving_role(role: pl.Expr) -> pl.Expr:
    """A role named like a driver (demo city: driver; escort, safety_manager and instructor are not).
    A missing role (a source without the column) counts as driving."""
    return role.is_null() | role.str.contains("driver")


def _local_day(column: str) -> pl.Expr:
    return (pl.col(column) + pl.duration(hours=8)).dt.date()


def _moment(as_of: date) -> datetime:
    """The end of `as_of` in China (next day 00:00 +08:00)."""
    return datetime(as_of.year, as_of.month, as_of.day, 16, tzinfo=UTC)


def _grouped(frame: pl.DataFrame, key: str | list[str], make: Callable[..., Any], columns: list[str]) -> dict[Any, list[Any]]:
    """key -> [make(*row)] in one pass over the frame's rows."""
    keys = [key] if isinstance(key, str) else key
    frame = frame.drop_nulls(keys)
    out: dict[Any, list[Any]] = defaultdict(list)
    key_cols = [frame[k].to_list() for k in keys]
    key_values = key_cols[0] if len(keys) == 1 else list(zip(*key_cols, strict=True))
    for k, *values in zip(key_values, *(frame[c].to_list() for c in columns), strict=True):
        out[k].append(make(*values))
    return out


def _by(frame: pl.DataFrame, key: str, objects: list[Any]) -> dict[str, list[Any]]:
    """key -> the prepared objects of the frame's rows (column `rid`), in one pass: each record is built
    once and shared by every subject it counts for."""
    frame = frame.drop_nulls(key)
    out: dict[str, list[Any]] = defaultdict(list)
    for k, rid in zip(frame[key].to_list(), frame["rid"].to_list(), strict=True):
        out[k].append(objects[rid])
    return out


def _objects(frame: pl.DataFrame, make: Callable[..., Any], columns: list[str], since: date) -> list[Any]:
    """One object per row (index = `rid`) for rows dated on or after `since`, None before."""
    out: list[Any] = [None] * frame.height
    recent = frame.filter(pl.col("on") >= since)
    for rid, *values in zip(recent["rid"].to_list(), *(recent[c].to_list() for c in columns), strict=True):
        out[rid] = make(*values)
    return out


# ---------------------------------------------------------------- preparation


@dataclass(frozen=True)
class _Prepared:
    """CreditData as known on as_of, cleaned and with each record's company attached."""

    as_of: date
    version: GradeVersion
    violations: pl.DataFrame  # rid, vehicle, company, driver_id, on, decided_on, behavior, points
    accidents: pl.DataFrame  # rid, vehicle, company, driver_id, on, severity, liability, deaths
    inspections: pl.DataFrame  # row, vehicle, company, uscc, on, out_of_service, kind
    gps: pl.DataFrame  # vehicle, company, on, minutes (offline, per vehicle-day)
    vehicles: pl.DataFrame  # vehicle, company
    employments: pl.DataFrame
    licences: pl.DataFrame
    safety_records: pl.DataFrame
    kinds: dict[str, str]  # uscc -> company kind
    offences: list[Offence | None]  # by violations' rid (None: before `since`)
    crashes: list[Accident | None]  # by accidents' rid


def _prepare(data: CreditData, as_of: date, tables: GradeTables, since: date | None = None) -> _Prepared:
    """`since`: the first day whose violations and accidents are built as grade.py objects."""
    known = data.known_by(_moment(as_of))
    version = tables.at(as_of)
    codes = sorted(tables.behaviour_codes)
    fixed = sorted(version.tier_of_behaviour)
    vehicles = known.vehicles.select("vehicle", "company").drop_nulls("vehicle").unique("vehicle", keep="first")
    decided = penalised()
    violations = (
        known.violations.filter(decided)
        .with_columns(
            on=_local_day("occurred_at"), decided_on=_local_day("known_at"),
            behavior=pl.when(pl.col("behavior").is_in(codes)).then(pl.col("behavior")).otherwise(None),
        )
        .filter((pl.col("on") <= as_of) & (pl.col("behavior").is_in(fixed) | pl.col("points").is_in(ORDER163_POINTS)))
        .select("vehicle", "driver_id", "on", "decided_on", "behavior", "points")
        .join(vehicles, on="vehicle", how="left")
        .with_row_index("rid")
    )
    accidents = (
        known.accident_parties.with_columns(on=_local_day("occurred_at"), deaths=pl.col("deaths").fill_null(0))
        .filter((pl.col("on") <= as_of) & pl.col("severity").is_in(SEVERITIES) & pl.col("liability").is_in(LIABILITIES))
        .select("vehicle", "driver_id", "on", "severity", "liability", "deaths")
        .join(vehicles, on="vehicle", how="left")
        .with_row_index("rid")
    )
    inspections = (
        known.inspections.with_row_index("row")
        .filter(pl.col("date") <= as_of)
        .select(
            "row", "vehicle", "uscc", pl.col("date").alias("on"), pl.col("out_of_service").fill_null(False),
            pl.when(pl.col("kind").is_in(INSPECTION_KINDS)).then(pl.col("kind")).otherwise(pl.lit("roadside")).alias("kind"),
        )
        .join(vehicles, on="vehicle", how="left")
    )
    gps = (
        known.gps_alarms.filter((pl.col("kind") == "offline") & (pl.col("date") <= as_of) & pl.col("vehicle").is_not_null())
        .group_by("vehicle", "date")
        .agg(pl.col("minutes").fill_null(0).sum())
        .rename({"date": "on"})
        .join(vehicles, on="vehicle", how="left")
    )
    kinds = dict(zip(known.companies["uscc"].to_list(), known.companies["kind"].to_list(), strict=True))
    first = since or as_of + timedelta(days=1)
    return _Prepared(as_of, version, violations, accidents, inspections, gps, vehicles, known.employments,
                     known.licences, known.safety_records, kinds,
                     _objects(violations, Offence, OFFENCE_COLS, first), _objects(accidents, _accident, ACCIDENT_COLS, first))


def _period_start(as_of: date, months: int) -> date:
    return add_months(as_of, -months) + timedelta(days=1)


def _accident(on: date, severity: str, liability: str, deaths: int) -> Accident:
    return Accident(on, severity, liability, int(deaths))  # type: ignore[arg-type]


def _inspection(on: date, out_of_service: bool, kind: str) -> Inspection:
    return Inspection(on, bool(out_of_service), kind)  # type: ignore[arg-type]


def _subject_kind_of(kinds: Mapping[str, str], uscc: str) -> str:
    return "school" if kinds.get(uscc) == SCHOOL_KIND else "company"


# ---------------------------------------------------------------- grades


def grade_all(data: CreditData, as_of: date, *, subjects: set[str] | None = None,
              tables: GradeTables | None = None) -> dict[Key, GradeResult]:
    """信用等级 of every transport company, driving school and operating driver on `as_of`, keyed by
    (subject_kind, subject_id); `subjects` limits the kinds ({"company", "school", "driver"}; None: all).
    What is attributed to whom, the proxies and what is not in our inputs: see the module docstring."""
    kinds = set(SUBJECT_KINDS) if subjects is None else set(subjects) & set(SUBJECT_KINDS)
    book = tables or grade_tables()
    v = book.at(as_of)
    since = min(_period_start(as_of, t.period_months) for t in (v.company, v.school, v.driver)) - timedelta(days=1)
    p = _prepare(data, as_of, book, since)
    out: dict[Key, GradeResult] = {}
    if "company" in kinds:
        out.update(_grade_companies(p, book))
    if "school" in kinds:
        out.update(_grade_schools(p, book))
    if "driver" in kinds:
        out.update(_grade_drivers(p, book))
    return out


def _usccs(p: _Prepared, wanted: Iterable[str]) -> list[str]:
    wanted = set(wanted)
    return sorted(uscc for uscc, kind in p.kinds.items() if kind in wanted)


def _active_drivers(p: _Prepared) -> pl.DataFrame:
    """Employments in a driving role active on as_of (id_number, uscc)."""
    return p.employments.filter(
        is_driving_role(pl.col("role")) & (pl.col("start") <= p.as_of) & (pl.col("end").is_null() | (pl.col("end") >= p.as_of))
    ).select("id_number", "uscc").unique()


def _grade_companies(p: _Prepared, book: GradeTables) -> dict[Key, GradeResult]:
    companies = _usccs(p, TRANSPORT_KINDS)
    start = _period_start(p.as_of, p.version.company.period_months)
    inside = (pl.col("on") >= start) & pl.col("company").is_in(companies)
    fleet = dict(p.vehicles.filter(pl.col("company").is_in(companies)).group_by("company").len().iter_rows())
    drivers = dict(_active_drivers(p).group_by("uscc").agg(pl.col("id_number").n_unique()).iter_rows())
    violations = _by(p.violations.filter(inside), "company", p.offences)
    accidents = _by(p.accidents.filter(inside), "company", p.crashes)
    by_uscc = p.inspections.filter(pl.col("uscc").is_not_null()).with_columns(company=pl.col("uscc"))
    inspections = _grouped(
        pl.concat([p.inspections, by_uscc], how="vertical_relaxed").filter(inside).unique(["company", "row"]),
        "company", _inspection, INSPECTION_COLS,
    )
    gps = _grouped(p.gps.filter(inside), "company", lambda on, vehicle, minutes: GpsDay(on, vehicle, float(minutes)), ["on", "vehicle", "minutes"])
    first_month = f"{start.year:04d}-{start.month:02d}"
    safety = _grouped(
        p.safety_records.filter(pl.col("month") >= first_month).unique(["uscc", "month"], keep="last"), "uscc",
        lambda month, hours, checks, staff: SafetyMonth(month, float(hours or 0), int(checks or 0), int(staff or 0)),
        ["month", "training_hours", "self_inspections", "monitoring_staff"],
    )
    out: dict[Key, GradeResult] = {}
    for uscc in companies:
        if not fleet.get(uscc):
            continue  # 无车辆不评定等级
        inputs = CompanyGradeInputs(
            uscc, fleet[uscc], drivers.get(uscc, 0), accidents.get(uscc, ()), violations.get(uscc, ()),
            inspections.get(uscc, ()), safety.get(uscc, ()), gps.get(uscc, ()),
        )
        out[("company", uscc)] = grade_company(inputs, p.as_of, tables=book)
    return out


def _graduates(p: _Prepared, schools: list[str], start: date) -> pl.DataFrame:
    """Licences of the schools' graduates whose first two years overlap [start, as_of]."""
    return (
        p.licences.filter(pl.col("school_uscc").is_in(schools) & pl.col("first_issued").is_not_null() & (pl.col("first_issued") <= p.as_of))
        .with_columns(novice_end=pl.col("first_issued").dt.offset_by(f"{NOVICE_YEARS}y"))
        .filter(pl.col("novice_end") > start)
        .unique("id_number", keep="last")
        .select("id_number", "school_uscc", "first_issued", "novice_end")
    )


def _grade_schools(p: _Prepared, book: GradeTables) -> dict[Key, GradeResult]:
    schools = _usccs(p, {SCHOOL_KIND})
    start = _period_start(p.as_of, p.version.school.period_months)
    graduates = _graduates(p, schools, start)
    count = dict(graduates.group_by("school_uscc").len().iter_rows())
    novice = (pl.col("on") >= start) & (pl.col("on") >= pl.col("first_issued")) & (pl.col("on") < pl.col("novice_end"))
    by_driver = graduates.rename({"id_number": "driver_id"})
    g_viol = _by(p.violations.join(by_driver, on="driver_id").filter(novice), "school_uscc", p.offences)
    g_acc = _by(p.accidents.join(by_driver, on="driver_id").filter(novice), "school_uscc", p.crashes)
    own = (pl.col("on") >= start) & pl.col("company").is_in(schools)
    own_viol = _by(p.violations.filter(own), "company", p.offences)
    own_insp = _grouped(p.inspections.filter(own), "company", _inspection, INSPECTION_COLS)
    out: dict[Key, GradeResult] = {}
    for uscc in schools:
        inputs = SchoolGradeInputs(
            uscc, count.get(uscc, 0), g_viol.get(uscc, ()), g_acc.get(uscc, ()),
            exam_first_pass_rate=None,  # not in our inputs
            own_violations=own_viol.get(uscc, ()), own_inspections=own_insp.get(uscc, ()),
            misconduct=(),  # not in our inputs
        )
        out[("school", uscc)] = grade_school(inputs, p.as_of, tables=book)
    return out


def _operating_drivers(p: _Prepared) -> dict[str, date]:
    """id_number -> certificate proxy (earliest start of a driving employment by a transport company),
    for those so employed on as_of."""
    transport = _usccs(p, TRANSPORT_KINDS)
    jobs = p.employments.filter(is_driving_role(pl.col("role")) & pl.col("uscc").is_in(transport) & (pl.col("start") <= p.as_of))
    active = jobs.filter(pl.col("end").is_null() | (pl.col("end") >= p.as_of)).select("id_number").unique()
    first = jobs.join(active, on="id_number").group_by("id_number").agg(pl.col("start").min())
    return dict(first.iter_rows())


def _licence_cycles(p: _Prepared, threshold: int) -> pl.DataFrame:
    """Order 163 points per driver and licence cycle: driver_id, cycle_start, cycle_end (exclusive),
    points, reached_on (the decision day the cycle reached `threshold`, null if it did not or unknown).

    From decided violations (cycles from the licence's first issue, else from its cycle_start), plus the
    licences frame's current points as its own cycle where it began by as_of."""
    anchors = p.licences.select(
        pl.col("id_number").alias("driver_id"), pl.coalesce("first_issued", "cycle_start").alias("anchor")
    ).drop_nulls().unique("driver_id", keep="last")
    years = pl.col("decided_on").dt.year() - pl.col("anchor").dt.year()
    derived = (
        p.violations.filter(pl.col("driver_id").is_not_null() & (pl.col("points") > 0) & (pl.col("decided_on") <= p.as_of))
        .join(anchors, on="driver_id")
        .filter(pl.col("decided_on") >= pl.col("anchor"))
        .with_columns(years=years)
        .with_columns(years=pl.col("years") - (pl.col("anchor").dt.offset_by(pl.format("{}y", "years")) > pl.col("decided_on")).cast(pl.Int32))
        .with_columns(
            cycle_start=pl.col("anchor").dt.offset_by(pl.format("{}y", "years")),
            cycle_end=pl.col("anchor").dt.offset_by(pl.format("{}y", pl.col("years") + 1)),
        )
        .sort("driver_id", "cycle_start", "decided_on")
        .with_columns(total=pl.col("points").cum_sum().over("driver_id", "cycle_start"))
        .group_by("driver_id", "cycle_start", "cycle_end")
        .agg(
            pl.col("points").sum().cast(pl.Int64),
            pl.col("decided_on").filter(pl.col("total") >= threshold).min().alias("reached_on"),
            pl.col("decided_on").max().alias("last_on"),
        )
    )
    snapshot = (
        p.licences.filter(pl.col("cycle_start").is_not_null() & (pl.col("cycle_start") <= p.as_of) & (pl.col("points") > 0))
        .select(
            pl.col("id_number").alias("driver_id"), "cycle_start",
            pl.col("cycle_start").dt.offset_by("1y").alias("cycle_end"), pl.col("points").cast(pl.Int64),
        )
    )
    # A snapshot at the threshold is dated by the last decision in its cycle (else its start): the day
    # the points were last added is when they reached the total at the latest.
    last = derived.select("driver_id", pl.col("cycle_start").alias("snap_start"), "last_on")
    snapshot = (
        snapshot.join(last, left_on=["driver_id", "cycle_start"], right_on=["driver_id", "snap_start"], how="left")
        .join(derived.select("driver_id", pl.col("cycle_start").alias("cs"), pl.col("reached_on").alias("derived_reached")),
              left_on=["driver_id", "cycle_start"], right_on=["driver_id", "cs"], how="left")
        .with_columns(
            reached_on=pl.when((pl.col("points") >= threshold) & pl.col("derived_reached").is_null())
            .then(pl.coalesce("last_on", "cycle_start")).otherwise(None),
        )
        .select("driver_id", "cycle_start", "cycle_end", "points", "reached_on", "last_on")
    )
    return pl.concat([derived, snapshot], how="vertical_relaxed")


def _full_score_threshold(version: GradeVersion) -> int:
    return min((v.threshold or 12 for v in version.driver.vetoes if v.trigger == "order163_full_score"), default=12)


def _grade_drivers(p: _Prepared, book: GradeTables) -> dict[Key, GradeResult]:
    certificates = _operating_drivers(p)
    if not certificates:
        return {}
    ids = list(certificates)
    months = p.version.driver.period_months
    earliest = add_months(p.as_of, -months)  # every credit cycle holding as_of starts after this day
    cycles = {d: driver_cycle(first, p.as_of, months) for d, first in certificates.items()}
    cycle_frame = pl.DataFrame({"driver_id": list(cycles), "cs": [c[0] for c in cycles.values()]}, schema={"driver_id": pl.String, "cs": pl.Date})
    mine = pl.col("driver_id").is_in(ids) & (pl.col("on") >= earliest)
    offences = _by(p.violations.filter(mine), "driver_id", p.offences)
    accidents = _by(p.accidents.filter(mine), "driver_id", p.crashes)
    points = dict(
        _licence_cycles(p, _full_score_threshold(p.version))
        .join(cycle_frame, on="driver_id")
        .filter(pl.col("cycle_end") > pl.col("cs"))
        .group_by("driver_id")
        .agg(pl.col("points").max())
        .iter_rows()
    )
    out: dict[Key, GradeResult] = {}
    for driver_id, first in certificates.items():
        inputs = DriverGradeInputs(driver_id, first, offences.get(driver_id, ()), accidents.get(driver_id, ()), int(points.get(driver_id) or 0))
        out[("driver", driver_id)] = grade_driver(inputs, p.as_of, tables=book)
    return out


# ---------------------------------------------------------------- veto events


def veto_events(data: CreditData, as_of: date, *, tables: GradeTables | None = None) -> dict[Key, list[lists.VetoEvent]]:
    """一票否决事项 with their dates, up to `as_of`, for every company, school and driver that has one.

    Read from the veto rows of the grade table in force (code = the row's code): a responsible fatal
    accident (liability in the table's responsible_liabilities), a behaviour veto (e.g. fake_or_other_plate,
    drunk_driving), a driver's licence cycle reaching the full score (dated on the decision day that
    reached it). A company's or school's events are those of its vehicles, as in its grade (a school's
    graduates' crashes are not its veto; training misconduct is not in our inputs); a driver's are
    those naming them. Events of the whole history known on as_of; the lists pick their window."""
    book = tables or grade_tables()
    return _veto_events(_prepare(data, as_of, book))


def _veto_events(p: _Prepared) -> dict[Key, list[lists.VetoEvent]]:
    v = p.version
    out: dict[Key, set[lists.VetoEvent]] = defaultdict(set)
    responsible = pl.col("severity").eq("fatal") & pl.col("liability").is_in(v.responsible_liabilities)
    for kind in SUBJECT_KINDS:
        for row in v.table(kind).vetoes:
            if row.trigger == "order163_full_score":
                reached = _licence_cycles(p, row.threshold or 12).drop_nulls("reached_on")
                for driver_id, on in reached.select("driver_id", "reached_on").iter_rows():
                    out[("driver", driver_id)].add(lists.VetoEvent(row.code, on))
                continue
            if row.trigger == "responsible_fatal_accident":
                frame, what = p.accidents.filter(responsible), "accident"
            elif row.trigger == "behaviour":
                frame, what = p.violations.filter(pl.col("behavior").is_in(row.behaviours)), "violation"
            else:
                continue  # misconduct: not in our inputs
            if kind == "driver":
                keys = frame.select("driver_id", "on").drop_nulls("driver_id").unique()
                for driver_id, on in keys.iter_rows():
                    out[("driver", driver_id)].add(lists.VetoEvent(row.code, on))
            else:
                if kind == "school" and what == "accident":
                    continue  # graduates' crashes are deductions of a school, not a veto; own crashes neither
                keys = frame.select("company", "on").drop_nulls("company").unique()
                for uscc, on in keys.iter_rows():
                    if _subject_kind_of(p.kinds, uscc) == kind:
                        out[(kind, uscc)].add(lists.VetoEvent(row.code, on))
    return {key: sorted(events, key=lambda e: (e.on, e.code)) for key, events in out.items()}


# ---------------------------------------------------------------- list facts


def lists_facts(data: CreditData, as_of: date, grades: Mapping[Key, GradeResult], risk_bands: Mapping[Key, str], *,
                tables: GradeTables | None = None, rules: lists.ListRules | None = None) -> list[lists.SubjectFacts]:
    """The facts `lists.evaluate_lists` reads, for every subject graded or banded whose kind a list
    applies to: grade, risk band, veto events, and the offences and accidents of the longest window the
    list criteria look at (counted as in the grades: a company's/school's vehicles, a driver's own).
    `lists_in_force` is left empty: the caller knows the entries (dataclasses.replace)."""
    book = tables or grade_tables()
    version = (rules or lists.list_rules()).at(as_of)
    kinds = {k for ldef in version.lists.values() for k in ldef.applies_to}
    window = max((c.days or 0 for ldef in version.lists.values() for c in ldef.criteria), default=365)
    since = as_of - timedelta(days=max(window, 1) - 1)
    p = _prepare(data, as_of, book, since)
    vetoes = _veto_events(p)
    keys = sorted({k for k in (*grades, *risk_bands) if k[0] in kinds})
    recent = pl.col("on") >= since
    by_company = {
        "offences": _by(p.violations.filter(recent), "company", p.offences),
        "accidents": _by(p.accidents.filter(recent), "company", p.crashes),
    }
    by_driver = {
        "offences": _by(p.violations.filter(recent), "driver_id", p.offences),
        "accidents": _by(p.accidents.filter(recent), "driver_id", p.crashes),
    }
    out = []
    for key in keys:
        kind, subject_id = key
        records = by_driver if kind == "driver" else by_company
        result = grades.get(key)
        out.append(lists.SubjectFacts(
            kind, subject_id, grade=result.grade if result else None, band=risk_bands.get(key),  # type: ignore[arg-type]
            vetoes=tuple(vetoes.get(key, ())), offences=tuple(records["offences"].get(subject_id, ())),
            accidents=tuple(records["accidents"].get(subject_id, ())),
        ))
    return out


__all__ = ["NOT_PENALISED", "TRANSPORT_KINDS", "grade_all", "is_driving_role", "lists_facts", "penalised", "veto_events"]
