"""执法监督 over the store, through the API and pages with real logins, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from conftest import bearer, tables_differing
from trafficgov.audit.store import AuditLogRow
from trafficgov.credit import service as credit
from trafficgov.enforcement import oversight_service as svc
from trafficgov.enforcement.store import CaseRow, DisclosureRecordRow, LeniencyVersionRow
from trafficgov.errors import FieldError
from trafficgov.store.db import make_engine, upgrade

PROPOSAL = {"outcome": "fine", "fine_yuan": 200, "points": 6, "licence_action": "none", "rule_ids": ["n.red_light", "pts.red_light"], "legal_basis": ["道路交通安全法第九十条"], "explanation_zh": "闯红灯，罚款200元，记6分"}


def issued(case_no: int, officer: str, fine: int, *, owner: str, kind: str, reason: str | None = None, day: int = 1, behaviour: str = "red_light") -> CaseRow:
    at = datetime(2026, 6, day, 2, case_no, tzinfo=UTC)
    decision = {**PROPOSAL, "fine_yuan": fine}
    return CaseRow(
        plate_number=f"鲁A1234{case_no}", plate_type="02", behavior=behaviour, region="370102", stretch="E1", road="经十路",
        occurred_at=at, last_captured_at=at, capture_count=1, entered_at=at, entered_by=officer, owner_id=owner, owner_kind=kind,
        status="issued", proposal=dict(PROPOSAL), decision=decision, deviation_reason=reason, decision_number=f"鲁公交决字〔2026〕第{case_no:06d}号",
        issued_at=at, issued_by=officer, requested_by=officer, awaiting_driver=False, version=2,
    )


@pytest.fixture
def decisions(loaded, accounts):
    uscc = accounts["company"]["uscc"]
    citizen = accounts["citizen"]["id_number"]
    rows = [
        issued(1, "officer", 200, owner=citizen, kind="person"),
        issued(2, "officer", 200, owner=uscc, kind="company"),
        issued(3, "legal_reviewer", 100, owner=uscc, kind="company", reason="车辆故障临时停靠，情节轻微"),
        issued(4, "officer", 200, owner=uscc, kind="company", day=28),
    ]
    with loaded.transaction(write=True) as session:
        session.add_all(rows)
        session.flush()
        for r in rows:  # as issuing does: a decision is a violation (credit_violations, id = the case id)
            credit.record_decision(
                session, violation_id=str(r.id), occurred_at=r.occurred_at, decided_at=r.issued_at, behavior=r.behavior, plate_number=r.plate_number,
                plate_type=r.plate_type, driver_id=r.owner_id if r.owner_kind == "person" else None, region=r.region,
                outcome=r.decision["outcome"], fine_yuan=r.decision["fine_yuan"], points=r.decision["points"],
            )
    return {"uscc": uscc, "ids": [r.id for r in rows]}


def test_consistency_api_pairs_and_rates(client, tokens, decisions):
    response = client.get("/api/v1/oversight/consistency", headers=bearer(tokens["supervisor"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["decisions"], body["divergent"], body["inconsistent_groups"]) == (4, 1, 1)
    [pair] = body["pairs"]
    assert pair["usual"]["fine_yuan"] == 200 and pair["other"]["fine_yuan"] == 100
    assert pair["other"]["deviation_reason"] == "车辆故障临时停靠，情节轻微" and pair["usual"]["explanation_zh"]
    officers = {r["officer"]: r for r in body["by_officer"]}
    assert officers["legal_reviewer"]["rate"] == 1.0 and officers["officer"]["rate"] == 0.0
    # codes stay; Chinese labels beside them
    assert pair["behaviour"] == "red_light" and pair["behaviour_zh"] == "不按交通信号灯指示通行（闯红灯）"
    assert (pair["usual"]["outcome"], pair["usual"]["outcome_zh"], pair["usual"]["licence_action_zh"]) == ("fine", "罚款", "不涉及驾驶证")
    assert pair["other"]["behaviour_zh"] == pair["behaviour_zh"] and pair["other"]["penalty_zh"] == "罚款100元，记6分"
    assert {r["unit"] for r in body["by_unit"]} and all(r["unit"] != "—" for r in body["by_unit"])
    assert client.get("/api/v1/oversight/consistency", headers=bearer(tokens["legal_reviewer"])).status_code == 200
    assert client.get("/api/v1/oversight/consistency", headers=bearer(tokens["officer"])).status_code == 403


def test_disclosure_api_csv_json_and_overdue(client, tokens, decisions):
    url = "/api/v1/oversight/disclosure?as_of=2026-06-20"
    rows = client.get(url, headers=bearer(tokens["admin"])).json()
    assert [r["counterparty_code"] for r in rows] == [decisions["uscc"]] * 3
    first = rows[0]
    assert first["decision_date"] == "2026-06-01" and first["due_date"] == "2026-06-10" and first["overdue"] is True
    assert rows[-1]["decision_date"] == "2026-06-28" and rows[-1]["overdue"] is False
    assert first["legal_basis"] == "道路交通安全法第九十条" and first["result"].startswith("罚款200元")
    overdue = client.get(url + "&overdue_only=true", headers=bearer(tokens["supervisor"])).json()
    assert len(overdue) == 2
    text = client.get(url + "&format=csv", headers=bearer(tokens["supervisor"]))
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(text.text)))
    assert table[0][0] == "行政处罚决定书文号" and len(table) == 4
    assert table[0][-3:] == ["是否超期", "公示时间", "公示状态"] and table[1][-1] == "超期未公示"
    assert [r["status"] for r in rows] == ["overdue", "overdue", "due"] and all(r["published_at"] is None for r in rows)
    assert client.get(url, headers=bearer(tokens["legal_reviewer"])).status_code == 200
    assert client.get(url, headers=bearer(tokens["officer"])).status_code == 403


def test_export_disclosure_is_cli_friendly(loaded, decisions, tmp_path):
    out = tmp_path / "sg.json"
    text = svc.export_disclosure(loaded, "json", as_of=date(2026, 6, 20), out=out)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(text) and len(json.loads(text)) == 3


def test_leniency_api_reads_the_stored_violations_or_given_accidents(client, tokens, loaded, decisions, demo_dir):
    response = client.get("/api/v1/oversight/leniency?as_of=2026-12-31&window_days=30", headers=bearer(tokens["legal_reviewer"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["list_id"] and body["window_days"] == 30 and body["violations"] == 4
    assert any(b["on_list"] for b in body["behaviours"])
    assert client.get("/api/v1/oversight/leniency", headers=bearer(tokens["officer"])).status_code == 403
    accidents = [json.loads(line) for line in (demo_dir / "accidents.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    report = svc.leniency_report(loaded, as_of=date(2026, 12, 31), accidents=accidents)
    assert report.accidents == len(accidents) > 0


def test_leniency_evaluation_reads_the_one_violations_table_and_the_stored_accidents(loaded, demo_dir, admin_actor):
    """Imported violations and accidents (the demo's history) are what the evaluation counts: a year of
    violations before as_of - window (Beijing days), each followed for the window, accidents up to as_of."""
    from conftest import DEMO_AS_OF
    from trafficgov.demo.load import load_history

    load_history(loaded, demo_dir / "manifest.json", admin_actor)
    bj = timezone(timedelta(hours=8))
    with (demo_dir / "violations.csv").open(encoding="utf-8", newline="") as handle:
        moments = [datetime.fromisoformat(r["occurred_at"]) for r in csv.DictReader(handle)]
    accidents = [json.loads(line) for line in (demo_dir / "accidents.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]

    def expected(as_of: date) -> tuple[list[datetime], list[dict]]:
        end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), bj)
        start = end - timedelta(days=90 + svc.EVALUATION_PERIOD_DAYS)
        counted = [m for m in moments if start <= m and m.astimezone(bj).date() + timedelta(days=90) <= as_of]
        return counted, [a for a in accidents if start <= datetime.fromisoformat(a["occurred_at"]) <= end]

    for as_of in (DEMO_AS_OF, date(2025, 6, 30)):
        report = svc.leniency_report(loaded, as_of=as_of, window_days=90)
        counted, in_period = expected(as_of)
        assert 0 < len(counted) < len(moments) and report.violations == len(counted), as_of
        assert 0 < len(in_period) and report.accidents == len(in_period), as_of
        assert report.period_from == min(m.astimezone(bj).date() for m in counted)
        assert report.period_to == as_of - timedelta(days=90)
        assert sum(b.frequency for b in report.behaviours) == len(counted)
    # the same records given directly give the same report
    report = svc.leniency_report(loaded, as_of=DEMO_AS_OF, window_days=90)
    with (demo_dir / "violations.csv").open(encoding="utf-8", newline="") as handle:
        given = svc.leniency_report(loaded, as_of=DEMO_AS_OF, window_days=90, violations=list(csv.DictReader(handle)), accidents=expected(DEMO_AS_OF)[1])
    assert given.as_dict() == report.as_dict()
    with pytest.raises(FieldError) as refused:
        svc.leniency_report(loaded, as_of=DEMO_AS_OF, period_days=0)
    assert refused.value.field == "period_days"


def log_in(client, account: dict) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:300]


def test_oversight_pages_in_chinese_for_their_roles(client, accounts, decisions):
    log_in(client, accounts["supervisor"])
    page = client.get("/oversight/consistency")
    assert page.status_code == 200 and "同案不同罚" in page.text and "车辆故障临时停靠" in page.text and "25.0%" in page.text
    assert "不按交通信号灯指示通行（闯红灯）" in page.text and "罚款100元，记6分" in page.text and "不涉及驾驶证" in page.text
    # officers by name, as staff know each other (the API keeps the user names)
    officer = accounts["officer"]["display_name"]
    assert f"<td>{officer}</td>" in page.text and f"承办：{officer}（" in page.text and "<td>officer</td>" not in page.text
    page = client.get("/oversight/disclosure")
    assert page.status_code == 200 and decisions["uscc"] in page.text and "公示期限" in page.text
    assert "<div class=\"small muted\">依据：" in page.text and "处罚事由 · 处罚依据" in page.text  # every field of facts.md §6, grouped
    assert 'href="/oversight/leniency"' in page.text
    log_in(client, accounts["legal_reviewer"])
    page = client.get("/oversight/leniency?window_days=30")
    assert page.status_code == 200 and "定期评估" in page.text
    assert client.get("/oversight/disclosure").status_code == 200
    log_in(client, accounts["admin"])
    page = client.get("/oversight/disclosure")
    assert page.status_code == 200 and 'name="case_ids"' not in page.text  # the admin reads, does not record publication
    log_in(client, accounts["officer"])
    assert client.get("/oversight/consistency").status_code == 403


def audit_rows(db, entity: str) -> list[AuditLogRow]:
    with db.transaction() as session:
        return list(session.scalars(select(AuditLogRow).where(AuditLogRow.entity == entity).order_by(AuditLogRow.seq)))


def test_publishing_disclosures_records_status_idempotently_and_audits(client, tokens, loaded, decisions):
    _, on_time, late, recent = decisions["ids"]
    url = "/api/v1/oversight/disclosure/publish"
    lr, sup = bearer(tokens["legal_reviewer"]), bearer(tokens["supervisor"])
    response = client.post(url, json={"case_ids": [on_time], "channel": "credit_china_shandong", "published_at": "2026-06-10T17:00:00+08:00"}, headers=lr)
    assert response.status_code == 200, response.text
    assert (response.json()["published"], response.json()["already"]) == ([on_time], [])
    response = client.post(url, json={"case_ids": [late, on_time], "channel": "bureau_website", "published_at": "2026-06-11T09:00:00+08:00"}, headers=sup)
    assert (response.json()["published"], response.json()["already"]) == ([late], [on_time])
    rows = {r["case_id"]: r for r in client.get("/api/v1/oversight/disclosure?as_of=2026-06-20", headers=lr).json()}
    # the second publication of case `on_time` changed nothing: its first record stands
    assert rows[on_time]["published_at"] == "2026-06-10T17:00:00+08:00" and rows[on_time]["channel"] == "credit_china_shandong"
    assert (rows[on_time]["status"], rows[on_time]["overdue"]) == ("published_on_time", False)
    assert (rows[late]["status"], rows[late]["status_zh"], rows[late]["overdue"]) == ("published_late", "逾期公示", True)
    assert (rows[recent]["status"], rows[recent]["published_at"]) == ("due", None)
    overdue = client.get("/api/v1/oversight/disclosure?as_of=2026-07-20&overdue_only=true", headers=lr).json()
    assert [r["case_id"] for r in overdue] == [late, recent]  # not published by the due day: late, and still unpublished
    assert [r["case_id"] for r in client.get("/api/v1/oversight/disclosure?as_of=2026-07-20&status=overdue", headers=lr).json()] == [recent]
    table = list(csv.reader(io.StringIO(client.get("/api/v1/oversight/disclosure?as_of=2026-06-20&format=csv", headers=lr).text)))
    assert table[1][-2:] == ["2026-06-10T17:00:00+08:00", "已按期公示"]
    with loaded.transaction() as session:
        stored = session.scalars(select(DisclosureRecordRow).order_by(DisclosureRecordRow.case_id)).all()
    assert [(r.case_id, r.published_by) for r in stored] == [(on_time, "legal_reviewer"), (late, "supervisor")]
    entries = audit_rows(loaded, "enforcement_disclosures")
    assert [(e.action, e.actor, e.record_key) for e in entries] == [
        ("publish", "legal_reviewer", str(on_time)), ("publish", "supervisor", str(late)), ("publish", "supervisor", None),
    ]
    assert "credit_china_shandong" in entries[0].detail and str(on_time) in entries[2].detail


def test_publishing_refuses_what_is_not_a_company_penalty_or_a_bad_record(client, tokens, loaded, decisions):
    person, company_case, _, recent = decisions["ids"]
    url = "/api/v1/oversight/disclosure/publish"
    lr = bearer(tokens["legal_reviewer"])
    refused = client.post(url, json={"case_ids": [company_case, person], "channel": "credit_china"}, headers=lr)
    assert refused.status_code == 422 and "case_ids" in refused.text and str(person) in refused.text
    assert client.post(url, json={"case_ids": [company_case], "channel": "weibo"}, headers=lr).status_code == 422
    assert client.post(url, json={"case_ids": [company_case], "channel": "credit_china", "published_at": "2099-01-01T00:00:00+08:00"}, headers=lr).status_code == 422
    before = client.post(url, json={"case_ids": [recent], "channel": "credit_china", "published_at": "2026-06-20T09:00:00+08:00"}, headers=lr)
    assert before.status_code == 422 and "早于处罚决定日期" in before.text
    assert client.post(url, json={"case_ids": [company_case], "channel": "credit_china"}, headers=bearer(tokens["officer"])).status_code == 403
    assert client.post(url, json={"case_ids": [company_case], "channel": "credit_china"}, headers=bearer(tokens["admin"])).status_code == 403
    with loaded.transaction() as session:
        assert session.scalars(select(DisclosureRecordRow)).all() == []  # nothing half-written


def test_publishing_from_the_disclosure_page(client, accounts, loaded, decisions):
    _, on_time, late, _ = decisions["ids"]
    log_in(client, accounts["supervisor"])
    page = client.get("/oversight/disclosure")
    assert f'value="{on_time}"' in page.text and "登记公示" in page.text and "超期未公示" in page.text
    done = client.post("/oversight/disclosure/publish", data={"case_ids": [str(on_time), str(late)], "channel": "bureau_website", "published_at": "2026-06-09T10:30"})
    assert done.status_code == 200 and "已登记公示2件" in done.text and "本局门户网站" in done.text
    assert f'value="{on_time}"' not in done.text  # published rows can no longer be selected
    assert "已按期公示" in done.text
    again = client.post("/oversight/disclosure/publish", data={"case_ids": [str(on_time)], "channel": "credit_china"})
    assert "1件此前已登记" in again.text
    empty = client.post("/oversight/disclosure/publish", data={"channel": "credit_china"})
    assert empty.status_code == 422 and "请选择" in empty.text
    filtered = client.get("/oversight/disclosure?status=published_on_time")
    assert filtered.text.count('data-status="published_on_time"') == 2 and 'data-status="due"' not in filtered.text
    with loaded.transaction() as session:
        stored = session.scalars(select(DisclosureRecordRow)).all()
    assert {r.published_at.astimezone(UTC).hour for r in stored} == {2}  # 10:30 Beijing time is 02:30 UTC


VERSION = {"base_rule_id": "jn.first_warning.demo", "effective_from": "2099-01-01", "add": ["phone_use"], "remove": ["no_seatbelt"], "reason": "评估：未系安全带从宽后再犯率高"}


def test_leniency_version_api_validates_stores_and_offers_the_yaml(client, tokens, loaded):
    lr, sup = bearer(tokens["legal_reviewer"]), bearer(tokens["supervisor"])
    url = "/api/v1/oversight/leniency/versions"
    created = client.post(url, json=VERSION, headers=lr)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["new_rule_id"] == "jn.first_warning.demo.v2099-01-01" and view["status"] == "draft" and view["region"] == "370100"
    assert view["added_zh"] == ["驾车时拨打接听手持电话等妨碍安全驾驶"] and view["file_path"] == "regions/370100.yaml"
    listed = client.get(url, headers=sup).json()
    assert [v["id"] for v in listed] == [view["id"]]
    text = client.get(f"{url}/{view['id']}/yaml", headers=sup)
    assert text.status_code == 200 and text.headers["content-type"].startswith("application/yaml")
    assert "jn.first_warning.demo.v2099-01-01" in text.text and "effective_to: 2098-12-31" in text.text
    # accepting again for the same day replaces the draft (it was never published)
    again = client.post(url, json={**VERSION, "remove": [], "reason": "只纳入"}, headers=lr)
    assert again.status_code == 201 and again.json()["id"] == view["id"] and again.json()["removed"] == []
    with loaded.transaction() as session:
        assert len(session.scalars(select(LeniencyVersionRow)).all()) == 1
    assert [(e.action, e.record_key) for e in audit_rows(loaded, "leniency_list_versions")] == [("create", view["new_rule_id"]), ("update", view["new_rule_id"])]
    bad = client.post(url, json={**VERSION, "add": ["made_up_behaviour"], "remove": []}, headers=lr)
    assert bad.status_code == 422 and "unknown behaviour" in bad.text
    past = client.post(url, json={**VERSION, "effective_from": "2020-01-01"}, headers=lr)
    assert past.status_code == 422 and "effective_from" in past.text
    assert client.post(url, json=VERSION, headers=sup).status_code == 403
    assert client.get(url, headers=bearer(tokens["officer"])).status_code == 403
    assert client.get(f"{url}/999999/yaml", headers=lr).status_code == 404


def test_a_shipped_version_shows_published_and_cannot_be_replaced(client, tokens, monkeypatch):
    lr = bearer(tokens["legal_reviewer"])
    url = "/api/v1/oversight/leniency/versions"
    view = client.post(url, json=VERSION, headers=lr).json()
    # the release ships the file: the shipped rule data now holds the new rule id
    shipped = svc._shipped_leniency_ids() | {view["new_rule_id"]}
    monkeypatch.setattr(svc, "_shipped_leniency_ids", lambda: shipped)
    [listed] = client.get(url, headers=lr).json()
    assert (listed["status"], listed["status_zh"]) == ("published", "已公布并随规则数据施行")
    again = client.post(url, json=VERSION, headers=lr)
    assert again.status_code == 422 and "已公布" in again.text


def test_leniency_page_accepts_a_version_and_lists_the_draft(client, accounts, decisions):
    log_in(client, accounts["legal_reviewer"])
    page = client.get("/oversight/leniency?as_of=2026-12-31&window_days=30")
    assert page.status_code == 200 and 'name="base_rule_id" value="jn.first_warning.demo"' in page.text and "暂无草案" in page.text
    refused = client.post("/oversight/leniency/versions", data={"base_rule_id": "jn.first_warning.demo", "effective_from": "2099-01-01", "reason": "x"})
    assert refused.status_code == 422 and "至少选择" in refused.text
    done = client.post(
        "/oversight/leniency/versions",
        data={"base_rule_id": "jn.first_warning.demo", "effective_from": "2099-01-01", "reason": "评估建议", "add": ["phone_use"], "remove": ["doors_not_closed"]},
        follow_redirects=True,
    )
    assert done.status_code == 200 and "jn.first_warning.demo.v2099-01-01" in done.text and "草案（待公布）" in done.text
    assert "公布" in done.text and "不加载" in done.text
    [link] = [part.split('"')[0] for part in done.text.split('href="/oversight/leniency/versions/')[1:]]
    download = client.get(f"/oversight/leniency/versions/{link}")
    assert download.status_code == 200 and "phone_use" in download.text
    log_in(client, accounts["supervisor"])
    page = client.get("/oversight/leniency")
    assert "jn.first_warning.demo.v2099-01-01" in page.text and 'name="effective_from"' not in page.text


OURS = {"enforcement_disclosures", "leniency_list_versions"}


def test_migration_0006_matches_the_oversight_tables(database, tmp_path):
    assert tables_differing(database.engine) & OURS == set()
    # the comparison does see these tables: a store at 0005 lacks exactly them
    engine = make_engine(f"sqlite:///{tmp_path}/at-0005.db")
    upgrade(engine, "0005")
    assert tables_differing(engine) & OURS == OURS
    upgrade(engine, "0006")
    assert tables_differing(engine) & OURS == set()
    engine.dispose()
