"""Syncs over a real HTTP connection to a demo source system's service, including one that misbehaves:
garbage, HTTP 500, silence, a changed schema, repeating itself. Nothing is lost or doubled."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from trafficgov.demo.sources import write_sources
from trafficgov.hub.source_server import serve_in_thread
from trafficgov.hub.store import HubQuarantineRow, HubRecordRow, HubSyncRow
from trafficgov.hub.sync_service import SyncFailed, sync_source
from trafficgov.store.db import Database

AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
SOURCE = "tr_permit"


@pytest.fixture(scope="module")
def sources_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    city = tmp_path_factory.mktemp("hub-city-http") / "city"
    shutil.copytree(demo_dir, city)
    write_sources(city, 1)
    return city / "sources"


@pytest.fixture(scope="module")
def expected(sources_dir: Path) -> dict:
    records = json.loads((sources_dir / "truth.json").read_text(encoding="utf-8"))["sources"][SOURCE]["records"]
    return {"good": sorted(k for k, v in records.items() if not v["quarantine"]),
            "bad": sum(1 for v in records.values() if v["quarantine"])}


@pytest.fixture(scope="module")
def service(sources_dir: Path) -> Iterator[str]:
    with serve_in_thread(sources_dir, SOURCE) as (url, _app):
        yield url


def _control(url: str, mode: str, after_pages: int = 0, delay: float = 2.0) -> None:
    response = httpx.put(f"{url}/control", json={"mode": mode, "after_pages": after_pages, "delay": delay})
    assert response.status_code == 200


def _state(db: Database) -> tuple[list[str], int]:
    with db.transaction() as session:
        ids = sorted(session.scalars(select(HubRecordRow.source_id)))
        quarantined = session.scalar(select(func.count()).select_from(HubQuarantineRow))
    return ids, quarantined


def test_sync_over_http_takes_what_the_files_hold(sqlite_database: Database, service: str, expected: dict) -> None:
    from trafficgov.accounts.service import cli_actor

    _control(service, "ok")
    actor = cli_actor(sqlite_database, "admin")
    summary = sync_source(sqlite_database, SOURCE, actor, origin=service, at=AT, page_size=25)
    assert (summary.inserted, summary.quarantined) == (len(expected["good"]), expected["bad"])
    assert _state(sqlite_database) == (expected["good"], expected["bad"])
    again = sync_source(sqlite_database, SOURCE, actor, origin=service, at=AT, page_size=25)
    assert again.read == 0


@pytest.mark.parametrize(("mode", "words"), [("garbage", "JSON"), ("error", "500"), ("slow", "超时"), ("schema", "yszh")])
def test_a_misbehaving_source_fails_the_sync_cleanly_and_the_next_run_goes_on(
    sqlite_database: Database, service: str, expected: dict, mode: str, words: str
) -> None:
    from trafficgov.accounts.service import cli_actor

    actor = cli_actor(sqlite_database, "admin")
    _control(service, mode, after_pages=1, delay=1.5)
    with pytest.raises(SyncFailed) as failure:
        sync_source(sqlite_database, SOURCE, actor, origin=service, at=AT, page_size=25, timeout=0.5)
    assert words in failure.value.zh + failure.value.en
    ids, _ = _state(sqlite_database)
    assert 0 < len(ids) <= 25  # the first page was taken whole, nothing of the bad one
    with sqlite_database.transaction() as session:
        run = session.get(HubSyncRow, failure.value.sync_id)
        assert run.status == "failed" and run.error and run.pages == 1
    _control(service, "ok")
    summary = sync_source(sqlite_database, SOURCE, actor, origin=service, at=AT + timedelta(minutes=1), page_size=25)
    assert summary.read + 25 == len(expected["good"]) + expected["bad"]
    assert _state(sqlite_database) == (expected["good"], expected["bad"])


def test_a_source_that_repeats_itself_adds_nothing(sqlite_database: Database, service: str, expected: dict) -> None:
    from trafficgov.accounts.service import cli_actor

    actor = cli_actor(sqlite_database, "admin")
    _control(service, "ok")
    sync_source(sqlite_database, SOURCE, actor, origin=service, at=AT, page_size=50)
    _control(service, "repeat")
    again = sync_source(sqlite_database, SOURCE, actor, origin=service, at=AT + timedelta(minutes=1), page_size=50)
    assert (again.inserted, again.updated) == (0, 0) and again.unchanged + again.quarantined == 50
    assert _state(sqlite_database) == (expected["good"], expected["bad"])
    _control(service, "ok")
