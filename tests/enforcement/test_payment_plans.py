"""Deferral and instalments of a fine (暂缓或者分期缴纳, APL Art. 66 para 2): the region's limits as dated data, the
schedule's validation naming the field, the surcharge per instalment under an approved plan (the platform's
reading of APL Art. 72 (一)) and the end of the plan (Art. 72 para 2); the application, the decision (one
wins, the other gets 409) and payments instalment by instalment, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import test_hearings_payments as hp
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from conftest import bearer, tables_differing
from trafficgov.enforcement import procedure as proc
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement import service
from trafficgov.enforcement.store import PaymentPlanRow, PaymentRow
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.store.db import make_engine, upgrade

# the stored flows reuse the fixtures of the procedure tests (a camera, the demo actors, a confirmed case)
camera, actors, case = hp.camera, hp.actors, hp.case
BJ, at, _audits = hp.BJ, hp.at, hp._audits
V = proc.procedure_rules().at(date(2026, 7, 1))
D = Decimal
PAY_BY = date(2026, 7, 17)


def plan(*entries: tuple[str, str]) -> list[proc.Instalment]:
    return [proc.Instalment(date.fromisoformat(day), D(amount)) for day, amount in entries]


# ---------------------------------------------------------------- pure rules


def test_relief_limits_are_the_regions_dated_data_with_their_basis():
    relief = V.payment_relief
    assert (relief.max_defer_days, relief.max_instalments, relief.max_span_days, relief.surcharge_basis) == (90, 6, 180, "instalment")
    assert V.legal_basis["payment_relief"] == ["行政处罚法 第六十六条", "行政处罚法 第七十二条"]
    raw = V.model_dump(mode="json")
    del raw["payment_relief"]
    with pytest.raises(ValueError, match="payment_relief"):
        proc.parse_rules({"versions": [raw]})
    raw = V.model_dump(mode="json")
    raw["payment_relief"]["max_instalments"] = 1
    with pytest.raises(ValueError, match="max_instalments"):
        proc.parse_rules({"versions": [raw]})


THREE = plan(("2026-07-17", "100.00"), ("2026-08-17", "60.00"), ("2026-09-17", "40.00"))

# name, schedule, paid (number -> day), on, expected (surcharge per instalment), next, overdue
SURCHARGE_GOLDEN = [
    ("every instalment on its day", THREE, {1: "2026-07-17", 2: "2026-08-17", 3: "2026-09-17"}, "2026-12-31", ("0.00", "0.00", "0.00"), None, False),
    ("due today is not late", THREE, {}, "2026-07-17", ("0.00", "0.00", "0.00"), 1, False),
    ("the day after: 3 % of that instalment", THREE, {}, "2026-07-18", ("3.00", "0.00", "0.00"), 1, True),
    ("one instalment paid three days late", THREE, {1: "2026-07-17", 2: "2026-08-20"}, "2026-08-25", ("0.00", "5.40", "0.00"), 3, False),
    ("capped at the instalment, not at the fine", THREE, {1: "2026-07-17", 2: "2026-08-17"}, "2026-10-31", ("0.00", "0.00", "40.00"), 3, True),
    ("several late at once", THREE, {}, "2026-08-20", ("100.00", "5.40", "0.00"), 1, True),
    ("a paid instalment keeps what it owed on its day", THREE, {1: "2026-07-20"}, "2026-12-31", ("9.00", "60.00", "40.00"), 2, True),
    ("a deferral is one instalment", plan(("2026-10-15", "200.00")), {}, "2026-10-20", ("30.00",), 1, True),
    ("odd amounts to the fen, half up", plan(("2026-07-17", "66.67"), ("2026-08-17", "66.67"), ("2026-09-17", "66.66")), {}, "2026-07-18", ("2.00", "0.00", "0.00"), 1, True),
]


@pytest.mark.parametrize(("name", "schedule", "paid", "on", "expected", "next_number", "overdue"), SURCHARGE_GOLDEN, ids=[g[0] for g in SURCHARGE_GOLDEN])
def test_surcharge_under_a_plan_runs_per_instalment(name, schedule, paid, on, expected, next_number, overdue):
    owed = proc.plan_owed(schedule, {n: date.fromisoformat(d) for n, d in paid.items()}, date.fromisoformat(on))
    assert tuple(str(i.surcharge_yuan) for i in owed.instalments) == expected
    assert all(i.surcharge_yuan <= i.amount_yuan for i in owed.instalments)
    assert (owed.next_number, owed.overdue, owed.paid_in_full) == (next_number, overdue, next_number is None)
    assert owed.end == max(i.due for i in schedule) == proc.plan_end(schedule)
    assert [i.total_yuan for i in owed.instalments] == [i.amount_yuan + i.surcharge_yuan for i in owed.instalments]


def _days(n: int) -> str:
    return (PAY_BY + timedelta(days=n)).isoformat()


# name, kind, schedule, the field named (None: valid)
SCHEDULE_GOLDEN = [
    ("deferral of 90 days", "defer", plan((_days(90), "200")), None),
    ("deferral of 91 days", "defer", plan((_days(91), "200")), "schedule.0.due"),
    ("deferral to the original day defers nothing", "defer", plan((_days(0), "200")), "schedule.0.due"),
    ("deferral in two parts", "defer", plan((_days(10), "100"), (_days(20), "100")), "schedule"),
    ("deferral of part of the fine", "defer", plan((_days(10), "150")), "schedule"),
    ("six instalments within 180 days", "instalments", plan(*[(_days(36 * i), "33.33" if i else "33.35") for i in range(6)]), None),
    ("seven instalments", "instalments", plan(*[(_days(20 * i), "28.57" if i else "28.58") for i in range(7)]), "schedule"),
    ("one instalment", "instalments", plan((_days(10), "200")), "schedule"),
    ("last instalment 181 days after", "instalments", plan((_days(0), "100"), (_days(181), "100")), "schedule.1.due"),
    ("last instalment 180 days after", "instalments", plan((_days(0), "100"), (_days(180), "100")), None),
    ("first before the original day", "instalments", plan((_days(-1), "100"), (_days(30), "100")), "schedule.0.due"),
    ("dates out of order", "instalments", plan((_days(0), "50"), (_days(60), "50"), (_days(30), "100")), "schedule.2.due"),
    ("two on one day", "instalments", plan((_days(30), "100"), (_days(30), "100")), "schedule.1.due"),
    ("a zero amount", "instalments", plan((_days(0), "0"), (_days(30), "200")), "schedule.0.amount_yuan"),
    ("a negative amount", "instalments", plan((_days(0), "250"), (_days(30), "-50")), "schedule.1.amount_yuan"),
    ("three decimals", "instalments", plan((_days(0), "100.005"), (_days(30), "99.995")), "schedule.0.amount_yuan"),
    ("a fen short", "instalments", plan((_days(0), "100"), (_days(30), "99.99")), "schedule"),
    ("a fen over", "instalments", plan((_days(0), "100.01"), (_days(30), "100")), "schedule"),
]


@pytest.mark.parametrize(("name", "kind", "schedule", "field"), SCHEDULE_GOLDEN, ids=[g[0] for g in SCHEDULE_GOLDEN])
def test_schedule_validation_names_the_field(name, kind, schedule, field):
    if field is None:
        assert proc.validate_schedule(kind, schedule, fine_yuan=200, pay_by_day=PAY_BY, version=V) == tuple(schedule)
        return
    with pytest.raises(FieldError) as refused:
        proc.validate_schedule(kind, schedule, fine_yuan=200, pay_by_day=PAY_BY, version=V)
    assert refused.value.field == field and refused.value.zh


# ---------------------------------------------------------------- stored flows (SQLite and PostgreSQL)


def _issued_and_served(db, officer, case_id: int, version: int) -> Decimal:
    issued = service.issue_decision(db, officer, case_id, service.IssueRequest(version=version), now=at("2026-07-01"))
    assert issued.status == "issued"
    served = ps.serve_decision(db, officer, case_id, ps.ServeRequest(served_on=date(2026, 7, 2)), now=at("2026-07-02"))
    assert served.payment.pay_by == PAY_BY
    return Decimal(issued.decision["fine_yuan"])


def _thirds(fine: Decimal, days: list[str]) -> list[ps.PlanEntry]:
    part = (fine / 3).quantize(D("0.01"))
    amounts = [fine - part * (len(days) - 1)] + [part] * (len(days) - 1)
    return [ps.PlanEntry(due=date.fromisoformat(d), amount_yuan=a) for d, a in zip(days, amounts, strict=True)]


def _pay(db, clerk, case_id: int, receipt: str, amount: Decimal, paid_on: str, now: str) -> ps.PaymentView:
    request = ps.PaymentRequest(receipt_number=receipt, amount_yuan=amount, paid_on=date.fromisoformat(paid_on), channel="bank")
    return ps.record_payment(db, clerk, case_id, request, now=at(now))


def test_instalments_applied_approved_amended_and_paid_in_order(loaded, actors, case):
    db, officer, legal, clerk, citizen, company = (loaded, *(actors[r] for r in ("officer", "legal_reviewer", "clerk", "citizen", "company")))
    fine = _issued_and_served(db, officer, case["id"], case["version"])
    body = ps.PaymentPlanRequest(kind="instalments", reason="本人失业，家庭收入微薄，一次缴纳确有困难", schedule=_thirds(fine, ["2026-07-17", "2026-08-17", "2026-09-17"]))
    with pytest.raises(Forbidden):
        ps.apply_payment_plan(db, officer, case["id"], body, now=at("2026-07-10"))
    with pytest.raises(NotFound):  # not the company's case
        ps.apply_payment_plan(db, company, case["id"], body, now=at("2026-07-10"))
    with pytest.raises(FieldError) as late:  # the time to pay is over
        ps.apply_payment_plan(db, citizen, case["id"], body, now=at("2026-07-18"))
    assert late.value.field == "case_id" and "缴款期限" in late.value.zh
    applied = ps.apply_payment_plan(db, citizen, case["id"], body, now=at("2026-07-10"))
    assert applied.plan.status == "pending" and applied.plan.status_label == "待审批" and applied.status == "unpaid" and applied.plan_end is None
    assert [i.due for i in applied.plan.schedule] == [date(2026, 7, 17), date(2026, 8, 17), date(2026, 9, 17)]
    with pytest.raises(Conflict):  # one open application per case
        ps.apply_payment_plan(db, citizen, case["id"], body, now=at("2026-07-11"))

    amended = _thirds(fine, ["2026-07-17", "2026-08-17", "2026-10-17"])
    with pytest.raises(FieldError) as bad:  # an amended schedule is validated again
        ps.decide_payment_plan(db, legal, case["id"], ps.PlanDecisionRequest(approve=True, schedule=amended[:2]), now=at("2026-07-12"))
    assert bad.value.field == "schedule"
    with pytest.raises(Conflict):  # decided on a stale version
        ps.decide_payment_plan(db, legal, case["id"], ps.PlanDecisionRequest(approve=True, version=applied.plan.version + 1), now=at("2026-07-12"))
    approved = ps.decide_payment_plan(db, legal, case["id"], ps.PlanDecisionRequest(approve=True, note="同意分三期", schedule=amended, version=applied.plan.version),
                                      now=at("2026-07-12"))
    assert approved.plan.status == "approved" and approved.status == "instalments" and approved.status_label == "分期缴纳中"
    assert approved.plan_end == approved.plan.end == date(2026, 10, 17) and approved.next_instalment == 1
    with pytest.raises(Conflict):  # the first decision wins
        ps.decide_payment_plan(db, officer, case["id"], ps.PlanDecisionRequest(approve=False, note="不同意"), now=at("2026-07-12"))

    first, second, third = (e.amount_yuan for e in amended)
    with pytest.raises(FieldError) as whole:  # the whole fine is no longer what is owed
        _pay(db, clerk, case["id"], "PL-1", fine, "2026-07-17", "2026-07-17")
    assert whole.value.field == "amount_yuan" and "第1期" in whole.value.zh
    with pytest.raises(FieldError) as short:
        _pay(db, clerk, case["id"], "PL-1", first - D("0.01"), "2026-07-17", "2026-07-17")
    assert short.value.field == "amount_yuan" and "不足" in short.value.zh
    one = _pay(db, clerk, case["id"], "PL-1", first, "2026-07-17", "2026-07-17")
    assert one.status == "instalments" and one.next_instalment == 2 and [p.instalment for p in one.instalment_payments] == [1]
    assert _pay(db, clerk, case["id"], "PL-1", first, "2026-07-17", "2026-07-18").instalment_payments[0].receipt_number == "PL-1"  # idempotent

    assert ps.list_overdue_payments(db, officer, on=date(2026, 8, 17)) == []
    overdue = ps.list_overdue_payments(db, officer, on=date(2026, 8, 20))
    assert [(v.case_id, v.status, v.surcharge_yuan) for v in overdue] == [(case["id"], "overdue", (second * 9 / 100).quantize(D("0.01")))]
    late_second = second + (second * 9 / 100).quantize(D("0.01"))
    with pytest.raises(FieldError):  # three days late: the instalment alone is short
        _pay(db, clerk, case["id"], "PL-2", second, "2026-08-20", "2026-08-20")
    two = _pay(db, clerk, case["id"], "PL-2", late_second, "2026-08-20", "2026-08-20")
    assert two.status == "instalments" and two.plan.schedule[1].days_late == 3 and two.plan.schedule[1].paid
    assert ps.list_overdue_payments(db, officer, on=date(2026, 8, 20)) == []
    assert [v.case_id for v in ps.list_overdue_payments(db, officer, on=date(2026, 10, 18))] == [case["id"]]
    with pytest.raises(FieldError) as backwards:
        _pay(db, clerk, case["id"], "PL-3", third, "2026-08-19", "2026-08-21")
    assert backwards.value.field == "paid_on"
    done = _pay(db, clerk, case["id"], "PL-3", third, "2026-10-17", "2026-10-17")
    assert done.status == "paid" and done.total_yuan == 0 and done.next_instalment is None
    assert ps.list_overdue_payments(db, officer, on=date(2026, 12, 1)) == []
    with pytest.raises(Conflict):
        _pay(db, clerk, case["id"], "PL-4", third, "2026-10-17", "2026-10-17")
    with loaded.transaction() as session:
        assert session.scalars(select(PaymentRow.instalment).where(PaymentRow.case_id == case["id"]).order_by(PaymentRow.instalment)).all() == [1, 2, 3]
    assert _audits(db, "enforcement_payment_plans") == 2 and _audits(db, "enforcement_payments") == 3
    seen = ps.get_procedure(db, citizen, case["id"], now=at("2026-10-18")).payment
    assert seen.status == "paid" and seen.plan.legal_basis == ["行政处罚法 第六十六条", "行政处罚法 第七十二条"]


def test_rejected_then_deferral_applied_again_and_approved(loaded, actors, case):
    db, officer, supervisor, clerk, citizen = (loaded, *(actors[r] for r in ("officer", "supervisor", "clerk", "citizen")))
    fine = _issued_and_served(db, officer, case["id"], case["version"])
    with pytest.raises(NotFound):
        ps.decide_payment_plan(db, supervisor, case["id"], ps.PlanDecisionRequest(approve=True), now=at("2026-07-05"))
    defer = ps.PaymentPlanRequest(kind="defer", reason="住院治疗，暂无收入", schedule=[ps.PlanEntry(due=date(2026, 9, 30), amount_yuan=fine)])
    with pytest.raises(FieldError) as too_far:
        ps.apply_payment_plan(db, citizen, case["id"], defer.model_copy(update={"schedule": [ps.PlanEntry(due=date(2026, 10, 16), amount_yuan=fine)]}), now=at("2026-07-05"))
    assert too_far.value.field == "schedule.0.due" and "本地执法规范" in too_far.value.zh
    first = ps.apply_payment_plan(db, citizen, case["id"], defer, now=at("2026-07-05"))
    with pytest.raises(FieldError) as no_reason:
        ps.decide_payment_plan(db, supervisor, case["id"], ps.PlanDecisionRequest(approve=False), now=at("2026-07-06"))
    assert no_reason.value.field == "note"
    rejected = ps.decide_payment_plan(db, supervisor, case["id"], ps.PlanDecisionRequest(approve=False, note="未提供经济困难的证明材料"), now=at("2026-07-06"))
    assert rejected.plan.status == "rejected" and rejected.status == "unpaid" and rejected.plan_end is None
    again = ps.apply_payment_plan(db, citizen, case["id"], defer.model_copy(update={"reason": "住院治疗，暂无收入，附诊断证明"}), now=at("2026-07-07"))
    assert again.plan.status == "pending" and again.plan.id == first.plan.id and again.plan.version == rejected.plan.version + 1 and again.plan.decision_note is None
    approved = ps.decide_payment_plan(db, supervisor, case["id"], ps.PlanDecisionRequest(approve=True), now=at("2026-07-08"))
    assert approved.status == "deferred" and approved.status_label == "暂缓缴纳中" and approved.plan_end == date(2026, 9, 30)
    # inside the deferral nothing is overdue; the original last day to pay no longer counts
    assert ps.list_overdue_payments(db, officer, on=date(2026, 9, 30)) == []
    assert [v.status for v in ps.list_overdue_payments(db, officer, on=date(2026, 10, 2))] == ["overdue"]
    paid = _pay(db, clerk, case["id"], "DF-1", fine + (fine * 6 / 100).quantize(D("0.01")), "2026-10-02", "2026-10-02")
    assert paid.status == "paid" and paid.instalment_payments[0].surcharge_yuan == (fine * 6 / 100).quantize(D("0.01"))
    with pytest.raises(Conflict):  # paid: no new application
        ps.apply_payment_plan(db, citizen, case["id"], defer, now=at("2026-07-09"))
    assert _audits(db, "enforcement_payment_plans") == 4


def test_payment_in_full_without_a_plan_is_unchanged_and_ends_a_pending_application(loaded, actors, case):
    db, officer, legal, clerk, citizen = (loaded, *(actors[r] for r in ("officer", "legal_reviewer", "clerk", "citizen")))
    with pytest.raises(FieldError) as unserved:
        ps.apply_payment_plan(db, citizen, case["id"], ps.PaymentPlanRequest(kind="defer", reason="经济困难", schedule=[ps.PlanEntry(due=date(2026, 8, 1), amount_yuan=D(1))]),
                              now=at("2026-07-01"))
    assert unserved.value.field == "case_id"
    fine = _issued_and_served(db, officer, case["id"], case["version"])
    ps.apply_payment_plan(db, citizen, case["id"], ps.PaymentPlanRequest(kind="defer", reason="经济困难", schedule=[ps.PlanEntry(due=date(2026, 8, 1), amount_yuan=fine)]),
                          now=at("2026-07-03"))
    with pytest.raises(FieldError) as short:
        _pay(db, clerk, case["id"], "FU-1", fine - 1, "2026-07-10", "2026-07-10")
    assert "未经批准分期缴纳的，不能部分缴纳" in short.value.zh
    paid = _pay(db, clerk, case["id"], "FU-1", fine, "2026-07-10", "2026-07-10")
    assert paid.status == "paid" and paid.paid.instalment is None and paid.plan.status == "pending"
    with pytest.raises(Conflict):
        ps.decide_payment_plan(db, legal, case["id"], ps.PlanDecisionRequest(approve=True), now=at("2026-07-11"))
    # one payment in full per case, held by the store itself (NULLs are distinct in the unique constraint)
    with pytest.raises(IntegrityError), loaded.transaction() as session:
        session.add(PaymentRow(case_id=case["id"], receipt_number="FU-2", channel="bank", paid_on=date(2026, 7, 10), amount_yuan=fine, fine_yuan=fine,
                               surcharge_yuan=D(0), days_late=0, recorded_at=at("2026-07-10"), recorded_by="x"))
    with loaded.transaction() as session:
        assert session.scalar(select(func.count()).select_from(PaymentRow)) == 1


# ---------------------------------------------------------------- API


def _api_issued_and_served(client, officer, case) -> tuple[Decimal, date]:
    issued = client.post(f"/api/v1/cases/{case['id']}/issue", json={"version": case["version"]}, headers=officer)
    assert issued.status_code == 200, issued.text
    served = client.post(f"/api/v1/cases/{case['id']}/served", json={}, headers=officer)
    assert served.status_code == 200, served.text
    return D(issued.json()["decision"]["fine_yuan"]), date.fromisoformat(served.json()["payment"]["pay_by"])


def _body(fine: Decimal, pay_by: date) -> dict:
    part = (fine / 3).quantize(D("0.01"))
    amounts = [fine - 2 * part, part, part]
    return {"kind": "instalments", "reason": "个体经营亏损，申请分三期缴纳",
            "schedule": [{"due": (pay_by + timedelta(days=30 * i)).isoformat(), "amount_yuan": str(a)} for i, a in enumerate(amounts)]}


def test_api_party_applies_staff_decide_clerk_records_the_first_instalment(client, tokens, case):
    officer, clerk, citizen, company, legal = (bearer(tokens[r]) for r in ("officer", "clerk", "citizen", "company", "legal_reviewer"))
    fine, pay_by = _api_issued_and_served(client, officer, case)
    body = _body(fine, pay_by)
    url = f"/api/v1/cases/{case['id']}/payment-plan"
    assert client.post(url, json=body, headers=officer).status_code == 403
    assert client.post(url, json=body, headers=company).status_code == 404
    bad = client.post(url, json={**body, "schedule": body["schedule"][:1]}, headers=citizen)
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "schedule"
    assert client.post(url, json={**body, "reason": ""}, headers=citizen).status_code == 422
    applied = client.post(url, json=body, headers=citizen)
    assert applied.status_code == 200, applied.text
    assert applied.json()["plan"]["status"] == "pending" and applied.json()["plan"]["kind_label"] == "分期缴纳"
    assert client.post(url, json=body, headers=citizen).status_code == 409
    assert client.post(f"{url}/decision", json={"approve": True}, headers=clerk).status_code == 403
    assert client.post(f"{url}/decision", json={"approve": True}, headers=citizen).status_code == 403
    decided = client.post(f"{url}/decision", json={"approve": True, "note": "同意"}, headers=legal)
    assert decided.status_code == 200, decided.text
    shown = client.get(f"/api/v1/cases/{case['id']}/payment", headers=citizen).json()
    assert shown["status"] == "instalments" and shown["plan_end"] == body["schedule"][-1]["due"] and shown["plan"]["decided_by"]
    assert [(i["due"], D(i["amount_yuan"]), i["paid"]) for i in shown["plan"]["schedule"]] == [(e["due"], D(e["amount_yuan"]), False) for e in body["schedule"]]
    today = datetime.now(BJ).date().isoformat()
    pay = {"receipt_number": "PLAN-1", "amount_yuan": body["schedule"][0]["amount_yuan"], "paid_on": today, "channel": "online"}
    over = client.post(f"/api/v1/cases/{case['id']}/payments", json={**pay, "amount_yuan": str(fine)}, headers=clerk)
    assert over.status_code == 422 and over.json()["detail"]["field"] == "amount_yuan"
    made = client.post(f"/api/v1/cases/{case['id']}/payments", json=pay, headers=clerk)
    assert made.status_code == 200, made.text
    assert made.json()["next_instalment"] == 2 and made.json()["plan"]["schedule"][0]["receipt_number"] == "PLAN-1"


def test_api_concurrent_decisions_one_wins_the_other_gets_409(client, tokens, case, loaded):
    officer, citizen, legal = (bearer(tokens[r]) for r in ("officer", "citizen", "legal_reviewer"))
    fine, pay_by = _api_issued_and_served(client, officer, case)
    url = f"/api/v1/cases/{case['id']}/payment-plan"
    assert client.post(url, json=_body(fine, pay_by), headers=citizen).status_code == 200
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def attempt(headers: dict, approve: bool) -> None:
        barrier.wait()
        codes.append(client.post(f"{url}/decision", json={"approve": approve, "note": "经审查"}, headers=headers).status_code)

    threads = [threading.Thread(target=attempt, args=(officer, True)), threading.Thread(target=attempt, args=(legal, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    with loaded.transaction() as session:
        row = session.scalars(select(PaymentPlanRow).where(PaymentPlanRow.case_id == case["id"])).one()
        assert row.status in ("approved", "rejected") and row.version == 2
    assert _audits(loaded, "enforcement_payment_plans") == 2


# ---------------------------------------------------------------- migration


OURS = {"enforcement_payment_plans", "enforcement_payments"}


def test_migration_0013_matches_the_plan_and_payment_tables_and_keeps_payments(database, tmp_path):
    assert tables_differing(database.engine) & OURS == set()
    engine = make_engine(f"sqlite:///{tmp_path}/at-0012.db")
    upgrade(engine, "0012")
    assert tables_differing(engine) & OURS == OURS
    with sqlite3.connect(tmp_path / "at-0012.db") as raw:  # a paid case at 0012, to see its payment survive the batch copy
        raw.execute(
            "INSERT INTO enforcement_cases (id, plate_number, plate_type, behavior, region, stretch, occurred_at, last_captured_at, capture_count, entered_at,"
            " entered_by, owner_kind, status, awaiting_driver, version) VALUES (7, '鲁A12345', '02', 'red_light', '370102', 's', '2026-07-01 02:00:00',"
            " '2026-07-01 02:00:00', 1, '2026-07-01 02:00:00', 'officer', 'person', 'issued', 0, 1)"
        )
        raw.execute(
            "INSERT INTO enforcement_payments (case_id, receipt_number, channel, paid_on, amount_yuan, fine_yuan, surcharge_yuan, days_late, recorded_at, recorded_by)"
            " VALUES (7, 'OLD-1', 'bank', '2026-07-10', 200, 200, 0, 0, '2026-07-10 02:00:00', 'clerk')"
        )
    raw.close()
    upgrade(engine, "0013")
    assert tables_differing(engine) & OURS == set()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT case_id, instalment, receipt_number FROM enforcement_payments")).all() == [(7, None, "OLD-1")]
    engine.dispose()


# ---------------------------------------------------------------- pages


def test_pages_party_applies_with_the_form_staff_approve_and_see_the_schedule(client, tokens, accounts, case):
    officer = bearer(tokens["officer"])
    fine, pay_by = _api_issued_and_served(client, officer, case)
    hp._log_in(client, accounts["citizen"])
    page = client.get(f"/me/violations/{case['id']}")
    assert page.status_code == 200 and "申请延期/分期缴纳" in page.text and 'name="due_6"' in page.text and 'name="due_7"' not in page.text
    half = (fine / 2).quantize(D("0.01"))
    rows = {"due_1": pay_by.isoformat(), "amount_1": str(fine - half), "due_3": (pay_by + timedelta(days=30)).isoformat(), "amount_3": str(half)}
    bad = client.post(f"/me/violations/{case['id']}/payment-plan", data={"kind": "instalments", "reason": "收入微薄，确有困难", "due_1": pay_by.isoformat(), "amount_1": "abc"})
    assert bad.status_code == 422 and "第1行" in bad.text
    short = client.post(f"/me/violations/{case['id']}/payment-plan", data={"kind": "instalments", "reason": "收入微薄，确有困难", **rows, "amount_3": "1.00"})
    assert short.status_code == 422 and "应等于罚款" in short.text
    made = client.post(f"/me/violations/{case['id']}/payment-plan", data={"kind": "instalments", "reason": "收入微薄，确有困难", **rows, "due_2": "", "amount_2": ""})
    assert made.status_code == 200 and "待审批" in made.text and "申请延期/分期缴纳" not in made.text and 'id="instalment-2"' in made.text
    hp._log_in(client, accounts["clerk"])
    assert "审批分期缴纳申请" not in client.get(f"/enforcement/cases/{case['id']}/procedure").text
    assert client.post(f"/enforcement/cases/{case['id']}/payment-plan/decision", data={"approve": "yes"}).status_code == 403
    hp._log_in(client, accounts["legal_reviewer"])
    staff = client.get(f"/enforcement/cases/{case['id']}/procedure")
    assert "审批分期缴纳申请" in staff.text and "收入微薄" in staff.text
    no_reason = client.post(f"/enforcement/cases/{case['id']}/payment-plan/decision", data={"approve": "no", "note": ""})
    assert no_reason.status_code == 422 and "写明理由" in no_reason.text
    approved = client.post(f"/enforcement/cases/{case['id']}/payment-plan/decision", data={"approve": "yes", "note": "同意", "version": "1"})
    assert approved.status_code == 200 and "分期缴纳中" in approved.text and "已批准" in approved.text and "第七十二条第二款" in approved.text
    again = client.post(f"/enforcement/cases/{case['id']}/payment-plan/decision", data={"approve": "yes", "version": "1"})
    assert again.status_code == 409
    hp._log_in(client, accounts["citizen"])
    mine = client.get(f"/me/violations/{case['id']}")
    assert "分期缴纳中" in mine.text and (pay_by + timedelta(days=30)).isoformat() in mine.text and "申请延期/分期缴纳" not in mine.text
