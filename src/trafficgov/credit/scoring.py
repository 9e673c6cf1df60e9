"""信用评分批次 — score every subject as of a day: the official credit grade and the statistical risk score,
kept apart and both shown, with the lists in force and the inspection interval they lead to.

`compute` is the whole scoring on CreditData (no store); `run` reads the store (taking out records whose
dispute was upheld), computes, and with `persist` keeps the run so pages and the API read it. The rows are
the public contract of `trafficgov credit score` (see docs/credit.md): subject_kind, subject_id, grade,
risk_score, risk_low, risk_high, band, list, reasons, data_sufficient, inspection_interval_days.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit import frames, plan, risk
from trafficgov.credit.frames import CreditData
from trafficgov.credit.grade import GradeResult, grade_tables
from trafficgov.credit.grade_inputs import grade_all
from trafficgov.credit.risk_params import risk_params
from trafficgov.credit.store import CreditDisputeRow, CreditRunRow, CreditScoreRow
from trafficgov.errors import FieldError
from trafficgov.store.db import Database

SUBJECT_KINDS = ("company", "school", "driver", "vehicle")
CONTRACT_FIELDS = (
    "subject_kind", "subject_id", "grade", "risk_score", "risk_low", "risk_high", "band", "list", "reasons",
    "data_sufficient", "inspection_interval_days",
)
Progress = Callable[[str], None]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def without_disputed(data: CreditData, upheld: Iterable[tuple[str, str, str]]) -> CreditData:
    """Take out the records of upheld disputes (record_kind, record_id, uscc): a violation or inspection
    wholly; an accident only for the disputing company's vehicles (the other parties still count)."""
    violations: set[str] = set()
    inspections: set[str] = set()
    accidents: dict[str, set[str]] = {}
    for kind, record_id, uscc in upheld:
        if kind == "violation":
            violations.add(record_id)
        elif kind == "inspection":
            inspections.add(record_id)
        elif kind == "accident":
            accidents.setdefault(record_id, set()).add(uscc)
    if not (violations or inspections or accidents):
        return data
    parties = data.accident_parties
    if accidents:
        company_of = data.vehicles.select("vehicle", "company")
        tagged = parties.join(company_of, on="vehicle", how="left")
        pairs = pl.DataFrame({"accident_id": [a for a, us in accidents.items() for _ in us], "company": [u for us in accidents.values() for u in us]})
        keep = tagged.join(pairs, on=["accident_id", "company"], how="anti")
        parties = keep.select(parties.columns)
    return replace(
        data,
        violations=data.violations.filter(~pl.col("violation_id").is_in(sorted(violations))),
        inspections=data.inspections.filter(~pl.col("inspection_id").is_in(sorted(inspections))),
        accident_parties=parties,
    )


def _companies_of(data: CreditData, as_of: date) -> dict[tuple[str, str], str | None]:
    """Whose page shows a subject: a company or school itself, a vehicle's company, a driver's employer on the day."""
    out: dict[tuple[str, str], str | None] = {}
    for vehicle, company in data.vehicles.select("vehicle", "company").iter_rows():
        out[("vehicle", vehicle)] = company
    active = data.employments.filter((pl.col("start") <= as_of) & (pl.col("end").is_null() | (pl.col("end") >= as_of))).sort("start")
    for id_number, uscc in active.select("id_number", "uscc").iter_rows():
        out[("driver", id_number)] = uscc
    return out


