"""数据中台命令 — `trafficgov hub link` (mounted by trafficgov.cli).

`link` is a public contract: it reads two files, never touches the store, and writes one JSON line
`{"left_id", "right_id", "match_probability"}` per pair at or above the threshold, sorted by ids.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from trafficgov.errors import FieldError

app = typer.Typer(help="数据中台 — entity resolution across departments' systems.", no_args_is_help=True, pretty_exceptions_enable=False)
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """数据中台 — entity resolution across departments' systems."""


def _fail(exc: FieldError) -> None:
    err.print(f"[red]错误[/red] {escape(exc.zh)}\n[dim]{escape(exc.en)}[/dim]", highlight=False)
    raise typer.Exit(2) from exc


def read_rows(path: Path, encoding: str, side: str) -> list[dict[str, Any]]:
    """The records of a CSV (with header) or JSONL file; FieldError naming the file and line for a bad one."""
    from trafficgov.imports.reader import detect_format, python_encoding, read_records

    file_format = detect_format(path.name)
    python_encoding(encoding)
    if not path.is_file():
        raise FieldError(side, f"文件不存在：{path}", f"no such file: {path}")
    rows = []
    with path.open("rb") as stream:
        for record in read_records(stream, file_format, encoding):
            if record.error is not None:
                raise FieldError(record.error.field, f"{path.name}：{record.error.zh}", f"{path.name}: {record.error.en}")
            rows.append(record.values)
    return rows


@app.command("link")
def link_command(
    left: Annotated[Path, typer.Argument(help="left file (.csv with a header row, or .jsonl)", dir_okay=False)],
    right: Annotated[Path, typer.Argument(help="right file (.csv with a header row, or .jsonl)", dir_okay=False)],
    kind: Annotated[str, typer.Option("--kind", help="people, companies or vehicles")],
    threshold: Annotated[float | None, typer.Option("--threshold", help="lowest match probability written (default: the kind's, from hub/data/linkage.yaml)")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="utf-8 (with or without BOM) or gb18030")] = "utf-8",
    backend: Annotated[str, typer.Option("--backend", help="duckdb (in memory, default) or spark (needs pip install 'trafficgov[spark]')")] = "duckdb",
) -> None:
    """关联 — write one JSON line {left_id, right_id, match_probability} per pair taken for the same entity."""
    from trafficgov.hub.link import link

    try:
        left_rows, right_rows = read_rows(left, encoding, "left"), read_rows(right, encoding, "right")
        matches = link(kind, left_rows, right_rows, threshold=threshold, backend=backend)  # type: ignore[arg-type]
    except FieldError as exc:
        _fail(exc)
    out = sys.stdout
    for match in matches:
        out.write(json.dumps({"left_id": match.left_id, "right_id": match.right_id, "match_probability": match.match_probability}, ensure_ascii=False) + "\n")
