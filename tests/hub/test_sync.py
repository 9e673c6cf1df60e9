"""Source syncs on SQLite and PostgreSQL: idempotent, updates keep the source id, quarantine with reasons,
a killed sync resumes from its watermark, records sharing a watermark survive a page boundary."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from trafficgov.audit.store import AuditLogRow
from trafficgov.demo.sources import write_sources
from trafficgov.hub.mapping import mappings
from trafficgov.hub.store import (
    HubQuarantineRow,
    HubRecordRow,
    HubRecordVersionRow,
    HubSyncRow,
    HubWatermarkRow,
)
from trafficgov.hub.sync_service import SyncFailed, list_sources, sync_source
from trafficgov.store.db import Database

AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


class Killed(Exception):
    """Stands for the process dying between two pages."""


@pytest.fixture(scope="module")
def sources_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's source-system files (seed 1), written once per module."""
    city = tmp_path_factory.mktemp("hub-city") / "city"
    shutil.copytree(demo_dir, city)
    write_sources(city, 1)
    return city / "sources"


@pytest.fixture(scope="module")
def truth(sources_dir: Path) -> dict:
    return json.loads((sources_dir / "truth.json").read_text(encoding="utf-8"))


def _count(db: Database, model, *where) -> int:  # noqa: ANN001
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def _ids(db: Database, source: str) -> list[str]:
    with db.transaction() as session:
        return list(session.scalars(select(HubRecordRow.source_id).where(HubRecordRow.source == source)))


