"""Benchmark: import 100 k vehicles with full validation vs. a raw executemany of the same CSV.

Both runs read the same file into the same kind of freshly migrated store (owners already present);
the baseline parses the CSV with the csv module and inserts every row as it is, with no validation,
no reference checks, no quarantine and no audit. The ratio is baseline time / validated import time
(goal >= 0.5). Usage: python bench/import_registry.py [--rows 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from trafficgov.accounts.service import cli_actor
from trafficgov.imports.service import import_file
from trafficgov.registry.identifiers import id_check_digit, vin_check_char
from trafficgov.store.db import Database

PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
COLUMNS = ("plate_number", "plate_type", "vin", "vehicle_type", "use_nature", "owner_id", "operator_uscc", "rated_passengers", "rated_load_kg", "max_total_mass_kg", "axles", "registered_on", "inspection_due", "insurance_expiry", "status")


def make_files(folder: Path, rows: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    owners = []
    for i in range(rows // 5):
        first17 = f"370102{1950 + i % 50}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
        owners.append(first17 + id_check_digit(first17))
    owners = list(dict.fromkeys(owners))
    people = folder / "people.csv"
    with people.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "name"])
        writer.writerows([o, f"车主{n}"] for n, o in enumerate(owners))
    vehicles = folder / "vehicles.csv"
    plates: set[str] = set()
    with vehicles.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for n in range(rows):
            while True:
                plate = "鲁A" + "".join(rng.choice(PLATE_CHARS[-10:] if k else PLATE_CHARS) for k in range(5))
                if plate not in plates:
                    plates.add(plate)
                    break
            body = f"LVSHC{n % 10}{(n // 10) % 10}Z"
            tail = f"K{n:08d}"[-8:]
            vin = body + vin_check_char(body + "0" + tail) + tail
            registered = date(2015, 1, 1) + timedelta(days=n % 3000)
            writer.writerow([plate, "02", vin, "K33", "A", rng.choice(owners), "", 5, "", 1800, 2, registered.isoformat(), (registered + timedelta(days=730)).isoformat(), (registered + timedelta(days=365)).isoformat(), "A"])
    return people, vehicles


def fresh_url(base: str | None, folder: Path, name: str) -> tuple[str, callable]:
    if base is None:
        return f"sqlite:///{folder / (name + '.db')}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    return f"{base}?options=-csearch_path%3D{schema}", drop


def prepared(url: str, people: Path) -> Database:
    db = Database(url)
    import_file(db, "people", people, cli_actor(db, "admin"))
    return db


def baseline(db: Database, vehicles: Path) -> float:
    """Read the CSV and hand its rows as they are to the driver's executemany: no validation at all."""
    start = time.perf_counter()
    now = datetime.now(UTC).isoformat(sep=" ")
    marker = "?" if db.is_sqlite else "%s"
    with vehicles.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [tuple(v or None for v in record) + (now,) for record in reader]
    sql = f"INSERT INTO vehicles ({', '.join(header)}, updated_at) VALUES ({', '.join([marker] * (len(header) + 1))})"
    with db.engine.begin() as connection:
        connection.exec_driver_sql(sql, rows)
    return time.perf_counter() - start


def validated(db: Database, vehicles: Path) -> tuple[float, dict]:
    start = time.perf_counter()
    summary = import_file(db, "vehicles", vehicles, cli_actor(db, "admin"))
    return time.perf_counter() - start, summary.public()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL to run on instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        people, vehicles = make_files(folder, args.rows)
        url_a, drop_a = fresh_url(args.postgres, folder, "baseline")
        url_b, drop_b = fresh_url(args.postgres, folder, "validated")
        try:
            base_time = baseline(prepared(url_a, people), vehicles)
            ours_time, summary = validated(prepared(url_b, people), vehicles)
        finally:
            drop_a()
            drop_b()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    ratio = base_time / ours_time
    print(f"backend={backend} rows={args.rows}")
    print(f"baseline (csv + raw executemany, no validation): {base_time:.2f} s ({args.rows / base_time:,.0f} rows/s)")
    print(f"trafficgov import vehicles (validated, audited):  {ours_time:.2f} s ({args.rows / ours_time:,.0f} rows/s) {summary}")
    print(f"ratio baseline/import = {ratio:.2f} (goal >= 0.5): {'MET' if ratio >= 0.5 else 'NOT MET'}")


if __name__ == "__main__":
    main()
