"""Benchmark: captures through validation to cases awaiting review, per second, vs. a raw executemany.

Builds the small (or medium) demo city, loads it into a freshly migrated SQLite store with its
devices, and generates captures of the city's own vehicles on its own cameras. Then, on two fresh
copies of that store, times:
  baseline — the same rows (already converted) written into `enforcement_captures` with one raw
             driver `executemany` per batch: no validation, no admissibility, no audit;
  ours     — `enforcement.service.ingest_captures` in batches of 1000 (validation, plate and
             behaviour checks, admissibility by source, review due date in working days, audit);
             these captures are all in the common shape, so they take the column-wise fast path
             (`enforcement.intake.check_batch`), not the per-record model.
Prints captures/s of each and the ratio baseline time / our time (goal >= 0.5).

Usage: python bench/ingest_captures.py [--size small|medium] [--captures 20000]
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from trafficgov.accounts.service import cli_actor
from trafficgov.demo.city import build_city
from trafficgov.demo.load import load_city
from trafficgov.enforcement import admissibility as adm
from trafficgov.enforcement import service
from trafficgov.enforcement.calendar import default_calendar
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.store import VehicleRow
from trafficgov.rules.loader import default_rulebook
from trafficgov.store.db import Database

BEIJING = timezone(timedelta(hours=8))
AS_OF = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
BATCH = service.MAX_BATCH
BEHAVIOURS = ["red_light", "speeding", "illegal_parking", "no_seatbelt", "phone_use"]


def prepare(folder: Path, size: str) -> Path:
    """A migrated SQLite store with the demo city and its devices; returns the file's path."""
    city = folder / "city"
    build_city(1, size, AS_OF, city)
    path = folder / "template.db"
    db = Database(f"sqlite:///{path}")
    actor = cli_actor(db, "admin")
    load_city(db, city / "manifest.json", actor, argon2_profile="test")
    service.load_demo_devices(db, actor, city / "cameras.csv")
    db.engine.dispose()
    return path


def make_captures(folder: Path, template: Path, n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    db = Database(f"sqlite:///{template}")
    with db.transaction() as session:
        vehicles = [(v.plate_number, v.plate_type) for v in session.scalars(select(VehicleRow).limit(5000))]
    db.engine.dispose()
    cameras = list(csv.DictReader((folder / "city" / "cameras.csv").open(encoding="utf-8")))
    out = []
    for i in range(n):
        plate, ptype = rng.choice(vehicles)
        cam = rng.choice(cameras)
        at = datetime(2026, 6, 1, 8, tzinfo=BEIJING) + timedelta(minutes=rng.randint(0, 60 * 24 * 25))
        behaviour = rng.choice(BEHAVIOURS)
        record = {
            "capture_id": f"bench-{i:08d}",
            "source": "video_patrol" if cam["kind"] == "video_patrol" else "fixed_camera",
            "device_id": cam["camera_id"],
            "captured_at": at.isoformat(),
            "place": {"region": cam["district"] or "370102", "lon": 117.0, "lat": 36.6, "road": "经十路", "speed_limit_kmh": 60},
            "plate_number": plate,
            "plate_type": ptype,
            "behavior": behaviour,
            "measurements": {"speed_kmh": 80.0} if behaviour == "speeding" else {},
            "evidence": [{"uri": f"s3://evidence/{i}.jpg", "sha256": f"{i:064x}"}],
        }
        out.append(record)
    return out


def copy_store(template: Path, folder: Path, name: str) -> Path:
    target = folder / f"{name}.db"
    shutil.copyfile(template, target)
    return target


def warm_up() -> None:
    """Load what a running server holds already (rule book, pipeline rules, code tables, calendar)."""
    default_rulebook().at(AS_OF)
    adm.pipeline_rules()
    adm.erase_reasons()
    code_tables()
    default_calendar()


def run_ours(path: Path, captures: list[dict]) -> tuple[float, int]:
    db = Database(f"sqlite:///{path}")
    actor = cli_actor(db, "admin")
    warm_up()
    batches = [captures[i : i + BATCH] for i in range(0, len(captures), BATCH)]
    gc.collect()  # the garbage of preparing the data is not this run's
    start = time.perf_counter()
    accepted = 0
    for batch in batches:
        summary = service.ingest_captures(db, actor, batch, now=NOW)
        assert not summary.rejected, summary.rejected[:3]
        accepted += summary.accepted
    elapsed = time.perf_counter() - start
    db.engine.dispose()
    return elapsed, accepted


def baseline_rows(captures: list[dict]) -> list[tuple]:
    """The rows as the baseline writes them: the values of each capture, converted up front (not timed)."""
    received = NOW.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    rows = []
    for c in captures:
        at = datetime.fromisoformat(c["captured_at"]).astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        place = c["place"]
        rows.append(
            (c["capture_id"], c["source"], c["device_id"], at, place["region"], place["lon"], place["lat"], place["road"], c["device_id"],
             c["plate_number"], c["plate_type"], c["behavior"], json.dumps(c["measurements"]), json.dumps({"speed_limit_kmh": 60}),
             json.dumps(c["evidence"]), received, "admin", 1, None, None, "pipeline", "pending", None)
        )
    return rows


BASELINE_SQL = (
    "INSERT INTO enforcement_captures (capture_id, source, device_id, captured_at, region, lon, lat, road, stretch, plate_number, plate_type, "
    "behavior, measurements, road_facts, evidence, received_at, received_by, admissible, inadmissible_requirement, inadmissible_reason_zh, "
    "rules_version, status, review_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def run_baseline(path: Path, captures: list[dict]) -> tuple[float, int]:
    rows = baseline_rows(captures)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    gc.collect()  # the garbage of preparing the data is not this run's
    start = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.executemany(BASELINE_SQL, rows[i : i + BATCH])
        conn.commit()
    elapsed = time.perf_counter() - start
    count = conn.execute("SELECT count(*) FROM enforcement_captures").fetchone()[0]
    conn.close()
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["small", "medium"])
    parser.add_argument("--captures", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of our run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = prepare(folder, args.size)
        captures = make_captures(folder, template, args.captures)
        base_time, base_count = run_baseline(copy_store(template, folder, "baseline"), captures)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        our_time, accepted = run_ours(copy_store(template, folder, "ours"), captures)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    assert base_count == accepted == len(captures), (base_count, accepted)
    print(f"city={args.size} captures={len(captures)} batch={BATCH}")
    print(f"baseline (raw executemany): {len(captures) / base_time:10.0f} captures/s  ({base_time:.3f} s)")
    print(f"ours (ingest_captures):     {len(captures) / our_time:10.0f} captures/s  ({our_time:.3f} s)")
    print(f"ratio baseline/ours: {base_time / our_time:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
