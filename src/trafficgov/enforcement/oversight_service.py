"""执法监督 queries over the existing tables (no schema of its own): the consistency audit, the 双公示
export and the leniency-list evaluation. The logic is in `oversight` (pure); this module only reads.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from trafficgov.accounts.model import Actor
from trafficgov.accounts.store import OrganisationRow, UserRow
from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement.calendar import default_calendar
from trafficgov.enforcement.service import BEIJING, behaviour_label, local_day
from trafficgov.enforcement.store import CaseRow
from trafficgov.errors import FieldError
from trafficgov.rules.loader import default_rulebook
from trafficgov.store.db import Database

DEFAULT_REGION = "370100"  # the demo city (济南) whose leniency list is evaluated by default
DEFAULT_AUTHORITY = "公安机关交通管理部门"
MAX_ROWS = 50_000


def _issued(session) -> list[CaseRow]:
    return list(session.scalars(select(CaseRow).where(CaseRow.status == "issued").order_by(CaseRow.issued_at, CaseRow.id).limit(MAX_ROWS)))


def _units(session) -> tuple[dict[str, str | None], dict[str, str]]:
    """username -> organisation code, organisation code -> name."""
    users = {u: o for u, o in session.execute(select(UserRow.username, UserRow.org_code))}
    orgs = {c: n for c, n in session.execute(select(OrganisationRow.code, OrganisationRow.name))}
    return users, orgs


# ---------------------------------------------------------------- consistency audit


def issued_decisions(db: Database) -> list[ov.IssuedDecision]:
    """Every issued decision the engine had a proposal for, with its fact signature, officer and unit."""
    out = []
    with db.transaction() as session:
        users, orgs = _units(session)
        for row in _issued(session):
            facts = ov.fact_signature(row.behavior, row.proposal)
            decision = row.decision or {}
            if facts is None:
                continue
            officer = row.issued_by
            org = users.get(officer or "")
            out.append(
                ov.IssuedDecision(
                    case_id=row.id,
                    decision_number=row.decision_number,
                    behaviour=row.behavior,
                    facts=facts,
                    outcome=str(decision.get("outcome")),
                    fine_yuan=decision.get("fine_yuan"),
                    points=int(decision.get("points") or 0),
                    licence_action=decision.get("licence_action") or "none",
                    licence_months=decision.get("licence_months"),
                    officer=officer,
                    unit=orgs.get(org, org) if org else None,
                    issued_at=row.issued_at,
                    explanation_zh=decision.get("explanation_zh") or "",
                    deviation_reason=row.deviation_reason,
                    review_note=row.review_note,
                )
            )
    return out


def consistency_report(db: Database, actor: Actor) -> ov.ConsistencyReport:
    return ov.consistency_audit(issued_decisions(db))


# ---------------------------------------------------------------- 双公示


def company_decisions(db: Database) -> list[ov.CompanyDecision]:
    out = []
    with db.transaction() as session:
        users, orgs = _units(session)
        rows = session.scalars(
            select(CaseRow).where(CaseRow.status == "issued", CaseRow.owner_kind == "company").order_by(CaseRow.issued_at, CaseRow.id).limit(MAX_ROWS)
        )
        for row in rows:
            decision = row.decision or {}
            if not row.decision_number or not row.owner_id or row.issued_at is None:
                continue
            org = users.get(row.issued_by or "")
            day = local_day(row.occurred_at)
            out.append(
                ov.CompanyDecision(
                    decision_number=row.decision_number,
                    counterparty=row.owner_id,
                    behaviour=row.behavior,
                    behaviour_label=behaviour_label(row.behavior, day),
                    occurred_at=row.occurred_at.astimezone(BEIJING),
                    decided_on=local_day(row.issued_at),
                    outcome=str(decision.get("outcome")),
                    fine_yuan=decision.get("fine_yuan"),
                    points=int(decision.get("points") or 0),
                    licence_action=decision.get("licence_action") or "none",
                    licence_months=decision.get("licence_months"),
                    legal_basis=[str(b) for b in decision.get("legal_basis") or []],
                    authority=orgs.get(org, DEFAULT_AUTHORITY) if org else DEFAULT_AUTHORITY,
                    place=row.road or "",
                )
            )
    return out


def disclosure(db: Database, actor: Actor | None = None, *, as_of: date | None = None, overdue_only: bool = False) -> list[ov.DisclosureRow]:
    """双公示 rows of the company penalty decisions (each with its 7-working-day due day and overdue flag)."""
    day = as_of or local_day(datetime.now(UTC))
    rows = ov.disclosure_rows(company_decisions(db), day, default_calendar())
    return [r for r in rows if r.overdue] if overdue_only else rows


def export_disclosure(db: Database, fmt: Literal["csv", "json"] = "csv", *, as_of: date | None = None, out: Path | None = None, overdue_only: bool = False) -> str:
    """CLI-friendly 双公示 export: the text (CSV with Chinese headers, or JSON), also written to `out` if given."""
    rows = disclosure(db, as_of=as_of, overdue_only=overdue_only)
    text = ov.disclosure_csv(rows) if fmt == "csv" else ov.disclosure_json(rows)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    return text


# ---------------------------------------------------------------- leniency evaluation


def demo_dir(var_dir: Path) -> Path | None:
    """The demo city the store was loaded from (var/demo/current.json), if any."""
    marker = var_dir / "demo" / "current.json"
    try:
        manifest = json.loads(marker.read_text(encoding="utf-8")).get("manifest")
    except (OSError, ValueError):
        return None
    return Path(manifest).parent if manifest else None


def read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


def store_violations(db: Database) -> list[ov.ViolationRecord]:
    """Issued decisions as violation records (a decision is a violation; its driver is who took the points)."""
    records = []
    with db.transaction() as session:
        for row in _issued(session):
            driver = row.points_applied_to or (row.owner_id if row.owner_kind == "person" else None)
            records.append(
                {
                    "behavior": row.behavior,
                    "occurred_at": row.occurred_at.astimezone(UTC).isoformat(),
                    "outcome": (row.decision or {}).get("outcome", "fine"),
                    "plate_number": row.plate_number,
                    "plate_type": row.plate_type,
                    "driver_id": driver,
                }
            )
    return ov.violations_from_records(records)


def leniency_report(
    db: Database,
    actor: Actor | None = None,
    *,
    var_dir: Path | None = None,
    region: str = DEFAULT_REGION,
    as_of: date | None = None,
    window_days: int = 90,
    accidents: Iterable[dict[str, Any]] | None = None,
    violations: Iterable[dict[str, Any]] | None = None,
) -> ov.LeniencyReport:
    """定期评估 of the region's leniency list in force on `as_of`. Violations: the store's issued
    decisions, or the demo city's violations.csv where the store has none; accidents: the records given,
    else the demo city's accidents.jsonl (the store keeps no accidents). Nothing is written."""
    day = as_of or local_day(datetime.now(UTC))
    if not 2000 <= day.year <= 2100:
        raise FieldError("as_of", "评估日期须在2000年至2100年之间", "as_of must lie between 2000 and 2100")
    rules = default_rulebook().at(day, region)
    _, lists = rules.leniency_list()
    listed: dict[str, str] = {}
    excluded: set[str] = set()
    for entry in lists:
        excluded.update(entry.conditions.excluded_behaviours)
        for item in entry.items:
            listed.setdefault(item.behaviour, item.label_zh or behaviour_label(item.behaviour, day))
    folder = demo_dir(var_dir) if var_dir is not None else None
    if violations is not None:
        found = ov.violations_from_records(violations)
    else:
        found = store_violations(db)
        if not found and folder is not None and (folder / "violations.csv").exists():
            with (folder / "violations.csv").open(encoding="utf-8", newline="") as handle:
                found = ov.violations_from_records(csv.DictReader(handle))
    if accidents is None:
        accidents = read_jsonl(folder / "accidents.jsonl") if folder is not None else []
    labels = {code: b.label_zh for code, b in rules.behaviours.items()}
    return ov.evaluate_leniency(
        listed,
        found,
        ov.accidents_from_records(accidents),
        as_of=day,
        window_days=window_days,
        excluded=excluded,
        labels=labels,
        list_id=lists[0].list_id if lists else None,
        list_outcome=lists[0].outcome if lists else None,
    )
