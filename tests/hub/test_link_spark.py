"""Entity resolution on Spark (local mode): the same settings give the same links as on DuckDB.

Needs the optional extra: pip install 'trafficgov[spark]'. Without pyspark these tests fail, they are
not skipped: CI installs the extra and must run them.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_link import GOLDEN, sides  # the golden table; tests/hub is on sys.path
from typer.testing import CliRunner

from trafficgov.errors import FieldError
from trafficgov.hub import link as link_module
from trafficgov.hub.cli import app
from trafficgov.hub.link import KINDS, link, settings_at

BENCH = Path(__file__).parents[2] / "bench" / "resolve_febrl.py"
# one worker runs this module under `pytest -n 2 --dist loadgroup`: one Spark session, not one per worker
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local Spark session for the module; link() picks it up as the active session."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.fail("pyspark is missing: install the extra with pip install -e '.[test,spark]'", pytrace=False)
    session = link_module.spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def golden(spark) -> dict[str, tuple[list, list]]:
    out = {}
    for kind in KINDS:
        left, right = sides(kind)
        out[kind] = (link(kind, left, right), link(kind, left, right, backend="spark"))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_golden_cases_link_the_same_on_spark_as_on_duckdb(golden, kind: str) -> None:
    on_duckdb, on_spark = golden[kind]
    assert [(m.left_id, m.right_id, m.how) for m in on_spark] == [(m.left_id, m.right_id, m.how) for m in on_duckdb]
    assert [m.match_probability for m in on_spark] == pytest.approx([m.match_probability for m in on_duckdb], abs=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_golden_cases_meet_their_expectations_on_spark(golden, kind: str) -> None:
    found = {(m.left_id, m.right_id): m for m in golden[kind][1]}
    for index, (_, _, _, expected) in enumerate(GOLDEN[kind]):
        match = found.get((f"L{index}", f"R{index}"))
        assert (match.how if match else None) == expected, GOLDEN[kind][index][0]
        if match:
            assert match.match_probability >= settings_at().kinds[kind].threshold
    assert all(left[1:] == right[1:] for left, right in found)


def test_a_low_threshold_scores_every_candidate_pair_the_same(spark) -> None:
    # at 0.01 the probabilistic pairs below the default threshold show too: the whole model must agree
    left, right = sides("people")
    on_duckdb = link("people", left, right, threshold=0.01)
    on_spark = link("people", left, right, threshold=0.01, backend="spark")
    assert [(m.left_id, m.right_id) for m in on_spark] == [(m.left_id, m.right_id) for m in on_duckdb]
    assert [m.match_probability for m in on_spark] == pytest.approx([m.match_probability for m in on_duckdb], abs=1e-9)


def _febrl_subset() -> tuple[list[dict], list[dict], set[tuple[str, str]]]:
    """1 000 records a side from FEBRL4: 800 true links, 200 records on each side without a partner."""
    spec = importlib.util.spec_from_file_location("resolve_febrl", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    left, right, truth = bench.febrl_people()
    pairs = sorted(truth)
    left_ids = {a for a, _ in pairs[:1000]}
    right_ids = {b for _, b in pairs[200:1200]}
    return (
        [r for r in left if r["record_id"] in left_ids],
        [r for r in right if r["record_id"] in right_ids],
        {(a, b) for a, b in pairs if a in left_ids and b in right_ids},
    )


def test_febrl4_subset_gives_the_same_links_on_spark_and_duckdb(spark) -> None:
    left, right, truth = _febrl_subset()
    assert len(left) == len(right) == 1000 and len(truth) == 800
    on_duckdb = link("people", left, right)
    on_spark = link("people", left, right, backend="spark")
    assert [(m.left_id, m.right_id, m.how) for m in on_spark] == [(m.left_id, m.right_id, m.how) for m in on_duckdb]
    # Splink's Spark jar counts Jaro's half-transpositions without rounding down (DuckDB: 3 -> t = 1,
    # the jar: t = 1.5), so for a name or address with an odd count of them it scores a little lower
    # and the pair may drop a level: 7 of these 778 links differ, one by more than 1e-6 (1.1e-5).
    differences = [abs(s.match_probability - d.match_probability) for s, d in zip(on_spark, on_duckdb, strict=True)]
    assert sum(d > 1e-6 for d in differences) <= 0.02 * len(differences)
    assert max(differences) < 1e-4
    found = {(m.left_id, m.right_id) for m in on_spark}
    assert len(found & truth) >= 0.95 * len(truth)  # a real linkage, not two empty answers
    assert len(found - truth) <= 0.01 * len(found)


def test_spark_backend_without_pyspark_asks_for_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    left, right = sides("people")
    with pytest.raises(FieldError) as caught:
        link("people", left, right, backend="spark")
    assert caught.value.field == "backend"
    assert "pip install 'trafficgov[spark]'" in caught.value.zh


def test_an_unknown_backend_names_the_field() -> None:
    with pytest.raises(FieldError) as caught:
        link("people", [], [], backend="postgres")  # type: ignore[arg-type]
    assert caught.value.field == "backend"


def test_importing_link_does_not_need_pyspark() -> None:
    code = "import sys; sys.modules['pyspark'] = None; import trafficgov.hub.link, trafficgov.hub.cli; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr


def test_cli_backend_option_writes_the_same_lines(spark, tmp_path: Path) -> None:
    left, right = sides("companies")
    paths = []
    for name, rows in (("left", left), ("right", right)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        paths.append(str(path))
    on_duckdb = CliRunner().invoke(app, ["link", "--kind", "companies", *paths])
    on_spark = CliRunner().invoke(app, ["link", "--kind", "companies", "--backend", "spark", *paths])
    assert on_duckdb.exit_code == on_spark.exit_code == 0, on_spark.output
    assert on_spark.stdout == on_duckdb.stdout
    assert len(on_spark.stdout.splitlines()) == 3
    unknown = CliRunner().invoke(app, ["link", "--kind", "companies", "--backend", "postgres", *paths])
    assert unknown.exit_code == 2
    assert "未知的计算后端" in unknown.stderr


def test_a_spark_call_leaves_no_view_or_cached_table_behind(spark) -> None:
    left, right = sides("vehicles")
    link("vehicles", left, right, backend="spark")
    assert [t.name for t in spark.catalog.listTables() if t.isTemporary] == []
    assert spark._jsparkSession.sharedState().cacheManager().isEmpty()  # a long-lived context must not fill up
