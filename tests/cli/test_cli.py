"""The public command-line contract: import --json summary, export round trip, db upgrade, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficgov.cli import app
from trafficgov.registry.identifiers import id_check_digit


def resident_id(first17: str) -> str:
    return first17 + id_check_digit(first17)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    return {
        "TRAFFICGOV_DATABASE_URL": db_url,
        "TRAFFICGOV_VAR_DIR": str(tmp_path / "var"),
        "TRAFFICGOV_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit.key"),
        "TRAFFICGOV_ARGON2_PROFILE": "test",
    }


def run(env: dict[str, str], *args: str):
    return CliRunner().invoke(app, list(args), env=env)


def test_import_prints_the_json_summary_on_its_last_line_and_reimport_changes_nothing(env, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text(f"id_number,name,phone,address\n{resident_id('37010219800101123')},张三,13800000001,历下区\nbad,李四,,\n", encoding="utf-8")
    result = run(env, "import", "people", str(people), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"kind": "people", "read": 2, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 1}
    again = run(env, "import", "people", str(people), "--json")
    assert json.loads(again.stdout.strip().splitlines()[-1])["unchanged"] == 1


def test_export_round_trips_through_import_in_both_formats(env, tmp_path):
    people = tmp_path / "people.jsonl"
    people.write_text(json.dumps({"id_number": resident_id("37010219800101123"), "name": "张三", "phone": "13800000001"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert run(env, "import", "people", str(people)).exit_code == 0
    for file_format in ("csv", "jsonl"):
        result = run(env, "export", "people", "--format", file_format)
        assert result.exit_code == 0, result.output
        out = tmp_path / f"out.{file_format}"
        out.write_text(result.stdout, encoding="utf-8")
        summary = json.loads(run(env, "import", "people", str(out), "--json").stdout.strip().splitlines()[-1])
        assert summary["unchanged"] == 1 and summary["quarantined"] == 0


def test_gb18030_file_with_the_encoding_option(env, tmp_path):
    people = tmp_path / "people.csv"
    people.write_bytes(f"id_number,name\n{resident_id('37010219800101123')},张三\n".encode("gb18030"))
    result = run(env, "import", "people", str(people), "--json", "--encoding", "gb18030")
    assert json.loads(result.stdout.strip().splitlines()[-1])["inserted"] == 1


def test_unknown_kind_fails_with_a_clear_message(env, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("id_number\n", encoding="utf-8")
    result = run(env, "import", "trucks", str(people))
    assert result.exit_code == 2
    assert "未知的导入类型" in result.output


def test_db_upgrade_and_audit_verify_after_work(env, tmp_path):
    assert run(env, "db", "upgrade").exit_code == 0
    people = tmp_path / "people.csv"
    people.write_text(f"id_number,name\n{resident_id('37010219800101123')},张三\n", encoding="utf-8")
    run(env, "import", "people", str(people))
    result = run(env, "audit", "verify", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] is True and report["entries"] >= 1


def test_cli_acts_as_the_named_user(env, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text(f"id_number,name\n{resident_id('37010219800101123')}\n", encoding="utf-8")
    result = run({**env, "TRAFFICGOV_USER": "nobody"}, "import", "people", str(people))
    assert result.exit_code == 2 and "账户不存在" in result.output


def test_help_lists_every_command(env):
    result = run(env, "--help")
    for command in ("import", "export", "db", "demo", "audit", "serve", "users"):
        assert command in result.output


def test_export_is_masked_for_a_role_without_the_right_and_audited_with_its_user(env, tmp_path):
    number = resident_id("37010219800101123")
    people = tmp_path / "people.csv"
    people.write_text(f"id_number,name,phone\n{number},张三,13800000001\n", encoding="utf-8")
    run(env, "import", "people", str(people))
    orgs = tmp_path / "orgs.csv"
    orgs.write_text("code,name,kind,parent_code,jurisdiction\n370100000000,济南市公安局交通警察支队,detachment,,370100\n", encoding="utf-8")
    assert run(env, "users", "load-orgs", str(orgs)).exit_code == 0
    created = run(env, "users", "create", "clerk1", "--role", "clerk", "--org", "370100000000", "--password", "s3cret-pass")
    assert created.exit_code == 0, created.output
    as_clerk = run({**env, "TRAFFICGOV_USER": "clerk1"}, "export", "people")
    assert f"{number[:6]}********{number[-4:]}" in as_clerk.stdout and "138****0001" in as_clerk.stdout
    as_admin = run(env, "export", "people")
    assert number in as_admin.stdout
    log = run(env, "audit", "search", "--action", "export")
    assert "clerk1" in log.stdout
