"""信用监管命令 — `trafficgov credit score|backtest|run` (mounted by trafficgov.cli).

`score` writes one JSON line per subject (the public contract in docs/credit.md) and changes nothing;
`run` is the daily job: it scores, keeps the run for the pages and the API, proposes red/black list entries
and raises warnings; `backtest` measures the scoring against what happened after the day.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from trafficgov.accounts.service import cli_actor
from trafficgov.config import Settings
from trafficgov.errors import FieldError
from trafficgov.store.db import Database

app = typer.Typer(help="信用监管 — credit grades, risk scores, lists and warnings.", no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True)
Subject = typer.Option("--subject", help="company, school, driver or vehicle (default: all)")


@app.callback()
def _root() -> None:
    """信用监管 — credit grades, risk scores, lists and warnings."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        err.print(f"[red]错误[/red] 日期格式应为YYYY-MM-DD：{text}")
        raise typer.Exit(2) from exc


def _subject(value: str | None) -> str | None:
    from trafficgov.credit.scoring import SUBJECT_KINDS

    if value is not None and value not in SUBJECT_KINDS:
        err.print(f"[red]错误[/red] --subject 应为 {'、'.join(SUBJECT_KINDS)} 之一")
        raise typer.Exit(2)
    return value


def _database() -> tuple[Settings, Database]:
    settings = Settings.from_env()
    return settings, Database(settings.database_url)


def _fail(exc: FieldError) -> None:
    err.print(f"[red]错误[/red] {exc.zh}\n[dim]{exc.en}[/dim]")
    raise typer.Exit(2) from exc


def _status(message: str) -> None:
    err.print(f"[dim]… {message}[/dim]")


@app.command("score")
def score_command(
    as_of: Annotated[str, typer.Option("--as-of", help="score as of the end of this day (YYYY-MM-DD)")],
    subject: Annotated[str | None, Subject] = None,
) -> None:
    """Write one JSON line per subject: grade, risk score with its 90% band, list, reasons, inspection interval."""
    from trafficgov.credit import scoring

    day, kind = _day(as_of), _subject(subject)
    settings, db = _database()
    try:
        rows = scoring.run(db, cli_actor(db, settings.cli_user), day, subject=kind, progress=_status)
    except FieldError as exc:
        _fail(exc)
    out = sys.stdout
    for row in rows:
        out.write(json.dumps(scoring.contract(row), ensure_ascii=False) + "\n")
    out.flush()


@app.command("backtest")
def backtest_command(
    as_of: Annotated[str, typer.Option("--as-of", help="score at this day and measure what happened after it")],
    horizon_months: Annotated[int, typer.Option("--horizon-months", min=1, max=36)] = 12,
) -> None:
    """Print one JSON object: AUC, share of next-period crashes caught, calibration, stability, vs the SMS-like baseline."""
    from trafficgov.credit import scoring
    from trafficgov.credit.backtest import backtest

    day = _day(as_of)
    _, db = _database()
    _status("读取数据")
    data = scoring.load_data(db)
    _status("回测")
    try:
        scoring.check_day(day)
        result = backtest(data, day, horizon_months)
    except FieldError as exc:
        _fail(exc)
    sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")


@app.command("run")
def run_command(
    as_of: Annotated[str, typer.Option("--as-of", help="score as of the end of this day (YYYY-MM-DD)")],
) -> None:
    """The daily job: score and keep the run, propose list entries, raise warnings; prints a JSON summary."""
    from trafficgov.credit import jobs

    day = _day(as_of)
    settings, db = _database()
    try:
        summary = jobs.daily(db, cli_actor(db, settings.cli_user), day, progress=_status)
    except FieldError as exc:
        _fail(exc)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
