"""执法监督 pure logic: 同案不同罚 grouping and rates, 双公示 rows with the 7-working-day due day,
leniency-list evaluation over plain records."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement.calendar import parse_calendar
from trafficgov.errors import FieldError

BJ = timezone(timedelta(hours=8))
USCC = "91350100M000100Y43"


def dec(case_id: int, fine: int, officer: str, unit: str, facts=("red_light", ("r1",)), reason: str | None = None) -> ov.IssuedDecision:
    return ov.IssuedDecision(
        case_id=case_id, decision_number=f"N{case_id}", behaviour="red_light", facts=facts, outcome="fine", fine_yuan=fine, points=6,
        officer=officer, unit=unit, issued_at=datetime(2026, 6, 1, 8, case_id, tzinfo=BJ), deviation_reason=reason,
    )


def test_same_facts_different_penalty_is_paired_and_rated_per_officer_and_unit():
    decisions = [
        dec(1, 200, "a", "U1"),
        dec(2, 200, "b", "U2"),
        dec(3, 100, "b", "U2", reason="当事人系初犯且主动纠正"),
        dec(4, 150, "a", "U1", facts=("red_light", ("r2",))),  # alone in its group: not compared
    ]
    report = ov.consistency_audit(decisions)
    assert (report.groups, report.inconsistent_groups, report.decisions, report.divergent) == (1, 1, 3, 1)
    assert report.rate == round(1 / 3, 4)
    [pair] = report.pairs
    assert (pair.usual.case_id, pair.other.case_id) == (1, 3)
    assert pair.other.deviation_reason == "当事人系初犯且主动纠正"
    assert [(r.key, r.decisions, r.divergent) for r in report.by_officer] == [("b", 2, 1), ("a", 1, 0)]
    assert [(r.key, r.rate) for r in report.by_unit] == [("U2", 0.5), ("U1", 0.0)]
    body = report.as_dict()
    assert body["pairs"][0]["other"]["fine_yuan"] == 100 and json.dumps(body, ensure_ascii=False)


def test_consistent_group_has_no_pairs_and_signature_needs_a_proposal():
    report = ov.consistency_audit([dec(1, 200, "a", "U1"), dec(2, 200, "b", "U2")])
    assert (report.groups, report.inconsistent_groups, report.divergent, report.pairs) == (1, 0, 0, [])
    assert ov.fact_signature("red_light", None) is None
    a = ov.fact_signature("red_light", {"rule_ids": ["x", "y"], "outcome": "fine", "fine_yuan": 200, "points": 6})
    b = ov.fact_signature("red_light", {"rule_ids": ["y", "x"], "outcome": "fine", "fine_yuan": 200, "points": 6})
    c = ov.fact_signature("red_light", {"rule_ids": ["y", "z"], "outcome": "fine", "fine_yuan": 200, "points": 6})
    assert a == b != c


CALENDAR = parse_calendar({"years": {2026: {"holidays": [date(2026, 10, d) for d in range(1, 8)], "workdays": [date(2026, 10, 10)]}}})


def company(number: str, counterparty: str = USCC, outcome: str = "fine", decided: date = date(2026, 9, 30), fine: int | None = 200) -> ov.CompanyDecision:
    return ov.CompanyDecision(
        decision_number=number, counterparty=counterparty, behaviour="overload_freight", behaviour_label="货车超载",
        occurred_at=datetime(2026, 9, 28, 10, tzinfo=BJ), decided_on=decided, outcome=outcome, fine_yuan=fine, points=3,
        licence_action="none", licence_months=None, legal_basis=["道路交通安全法第九十二条"], authority="济南市公安局交通警察支队", place="经十路",
    )


def test_disclosure_rows_only_company_penalties_due_in_seven_working_days():
    decisions = [
        company("D1"),
        company("D2", counterparty="370125197003229002"),  # a person: not disclosed here
        company("D3", outcome="no_penalty", fine=None),  # 不予处罚 is no penalty
        company("D4", outcome="warning", fine=None),
        company("D5", counterparty="91350100M000100Y44"),  # bad check character: not a credit code
    ]
    rows = ov.disclosure_rows(decisions, date(2026, 10, 15), CALENDAR)
    assert [r.decision_number for r in rows] == ["D1", "D4"]
    # 30 Sep: 8, 9, 10 (调休 Saturday), 12, 13, 14, 15 October
    assert rows[0].due_date == date(2026, 10, 15) and not rows[0].overdue
    assert ov.disclosure_rows(decisions[:1], date(2026, 10, 16), CALENDAR)[0].overdue
    first = rows[0]
    assert first.penalty_category == "罚款" and first.result.startswith("罚款200元") and first.counterparty_code == USCC
    assert "货车超载" in first.cause and "经十路" in first.cause and first.legal_basis == "道路交通安全法第九十二条"
    assert rows[1].penalty_category == "警告" and rows[1].result == "警告，记3分（由实际驾驶人承担）"
    table = list(csv.reader(io.StringIO(ov.disclosure_csv(rows))))
    assert table[0][0] == "行政处罚决定书文号" and len(table) == 3 and table[1][10] == "否"
    # the public contract's columns keep their order; published_at and status are added at the end
    assert table[0][-2:] == ["公示时间", "公示状态"] and table[1][-2:] == ["", "待公示"]
    plain = json.loads(ov.disclosure_json(rows))
    assert set(ov.DISCLOSURE_FIELDS) <= set(plain[0]) and plain[0]["due_date"] == "2026-10-15"
    assert plain[0]["status"] == "due" and plain[0]["published_at"] is None


def test_disclosure_outside_the_calendar_has_no_due_day():
    [row] = ov.disclosure_rows([company("D1", decided=date(2031, 12, 30))], date(2032, 6, 1), CALENDAR)
    assert row.due_date is None and row.overdue is False


def v(behaviour: str, day: int, outcome: str, who: str, month: int = 1) -> ov.ViolationRecord:
    return ov.ViolationRecord(behaviour, datetime(2025, month, day, 9, tzinfo=BJ), outcome, plate=f"02:P{who}", driver=f"D{who}")


def test_leniency_evaluation_rates_and_recommendations():
    records: list[ov.ViolationRecord] = []
    for i in range(20):
        records.append(v("no_seatbelt", 1, "warning", f"w{i}"))
        if i < 10:  # half the warned drivers do it again within the window
            records.append(v("no_seatbelt", 20, "fine", f"w{i}"))
        records.append(v("no_seatbelt", 1, "fine", f"f{i}"))
        records.append(v("illegal_parking", 2, "warning", f"p{i}"))
        records.append(v("illegal_parking", 2, "fine", f"q{i}"))
        records.append(v("phone_use", 3, "fine", f"m{i}"))  # unlisted, safe after a fine: a candidate
        records.append(v("drunk_driving", 3, "fine", f"x{i}"))  # excluded by the list
    records.append(v("doors_not_closed", 1, "warning", "d0"))
    records.append(v("no_seatbelt", 1, "warning", "late", month=12))  # window not closed by as_of: not counted
    accidents = ov.accidents_from_records(
        [
            {"occurred_at": "2025-01-10T08:00:00+08:00", "parties": [{"plate_number": "Pf0", "plate_type": "02", "driver_id": "Df0"}]},
            {"occurred_at": "2025-09-10T08:00:00+08:00", "parties": [{"plate_number": "Pf1", "plate_type": "02"}]},  # outside the window
            {"occurred_at": "not a time", "parties": []},
            {"parties": []},
        ]
    )
    assert len(accidents) == 2
    listed = {"no_seatbelt": "未系安全带", "illegal_parking": "违法停车", "doors_not_closed": "车门未关"}
    report = ov.evaluate_leniency(listed, records, accidents, as_of=date(2025, 12, 31), window_days=90, excluded=["drunk_driving"])
    stats = {s.behaviour: s for s in report.behaviours}
    seat = stats["no_seatbelt"]
    assert (seat.frequency, seat.lenient, seat.fined) == (50, 20, 30)
    assert seat.repeat_rate_lenient == 0.5 and seat.repeats_after_fine == 0
    assert seat.accidents_after_fine == 1 and seat.accident_rate_lenient == 0.0
    assert seat.recommendation == "remove" and "再犯率" in seat.reason_zh
    assert stats["illegal_parking"].recommendation == "keep"
    assert stats["doors_not_closed"].recommendation == "insufficient_data"
    assert stats["phone_use"].recommendation == "add" and not stats["phone_use"].on_list
    assert stats["drunk_driving"].recommendation == "none"
    body = report.as_dict()
    assert body["recommend_remove"] == ["no_seatbelt"] and body["recommend_add"] == ["phone_use"]
    assert body["violations"] == len(records) - 1 and body["accidents"] == 2


def test_violations_from_records_reads_demo_rows_and_skips_bad_ones():
    rows = [
        {"violation_id": "V1", "occurred_at": "2024-05-14T00:54:26+08:00", "behavior": "speeding", "plate_number": "鲁A0065Z", "plate_type": "02", "driver_id": "", "outcome": "warning"},
        {"occurred_at": "2024-05-14T00:54:26", "behavior": "speeding"},  # no offset
        {"occurred_at": "2024-05-14T00:54:26+08:00", "behavior": ""},
    ]
    [record] = ov.violations_from_records(rows)
    assert record.plate == "02:鲁A0065Z" and record.driver is None and record.outcome == "warning"


def test_addition_is_judged_against_accidents_after_leniency_on_the_list():
    records = [v("no_seatbelt", 1, "warning", f"w{i}") for i in range(20)]
    records += [v("phone_use", 1, "fine", f"m{i}") for i in range(20)]
    records += [v("red_light", 1, "fine", f"r{i}") for i in range(20)]
    crashed = ["w0", "w1", "m0"] + [f"r{i}" for i in range(4)]  # 10% after leniency, 5% and 20% after fines
    accidents = ov.accidents_from_records(
        {"occurred_at": "2025-01-15T08:00:00+08:00", "parties": [{"driver_id": f"D{who}"}]} for who in crashed
    )
    report = ov.evaluate_leniency({"no_seatbelt": "未系安全带"}, records, accidents, as_of=date(2025, 12, 31))
    stats = {s.behaviour: s for s in report.behaviours}
    assert stats["no_seatbelt"].accident_rate_lenient == 0.1
    assert stats["phone_use"].recommendation == "add" and "10.0%" in stats["phone_use"].reason_zh
    assert stats["red_light"].recommendation == "none"


def published(on: date | None, at_hour: int = 10, decided: date = date(2026, 9, 30)) -> ov.CompanyDecision:
    base = company("D1", decided=decided)
    if on is None:
        return base
    return ov.CompanyDecision(**{**base.__dict__, "case_id": 7, "published_on": on, "published_at": datetime(on.year, on.month, on.day, at_hour, tzinfo=BJ), "channel": "credit_china_shandong"})


# decided 30 Sep 2026, due 15 Oct (7 working days, 调休 included): (published on, judged on) -> (status, overdue)
STATUS_CASES = [
    (None, date(2026, 10, 15), "due", False),  # the due day itself: still in time
    (None, date(2026, 10, 16), "overdue", True),  # not published by the due day
    (date(2026, 10, 15), date(2026, 10, 20), "published_on_time", False),
    (date(2026, 9, 30), date(2026, 9, 30), "published_on_time", False),  # the decision day itself
    (date(2026, 10, 16), date(2026, 10, 20), "published_late", True),
    (date(2026, 10, 20), date(2026, 10, 16), "overdue", True),  # a past day's view ignores the later record
    (date(2026, 10, 12), date(2026, 10, 9), "due", False),
]


def test_disclosure_status_on_both_sides_of_the_due_day():
    for on, as_of, status, overdue in STATUS_CASES:
        [row] = ov.disclosure_rows([published(on)], as_of, CALENDAR)
        assert (row.status, row.overdue) == (status, overdue), (on, as_of)
        assert row.due_date == date(2026, 10, 15)
        assert (row.published_at is not None) == status.startswith("published")
        assert row.publishable == (status in ("due", "overdue"))
    [late] = ov.disclosure_rows([published(date(2026, 10, 16))], date(2026, 10, 20), CALENDAR)
    plain = json.loads(ov.disclosure_json([late]))[0]
    assert plain["published_at"] == "2026-10-16T10:00:00+08:00" and plain["status_zh"] == "逾期公示" and plain["channel_zh"] == "信用中国（山东）"
    row = list(csv.reader(io.StringIO(ov.disclosure_csv([late]))))[1]
    assert row[10:] == ["是", "2026-10-16T10:00:00+08:00", "逾期公示"]
    assert list(csv.reader(io.StringIO(ov.disclosure_csv([late], chinese_headers=False))))[1][-1] == "published_late"


def test_publication_outside_the_calendar_is_published_without_a_judgement():
    [row] = ov.disclosure_rows([published(date(2032, 1, 5), decided=date(2031, 12, 30))], date(2032, 6, 1), CALENDAR)
    assert (row.due_date, row.status, row.overdue) == (None, "published", False)


def test_publication_needs_a_known_channel_and_a_time_that_has_come():
    now = datetime(2026, 10, 16, 12, tzinfo=BJ)
    ov.check_publication("bureau_website", now, now)
    for channel, at, name in (("weibo", now, "channel"), ("credit_china", now + timedelta(minutes=1), "published_at"), ("credit_china", datetime(2026, 10, 16), "published_at"), ("credit_china", datetime(1, 1, 1, tzinfo=BJ), "published_at")):
        with pytest.raises(FieldError) as caught:
            ov.check_publication(channel, at, now)
        assert caught.value.field == name
    with pytest.raises(FieldError, match="published before"):
        ov.check_published_after_decision("D1", date(2026, 9, 30), date(2026, 9, 29))


def test_consistency_json_carries_chinese_labels_beside_the_codes():
    licence = ov.IssuedDecision(
        case_id=5, decision_number="N5", behaviour="drink_driving", facts=("drink_driving", ("x",)), outcome="fine_and_licence", fine_yuan=1500, points=12,
        licence_action="suspend", licence_months=6, officer="a", unit="U1", issued_at=datetime(2026, 6, 1, 9, tzinfo=BJ),
    )
    other = ov.IssuedDecision(**{**licence.__dict__, "case_id": 6, "fine_yuan": 1000, "issued_at": datetime(2026, 6, 2, 9, tzinfo=BJ)})
    third = ov.IssuedDecision(**{**licence.__dict__, "case_id": 7, "issued_at": datetime(2026, 6, 3, 9, tzinfo=BJ)})
    report = ov.consistency_audit([licence, other, third])
    report.behaviour_labels["drink_driving"] = "饮酒后驾驶机动车"
    body = report.as_dict()
    [pair] = body["pairs"]
    assert pair["behaviour"] == "drink_driving" and pair["behaviour_zh"] == "饮酒后驾驶机动车"
    usual = pair["usual"]
    assert (usual["outcome"], usual["outcome_zh"]) == ("fine_and_licence", "罚款并处暂扣或吊销驾驶证")
    assert (usual["licence_action"], usual["licence_action_zh"]) == ("suspend", "暂扣机动车驾驶证")
    assert usual["penalty_zh"] == "罚款1500元，记12分，暂扣机动车驾驶证6个月" and pair["other"]["penalty_zh"].startswith("罚款1000元")
    assert ov.outcome_zh("no_penalty") == "不予处罚" and ov.outcome_zh("warning") == "警告" and ov.outcome_zh("referral").startswith("移送")
    assert ov.licence_action_zh("revoke") == "吊销机动车驾驶证" and ov.licence_action_zh("none") == "不涉及驾驶证"
    warned = ov.IssuedDecision(**{**licence.__dict__, "outcome": "warning", "fine_yuan": None, "points": 0, "licence_action": "none"})
    assert ov.penalty_zh(warned) == "警告"
