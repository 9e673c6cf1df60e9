"""Benchmark: citizen "my licence, points and vehicles" and staff "vehicle by plate" (audited) lookups.

Serves the platform the way `make demo` does (`trafficgov serve`, uvicorn, one worker) over a store
holding the large demo city (>= 1 M people), and a bare endpoint of the same framework the same way;
a second process (bench/loadgen.py) drives each with 32 keep-alive connections on loopback.
Reports requests/s and p99 and the ratios to the bare endpoint (goals: citizen >= 0.5, staff >= 0.3,
p99 <= 50 ms), then where the time goes (the same look-ups called in process, without HTTP).

Usage: python bench/api_lookup.py [--size large] [--seconds 15] [--connections 32]
The city is built once into bench/out/<size>/ and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, path: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"server on {port} did not answer {path}")


def load(port: int, urls: list[str], tokens: list[str], seconds: float, connections: int, folder: Path, name: str) -> dict:
    urls_file, tokens_file = folder / f"{name}.urls", folder / f"{name}.tokens"
    urls_file.write_text("\n".join(urls), encoding="utf-8")
    tokens_file.write_text("\n".join(tokens), encoding="utf-8")
    args = [sys.executable, str(HERE / "loadgen.py"), str(port), str(connections), str(seconds), str(urls_file)]
    if tokens:
        args.append(str(tokens_file))
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="large")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy (collapsed stacks in bench/out)")
    args = parser.parse_args()

    folder = HERE / "out" / args.size
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TRAFFICGOV_VAR_DIR": str(folder / "var"), "TRAFFICGOV_DATABASE_URL": f"sqlite:///{folder / 'var' / 'trafficgov.db'}"}
    env.pop("TRAFFICGOV_USER", None)
    os.environ.update(env)
    started = time.time()
    subprocess.run([str(BIN / "trafficgov"), "demo", "build", "--size", args.size, "--seed", "1", "--if-missing"], env=env, check=True)
    print(f"city ready in {time.time() - started:.0f} s")

    from sqlalchemy import func, select

    from trafficgov.accounts.model import Actor, Role
    from trafficgov.accounts.tokens import issue_token
    from trafficgov.config import Settings, read_or_create_key
    from trafficgov.registry import service
    from trafficgov.registry.store import LicenceRow, PersonRow, VehicleRow
    from trafficgov.store.db import Database

    settings = Settings.from_env()
    db = Database(settings.database_url)
    key = read_or_create_key(settings.session_key_file)
    rng = random.Random(5)
    with db.transaction() as session:
        people = session.scalar(select(func.count()).select_from(PersonRow))
        citizens = list(session.scalars(select(VehicleRow.owner_id).join(LicenceRow, LicenceRow.id_number == VehicleRow.owner_id).distinct().limit(20000)))
        plates = list(session.execute(select(VehicleRow.plate_number, VehicleRow.plate_type).limit(200000)).tuples())
    print(f"store: {people:,} people; sampled {len(citizens):,} citizens with a licence and a vehicle, {len(plates):,} plates")
    now = datetime.now(UTC)
    citizen_actors = [Actor(username=f"c{i}", role=Role.CITIZEN, id_number=idn, display_name="") for i, idn in enumerate(rng.sample(citizens, min(2000, len(citizens))))]
    citizen_tokens = [issue_token(key, a, now) for a in citizen_actors]
    officer = Actor(username="bench-officer", role=Role.OFFICER, unit="bench", display_name="压测民警")
    officer_token = issue_token(key, officer, now)
    sample_plates = rng.sample(plates, min(5000, len(plates)))
    staff_urls = [f"/api/v1/vehicles?plate_number={quote(p)}&plate_type={t}&purpose=case_handling" for p, t in sample_plates]

    results = {}
    port = free_port()
    bare = subprocess.Popen([str(BIN / "uvicorn"), "bench.bare_app:app", "--port", str(port), "--log-level", "warning"], cwd=HERE.parent, env=env)
    try:
        wait_for(port, "/bare")
        results["bare"] = load(port, ["/bare"], [], args.seconds, args.connections, folder, "bare")
    finally:
        bare.terminate()
        bare.wait()
    port = free_port()
    command = [str(BIN / "trafficgov"), "serve", "--port", str(port)]
    if args.profile:
        command = [str(BIN / "py-spy"), "record", "-f", "raw", "-r", "200", "-o", str(folder / "server.stacks"), "--", *command]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for(port, "/health")
        results["citizen"] = load(port, ["/api/v1/me"] * len(citizen_tokens), citizen_tokens, args.seconds, args.connections, folder, "citizen")
        results["staff"] = load(port, staff_urls, [officer_token], args.seconds, args.connections, folder, "staff")
    finally:
        server.send_signal(2)  # SIGINT: uvicorn shuts down cleanly, py-spy writes its profile
        server.wait(timeout=60)

    # Where the time goes: the same look-ups in process, no HTTP, no thread pool.
    def per_call(fn, n=2000) -> float:
        start = time.perf_counter()
        for i in range(n):
            fn(i)
        return (time.perf_counter() - start) / n * 1000

    in_process = {
        "citizen_my_records_ms": per_call(lambda i: service.my_records(db, citizen_actors[i % len(citizen_actors)])),
        "staff_vehicle_audited_ms": per_call(lambda i: service.get_vehicle(db, officer, *sample_plates[i % len(sample_plates)], purpose="case_handling")),
    }
    base = results["bare"]["rps"]
    print(json.dumps(results, indent=1))
    print(f"citizen /api/v1/me: {results['citizen']['rps']:.0f} req/s, p99 {results['citizen']['p99_ms']} ms, ratio {results['citizen']['rps'] / base:.2f} (goal >= 0.5)")
    print(f"staff vehicle by plate (audited): {results['staff']['rps']:.0f} req/s, p99 {results['staff']['p99_ms']} ms, ratio {results['staff']['rps'] / base:.2f} (goal >= 0.3)")
    print(f"bare endpoint: {base:.0f} req/s, p99 {results['bare']['p99_ms']} ms")
    print("in process, no HTTP: " + ", ".join(f"{k} {v:.2f}" for k, v in in_process.items()))


if __name__ == "__main__":
    main()
