"""Credit scoring end to end on the small demo city, on SQLite and PostgreSQL: `trafficgov credit score`
(public contract), the daily job that keeps a run, the API and the pages reading it, disputes taken out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import DEMO_AS_OF, bearer
from trafficgov.cli import app
from trafficgov.credit import jobs, scoring
from trafficgov.credit.frames import CreditData
from trafficgov.credit.store import CreditRunRow, CreditScoreRow
from trafficgov.demo.load import load_history

CONTRACT = ["subject_kind", "subject_id", "grade", "risk_score", "risk_low", "risk_high", "band", "list", "reasons", "data_sufficient", "inspection_interval_days"]


@pytest.fixture
def history(loaded, demo_dir: Path, admin_actor):
    """The demo city's master data and its three years of violations, accidents, inspections, safety records and GPS alarms."""
    for kind, summary in load_history(loaded, demo_dir / "manifest.json", admin_actor).items():
        assert summary.quarantined == 0 and summary.inserted > 0, (kind, summary)
    return loaded


def cli_env(settings) -> dict[str, str]:
    return {"TRAFFICGOV_DATABASE_URL": settings.database_url, "TRAFFICGOV_VAR_DIR": str(settings.var_dir), "TRAFFICGOV_AUDIT_KEY_FILE": str(settings.audit_key_file)}


