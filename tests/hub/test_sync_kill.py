"""A sync really killed (SIGKILL of the `trafficgov hub sync` process) in the middle of an HTTP source: the next
run marks the dead one failed and resumes from the watermark, with nothing lost or doubled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from trafficgov.accounts.service import cli_actor
from trafficgov.demo.sources import write_sources
from trafficgov.hub.source_server import serve_in_thread
from trafficgov.hub.store import HubQuarantineRow, HubRecordRow, HubSyncRow, HubWatermarkRow
from trafficgov.hub.sync_service import sync_source
from trafficgov.store.db import Database

SOURCE = "tr_permit"


def test_a_killed_sync_process_resumes_with_nothing_lost_or_doubled(demo_dir: Path, tmp_path: Path) -> None:
    city = tmp_path / "city"
    shutil.copytree(demo_dir, city)
    write_sources(city, 1)
    truth = json.loads((city / "sources" / "truth.json").read_text(encoding="utf-8"))["sources"][SOURCE]["records"]
    good = sorted(k for k, v in truth.items() if not v["quarantine"])
    url_db = f"sqlite:///{tmp_path / 'hub.db'}"
    db = Database(url_db)
    env = {**os.environ, "TRAFFICGOV_DATABASE_URL": url_db, "TRAFFICGOV_VAR_DIR": str(tmp_path / "var")}
    with serve_in_thread(city / "sources", SOURCE) as (url, _app):
        # the first page comes at once, every later one only after 30 s: the process is killed while it waits
        httpx.put(f"{url}/control", json={"mode": "slow", "after_pages": 1, "delay": 30}).raise_for_status()
        process = subprocess.Popen(
            [sys.executable, "-c", "from trafficgov.cli import main; main()", "hub", "sync", SOURCE, "--url", url, "--page-size", "25"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                with db.transaction() as session:
                    pages = session.scalar(select(func.max(HubSyncRow.pages)))
                if pages:
                    break
                assert process.poll() is None and time.monotonic() < deadline, "the sync never committed its first page"
                time.sleep(0.1)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        with db.transaction() as session:
            taken = session.scalar(select(func.count()).select_from(HubRecordRow))
            watermark = session.get(HubWatermarkRow, SOURCE)
            assert session.scalars(select(HubSyncRow.status)).all() == ["running"]  # it died without a word
        assert 0 < taken <= 25 and watermark is not None

        httpx.put(f"{url}/control", json={"mode": "ok"}).raise_for_status()
        summary = sync_source(db, SOURCE, cli_actor(db, "admin"), origin=url, at=datetime.now(UTC), page_size=25)
    with db.transaction() as session:
        ids = sorted(session.scalars(select(HubRecordRow.source_id)))
        quarantined = session.scalar(select(func.count()).select_from(HubQuarantineRow))
        statuses = session.scalars(select(HubSyncRow.status).order_by(HubSyncRow.id)).all()
    assert ids == good and len(ids) == len(set(ids))  # nothing lost, nothing doubled
    assert quarantined == len(truth) - len(good)
    assert summary.read == len(truth) - 25 and statuses == ["failed", "done"]  # resumed after the first page
    db.engine.dispose()
