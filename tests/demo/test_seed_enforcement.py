"""The demo's enforcement activity: captures reviewed, cases decided, served and paid through the real use
cases, the same for the same seed on any store, and a second run on one store adds nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from conftest import DEMO_AS_OF, bearer
from trafficgov.accounts.service import cli_actor, get_user
from trafficgov.demo.enforcement import CAPTURES, seed_enforcement
from trafficgov.demo.load import load_city
from trafficgov.enforcement import oversight_service, service
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement.store import CaptureRow, CaseRow, PaymentRow, SubmissionRow
from trafficgov.store.db import Database

EVENING = datetime.combine(DEMO_AS_OF, datetime.min.time(), tzinfo=timezone(timedelta(hours=8))) + timedelta(hours=18)


def _projection(db: Database) -> dict:
    """What the seed made, without database ids or the moment it ran."""
    with db.transaction() as session:
        captures = sorted((c.capture_id, c.status, c.erase_reason, c.reviewed_at.isoformat() if c.reviewed_at else None) for c in session.scalars(select(CaptureRow)))
        cases = sorted(
            (c.plate_number, c.behavior, c.occurred_at.isoformat(), c.status, c.decision_number, (c.decision or {}).get("outcome"), (c.decision or {}).get("fine_yuan"),
             (c.decision or {}).get("served_on"), c.notified_at is not None)
            for c in session.scalars(select(CaseRow))
        )
        payments = sorted((p.receipt_number, str(p.amount_yuan), p.paid_on.isoformat()) for p in session.scalars(select(PaymentRow)))
    return {"captures": captures, "cases": cases, "payments": payments}


def test_demo_enforcement_reaches_every_stage_and_the_citizen_sees_a_served_fine(client, tokens, loaded, demo_dir: Path, admin_actor, accounts):
    summary = seed_enforcement(loaded, admin_actor, demo_dir, DEMO_AS_OF, 1)

    assert sum(summary.captures.values()) == CAPTURES
    for status in ("pending", "confirmed", "merged", "rejected", "inadmissible"):
        assert summary.captures.get(status, 0) > 0, status
    assert summary.captures["merged"] == 1  # one act caught twice joins one case
    for status in ("issued", "proposed", "manual", "pending_approval"):
        assert summary.cases.get(status, 0) > 0, status
    assert sum(summary.cases.values()) == summary.captures["confirmed"]
    assert summary.notices > 0 and summary.served > 0 and summary.paid > 0 and summary.objections == 1 and summary.overdue_payments > 0
    assert "非现场执法" in summary.line_zh()

    # the officer's queue holds work of the unit's own jurisdiction, some of it overdue
    officer, supervisor = get_user(loaded, "officer"), get_user(loaded, "supervisor")
    queue = service.list_review_queue(loaded, officer, now=EVENING)
    assert queue and {c.region for c in queue} == {accounts["officer"]["org_code"][:6]}
    assert service.list_overdue(loaded, supervisor, now=EVENING).captures
    # rejected captures name an Art. 22 erase reason; inadmissible ones say why
    with loaded.transaction() as session:
        assert all(c.erase_reason for c in session.scalars(select(CaptureRow).where(CaptureRow.status == "rejected")))
        assert all(c.inadmissible_reason_zh for c in session.scalars(select(CaptureRow).where(CaptureRow.status == "inadmissible")))
    # one lighter decision approved by the legal reviewer: the supervisor's consistency audit shows it
    report = oversight_service.consistency_report(loaded, supervisor)
    assert report.divergent == 1 and report.pairs[0].other.deviation_reason and report.pairs[0].other.review_note
    assert service.list_approvals(loaded, get_user(loaded, "legal_reviewer"), now=EVENING)

    # the citizen: an issued fine, served, with its evidence and payment, through the citizen's own API
    mine = client.get("/api/v1/me/cases", headers=bearer(tokens["citizen"]))
    assert mine.status_code == 200, mine.text
    served = [c for c in mine.json() if c["status"] == "issued" and c["decision"].get("served_on") and c["decision"].get("fine_yuan")]
    assert len(served) >= 2 and all(c["captures"] and c["captures"][0]["evidence"] for c in served)
    assert client.get(f"/api/v1/cases/{served[0]['id']}/payment", headers=bearer(tokens["citizen"])).status_code == 200
    citizen = get_user(loaded, "citizen")
    # on the reference day (the API reads today's date: an unpaid fine there may be overdue by now)
    assert sorted(ps.payment(loaded, citizen, c["id"], now=EVENING).status for c in served) == ["paid", "unpaid"]
    assert [s.kind for s in ps.my_submissions(loaded, citizen, now=EVENING)] == ["objection"]
    # the company's lorry: the points wait for the actual driver
    assert any(c["awaiting_driver"] for c in client.get("/api/v1/me/cases", headers=bearer(tokens["company"])).json())

    # each role's pages show the work
    case_id = served[0]["id"]
    for role, path, text in (
        ("officer", "/enforcement/review", served[0]["plate_number"][:2]),
        ("officer", "/enforcement/submissions", "异议"),
        ("officer", f"/enforcement/cases/{case_id}/procedure", "送达"),
        ("legal_reviewer", "/enforcement/approvals", "警告"),
        ("supervisor", "/oversight/consistency", "警告"),
        ("clerk", "/enforcement/payments/overdue", "逾期"),
        ("citizen", "/me/violations", served[0]["plate_number"]),
        ("citizen", f"/me/violations/{case_id}", "缴"),
    ):
        client.post("/logout")
        assert client.post("/login", data={"username": accounts[role]["username"], "password": accounts[role]["password"]}).status_code == 200
        page = client.get(path)
        assert page.status_code == 200 and text in page.text, (role, path)

    # a second run on the same store adds nothing and says so
    before = _projection(loaded)
    again = seed_enforcement(loaded, admin_actor, demo_dir, DEMO_AS_OF, 1)
    assert again.already and (again.captures, again.cases, again.paid) == (summary.captures, summary.cases, summary.paid)
    assert _projection(loaded) == before
    with loaded.transaction() as session:
        assert len(list(session.scalars(select(SubmissionRow)))) == 1


def test_same_seed_gives_the_same_enforcement_on_fresh_stores(loaded, demo_dir: Path, admin_actor, tmp_path: Path):
    seed_enforcement(loaded, admin_actor, demo_dir, DEMO_AS_OF, 1)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        actor = cli_actor(other, "admin")
        load_city(other, demo_dir / "manifest.json", actor, argon2_profile="test")
        seed_enforcement(other, actor, demo_dir, DEMO_AS_OF, 1)
        assert _projection(other) == _projection(loaded)
    finally:
        other.engine.dispose()
    # nothing after the reference day: the seed does not read today's date
    with loaded.transaction() as session:
        latest = max(c.reviewed_at for c in session.scalars(select(CaptureRow).where(CaptureRow.reviewed_at.is_not(None))))
    assert latest.astimezone(timezone(timedelta(hours=8))).date() <= DEMO_AS_OF
