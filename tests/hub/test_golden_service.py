"""Golden records over the demo city's nine department systems, on SQLite and PostgreSQL: measured against
the planted truth, looked up with provenance, and a clerk's decisions kept across rebuilds."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trafficgov.demo.sources import write_sources
from trafficgov.errors import Conflict, Forbidden
from trafficgov.hub import golden, golden_service
from trafficgov.hub.golden_store import LinkReviewRow
from trafficgov.hub.mapping import mappings
from trafficgov.hub.sync_service import sync_source

AT = datetime(2026, 7, 1, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def sources_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    city = tmp_path_factory.mktemp("golden-city") / "city"
    shutil.copytree(demo_dir, city)
    write_sources(city, 1)
    return city / "sources"


@pytest.fixture
def synced(database, admin_actor, sources_dir):
    for code in sorted(mappings()):
        sync_source(database, code, admin_actor, origin=sources_dir, at=AT)
    return database


def test_golden_records_match_the_planted_truth(synced, admin_actor, sources_dir):
    truth = json.loads((sources_dir / "truth.json").read_text(encoding="utf-8"))["sources"]
    resolutions = golden_service.build(golden_service.load_records(synced), {}, as_of=AT.date())
    for entity, result in resolutions.items():
        known = {}
        for cluster in result.clusters:
            for m in cluster.members:
                fact = golden.truth_of(entity, truth[m.source]["records"].get(m.source_id, {}))
                if fact:
                    known[m.ref] = fact
        scores = golden.pairwise_scores([c.refs() for c in result.clusters], known)
        assert scores["precision"] >= 0.99 and scores["recall"] >= 0.95, (entity, scores)


def test_a_run_keeps_golden_records_with_provenance_and_a_clerks_decision_survives(synced, admin_actor, sources_dir):
    summaries = {s.entity: s for s in golden_service.run(synced, admin_actor, at=AT)}
    assert summaries["vehicles"].multi_source > 0 and summaries["people"].records > 0
    vehicle = next(r for r in golden_service.search(synced, admin_actor, "vehicles", "鲁") if r["sources"] >= 3)
    record = golden_service.get_record(synced, admin_actor, "vehicles", vehicle["key"])
    assert record["fields"]["plate_number"]["source"] == "tp_vehicle" and len(record["records"]) == len(record["members"])
    # a doubtful pair decided by a clerk: kept, and a second decision is refused
    with synced.transaction(write=True) as session:
        session.add(LinkReviewRow(entity="vehicles", left_ref=record["members"][0], right_ref="ins_ctpl/NOPE", probability=0.9,
                                  status="pending", first_seen_at=AT, last_seen_at=AT))
    review = golden_service.list_reviews(synced, admin_actor)[0]
    assert golden_service.decide_review(synced, admin_actor, review["id"], "split", note="不同车辆")["status"] == "split"
    with pytest.raises(Conflict):
        golden_service.decide_review(synced, admin_actor, review["id"], "confirm")
    golden_service.run(synced, admin_actor, at=AT)
    assert golden_service.list_reviews(synced, admin_actor, status="split")[0]["id"] == review["id"]
    assert golden_service.get_record(synced, admin_actor, "vehicles", vehicle["key"])["members"] == record["members"]


def test_only_staff_see_golden_records(synced, accounts):
    from trafficgov.accounts.model import Actor, Role

    with pytest.raises(Forbidden):
        golden_service.search(synced, Actor("c", Role.CITIZEN, id_number="x"), "people", "3701")
