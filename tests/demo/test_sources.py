"""The demo city's source systems: deterministic, disagreeing the way real ones do, with the planted truth."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trafficgov.demo.sources import SOURCE_FILES, write_sources
from trafficgov.hub.connectors import read_source_file
from trafficgov.hub.mapping import get_mapping, map_record, mappings
from trafficgov.hub.model import Rejected
from trafficgov.registry.codetables import code_tables

AT = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def city(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sources-city") / "city"
    shutil.copytree(demo_dir, out)
    write_sources(out, 1)
    return out


def _rows(city: Path, source: str) -> list[dict[str, str]]:
    with (city / "sources" / SOURCE_FILES[source]).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_declared_source_gets_a_file_and_the_same_seed_gives_the_same_bytes(city: Path, demo_dir: Path, tmp_path: Path) -> None:
    assert set(SOURCE_FILES) == set(mappings())
    again = tmp_path / "city"
    shutil.copytree(demo_dir, again)
    files = write_sources(again, 1)
    assert set(files) == {*SOURCE_FILES, "truth"}
    for name, path in files.items():
        assert path.read_bytes() == (city / "sources" / path.name).read_bytes(), name


def test_sources_disagree_the_way_real_ones_do(city: Path) -> None:
    provinces = set(code_tables().provinces)
    companies = {row["uscc"]: row["name"] for row in csv.DictReader((city / "companies.csv").open(encoding="utf-8"))}
    permits = _rows(city, "tr_permit")
    assert any(row["cph"][0] not in provinces for row in permits)  # plate without 鲁
    assert any(row["tyshxydm"] == "" for row in permits)  # missing credit code
    assert any(row["tyshxydm"] and row["yhmc"] != companies[row["tyshxydm"]] for row in permits)  # name variant
    assert any("年" in row["fzrq"] or "/" in row["fzrq"] for row in permits)  # dates as text
    policies = _rows(city, "ins_ctpl")
    assert any(any("\uff01" <= c <= "\uff5e" for c in row["hphm"]) for row in policies)  # full-width
    assert any(row["tbrzjhm"] == "" for row in policies)
    people = {row["id_number"]: row["name"] for row in csv.DictReader((city / "people.csv").open(encoding="utf-8"))}
    invoices = _rows(city, "tax_invoice")
    assert any(row["gmfsbh"] in people and row["gmfmc"] != people[row["gmfsbh"]] for row in invoices)  # homophone typo
    assert any("," in row["jshj"] for row in invoices)


def test_truth_names_every_record_and_exactly_the_planted_faults_end_in_quarantine(city: Path) -> None:
    truth = json.loads((city / "sources" / "truth.json").read_text(encoding="utf-8"))
    for code in mappings():
        mapping = get_mapping(code)
        records = truth["sources"][code]["records"]
        raws = read_source_file(mapping, city / "sources")
        results = [map_record(mapping, raw, AT) for raw in raws]
        rejected = [r for r in results if isinstance(r, Rejected)]
        assert len(rejected) == truth["sources"][code]["expected_quarantine"], (code, [r.reason_en for r in rejected][:5])
        planted = {k for k, v in records.items() if v["quarantine"]}
        assert {r.source_id for r in rejected if r.source_id} == planted, code
        assert {r.source_id for r in results if not isinstance(r, Rejected)} == set(records) - planted, code
        assert all(v.get("vehicle") or v.get("vehicles") or v.get("company") or v.get("person") for v in records.values()), code


def test_a_vehicle_appears_under_one_identity_across_sources(city: Path) -> None:
    truth = json.loads((city / "sources" / "truth.json").read_text(encoding="utf-8"))["sources"]
    vehicles = {tuple(v["vehicle"]) for v in truth["tp_vehicle"]["records"].values()}
    for code in ("tr_permit", "ins_ctpl", "insp_truck", "tax_invoice"):
        assert {tuple(v["vehicle"]) for v in truth[code]["records"].values()} <= vehicles, code
