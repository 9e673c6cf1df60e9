"""红黑名单程序 end to end: proposals from a scoring run's facts, review and publication by a supervisor,
appeal by the listed company, uphold, repair and expiry, with real logins through the API (both stores);
`published` answers published entries in force only; the pages render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from conftest import bearer
from trafficgov.accounts.service import cli_actor
from trafficgov.audit.store import AuditLogRow
from trafficgov.credit import lists, lists_service
from trafficgov.credit.grade import Offence
from trafficgov.credit.lists import SubjectFacts, VetoEvent
from trafficgov.credit.store import CreditListEntryRow
from trafficgov.errors import FieldError, Forbidden
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char

OTHER_COMPANY = "91370100MA3C00001" + uscc_check_char("91370100MA3C00001")
DRIVER = "37010219800101123" + id_check_digit("37010219800101123")
NOW = datetime.now(UTC)
TODAY = lists_service.local_day(NOW)
AS_OF = TODAY - timedelta(days=5)  # the scoring run's day: before the staff act on its proposals


def company_facts(uscc: str) -> SubjectFacts:
    """A company graded B with a veto item (a drunk driver) 40 days before the run: black-list criteria."""
    return SubjectFacts("company", uscc, grade="B", band="high", vetoes=(VetoEvent("drunk_driving", AS_OF - timedelta(days=40)),),
                        offences=(Offence(AS_OF - timedelta(days=40), "drunk_driving"),))


def driver_facts() -> SubjectFacts:
    """A driver graded AAA at low risk without any veto: red-list criteria."""
    return SubjectFacts("driver", DRIVER, grade="AAA", band="low")


def entries(client, token: str, **params) -> list[dict]:
    response = client.get("/api/v1/credit/lists", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def step(client, token: str, entry_id: int, action: str, version: int, **body):
    return client.post(f"/api/v1/credit/lists/{entry_id}/actions", json={"action": action, "version": version, **body}, headers=bearer(token))


@pytest.fixture
def proposed(client, loaded, accounts) -> dict[str, int]:
    """The scoring run's proposals: the demo company for the black list, a driver of another company for the red."""
    supervisor = cli_actor(loaded, "supervisor")
    uscc = accounts["company"]["uscc"]
    summary = lists_service.propose(loaded, supervisor, AS_OF, [company_facts(uscc), driver_facts()], {("driver", DRIVER): OTHER_COMPANY})
    assert (summary.subjects, summary.proposed, summary.skipped) == (2, 2, 0)
    with loaded.transaction() as session:
        rows = {r.list_name: r for r in session.scalars(select(CreditListEntryRow))}
    assert rows["black"].company_uscc == uscc and rows["red"].company_uscc == OTHER_COMPANY
    return {"black": rows["black"].id, "red": rows["red"].id}


def test_a_proposal_is_not_repeated_while_one_is_open(loaded, proposed, accounts):
    supervisor = cli_actor(loaded, "supervisor")
    again = lists_service.propose(loaded, supervisor, AS_OF, [company_facts(accounts["company"]["uscc"]), driver_facts()])
    assert (again.proposed, again.skipped) == (0, 2)


