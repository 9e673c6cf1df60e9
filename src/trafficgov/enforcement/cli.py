"""处罚裁量命令 — `trafficgov penalty decide --cases FILE.jsonl` (mounted by trafficgov.cli)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from trafficgov.enforcement.decide import decide_line, now_date
from trafficgov.rules.loader import default_rulebook

app = typer.Typer(help="处罚裁量 — decide penalty cases from dated rule data.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def _root() -> None:
    """处罚裁量 — decide penalty cases from dated rule data."""


@app.command("decide")
def decide_command(
    cases: Annotated[Path, typer.Option("--cases", exists=True, dir_okay=False, readable=True, help="one case per line (JSON)")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="the engine's today (YYYY-MM-DD); default: today")] = None,
) -> None:
    """Write one JSON decision per input line, in order; an undecidable case gives {"case_id", "error"}."""
    day = date.fromisoformat(as_of) if as_of else now_date()
    book = default_rulebook()
    out = sys.stdout
    with cases.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            out.write(json.dumps(decide_line(line, day, book), ensure_ascii=False) + "\n")
    out.flush()
