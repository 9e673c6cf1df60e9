"""Benchmark: entity resolution of synthetic Chinese people held by two departments' systems, with planted truth.

1. Makes `--size` records in all (half per side) of made-up Jinan residents (demo/names.py vocabularies,
   valid GB 11643 ID numbers). The left system holds them as registered. The right system holds
   `--overlap` of the same people, each disagreeing the way real systems do (demo/corrupt.py, seeded):
   a homophone in the name (15%), an ID number with two digits swapped or one dropped (10%), no ID
   number (5%), the old 15-digit number (3%), full-width digits (10%), a new phone (30%) or none (10%),
   a new address (20%), the birth date in any of four formats or missing (10%); the rest of the right
   side are other people, 2% of them sharing a left person's name and birth date (different ID, phone
   and address): pairs that must not be linked.
2. Times, in the same process, on the same rows:
     baseline — deterministic-key linkage only: normalise the ID numbers and join on the valid ones;
     ours     — trafficgov.hub.link.link("people", …): the same key join, then Splink (DuckDB) scoring
                with training, at the default people threshold.
   Prints time, peak RSS (resource.getrusage; the process high-water mark after each step, so the
   second figure includes the first), precision, recall and F1 of each, and the ratios.

Usage: python bench/resolve.py [--size 1000000] [--overlap 0.6] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from datetime import date
from typing import Any

from trafficgov.demo import names
from trafficgov.demo.corrupt import Corruptor
from trafficgov.hub.link import pair_scores
from trafficgov.registry.identifiers import id_check_digit

DISTRICTS = {
    "370102": "历下区", "370103": "市中区", "370104": "槐荫区", "370105": "天桥区", "370112": "历城区",
    "370113": "长清区", "370114": "章丘区", "370115": "济阳区", "370116": "莱芜区", "370117": "钢城区",
    "370124": "平阴县", "370126": "商河县",
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class People:
    """Made-up residents with unique valid ID numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.ids: set[str] = set()
        self.surnames = [s for s, _ in names.SURNAMES]
        self.weights = [w for _, w in names.SURNAMES]
        self.first_day = date(1950, 1, 1).toordinal()
        self.days = date(2006, 12, 31).toordinal() - self.first_day

    def address(self, division: str) -> str:
        rng = self.rng
        return (f"济南市{DISTRICTS[division]}{rng.choice(names.STREETS[division])}{rng.randrange(1, 300)}号"
                f"{rng.choice(names.COMPOUNDS)}{rng.randrange(1, 30)}号楼{rng.randrange(1, 7)}单元{rng.randrange(101, 3303)}")

    def person(self, name: str | None = None, born: date | None = None, sex: str | None = None) -> dict[str, Any]:
        rng = self.rng
        sex = sex or rng.choice("MF")
        born = born or date.fromordinal(self.first_day + rng.randrange(self.days))
        division = rng.choice(list(DISTRICTS))
        while True:
            seq = rng.randrange(1000)
            seq -= (seq % 2) != (sex == "M")
            first17 = f"{division}{born:%Y%m%d}{max(seq, 0) if sex == 'F' else max(seq, 1):03d}"
            number = first17 + id_check_digit(first17)
            if number not in self.ids:
                self.ids.add(number)
                break
        if name is None:
            given = names.GIVEN_MALE if sex == "M" else names.GIVEN_FEMALE
            name = rng.choices(self.surnames, self.weights)[0] + "".join(rng.choice(given) for _ in range(rng.choice((1, 2, 2))))
        phone = rng.choice(("138", "139", "150", "186", "188", "177")) + f"{rng.randrange(100_000_000):08d}"
        return {"id_number": number, "name": name, "sex": sex, "birth_date": born, "phone": phone, "address": self.address(division)}


def build(size: int, overlap: float, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[tuple[str, str]]]:
    rng = random.Random(seed)
    corrupt = Corruptor(random.Random(seed + 1))
    people = People(rng)
    per_side = size // 2
    left_people = [people.person() for _ in range(per_side)]
    left = [{**p, "record_id": f"L{i}", "birth_date": p["birth_date"].isoformat()} for i, p in enumerate(left_people)]
    right: list[dict[str, Any]] = []
    truth: set[tuple[str, str]] = set()
    shared = rng.sample(range(per_side), int(per_side * overlap))
    for i in shared:
        p = dict(left_people[i])
        r = rng.random
        if r() < 0.15:
            p["name"] = corrupt.homophone(p["name"])
        roll = r()
        if roll < 0.10:
            p["id_number"] = corrupt.id_typo(p["id_number"])
        elif roll < 0.15:
            p["id_number"] = None
        elif roll < 0.18 and p["id_number"][6:8] == "19":
            p["id_number"] = p["id_number"][:6] + p["id_number"][8:17]
        if p["id_number"] and r() < 0.10:
            p["id_number"] = corrupt.fullwidth(p["id_number"])
        roll = r()
        if roll < 0.30:
            p["phone"] = corrupt.new_phone(p["phone"])
        elif roll < 0.40:
            p["phone"] = None
        if r() < 0.20:
            p["address"] = people.address(rng.choice(list(DISTRICTS)))
        p["birth_date"] = None if r() < 0.10 else corrupt.date_text(p["birth_date"])
        p["sex"] = "男" if p["sex"] == "M" else "女"
        p["record_id"] = f"R{len(right)}"
        right.append(p)
        truth.add((f"L{i}", p["record_id"]))
    while len(right) < per_side:
        if rng.random() < 0.02:  # a namesake: same name and birth date, another person
            twin = rng.choice(left_people)
            p = people.person(twin["name"], twin["birth_date"], twin["sex"])
        else:
            p = people.person()
        right.append({**p, "birth_date": p["birth_date"].isoformat(), "record_id": f"R{len(right)}"})
    rng.shuffle(right)
    return left, right, truth


def deterministic_only(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The baseline: join on valid resident ID numbers only."""
    from trafficgov.hub.normalise import resident_id

    by_id: dict[str, list[str]] = {}
    for row in right:
        key = resident_id(row["id_number"])
        if key:
            by_id.setdefault(key, []).append(row["record_id"])
    return {(row["record_id"], r) for row in left if (key := resident_id(row["id_number"])) for r in by_id.get(key, ())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="records in all, half per side")
    parser.add_argument("--overlap", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    left, right, truth = build(args.size, args.overlap, args.seed)
    print(f"built {len(left)} + {len(right)} records, {len(truth)} true links in {time.perf_counter() - started:.1f} s; peak RSS {peak_mb():.0f} MB")

    started = time.perf_counter()
    base = deterministic_only(left, right)
    base_s = time.perf_counter() - started
    base_fig = {**pair_scores(base, truth), "seconds": round(base_s, 2), "peak_rss_mb": round(peak_mb())}
    print(f"baseline (valid ID equal): {base_s:.2f} s  {base_fig}")

    from trafficgov.hub.link import link

    started = time.perf_counter()
    matches = link("people", left, right)
    ours_s = time.perf_counter() - started
    ours_fig = {**pair_scores({(m.left_id, m.right_id) for m in matches}, truth), "seconds": round(ours_s, 2), "peak_rss_mb": round(peak_mb())}
    print(f"ours (hub.link):           {ours_s:.2f} s  {ours_fig}")
    ratio = {"time_ratio_ours_to_baseline": round(ours_s / base_s, 1), "recall_gain": round(ours_fig["recall"] - base_fig["recall"], 4)}
    print(json.dumps({"bench": "resolve", "size": args.size, "true_links": len(truth), "baseline": base_fig, "ours": ours_fig, **ratio}))


if __name__ == "__main__":
    main()
