"""FEBRL4 (5 000 + 5 000 person records, 5 000 true links) through link(): an accuracy check, not a timing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from trafficgov.hub.link import link, pair_scores

BENCH = Path(__file__).parents[2] / "bench" / "resolve_febrl.py"


def _bench():
    spec = importlib.util.spec_from_file_location("resolve_febrl", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_febrl4_links_with_f1_at_least_097() -> None:
    bench = _bench()
    left, right, truth = bench.febrl_people()
    matches = link("people", left, right)
    figures = pair_scores({(m.left_id, m.right_id) for m in matches}, truth)
    assert figures["f1"] >= 0.97, figures
    assert figures["precision"] >= 0.99, figures  # the threshold is chosen for precision
