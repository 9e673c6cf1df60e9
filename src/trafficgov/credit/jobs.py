"""每日信用监管作业 — score and keep the run, propose red/black list entries from it, raise warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from trafficgov.accounts.model import Actor
from trafficgov.credit import grade_inputs, lists_service, risk, scoring, warnings_service
from trafficgov.errors import FieldError
from trafficgov.store.db import Database


def local_today() -> date:
    return (datetime.now(UTC) + timedelta(hours=8)).date()


def daily(db: Database, actor: Actor, as_of: date, *, progress: scoring.Progress | None = None) -> dict[str, Any]:
    say = progress or (lambda _: None)
    if as_of > local_today():
        raise FieldError("as_of", "不能对未来日期评分", "as_of is in the future")
    scoring.check_day(as_of)
    say("读取数据")
    data = scoring.load_data(db)
    with db.transaction() as session:
        in_force = scoring.lists_in_force(session, as_of)
    rows = scoring.compute(data, as_of, lists_in_force=in_force, progress=say)
    say("保存评分")
    run_id = scoring.save(db, actor, as_of, rows)
    say("名单建议")
    known = data.known_by(risk.as_moment(as_of))
    grades = {(r["subject_kind"], r["subject_id"]): r["grade_result"] for r in rows if r["grade_result"] is not None}
    bands = {(r["subject_kind"], r["subject_id"]): r["band"] for r in rows}
    owners = {(r["subject_kind"], r["subject_id"]): r["company_uscc"] for r in rows}
    facts = grade_inputs.lists_facts(known, as_of, grades, bands)
    proposed = lists_service.propose(db, None, as_of, facts, owners)  # proposed by the system, reviewed by a supervisor
    say("预警")
    warned = warnings_service.raise_warnings(db, actor, as_of, data=data)
    return {
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "subjects": len(rows),
        "graded": len(grades),
        "proposed": {"subjects": proposed.subjects, "proposed": proposed.proposed, "skipped": proposed.skipped},
        "warnings": warned.model_dump(mode="json"),
    }