def compute(
    data: CreditData,
    as_of: date,
    *,
    lists_in_force: Mapping[tuple[str, str], str] | None = None,
    subject: str | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every subject's row as of `as_of` (only what was known by the end of that day)."""
    if subject is not None and subject not in SUBJECT_KINDS:
        raise ValueError(f"subject must be one of {', '.join(SUBJECT_KINDS)}")
    say = progress or (lambda _: None)
    lists_in_force = lists_in_force or {}
    check_day(as_of)
    known = data.known_by(risk.as_moment(as_of))
    say("风险评分")
    scores = risk.score_risk(known, as_of)
    if subject is not None:
        scores = scores.filter(pl.col("subject_kind") == subject)
    say("信用等级")
    grades: dict[tuple[str, str], GradeResult] = grade_all(known, as_of) if subject != "vehicle" else {}
    owners = _companies_of(known, as_of)
    say("名单与检查频次")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for rec in scores.iter_rows(named=True):
        key = (rec["subject_kind"], rec["subject_id"])
        seen.add(key)
        rows.append(_row(key, rec, grades.get(key), lists_in_force.get(key), owners, as_of))
    # a graded subject the risk model does not know (e.g. a company without vehicles) still gets its grade
    for key, result in grades.items():
        if key in seen or (subject is not None and key[0] != subject):
            continue
        rows.append(_row(key, None, result, lists_in_force.get(key), owners, as_of))
    rows.sort(key=lambda r: (SUBJECT_KINDS.index(r["subject_kind"]), r["subject_id"]))
    return rows


def check_day(as_of: date) -> None:
    """A scoring day needs the risk parameters and grade tables in force on it; FieldError naming `as_of`."""
    try:
        risk_params(as_of)
    except LookupError as exc:
        raise FieldError("as_of", f"{as_of.isoformat()}没有生效的风险评分参数", f"no risk parameters in force on {as_of.isoformat()}") from exc


def _row(key: tuple[str, str], rec: Mapping[str, Any] | None, grade: GradeResult | None, list_name: str | None, owners: Mapping, as_of: date) -> dict[str, Any]:
    kind, subject_id = key
    band = rec["band"] if rec else "insufficient_data"
    decision = None if kind == "driver" else plan.inspection_plan(band, list_name, grade.grade if grade else None, as_of=as_of)
    return {
        "subject_kind": kind,
        "subject_id": subject_id,
        "grade": grade.grade if grade else None,
        "risk_score": _round(rec["risk_score"]) if rec else None,
        "risk_low": _round(rec["risk_low"]) if rec else None,
        "risk_high": _round(rec["risk_high"]) if rec else None,
        "band": band,
        "list": list_name or "none",
        "reasons": [dict(r) for r in (rec["reasons"] or [])][:3] if rec else [],
        "data_sufficient": bool(rec["data_sufficient"]) if rec else False,
        "inspection_interval_days": decision.interval_days if decision else None,
        # beyond the contract: for pages, the API and the stored run
        "company_uscc": subject_id if kind in ("company", "school") else owners.get(key),
        "exposure_years": _round(rec["exposure_years"]) if rec else None,
        "grade_detail": grade.as_dict() if grade else None,
        "inspection_mode_zh": decision.text_zh if decision else None,
        "grade_result": grade,  # the GradeResult itself, for the lists (never stored or printed)
    }


def contract(row: Mapping[str, Any]) -> dict[str, Any]:
    """The public-contract fields of a row, in their order."""
    return {name: row[name] for name in CONTRACT_FIELDS}


# ---------------------------------------------------------------- store


def upheld_disputes(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(select(CreditDisputeRow.record_kind, CreditDisputeRow.record_id, CreditDisputeRow.uscc).where(CreditDisputeRow.state == "upheld"))
    return [tuple(r) for r in rows]


def lists_in_force(session: Session, as_of: date) -> dict[tuple[str, str], str]:
    """Published list entries in force on the day (the lists' own service decides what that means)."""
    from trafficgov.credit.lists_service import published

    return published(session, as_of)


def load_data(db: Database) -> CreditData:
    """The store's credit inputs, less the records of upheld disputes."""
    data = frames.load(db)
    with db.transaction() as session:
        upheld = upheld_disputes(session)
    return without_disputed(data, upheld)


def run(db: Database, actor: Actor, as_of: date, *, subject: str | None = None, persist: bool = False, progress: Progress | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """评分 — read the store, score as of the day, and with `persist` keep the run (one audit entry)."""
    say = progress or (lambda _: None)
    say("读取数据")
    data = load_data(db)
    with db.transaction() as session:
        in_force = lists_in_force(session, as_of)
    rows = compute(data, as_of, lists_in_force=in_force, subject=subject, progress=say)
    if persist:
        say("保存评分")
        save(db, actor, as_of, rows, now=now)
    return rows


def save(db: Database, actor: Actor, as_of: date, rows: list[dict[str, Any]], *, now: datetime | None = None) -> int:
    """Keep a run: one CreditRunRow and a CreditScoreRow per subject, in one transaction. -> the run id."""
    at = now or datetime.now(UTC)
    versions = {"risk": _version(lambda: risk_params(as_of)), "grades": _version(lambda: grade_tables().at(as_of)), "plan": _version(lambda: plan.plan_rules().at(as_of))}
    with db.transaction(write=True) as session:
        run_row = CreditRunRow(as_of=as_of, computed_at=at, computed_by=actor.username, versions=versions, subjects=len(rows))
        session.add(run_row)
        session.flush()
        columns = ("subject_kind", "subject_id", "company_uscc", "grade", "grade_detail", "risk_score", "risk_low", "risk_high", "band", "data_sufficient", "exposure_years", "reasons", "inspection_interval_days", "inspection_mode_zh")
        batch = [{"run_id": run_row.id, "list_name": None if r["list"] == "none" else r["list"], **{c: r[c] for c in columns}} for r in rows]
        for start in range(0, len(batch), 5000):
            session.execute(insert(CreditScoreRow), batch[start : start + 5000])
        audit.append(session, AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action="create", entity="credit_runs", record_key=str(run_row.id), purpose="credit", at=at, detail={"as_of": as_of.isoformat(), "subjects": len(rows)}))
        return run_row.id


def _version(table: Callable[[], Any]) -> str:
    """The version id of the table in force, or "none" on a day before the first one."""
    try:
        return table().version_id
    except (ValueError, LookupError):
        return "none"


def latest_run(session: Session, as_of: date | None = None) -> CreditRunRow | None:
    """The newest run (of `as_of` if given)."""
    query = select(CreditRunRow).order_by(CreditRunRow.as_of.desc(), CreditRunRow.id.desc()).limit(1)
    if as_of is not None:
        query = query.where(CreditRunRow.as_of == as_of)
    return session.scalars(query).first()


def latest_scores(session: Session, *, subject_kind: str | None = None, company_uscc: str | None = None, limit: int | None = None, order_by_risk: bool = False) -> tuple[CreditRunRow | None, list[CreditScoreRow]]:
    run_row = latest_run(session)
    if run_row is None:
        return None, []
    query = select(CreditScoreRow).where(CreditScoreRow.run_id == run_row.id)
    if subject_kind:
        query = query.where(CreditScoreRow.subject_kind == subject_kind)
    if company_uscc:
        query = query.where(CreditScoreRow.company_uscc == company_uscc)
    if order_by_risk:
        query = query.order_by(CreditScoreRow.risk_score.desc().nulls_last(), CreditScoreRow.subject_id)
    else:
        query = query.order_by(CreditScoreRow.subject_kind, CreditScoreRow.subject_id)
    if limit:
        query = query.limit(limit)
    return run_row, list(session.scalars(query))

