"""`trafficgov audit`: verify, seal, search, export and purge the audit log from the command line."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from trafficgov.audit import service
from trafficgov.audit.export import csv_chunks, jsonl_line
from trafficgov.audit.model import AuditEntry, VerifyReport
from trafficgov.config import Settings, read_or_create_key
from trafficgov.store.db import Database

app = typer.Typer(
    help="审计日志 — verify, seal, search, export and purge the hash-chained audit log.",
    no_args_is_help=True,
)

# Times typed without an offset are Beijing time; China has no daylight saving, a fixed offset suffices.
BEIJING = timezone(timedelta(hours=8), "CST")



class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _settings() -> Settings:
    return Settings.from_env()


def _database(settings: Settings) -> Database:
    return Database(settings.database_url)


def _key(settings: Settings) -> bytes:
    return read_or_create_key(settings.audit_key_file)


def witness_path(settings: Settings) -> Path:
    """Where the latest seal is recorded outside the database: beside the key, equally protected."""
    return settings.audit_key_file.with_name(settings.audit_key_file.name + ".seal.json")


def _now() -> datetime:
    return datetime.now(UTC)


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(
            f"不是有效的日期或时间 not a date/time: {value!r}", param_hint=option
        ) from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed.astimezone(UTC)


def _beijing(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _record_cli_access(session, settings: Settings, action: str, purpose: str, filters: dict) -> None:
    # Reading the audit log is itself a staff read of personal data (who looked at whose record).
    service.append(
        session,
        AuditEntry(
            actor=settings.cli_user,
            role="admin",
            unit=None,
            action=action,
            entity="audit_log",
            record_key=None,
            purpose=purpose,
            at=_now(),
            detail={"channel": "cli", "filters": {k: v for k, v in filters.items() if v is not None}},
        ),
    )


def _print_report(console: Console, report: VerifyReport, key_created: bool) -> None:
    if report.ok:
        console.print("[bold green]审计日志完整 — audit log intact[/]")
    else:
        console.print("[bold red]审计日志被篡改或损坏 — audit log BROKEN[/]")
    table = Table(show_header=False, box=None)
    table.add_row("条目 entries", str(report.entries))
    table.add_row("有效签封点 valid checkpoints", str(report.checkpoints))
    table.add_row(
        "最后签封 last sealed seq", "—" if report.last_sealed_seq is None else str(report.last_sealed_seq)
    )
    table.add_row("未签封尾部 unsealed tail", str(report.unsealed_tail))
    if report.anchor_seq:
        table.add_row("清理锚点 retention anchor", str(report.anchor_seq))
    console.print(table)
    if report.unsealed_tail:
        console.print(
            f"[yellow]最后 {report.unsealed_tail} 条尚未签封，运行 `trafficgov audit seal` 签封 — "
            f"the last {report.unsealed_tail} entries are not sealed yet[/]"
        )
    if key_created:
        console.print(
            "[yellow]审计密钥文件不存在，已新建；已有签封点无法用新密钥验证 — the key file was missing and a new key was created[/]"
        )
    for en, zh in zip(report.problems, report.problems_zh, strict=True):
        console.print(f"[red]✗[/] {zh}\n  {en}", highlight=False)


@app.command()
def verify(
    as_json: Annotated[
        bool, typer.Option("--json", help="输出一个 JSON 对象 — print one JSON object")
    ] = False,
) -> None:
    """校验 — recompute the chain and check the signed checkpoints; exit code 0 if intact, 1 if not."""
    settings = _settings()
    key_created = not settings.audit_key_file.exists()
    key = _key(settings)
    witness = service.read_witness(witness_path(settings))
    database = _database(settings)
    with database.transaction() as session:
        report = service.verify(session, key, witness=witness)
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "key_created": key_created}, ensure_ascii=False))
    else:
        _print_report(Console(), report, key_created)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def seal() -> None:
    """签封 — sign the current head with the outside key and record the seal beside the key."""
    settings = _settings()
    key = _key(settings)
    database = _database(settings)
    console = Console()
    try:
        with database.transaction(write=True) as session:
            checkpoint = service.seal(session, key, _now())
    except service.AuditIntegrityError as error:
        console.print("[bold red]哈希链已损坏，未签封 — the chain is broken, nothing was sealed[/]")
        for en, zh in zip(error.problems, error.problems_zh, strict=True):
            console.print(f"[red]✗[/] {zh}\n  {en}", highlight=False)
        raise typer.Exit(1) from error
    if checkpoint is None:
        console.print("无需签封：日志为空或链头已签封 — nothing to seal")
        return
    service.write_witness(witness_path(settings), checkpoint)
    console.print(
        f"已签封至第 {checkpoint.seq} 条 — sealed through seq {checkpoint.seq} ({checkpoint.head_hash[:16]}…)"
    )


_ACTOR = typer.Option(help="操作人 — actor")
_ENTITY = typer.Option(help="对象类型 — entity, e.g. person")
_RECORD = typer.Option("--record-key", help="记录编号 — record key")
_ACTION = typer.Option(help="操作 — action: read, create, update, export …")
_SINCE = typer.Option(
    help="起始时间（含），无时区按北京时间 — from (inclusive), Beijing time unless an offset is given"
)
_UNTIL = typer.Option(help="截止时间（不含） — until (exclusive)")
_PURPOSE = typer.Option(help="查询目的（记入审计日志） — purpose, itself audited")


@app.command()
def search(
    actor: Annotated[str | None, _ACTOR] = None,
    entity: Annotated[str | None, _ENTITY] = None,
    record_key: Annotated[str | None, _RECORD] = None,
    action: Annotated[str | None, _ACTION] = None,
    since: Annotated[str | None, _SINCE] = None,
    until: Annotated[str | None, _UNTIL] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    purpose: Annotated[str, _PURPOSE] = "审计检查",
) -> None:
    """检索 — list matching entries, newest first."""
    filters = {
        "actor": actor,
        "entity": entity,
        "record_key": record_key,
        "action": action,
        "since": _parse_time(since, "--since"),
        "until": _parse_time(until, "--until"),
    }
    settings = _settings()
    database = _database(settings)
    with database.transaction(write=True) as session:
        records = service.search(session, **filters, limit=limit, offset=offset)
        _record_cli_access(session, settings, "read", purpose, _plain(filters))
    table = Table(title=f"审计日志 audit log — {len(records)} 条")
    for column in (
        "序号 seq",
        "时间(北京) at",
        "操作人 actor",
        "角色 role",
        "单位 unit",
        "操作 action",
        "对象 entity",
        "记录 record",
        "目的 purpose",
    ):
        table.add_column(column)
    for record in records:
        table.add_row(
            str(record.seq),
            _beijing(record.at),
            record.actor,
            record.role,
            record.unit or "",
            f"{record.action_zh} {record.action}",
            record.entity,
            record.record_key or "",
            record.purpose or "",
        )
    Console().print(table)


def _plain(filters: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()}


@app.command()
def export(
    output_format: Annotated[ExportFormat, typer.Option("--format", help="csv 或 jsonl")] = ExportFormat.csv,
    actor: Annotated[str | None, _ACTOR] = None,
    entity: Annotated[str | None, _ENTITY] = None,
    record_key: Annotated[str | None, _RECORD] = None,
    action: Annotated[str | None, _ACTION] = None,
    since: Annotated[str | None, _SINCE] = None,
    until: Annotated[str | None, _UNTIL] = None,
    purpose: Annotated[str, _PURPOSE] = "审计导出",
) -> None:
    """导出 — write matching entries, oldest first, to stdout as CSV or JSON Lines (hashes included)."""
    filters = {
        "actor": actor,
        "entity": entity,
        "record_key": record_key,
        "action": action,
        "since": _parse_time(since, "--since"),
        "until": _parse_time(until, "--until"),
    }
    settings = _settings()
    database = _database(settings)
    out = sys.stdout
    with database.transaction(write=True) as session:
        _record_cli_access(
            session, settings, "export", purpose, {**_plain(filters), "format": output_format.value}
        )
        rows = service.export_rows(session, **filters)
        pieces = csv_chunks(rows) if output_format is ExportFormat.csv else map(jsonl_line, rows)
        for piece in pieces:
            out.write(piece)
    out.flush()


@app.command()
def retention(
    before: Annotated[
        str | None,
        typer.Option(
            help="清理此日期之前的记录（默认按 retention.yaml 的保留期） — purge entries before DATE"
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="不再确认 — do not ask for confirmation")] = False,
) -> None:
    """到期清理 — delete entries past the retention period, up to a sealed checkpoint, leaving a signed anchor."""
    settings = _settings()
    now = _now()
    cutoff = _parse_time(before, "--before") or service.default_retention_cutoff(now)
    console = Console()
    if not yes:
        typer.confirm(
            f"删除 {_beijing(cutoff)}（北京时间）之前已签封的审计记录？ purge sealed entries before this time?",
            abort=True,
        )
    key = _key(settings)
    database = _database(settings)
    try:
        with database.transaction(write=True) as session:
            deleted = service.apply_retention(session, key, before=cutoff, at=now, actor=settings.cli_user)
    except service.AuditIntegrityError as error:
        console.print("[bold red]哈希链已损坏，未清理任何记录 — the chain is broken, nothing was deleted[/]")
        for en, zh in zip(error.problems, error.problems_zh, strict=True):
            console.print(f"[red]✗[/] {zh}\n  {en}", highlight=False)
        raise typer.Exit(1) from error
    except ValueError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    console.print(f"已清理 {deleted} 条 — deleted {deleted} entries older than {cutoff.isoformat()}")
