"""Typer entry point `trafficgov`: store, import/export, demo city, audit, serve."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from trafficgov.config import Settings

app = typer.Typer(help="trafficgov — 公安交管“放管服”平台 command line.", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="存储 — the database (SQLite by default, PostgreSQL via TRAFFICGOV_DATABASE_URL).", no_args_is_help=True)
demo_app = typer.Typer(help="演示城市 — the deterministic synthetic city.", no_args_is_help=True)
users_app = typer.Typer(help="账户 — accounts and organisations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
err = Console(stderr=True)
DEFAULT_AS_OF = date(2026, 6, 30)


def _mount_context_apps() -> None:
    from trafficgov.audit.cli import app as audit_app
    from trafficgov.credit.cli import app as credit_app
    from trafficgov.enforcement.cli import app as penalty_app
    from trafficgov.hub.cli import app as hub_app

    app.add_typer(audit_app, name="audit", help="审计 — verify, search, export and seal the audit log.")
    app.add_typer(penalty_app, name="penalty", help="处罚裁量 — batch penalty decisions from the rules as data (no database).")
    app.add_typer(credit_app, name="credit", help="信用监管 — credit grades, risk scores, lists and warnings.")
    from trafficgov.hub.cli_sync import register as register_sync

    register_sync(hub_app)
    app.add_typer(hub_app, name="hub", help="数据中台 — link records across departments, sync the sources.")


def _database():
    from trafficgov.store.db import Database

    return Database(Settings.from_env().database_url)


def _fail(exc: Exception) -> None:
    from trafficgov.errors import FieldError

    if isinstance(exc, FieldError):
        err.print(f"[red]错误[/red] {exc.zh}\n[dim]{exc.en}[/dim]")
    else:
        err.print(f"[red]错误[/red] {exc}")
    raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err, transient=False)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """迁移 — create or migrate the store to the latest schema."""
    from trafficgov.store.db import Database, current_revision, upgrade

    database = Database(Settings.from_env().database_url, migrate=False)
    upgrade(database.engine, revision)
    err.print(f"数据库已迁移至 {current_revision(database.engine)} ({database.engine.url.render_as_string(hide_password=True)})")


@app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(help="people, companies, licences, vehicles, employments, captures (JSONL), violations, accidents, inspections, safety_records, gps_alarms")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=".csv (header row) or .jsonl")],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object on the last line")] = False,
    encoding: Annotated[str, typer.Option(help="utf-8 (BOM optional) or gb18030")] = "utf-8",
) -> None:
    """导入 — validate and import a file; invalid rows go to quarantine, re-import changes nothing."""
    from trafficgov.accounts.service import cli_actor
    from trafficgov.errors import FieldError
    from trafficgov.imports.kinds import get_ingest
    from trafficgov.imports.service import import_file, ingest_file

    try:
        database = _database()
        actor = cli_actor(database, Settings.from_env().cli_user)
        run = ingest_file if get_ingest(kind) else import_file
        with _progress() as progress:
            task = progress.add_task(f"导入 {kind}", total=file.stat().st_size)
            summary = run(database, kind, file, actor, encoding=encoding, progress=lambda done, total: progress.update(task, completed=done, total=total))
        _seal(database)
    except FieldError as exc:
        _fail(exc)
        return
    table = Table(title=f"导入 {kind}：{file.name}（任务 {summary.job_id}）")
    for label in ("读取 read", "新增 inserted", "更新 updated", "未变 unchanged", "隔离 quarantined"):
        table.add_column(label, justify="right")
    table.add_row(*(str(v) for v in (summary.read, summary.inserted, summary.updated, summary.unchanged, summary.quarantined)))
    err.print(table)
    if summary.quarantined:
        err.print(f"[yellow]{summary.quarantined} 行被隔离，原因见导入任务 {summary.job_id}（页面 /imports/{summary.job_id}）[/yellow]")
    if as_json:
        print(json.dumps(summary.public(), ensure_ascii=False))


@app.command("export")
def export_command(
    kind: Annotated[str, typer.Argument(help="people, companies, licences, vehicles, employments")],
    file_format: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
) -> None:
    """导出 — write a kind in its import format to stdout (unmasked only for a role allowed to)."""
    from trafficgov.accounts.policy import role_policy
    from trafficgov.accounts.service import cli_actor
    from trafficgov.errors import FieldError
    from trafficgov.imports.kinds import get_kind
    from trafficgov.imports.service import export_records, write_export

    if file_format not in ("csv", "jsonl"):
        _fail(FieldError("--format", "格式应为 csv 或 jsonl", "format must be csv or jsonl"))
    try:
        database = _database()
        actor = cli_actor(database, Settings.from_env().cli_user)
        kind_def = get_kind(kind)
        records = export_records(database, kind, actor, unmasked=role_policy(actor.role).export_unmasked)
        write_export(records, kind_def.columns, file_format, sys.stdout)
        sys.stdout.flush()
        _seal(database)
    except FieldError as exc:
        _fail(exc)


def _seal(database) -> None:
    from datetime import UTC, datetime

    from trafficgov.audit import service as audit
    from trafficgov.audit.cli import witness_path

    try:
        with database.transaction(write=True) as session:
            checkpoint = audit.seal(session, _audit_key(), datetime.now(UTC))
    except audit.AuditIntegrityError as exc:
        err.print(f"[red]审计日志校验失败，未签名：{exc}[/red]  run `trafficgov audit verify`")
        return
    if checkpoint is not None:
        audit.write_witness(witness_path(Settings.from_env()), checkpoint)


def _audit_key() -> bytes:
    from trafficgov.config import read_or_create_key

    return read_or_create_key(Settings.from_env().audit_key_file)


def _manifest_path(settings: Settings) -> Path:
    return settings.var_dir / "demo" / "current.json"


@demo_app.command("build")
def demo_build(
    seed: Annotated[int, typer.Option(help="random seed; the same seed builds the same city")] = 1,
    size: Annotated[str, typer.Option(help="small (tests), medium, large (benchmarks: >= 1 M people)")] = "small",
    as_of: Annotated[str, typer.Option("--as-of", help="reference date of the city (not today)")] = DEFAULT_AS_OF.isoformat(),
    if_missing: Annotated[bool, typer.Option("--if-missing", help="do nothing if this city is already loaded")] = False,
    hub: Annotated[bool | None, typer.Option("--hub/--no-hub", help="sync the department systems into the data hub, build golden records, measure quality (default: on, off for large)")] = None,
) -> None:
    """演示城市 — build a deterministic city, import it into the store, create one account per role."""
    from trafficgov.accounts.service import cli_actor
    from trafficgov.demo.city import SIZES, build_city
    from trafficgov.demo.enforcement import seed_enforcement
    from trafficgov.demo.load import load_city, seed_sharing, sync_demo_sources

    if size not in SIZES:
        _fail(ValueError(f"size must be one of {', '.join(SIZES)}"))
    settings = Settings.from_env()
    reference = date.fromisoformat(as_of)
    marker = _manifest_path(settings)
    wanted = {"seed": seed, "size": size, "as_of": reference.isoformat(), "database": settings.database_url}
    if if_missing and marker.exists() and {k: v for k, v in json.loads(marker.read_text()).items() if k in wanted} == wanted:
        err.print(f"演示城市已存在（seed={seed}, size={size}），跳过构建。")
        return
    out_dir = settings.var_dir / "demo" / f"{size}-{seed}-{reference.isoformat()}"
    with _progress() as progress:
        task = progress.add_task("生成演示城市", total=None)

        def generated(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"生成 {stage}", completed=done, total=total)

        manifest = build_city(seed, size, reference, out_dir, progress=generated)
        database = _database()
        actor = cli_actor(database, settings.cli_user)
        tasks: dict[str, int] = {}

        def progress_for(kind: str):
            tasks[kind] = progress.add_task(f"导入 {kind}", total=None)
            return lambda done, total: progress.update(tasks[kind], completed=done, total=total)

        summaries = load_city(database, out_dir / "manifest.json", actor, argon2_profile=settings.argon2_profile, progress_for=progress_for, history=True)
        seed_sharing(database)
        enforcement_task = progress.add_task("非现场执法：抓拍、审核、立案、决定、送达、缴款", total=None)
        enforcement = seed_enforcement(database, actor, out_dir, reference, seed, progress=lambda done, total: progress.update(enforcement_task, completed=done, total=total))
        hub_summaries = []
        if hub if hub is not None else size != "large":
            hub_task = progress.add_task("部门数据源同步", total=None)
            hub_summaries = sync_demo_sources(database, actor, out_dir, seed, progress=lambda done, total: progress.update(hub_task, completed=done, total=total))
        credit_task = progress.add_task("信用评分、名单建议与预警", total=None)
        from trafficgov.credit import jobs

        credit = jobs.daily(database, actor, reference, progress=lambda stage: progress.update(credit_task, description=f"信用监管 {stage}"))
        progress.update(credit_task, completed=1, total=1)
    _seal(database)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({**wanted, "manifest": str(out_dir / "manifest.json")}, ensure_ascii=False, indent=2))
    table = Table(title=f"演示城市 seed={seed} size={size} as_of={reference}")
    for label in ("类型", "读取", "新增", "更新", "未变", "隔离"):
        table.add_column(label)
    for kind, s in summaries.items():
        table.add_row(kind, *(str(v) for v in (s.read, s.inserted, s.updated, s.unchanged, s.quarantined)))
    err.print(table)
    err.print(f"历史数据（违法、事故、检验等）文件：{out_dir}  counts={manifest.counts}")
    if hub_summaries:
        err.print(f"部门数据源：{len(hub_summaries)} 个系统，同步 {sum(h.read for h in hub_summaries)} 条，"
                  f"入库 {sum(h.inserted for h in hub_summaries)} 条，隔离 {sum(h.quarantined for h in hub_summaries)} 条")
    err.print(enforcement.line_zh())
    err.print(f"信用评分：{credit['subjects']} 个主体（{credit['graded']} 个评级），名单建议 {credit['proposed']['proposed']} 条，新预警 {credit['warnings']['raised']} 条")


def print_demo_accounts(settings: Settings) -> None:
    from trafficgov.accounts.model import LABELS_ZH, Role
    from trafficgov.demo.load import demo_accounts

    marker = _manifest_path(settings)
    if not marker.exists():
        return
    accounts = demo_accounts(Path(json.loads(marker.read_text())["manifest"]))
    table = Table(title="演示账户（仅供演示）demo accounts, one per role")
    for label in ("角色 role", "用户名 username", "密码 password"):
        table.add_column(label)
    for role, account in accounts.items():
        table.add_row(f"{LABELS_ZH[Role(role)]} {role}", account["username"], account["password"])
    Console().print(table)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """服务 — serve the pages and /api/v1 (prints the demo accounts when a demo city is loaded)."""
    import uvicorn

    settings = Settings.from_env()
    _database()  # create or migrate the store before the workers start
    print_demo_accounts(settings)
    Console().print(f"平台地址：http://{host}:{port}/   API 文档：http://{host}:{port}/docs")
    uvicorn.run("trafficgov.web.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning")


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[str, typer.Option(help="citizen, company, clerk, officer, legal_reviewer, supervisor, partner, command, admin")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    org: Annotated[str | None, typer.Option(help="organisation code (staff and departments)")] = None,
    id_number: Annotated[str | None, typer.Option(help="a citizen's resident ID number")] = None,
    uscc: Annotated[str | None, typer.Option(help="a company's unified social credit code")] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
) -> None:
    """创建账户 — create or reset an account."""
    from trafficgov.accounts.model import Role
    from trafficgov.accounts.service import create_user
    from trafficgov.errors import FieldError

    try:
        create_user(_database(), username, password, Role(role), display_name=name, org_code=org, id_number=id_number, uscc=uscc, profile=Settings.from_env().argon2_profile)
    except (FieldError, ValueError) as exc:
        _fail(exc)
    err.print(f"账户 {username} 已创建")


@users_app.command("load-orgs")
def users_load_orgs(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """导入机构 — organisations from CSV (code, name, kind, parent_code, jurisdiction)."""
    from trafficgov.accounts.service import load_organisations

    err.print(f"已导入 {load_organisations(_database(), file)} 个机构")


_mount_context_apps()


def main() -> None:
    app()