def test_credit_score_writes_one_contract_line_per_subject(history, settings):
    result = CliRunner().invoke(app, ["credit", "score", "--as-of", DEMO_AS_OF.isoformat()], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert rows and all(list(r) == CONTRACT for r in rows)
    kinds = {r["subject_kind"] for r in rows}
    assert kinds == {"company", "school", "driver", "vehicle"}
    for r in rows:
        assert r["band"] in ("low", "medium", "high", "insufficient_data")
        assert r["list"] in ("red", "black", "none")
        assert len(r["reasons"]) <= 3 and all(set(x) == {"code", "text_zh"} for x in r["reasons"])
        if r["subject_kind"] == "driver":
            assert r["inspection_interval_days"] is None
        if r["subject_kind"] == "vehicle":
            plate, plate_type = r["subject_id"].rsplit(":", 1)
            assert plate and len(plate_type) == 2 and r["grade"] is None
        if r["data_sufficient"]:
            assert r["risk_low"] <= r["risk_score"] <= r["risk_high"]
    assert any(r["grade"] for r in rows if r["subject_kind"] == "company")
    only = CliRunner().invoke(app, ["credit", "score", "--as-of", DEMO_AS_OF.isoformat(), "--subject", "school"], env=cli_env(settings))
    assert only.exit_code == 0 and {json.loads(x)["subject_kind"] for x in only.stdout.splitlines() if x.strip()} == {"school"}
    bad = CliRunner().invoke(app, ["credit", "score", "--as-of", "2026-13-01"], env=cli_env(settings))
    assert bad.exit_code == 2
    wrong = CliRunner().invoke(app, ["credit", "score", "--as-of", DEMO_AS_OF.isoformat(), "--subject", "ship"], env=cli_env(settings))
    assert wrong.exit_code == 2


def test_credit_run_keeps_the_run_and_prints_its_summary(history, settings):
    result = CliRunner().invoke(app, ["credit", "run", "--as-of", DEMO_AS_OF.isoformat()], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["as_of"] == DEMO_AS_OF.isoformat() and summary["subjects"] > 0 and summary["warnings"]["raised"] >= 0
    with history.transaction() as session:
        assert session.get(CreditRunRow, summary["run_id"]).subjects == summary["subjects"]
    future = CliRunner().invoke(app, ["credit", "run", "--as-of", "2099-01-01"], env=cli_env(settings))
    assert future.exit_code == 2 and "未来" in future.output


def test_scores_use_only_what_was_known_on_the_day(history):
    data = scoring.load_data(history)
    before = {(r["subject_kind"], r["subject_id"]): r["risk_score"] for r in scoring.compute(data, date(2025, 12, 31))}
    # an accident that happened before the day but was reported after it changes nothing
    parties = data.accident_parties
    victim = data.vehicles.filter(data.vehicles["company"].is_not_null()).row(0, named=True)
    late = CreditData.build(
        **{name: getattr(data, name) for name in ("violations", "inspections", "gps_alarms", "safety_records", "vehicles", "employments", "licences", "companies")},
        accident_parties=parties.vstack(
            CreditData.build(accident_parties=[{
                "accident_id": "late-1", "occurred_at": datetime(2025, 12, 1, 2, tzinfo=UTC), "known_at": datetime(2026, 1, 5, 2, tzinfo=UTC),
                "severity": "fatal", "injuries": 0, "deaths": 2, "plate_number": victim["plate_number"], "plate_type": victim["plate_type"],
                "vehicle": victim["vehicle"], "driver_id": None, "liability": "full", "vehicle_known": True,
            }]).accident_parties
        ),
    )
    after = {(r["subject_kind"], r["subject_id"]): r["risk_score"] for r in scoring.compute(late, date(2025, 12, 31))}
    assert after == before


def test_daily_job_keeps_a_run_that_the_api_and_pages_read(history, client, tokens, accounts, admin_actor):
    summary = jobs.daily(history, admin_actor, DEMO_AS_OF)
    assert summary["subjects"] > 0 and summary["graded"] > 0
    with history.transaction() as session:
        run = session.scalars(select(CreditRunRow)).one()
        assert run.as_of == DEMO_AS_OF and run.subjects == summary["subjects"]
        assert session.query(CreditScoreRow).filter(CreditScoreRow.run_id == run.id).count() == summary["subjects"]

    officer = bearer(tokens["officer"])
    ranked = client.get("/api/v1/credit/scores", params={"subject_kind": "company"}, headers=officer)
    assert ranked.status_code == 200, ranked.text
    items = ranked.json()["items"]
    assert items and ranked.json()["run"]["as_of"] == DEMO_AS_OF.isoformat()
    scores = [i["risk_score"] for i in items if i["risk_score"] is not None]
    assert scores == sorted(scores, reverse=True)
    assert "默认值" in ranked.json()["defaults_notice_zh"]
    assert client.get("/api/v1/credit/scores", params={"subject_kind": "ship"}, headers=officer).status_code == 422

    company = bearer(tokens["company"])
    mine = client.get("/api/v1/credit/mine", headers=company)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["company"]["subject_id"] == accounts["company"]["uscc"] and body["vehicles"]
    assert all(v["company_uscc"] == accounts["company"]["uscc"] for v in body["vehicles"] + body["drivers"])
    other = next(i for i in items if i["subject_id"] != accounts["company"]["uscc"])
    assert client.get(f"/api/v1/credit/subjects/company/{other['subject_id']}", headers=company).status_code == 404
    detail = client.get(f"/api/v1/credit/subjects/company/{accounts['company']['uscc']}", headers=company).json()
    assert detail["grade_detail"] is None or "deductions" in detail["grade_detail"]
    assert client.get("/api/v1/credit/scores", headers=bearer(tokens["citizen"])).status_code == 403

    plan = client.get("/api/v1/credit/schedule", headers=officer).json()
    assert plan["items"] and all(i["interval_days"] is None or i["interval_days"] > 0 for i in plan["items"])
    dues = [i["next_due"] for i in plan["items"] if i["next_due"]]
    assert dues == sorted(dues)


def log_in(client, account: dict) -> None:
    client.post("/logout")
    response = client.post("/login", data={"username": account["username"], "password": account["password"]})
    assert response.status_code == 200, response.text[:300]


def test_credit_pages(history, client, accounts, admin_actor):
    jobs.daily(history, admin_actor, DEMO_AS_OF)
    log_in(client, accounts["company"])
    page = client.get("/credit/mine")
    assert page.status_code == 200 and "本单位信用与风险" in page.text and "可配置的默认值" in page.text and "风险评分" in page.text
    log_in(client, accounts["officer"])
    ranking = client.get("/credit/ranking?kind=vehicle")
    assert ranking.status_code == 200 and "风险排名" in ranking.text and "可配置的默认值" in ranking.text
    schedule = client.get("/credit/schedule")
    assert schedule.status_code == 200 and "现场检查计划" in schedule.text
    subject = client.get(f"/credit/subjects/company/{accounts['company']['uscc']}")
    assert subject.status_code == 200 and "信用等级" in subject.text


def test_an_upheld_dispute_takes_the_record_out():
    data = CreditData.build(
        violations=[
            {"violation_id": "v1", "occurred_at": datetime(2026, 1, 1, tzinfo=UTC), "behavior": "speeding", "plate_number": "鲁A12345", "plate_type": "01", "points": 3},
            {"violation_id": "v2", "occurred_at": datetime(2026, 1, 2, tzinfo=UTC), "behavior": "speeding", "plate_number": "鲁A12345", "plate_type": "01", "points": 3},
        ],
        vehicles=[{"plate_number": "鲁A12345", "plate_type": "01", "owner_id": "91370100MA3C0000XX", "operator_uscc": "91370100MA3C0000XX"},
                  {"plate_number": "鲁A54321", "plate_type": "01", "owner_id": "91370100MA3C1111XX"}],
        accident_parties=[
            {"accident_id": "a1", "occurred_at": datetime(2026, 1, 3, tzinfo=UTC), "severity": "injury", "injuries": 1, "deaths": 0, "plate_number": "鲁A12345", "plate_type": "01", "liability": "main", "vehicle_known": True},
            {"accident_id": "a1", "occurred_at": datetime(2026, 1, 3, tzinfo=UTC), "severity": "injury", "injuries": 1, "deaths": 0, "plate_number": "鲁A54321", "plate_type": "01", "liability": "minor", "vehicle_known": True},
        ],
    )
    out = scoring.without_disputed(data, [("violation", "v1", "91370100MA3C0000XX"), ("accident", "a1", "91370100MA3C0000XX")])
    assert out.violations["violation_id"].to_list() == ["v2"]
    assert out.accident_parties["plate_number"].to_list() == ["鲁A54321"]  # the other party's crash still counts
    assert scoring.without_disputed(data, []) is data