def test_whole_due_process_through_the_api(client, tokens, loaded, proposed, accounts):
    black = proposed["black"]
    listed = entries(client, tokens["supervisor"], state="proposed", list="black")
    assert [e["id"] for e in listed] == [black]
    entry = listed[0]
    assert entry["state_zh"] == lists.STATE_LABELS_ZH["proposed"] and entry["proposed_on"] == AS_OF.isoformat()
    codes = {c["code"] for c in entry["criteria"]}
    assert codes == {"black_veto_12m", "black_grade_b"}  # one serious offence is not five
    assert all(c["basis"] for c in entry["criteria"]) and {m["code"] for m in entry["measures"]} >= {"frequent_inspection", "notify_transport_authority"}
    assert "eliminate_hazards" not in {m["code"] for m in entry["measures"]}  # only with the Art. 83 criterion

    # review: an officer may not approve (403); a stale version is a conflict (409); the supervisor approves and publishes
    assert step(client, tokens["officer"], black, "approve", 1).status_code == 403
    assert step(client, tokens["supervisor"], black, "approve", 2).status_code == 409
    reviewed = step(client, tokens["supervisor"], black, "approve", 1)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["state"] == "reviewed" and reviewed.json()["version"] == 2
    assert step(client, tokens["company"], black, "appeal", 2, reason="不服").status_code == 422  # not yet published
    published = step(client, tokens["supervisor"], black, "publish", 2).json()
    assert published["state"] == "published" and published["published_on"] == TODAY.isoformat()
    assert published["ends_on"] == (TODAY + timedelta(days=365)).isoformat() and published["in_force"]

    # the company sees its own entry only, and appeals it with a reason; another company's entry is not found
    mine = entries(client, tokens["company"])
    assert [e["id"] for e in mine] == [black]
    assert client.get(f"/api/v1/credit/lists/{proposed['red']}", headers=bearer(tokens["company"])).status_code == 404
    assert step(client, tokens["company"], proposed["red"], "appeal", 1, reason="不服").status_code == 404
    no_reason = step(client, tokens["company"], black, "appeal", 3)
    assert no_reason.status_code == 422 and no_reason.json()["detail"]["field"] == "reason"
    appealed = step(client, tokens["company"], black, "appeal", 3, reason="该驾驶人系冒用本单位车辆，已报案")
    assert appealed.status_code == 200 and appealed.json()["state"] == "appealed"
    with loaded.transaction() as session:
        assert lists_service.published(session, TODAY) == {("company", accounts["company"]["uscc"]): "black"}  # an appeal does not suspend

    # the legal reviewer upholds the entry; an officer then may not repair it before 90 days nor without a report
    assert step(client, tokens["officer"], black, "uphold", 4, reason="x").status_code == 403
    upheld = step(client, tokens["legal_reviewer"], black, "uphold", 4, reason="经核查，驾驶人系本单位聘用")
    assert upheld.json()["state"] == "upheld"
    early = step(client, tokens["officer"], black, "repair", 5, remediation={"rectification_report": 1})
    assert early.status_code == 422 and early.json()["detail"]["field"] == "remediation.days_since_entry"
    later = NOW + timedelta(days=91)
    officer = cli_actor(loaded, "officer")
    with pytest.raises(FieldError) as missing:
        lists_service.act(loaded, officer, black, "repair", version=5, now=later)
    assert missing.value.field == "remediation.rectification_report"
    repaired = lists_service.act(loaded, officer, black, "repair", version=5, remediation={"rectification_report": 1}, now=later)
    assert repaired.state == "repaired" and not repaired.in_force
    assert [(s.action, s.to_state, s.by) for s in repaired.history] == [
        ("propose", "proposed", "supervisor"), ("approve", "reviewed", "supervisor"), ("publish", "published", "supervisor"),
        ("appeal", "appealed", "company"), ("uphold", "upheld", "legal_reviewer"), ("repair", "repaired", "officer"),
    ]
    with loaded.transaction() as session:
        assert lists_service.published(session, TODAY) == {("company", accounts["company"]["uscc"]): "black"}  # as it stood then
        assert lists_service.published(session, lists_service.local_day(later)) == {}
        audited = session.scalar(select(func.count()).select_from(AuditLogRow).where(AuditLogRow.entity == "credit_list_entries", AuditLogRow.record_key == str(black)))
    assert audited == 6  # proposal and five steps

    # the red proposal is rejected with a reason by the supervisor
    assert step(client, tokens["supervisor"], proposed["red"], "reject", 1).status_code == 422
    rejected = step(client, tokens["supervisor"], proposed["red"], "reject", 1, reason="该驾驶人近期有待处理违法")
    assert rejected.json()["state"] == "rejected"


def test_published_answers_published_entries_in_force_only(loaded, proposed, accounts):
    supervisor = cli_actor(loaded, "supervisor")
    uscc = accounts["company"]["uscc"]
    with loaded.transaction() as session:
        assert lists_service.published(session, TODAY) == {}  # proposed only
    lists_service.act(loaded, supervisor, proposed["black"], "approve", version=1)
    lists_service.act(loaded, supervisor, proposed["red"], "approve", version=1)
    with loaded.transaction() as session:
        assert lists_service.published(session, TODAY) == {}  # reviewed only
    lists_service.act(loaded, supervisor, proposed["red"], "publish", version=2)
    ends = TODAY + timedelta(days=365)
    with loaded.transaction() as session:
        assert lists_service.published(session, TODAY) == {("driver", DRIVER): "red"}
        assert lists_service.published(session, TODAY - timedelta(days=1)) == {}  # not yet published then
        assert lists_service.published(session, ends - timedelta(days=1)) == {("driver", DRIVER): "red"}
        assert lists_service.published(session, ends) == {}  # ends_on is the first day no longer in force
    # expiry: refused before the end, a stored in-force entry is expired on or after ends_on
    assert lists_service.expire_due(loaded, TODAY, supervisor) == []
    with pytest.raises(FieldError):
        lists_service.expire_due(loaded, ends, supervisor)  # not later than today
    with pytest.raises(Forbidden):
        lists_service.expire_due(loaded, TODAY, cli_actor(loaded, "officer"))
    at_end = datetime.combine(ends, datetime.min.time(), tzinfo=lists_service.BEIJING) + timedelta(hours=9)
    assert lists_service.expire_due(loaded, ends, None, now=at_end) == [proposed["red"]]
    with loaded.transaction() as session:
        assert lists_service.lists_in_force(session, TODAY) == {("driver", DRIVER): ["red"]}
        assert lists_service.published(session, ends) == {}
    red = lists_service.get_entry(loaded, supervisor, proposed["red"])
    assert red.state == "expired" and red.history[-1].actor_role == "system"
    # a company on the black list is never proposed for the red one; on both lists it is answered "black"
    good = SubjectFacts("company", uscc, grade="AAA", band="low")
    red = lists_service.propose(loaded, supervisor, TODAY, [good])
    assert red.proposed == 1  # the black entry is only reviewed
    lists_service.act(loaded, supervisor, proposed["black"], "publish", version=2)
    assert lists_service.propose(loaded, supervisor, TODAY, [good]).proposed == 0
    lists_service.act(loaded, supervisor, red.entry_ids[0], "approve", version=1)
    lists_service.act(loaded, supervisor, red.entry_ids[0], "publish", version=2)
    with loaded.transaction() as session:
        assert lists_service.lists_in_force(session, TODAY)[("company", uscc)] == ["black", "red"]
        assert lists_service.published(session, TODAY)[("company", uscc)] == "black"


