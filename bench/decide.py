"""Benchmark: decisions per second of the pure engine `decide(case, as_of)`.

Builds a fixed, seeded mix of cases (speeding on every road type and region layer, overloads, drink
driving, leniency-list behaviours with history, errors), then times, in the same run and process:
  baseline — per case, json.loads of the line plus one dict lookup (the least any batch reader does);
  engine   — per case, json.loads plus decide() (validation, rule selection, explanation).
Prints cases/s of each and the ratio engine/baseline.

Usage: python bench/decide.py [--cases 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date

from trafficgov.enforcement.decide import DecisionError, decide
from trafficgov.rules import default_rulebook

AS_OF = date(2025, 6, 30)
REGIONS = [None, "370102", "370000", "110105", "150102", "330802", "440300"]
CATEGORIES = ["small_passenger_car", "truck_heavy", "highway_bus", "medium_passenger", "truck_light", "dangerous_goods"]


def make_cases(n: int, seed: int = 20240601) -> list[str]:
    rnd = random.Random(seed)
    lines = []
    for i in range(n):
        kind = rnd.random()
        case: dict = {"case_id": f"b{i}", "occurred_at": f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T10:00:00+08:00", "region": rnd.choice(REGIONS)}
        if kind < 0.5:
            limit = rnd.choice([40, 60, 80, 100, 120])
            case.update(behavior="speeding", vehicle={"category": rnd.choice(CATEGORIES)},
                        road={"type": rnd.choice(["expressway", "ordinary", "urban_expressway"]), "speed_limit_kmh": limit},
                        measured={"speed_kmh": round(limit * (1 + rnd.uniform(0.01, 1.2)), 1)})
        elif kind < 0.6:
            case.update(behavior="overload_freight", vehicle={"category": "truck_heavy", "max_total_mass_kg": 18000, "rated_load_kg": 10000},
                        measured={"total_mass_kg": rnd.randint(18100, 30000), "load_kg": rnd.randint(10100, 20000)})
        elif kind < 0.7:
            case.update(behavior="overload_passengers", vehicle={"category": rnd.choice(["highway_bus", "small_passenger_car"]), "rated_passengers": 10},
                        measured={"passengers": rnd.randint(11, 22)})
        elif kind < 0.75:
            case.update(behavior="drink_driving", measured={"bac_mg_per_100ml": rnd.choice([25, 50, 79, 85])})
        else:
            case.update(behavior=rnd.choice(["red_light", "no_seatbelt", "illegal_parking", "doors_not_closed", "phone_use", "not_carrying_licence"]),
                        vehicle={"category": "small_passenger_car"}, circumstances={"on_site": True, "corrected": rnd.random() < 0.7},
                        history=[{"behavior": "red_light", "occurred_at": "2023-12-01T10:00:00+08:00", "outcome": "fine", "party": "driver", "region": "370100"}] if rnd.random() < 0.3 else [])
        lines.append(json.dumps(case, ensure_ascii=False))
    return lines


def run_baseline(lines: list[str]) -> float:
    table = {"red_light": 200}
    start = time.perf_counter()
    for line in lines:
        case = json.loads(line)
        table.get(case.get("behavior"))
    return time.perf_counter() - start


def run_engine(lines: list[str]) -> tuple[float, int]:
    errors = 0
    start = time.perf_counter()
    for line in lines:
        try:
            decide(json.loads(line), AS_OF)
        except DecisionError:
            errors += 1
    return time.perf_counter() - start, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines = make_cases(args.cases)
    t0 = time.perf_counter()
    default_rulebook()
    load_s = time.perf_counter() - t0
    run_engine(lines[:200])  # warm the per-day rule-set cache the way a long batch would
    base = min(run_baseline(lines) for _ in range(args.repeat))
    results = [run_engine(lines) for _ in range(args.repeat)]
    engine = min(r[0] for r in results)
    errors = results[0][1]
    n = len(lines)
    print(f"rulebook load: {load_s * 1000:.0f} ms")
    print(f"cases: {n} ({errors} undecidable, answered with an error)")
    print(f"baseline (json.loads + dict lookup): {n / base:,.0f} cases/s")
    print(f"engine   (json.loads + decide):      {n / engine:,.0f} decisions/s")
    print(f"ratio engine/baseline: {base / engine:.4f} (engine is {engine / base:,.0f}x slower)")


if __name__ == "__main__":
    main()
