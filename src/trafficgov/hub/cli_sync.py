"""Typer commands of source syncs: `sync SOURCE --dir DIR | --url URL` and `sources` (mounted under `trafficgov hub`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

err = Console(stderr=True)


def _database():  # noqa: ANN202
    from trafficgov.config import Settings
    from trafficgov.store.db import Database

    return Database(Settings.from_env().database_url)


def sync_command(
    source: Annotated[str, typer.Argument(help="source system code (see `trafficgov hub sources`)")],
    directory: Annotated[Path | None, typer.Option("--dir", help="folder holding the source's export file")] = None,
    url: Annotated[str | None, typer.Option("--url", help="base URL of the source's HTTP service")] = None,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=10_000)] = 500,
    full: Annotated[bool, typer.Option("--full", help="read the source from the start again (changes nothing unchanged)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object on the last line")] = False,
) -> None:
    """数据同步 — take a source system's new and changed records into the hub, from its watermark on."""
    from trafficgov.accounts.service import cli_actor
    from trafficgov.config import Settings
    from trafficgov.errors import FieldError
    from trafficgov.hub.mapping import get_mapping
    from trafficgov.hub.sync_service import SyncFailed, sync_source

    if (directory is None) == (url is None):
        err.print("[red]错误[/red] 请给出 --dir 或 --url 之一\n[dim]give exactly one of --dir or --url[/dim]")
        raise typer.Exit(2)
    try:
        mapping = get_mapping(source)
        database = _database()
        actor = cli_actor(database, Settings.from_env().cli_user)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                      TimeElapsedColumn(), console=err) as progress:
            task = progress.add_task(f"同步 {mapping.name_zh}", total=None, note="")

            def on_page(pages: int, summary) -> None:  # noqa: ANN001
                progress.update(task, completed=summary.read, note=f"第{pages}页 新增{summary.inserted} 更新{summary.updated} 隔离{summary.quarantined}")

            summary = sync_source(database, source, actor, origin=url or directory, at=datetime.now(UTC),  # type: ignore[arg-type]
                                  page_size=page_size, full=full, on_page=on_page)
            progress.update(task, total=summary.read, completed=summary.read)
    except FieldError as exc:
        err.print(f"[red]错误[/red] {exc.zh}\n[dim]{exc.en}[/dim]")
        raise typer.Exit(2) from None
    except SyncFailed as exc:
        err.print(f"[red]同步失败[/red] {exc.zh}\n[dim]{exc.en}[/dim]\n已完成的页已入库，下次同步从水位继续。")
        if as_json:
            print(json.dumps({**asdict(exc.summary), "status": "failed", "error": exc.en}, ensure_ascii=False))
        raise typer.Exit(1) from None
    table = Table(title=f"同步 {mapping.name_zh}（{source}）")
    for label in ("读取 read", "新增 inserted", "更新 updated", "未变 unchanged", "隔离 quarantined", "水位 watermark"):
        table.add_column(label, justify="right")
    table.add_row(*(str(v) for v in (summary.read, summary.inserted, summary.updated, summary.unchanged, summary.quarantined,
                                     summary.watermark_to or "")))
    err.print(table)
    if as_json:
        print(json.dumps(asdict(summary), ensure_ascii=False))


def sources_command(as_json: Annotated[bool, typer.Option("--json", help="print the sources as JSON")] = False) -> None:
    """数据来源 — every source system with its records, quarantine and last sync."""
    from trafficgov.hub.model import DEPARTMENT_LABELS_ZH
    from trafficgov.hub.sync_service import list_sources

    rows = list_sources(_database())
    if as_json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False, default=str))
        return
    table = Table(title="数据来源 sources")
    for label in ("代码 source", "名称 name", "部门 department", "类别 kind", "记录 records", "隔离 quarantined", "水位 watermark", "最近同步 last sync"):
        table.add_column(label)
    for r in rows:
        last = f"{r.last_sync_status} {r.last_sync_started_at:%Y-%m-%d %H:%M}" if r.last_sync_started_at else "—"
        table.add_row(r.source, r.name_zh, DEPARTMENT_LABELS_ZH.get(r.department, r.department), r.kind, str(r.records),
                      str(r.quarantined), r.watermark or "—", last)
    Console().print(table)


def golden_command(as_json: Annotated[bool, typer.Option("--json", help="print one JSON object per entity kind")] = False) -> None:
    """主数据 — rebuild the golden records of people, companies and vehicles from every source's records."""
    from trafficgov.accounts.service import cli_actor
    from trafficgov.config import Settings
    from trafficgov.hub import golden_service

    db = _database()
    summaries = golden_service.run(db, cli_actor(db, Settings.from_env().cli_user))
    if as_json:
        for s in summaries:
            print(json.dumps(asdict(s), ensure_ascii=False))
        return
    table = Table(title="主数据 golden records")
    for label in ("类型 entity", "提及 mentions", "主数据 records", "多来源 multi-source", "待确认 doubtful"):
        table.add_column(label)
    for s in summaries:
        table.add_row(s.entity, str(s.mentions), str(s.records), str(s.multi_source), str(s.doubtful))
    err.print(table)


def register(app: typer.Typer) -> None:
    """Add `sync`, `sources` and `golden` to the hub's Typer app."""
    app.command("sync")(sync_command)
    app.command("sources")(sources_command)
    app.command("golden")(golden_command)