def test_a_role_outside_the_data_may_not_propose(loaded, accounts):
    with pytest.raises(Forbidden):
        lists_service.propose(loaded, cli_actor(loaded, "admin"), AS_OF, [company_facts(accounts["company"]["uscc"])])
    with pytest.raises(FieldError) as future:
        lists_service.propose(loaded, cli_actor(loaded, "supervisor"), TODAY + timedelta(days=1), [company_facts(accounts["company"]["uscc"])])
    assert future.value.field == "as_of"
    with pytest.raises(FieldError) as bad:
        lists_service.propose(loaded, cli_actor(loaded, "supervisor"), AS_OF, [driver_facts(), SubjectFacts("driver", DRIVER, grade="C")])
    assert bad.value.field == "facts[1].grade"
    with loaded.transaction() as session:
        assert session.scalar(select(func.count()).select_from(CreditListEntryRow)) == 0  # nothing stored from a bad run


def test_expire_route_is_for_supervisors_and_administrators(client, tokens):
    assert client.post("/api/v1/credit/lists/expire", json={}, headers=bearer(tokens["officer"])).status_code == 403
    assert client.post("/api/v1/credit/lists/expire", json={}, headers=bearer(tokens["supervisor"])).json() == []
    future = client.post("/api/v1/credit/lists/expire", json={"as_of": (TODAY + timedelta(days=2)).isoformat()}, headers=bearer(tokens["admin"]))
    assert future.status_code == 422 and future.json()["detail"]["field"] == "as_of"


def test_bad_filters_name_their_field(client, tokens):
    bad = client.get("/api/v1/credit/lists", params={"state": "pending"}, headers=bearer(tokens["officer"]))
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "state"
    assert client.get("/api/v1/credit/lists", headers=bearer(tokens["clerk"])).status_code == 403


def test_pages_show_entries_criteria_history_and_the_viewers_forms(client, tokens, proposed):
    black = proposed["black"]
    page = client.get("/credit/lists", headers=bearer(tokens["supervisor"]))
    assert page.status_code == 200
    assert "本局可配置默认" in page.text and f"/credit/lists/{black}" in page.text and "近12个月有一票否决事项" in page.text
    detail = client.get(f"/credit/lists/{black}", headers=bearer(tokens["supervisor"]))
    assert detail.status_code == 200
    assert "认定标准与依据" in detail.text and "联合惩戒措施" in detail.text and "通报交通运输主管部门" in detail.text
    assert 'value="approve"' in detail.text and 'value="reject"' in detail.text and "本局可配置默认" in detail.text
    officer_view = client.get(f"/credit/lists/{black}", headers=bearer(tokens["officer"]))
    assert officer_view.status_code == 200 and 'value="approve"' not in officer_view.text
    # the supervisor approves from the page; a stale form is answered 409 with the page
    assert client.post(f"/credit/lists/{black}/action", data={"action": "approve", "version": "1"}, headers=bearer(tokens["supervisor"]), follow_redirects=False).status_code == 303
    stale = client.post(f"/credit/lists/{black}/action", data={"action": "publish", "version": "1"}, headers=bearer(tokens["supervisor"]))
    assert stale.status_code == 409 and "已被他人处理" in stale.text
    assert client.post(f"/credit/lists/{black}/action", data={"action": "publish", "version": "2"}, headers=bearer(tokens["supervisor"]), follow_redirects=False).status_code == 303
    repair = client.get(f"/credit/lists/{black}", headers=bearer(tokens["officer"]))
    assert 'name="rem_rectification_report"' in repair.text and "rem_days_since_entry" not in repair.text  # counted, not entered
    early = client.post(f"/credit/lists/{black}/action", data={"action": "repair", "version": "3", "rem_rectification_report": "1"}, headers=bearer(tokens["officer"]))
    assert early.status_code == 422 and "列入名单已满天数" in early.text
    company = client.get(f"/credit/lists/{black}", headers=bearer(tokens["company"]))
    assert company.status_code == 200 and 'value="appeal"' in company.text and lists.STATE_LABELS_ZH["published"] in company.text
    appealed = client.post(f"/credit/lists/{black}/action", data={"action": "appeal", "version": "3", "reason": "事实有误"}, headers=bearer(tokens["company"]), follow_redirects=False)
    assert appealed.status_code == 303
    history = client.get(f"/credit/lists/{black}", headers=bearer(tokens["company"]))
    assert "事实有误" in history.text and lists.STATE_LABELS_ZH["appealed"] in history.text
    assert client.get(f"/credit/lists/{proposed['red']}", headers=bearer(tokens["company"])).status_code == 404
    assert client.get("/credit/lists", headers=bearer(tokens["clerk"])).status_code == 403
