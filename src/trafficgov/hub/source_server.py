"""演示源系统服务 — a small HTTP service that serves one demo source system's records from its export
file, so connectors are tested over a real connection; it can be told to misbehave.

`GET /records?since=WATERMARK&after_id=ID&limit=N` -> {"records": [...], "next": {"since", "after_id"} | null}
`PUT /control` {"mode": ok|garbage|error|slow|schema|repeat, "after_pages": N, "delay": seconds}: after N
good pages, answer HTML instead of JSON (garbage), HTTP 500 (error), late (slow), rows that lack the id
column (schema), or the first page again whatever the cursor (repeat).
Run one: `python -m trafficgov.hub.source_server DIR SOURCE --port 8901`.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import uvicorn
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from trafficgov.hub.connectors import Cursor, FileConnector
from trafficgov.hub.mapping import get_mapping

Mode = Literal["ok", "garbage", "error", "slow", "schema", "repeat"]


class Control(BaseModel):
    mode: Mode = "ok"
    after_pages: int = 0
    delay: float = 2.0


@dataclass
class _State:
    control: Control
    pages_served: int = 0


def make_app(folder: Path, source: str) -> FastAPI:
    """The service of one source, over `<folder>/<source>.<csv|jsonl>`."""
    mapping = get_mapping(source)
    connector = FileConnector(mapping, Path(folder))
    state = _State(Control())
    lock = threading.Lock()
    app = FastAPI(title=f"演示源系统 {mapping.name_zh}")
    app.state.source = state

    @app.put("/control")
    def control(body: Control) -> dict:
        with lock:
            state.control, state.pages_served = body, 0
        return body.model_dump()

    @app.get("/records")
    def records(since: str | None = None, after_id: str = "", limit: int = Query(500, ge=1, le=10_000)):  # noqa: ANN202
        with lock:
            misbehave = state.control.mode != "ok" and state.pages_served >= state.control.after_pages
            mode = state.control.mode if misbehave else "ok"
            delay = state.control.delay
            state.pages_served += 1
        if mode == "garbage":
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>")
        if mode == "error":
            return JSONResponse({"error": "internal error"}, status_code=500)
        if mode == "slow":
            time.sleep(delay)
        cursor = None if since is None or mode == "repeat" else Cursor(since, after_id)
        page = connector.fetch(cursor, limit)
        rows = page.records
        if mode == "schema":
            rows = [{k: v for k, v in row.items() if k != mapping.source_id} for row in rows]
        return {"records": rows, "next": page.next.as_params() if page.next else None}

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_in_thread(folder: Path, source: str, port: int | None = None) -> Iterator[tuple[str, FastAPI]]:
    """Run a source's service on 127.0.0.1 in a background thread; yields (base URL, app)."""
    app = make_app(folder, source)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the source service did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="serve one demo source system's records over HTTP")
    parser.add_argument("folder", type=Path, help="the folder of source files (<city>/sources)")
    parser.add_argument("source", help="source code, e.g. tr_permit")
    parser.add_argument("--port", type=int, default=8901)
    args = parser.parse_args()
    uvicorn.run(make_app(args.folder, args.source), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