def _gps_file(folder: Path, rows: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    columns = ("bjbh", "bjrq", "cph", "cpys", "bjlx", "bjcs", "cxsc", "gxsj")
    with (folder / "tr_gps.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def _alarm(n: int, gxsj: str = "2026-06-01 23:59:59", **changes: str) -> dict[str, str]:
    return {"bjbh": f"GPS{n:04d}", "bjrq": "20260601", "cph": "鲁AF6737", "cpys": "2", "bjlx": "0001", "bjcs": "1",
            "cxsc": "600", "gxsj": gxsj, **changes}


def test_first_sync_takes_every_mappable_record_and_quarantines_the_planted_ones(
    database: Database, admin_actor, sources_dir: Path, truth: dict
) -> None:
    for code in mappings():
        expected = truth["sources"][code]
        planted = expected["expected_quarantine"]
        summary = sync_source(database, code, admin_actor, origin=sources_dir, at=AT, page_size=400)
        assert summary.quarantined == planted, code
        assert summary.inserted == summary.read - planted, code
        assert sorted(_ids(database, code)) == sorted(k for k, v in expected["records"].items() if not v["quarantine"])
        assert _count(database, HubQuarantineRow, HubQuarantineRow.source == code) == planted
    with database.transaction() as session:
        reasons = session.scalars(select(HubQuarantineRow.reason_zh).where(HubQuarantineRow.source == "tr_permit")).all()
        assert reasons and all("无对应标准代码" in r for r in reasons)
        audited = session.scalar(select(func.count()).select_from(AuditLogRow).where(
            AuditLogRow.entity == "hub_source", AuditLogRow.action == "import"))
        assert audited == len(mappings())
    by_code = {s.source: s for s in list_sources(database)}
    assert by_code["tr_permit"].records == len(_ids(database, "tr_permit"))
    assert by_code["tr_permit"].last_sync_status == "done" and by_code["tr_permit"].watermark


def test_resync_changes_nothing(database: Database, admin_actor, sources_dir: Path) -> None:
    first = sync_source(database, "tr_permit", admin_actor, origin=sources_dir, at=AT)
    with database.transaction() as session:
        before = {r.source_id: (r.content_hash, r.version) for r in session.scalars(select(HubRecordRow))}
    again = sync_source(database, "tr_permit", admin_actor, origin=sources_dir, at=AT + timedelta(hours=1))
    assert (again.read, again.inserted, again.updated) == (0, 0, 0)  # nothing after the watermark
    full = sync_source(database, "tr_permit", admin_actor, origin=sources_dir, at=AT + timedelta(hours=2), full=True)
    assert (full.inserted, full.updated) == (0, 0)
    assert full.unchanged == first.inserted and full.quarantined == first.quarantined
    with database.transaction() as session:
        after = {r.source_id: (r.content_hash, r.version) for r in session.scalars(select(HubRecordRow))}
    assert after == before
    assert _count(database, HubQuarantineRow) == first.quarantined  # the same bad record is not kept twice
    assert _count(database, HubRecordVersionRow) == 0


def test_changed_record_is_updated_keeping_its_source_and_id(database: Database, admin_actor, tmp_path: Path) -> None:
    folder = _gps_file(tmp_path / "v1", [_alarm(1), _alarm(2)])
    sync_source(database, "tr_gps", admin_actor, origin=folder, at=AT)
    folder = _gps_file(tmp_path / "v2", [_alarm(1), _alarm(2, gxsj="2026-06-02 08:00:00", bjcs="3")])
    summary = sync_source(database, "tr_gps", admin_actor, origin=folder, at=AT + timedelta(days=1))
    assert (summary.read, summary.updated, summary.inserted) == (1, 1, 0)
    with database.transaction() as session:
        row = session.scalars(select(HubRecordRow).where(HubRecordRow.source_id == "GPS0002")).one()
        assert (row.source, row.kind, row.version, row.fields["count"]) == ("tr_gps", "gps_alarms", 2, 3)
        assert row.first_synced_at == AT
        old = session.scalars(select(HubRecordVersionRow).where(HubRecordVersionRow.record_id == row.id)).one()
        assert (old.version, old.fields["count"]) == (1, 1)
    assert _count(database, HubRecordRow) == 2


def test_killed_sync_resumes_from_its_watermark_with_nothing_lost_or_doubled(
    database: Database, admin_actor, sources_dir: Path, truth: dict
) -> None:
    def die_after_first_page(pages: int, _summary) -> None:  # noqa: ANN001
        if pages == 1:
            raise Killed

    with pytest.raises(Killed):
        sync_source(database, "ins_ctpl", admin_actor, origin=sources_dir, at=AT, page_size=100, on_page=die_after_first_page)
    assert len(_ids(database, "ins_ctpl")) + _count(database, HubQuarantineRow) == 100  # the first page, whole
    with database.transaction() as session:
        assert session.scalars(select(HubSyncRow.status)).all() == ["failed"]
    resumed = sync_source(database, "ins_ctpl", admin_actor, origin=sources_dir, at=AT + timedelta(minutes=5), page_size=100)
    expected = truth["sources"]["ins_ctpl"]
    good = sorted(k for k, v in expected["records"].items() if not v["quarantine"])
    assert resumed.read == len(expected["records"]) - 100
    assert sorted(_ids(database, "ins_ctpl")) == good
    assert _count(database, HubQuarantineRow) == expected["expected_quarantine"]


def test_records_sharing_a_watermark_are_not_lost_across_pages(database: Database, admin_actor, tmp_path: Path) -> None:
    folder = _gps_file(tmp_path / "same", [_alarm(n) for n in range(7, 0, -1)])  # one nightly batch, ids out of order
    calls = []

    def die_after_second_page(pages: int, _summary) -> None:  # noqa: ANN001
        calls.append(pages)
        if pages == 2:
            raise Killed

    with pytest.raises(Killed):
        sync_source(database, "tr_gps", admin_actor, origin=folder, at=AT, page_size=2, on_page=die_after_second_page)
    assert sorted(_ids(database, "tr_gps")) == ["GPS0001", "GPS0002", "GPS0003", "GPS0004"]
    with database.transaction() as session:
        mark = session.get(HubWatermarkRow, "tr_gps")
        assert (mark.watermark, mark.after_id) == ("2026-06-01T15:59:59.000000Z", "GPS0004")
    rest = sync_source(database, "tr_gps", admin_actor, origin=folder, at=AT, page_size=2)
    assert (rest.read, rest.inserted) == (3, 3)
    assert sorted(_ids(database, "tr_gps")) == [f"GPS{n:04d}" for n in range(1, 8)]


def test_a_changed_schema_fails_the_sync_cleanly_and_the_next_run_goes_on(database: Database, admin_actor, tmp_path: Path) -> None:
    good = _gps_file(tmp_path / "good", [_alarm(1)])
    sync_source(database, "tr_gps", admin_actor, origin=good, at=AT)
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    text = (good / "tr_gps.csv").read_text(encoding="utf-8").replace("bjlx", "alarm_type", 1)
    (renamed / "tr_gps.csv").write_text(text.replace("GPS0001", "GPS0009").replace("23:59:59", "23:59:58").replace(
        "2026-06-01 23:59:58", "2026-06-02 23:59:58"), encoding="utf-8")
    with pytest.raises(SyncFailed) as failure:
        sync_source(database, "tr_gps", admin_actor, origin=renamed, at=AT + timedelta(days=1))
    assert "bjlx" in failure.value.zh
    with database.transaction() as session:
        run = session.get(HubSyncRow, failure.value.sync_id)
        assert run.status == "failed" and "bjlx" in run.error
        assert session.get(HubWatermarkRow, "tr_gps").after_id == "GPS0001"
    assert _ids(database, "tr_gps") == ["GPS0001"] and _count(database, HubQuarantineRow) == 0
    fixed = _gps_file(tmp_path / "fixed", [_alarm(1), _alarm(9, gxsj="2026-06-02 23:59:58")])
    summary = sync_source(database, "tr_gps", admin_actor, origin=fixed, at=AT + timedelta(days=2))
    assert (summary.read, summary.inserted) == (1, 1)
