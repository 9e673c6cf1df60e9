"""Data quality on SQLite and PostgreSQL: demo sources synced, measured in one audited run, reported per
department (a partner sees only its own department's sources), the trend kept over runs, and the migration
matching the tables."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import tables_differing
from trafficgov.accounts.service import get_user
from trafficgov.audit.store import AuditLogRow
from trafficgov.demo.sources import write_sources
from trafficgov.errors import Forbidden
from trafficgov.hub import quality_service as svc
from trafficgov.hub.mapping import mappings
from trafficgov.hub.quality_store import HubDefectRow, HubQualityRow, HubQualityRunRow
from trafficgov.hub.store import HubRecordRow
from trafficgov.hub.sync_service import sync_source
from trafficgov.store.db import Database, make_engine, upgrade

AT = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
SOURCES = ("tp_vehicle", "tr_permit", "mr_business")
OURS = {"hub_quality", "hub_quality_runs", "hub_defects"}


@pytest.fixture(scope="module")
def sources_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    city = tmp_path_factory.mktemp("quality-city") / "city"
    shutil.copytree(demo_dir, city)
    write_sources(city, 1)
    return city / "sources"


def _sync(db: Database, actor, folder: Path, at: datetime = AT, sources=SOURCES) -> None:
    for code in sources:
        sync_source(db, code, actor, origin=folder, at=at)


def _count(db: Database, model, *where) -> int:  # noqa: ANN001
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_run_keeps_figures_per_source_and_field_and_the_defects_behind_them(database: Database, admin_actor, sources_dir: Path) -> None:
    _sync(database, admin_actor, sources_dir)
    run = svc.measure(database, admin_actor, at=AT + timedelta(hours=1))
    assert run.records == _count(database, HubRecordRow) and run.defects >= run.defects_kept > 0
    # one row per source and mapped field, plus the source's own row
    expected = sum(len({f.to for f in m.fields.values()} | set(m.constants)) + 1 for m in mappings().values())
    assert _count(database, HubQualityRow, HubQualityRow.run_id == run.id) == expected
    with database.transaction() as session:
        plate_type = session.scalars(select(HubQualityRow).where(HubQualityRow.source == "tr_permit", HubQualityRow.field == "plate_type")).one()
        assert plate_type.valid < plate_type.filled  # the planted unknown plate colours, quarantined by sync
        kinds = dict(session.execute(select(HubDefectRow.kind, func.count()).group_by(HubDefectRow.kind)).all())
        assert {"validity", "completeness", "consistency"} <= set(kinds)
        names = session.scalars(select(HubDefectRow).where(HubDefectRow.source == "tr_permit", HubDefectRow.field == "holder_name")).all()
        assert names and all(d.other_source == "mr_business" and d.kind == "consistency" for d in names)
        assert session.scalar(select(func.count()).select_from(AuditLogRow).where(AuditLogRow.entity == "hub_quality", AuditLogRow.action == "create")) == 1
    listed = svc.defects(database, admin_actor, "tr_permit", field="holder_name")
    assert listed[0].record is not None and listed[0].record["holder_uscc"] and not listed[0].quarantined
    quarantined = svc.defects(database, admin_actor, "tr_permit", kind="validity")
    assert quarantined and all(d.quarantined and d.record and "cpys" in d.record for d in quarantined)


def test_each_department_sees_only_its_own_sources(loaded: Database, admin_actor, sources_dir: Path) -> None:
    _sync(loaded, admin_actor, sources_dir)
    svc.measure(loaded, admin_actor, at=AT + timedelta(hours=1))
    partner = get_user(loaded, "partner")  # the demo's transport department
    mine = svc.report(loaded, partner, now=AT + timedelta(hours=2))
    assert {s.source for s in mine.sources} == {"tr_permit", "tr_gps"}
    assert {s.department_zh for s in mine.sources} == {"交通运输部门"}
    assert svc.defects(loaded, partner, "tr_permit")
    with pytest.raises(Forbidden):
        svc.defects(loaded, partner, "tp_vehicle")
    with pytest.raises(Forbidden):
        svc.report(loaded, get_user(loaded, "citizen"))
    with pytest.raises(Forbidden):
        svc.measure(loaded, partner)
    everything = svc.report(loaded, get_user(loaded, "clerk"), now=AT + timedelta(hours=2))
    assert {s.source for s in everything.sources} == set(mappings())
    never = next(s for s in everything.sources if s.source == "tr_gps")
    assert [a.code for a in never.alerts] == ["never_synced"] and never.fields  # measured, though empty


def test_the_trend_is_kept_over_runs_and_a_silent_source_is_alerted(database: Database, admin_actor, sources_dir: Path) -> None:
    _sync(database, admin_actor, sources_dir, sources=("tr_permit",))
    first = svc.measure(database, admin_actor, at=AT + timedelta(hours=1))
    second = svc.measure(database, admin_actor, at=AT + timedelta(hours=2))
    assert _count(database, HubQualityRunRow) == 2
    assert _count(database, HubDefectRow, HubDefectRow.run_id == first.id) == 0  # the latest run's defects replace the earlier
    report = svc.report(database, admin_actor, source="tr_permit", now=AT + timedelta(hours=3))
    [permit] = report.sources
    assert report.run_id == second.id and not permit.alerts
    holder = next(f for f in permit.fields if f.field == "holder_uscc")
    assert [p.run_id for p in holder.trend] == [first.id, second.id]
    assert holder.trend[0].completeness == holder.trend[1].completeness == holder.completeness < 1
    later = svc.report(database, admin_actor, source="tr_permit", now=AT + timedelta(days=3))
    assert [a.code for a in later.sources[0].alerts] == ["silent"]
    again = AT + timedelta(days=3)
    sync_source(database, "tr_permit", admin_actor, origin=sources_dir, at=again, full=True)
    repeated = svc.report(database, admin_actor, source="tr_permit", now=again + timedelta(hours=1))
    assert repeated.sources[0].alerts == [] and [n.code for n in repeated.sources[0].notes] == ["repeats"]


def test_migration_0011_matches_the_quality_tables(database: Database, tmp_path: Path) -> None:
    assert tables_differing(database.engine) & OURS == set()
    engine = make_engine(f"sqlite:///{tmp_path}/at-0010.db")
    upgrade(engine, "0010")
    assert tables_differing(engine) & OURS == OURS  # the comparison does see them: a store at 0010 lacks exactly these
    upgrade(engine, "0011")
    assert tables_differing(engine) & OURS == set()
    engine.dispose()
