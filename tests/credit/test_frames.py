"""Credit data read out of the store: load() on the small demo city gives the interface's columns and
dtypes on both stores, keys vehicles PLATE:TYPE, finds each vehicle's company, and known_by cuts by time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from trafficgov.credit.frames import SCHEMAS, CreditData, load
from trafficgov.imports.service import import_file, ingest_file

UTC_TIME = pl.Datetime("us", "UTC")
INTERFACE = {
    "violations": {
        "violation_id": pl.String, "occurred_at": UTC_TIME, "known_at": UTC_TIME, "behavior": pl.String,
        "plate_number": pl.String, "plate_type": pl.String, "vehicle": pl.String, "driver_id": pl.String,
        "outcome": pl.String, "fine_yuan": pl.Int64, "points": pl.Int64,
    },
    "accident_parties": {
        "accident_id": pl.String, "occurred_at": UTC_TIME, "known_at": UTC_TIME, "severity": pl.String,
        "injuries": pl.Int64, "deaths": pl.Int64, "plate_number": pl.String, "plate_type": pl.String,
        "vehicle": pl.String, "driver_id": pl.String, "liability": pl.String, "vehicle_known": pl.Boolean,
    },
    "inspections": {
        "inspection_id": pl.String, "date": pl.Date, "known_at": UTC_TIME, "kind": pl.String, "vehicle": pl.String,
        "driver_id": pl.String, "uscc": pl.String, "defects": pl.String, "out_of_service": pl.Boolean,
    },
    "gps_alarms": {"date": pl.Date, "known_at": UTC_TIME, "vehicle": pl.String, "kind": pl.String, "count": pl.Int64, "minutes": pl.Int64},
    "safety_records": {
        "uscc": pl.String, "month": pl.String, "training_hours": pl.Float64, "self_inspections": pl.Int64, "monitoring_staff": pl.Int64,
    },
    "vehicles": {
        "vehicle": pl.String, "plate_number": pl.String, "plate_type": pl.String, "owner_id": pl.String,
        "operator_uscc": pl.String, "company": pl.String, "use_nature": pl.String, "vehicle_type": pl.String,
        "registered_on": pl.Date, "key_vehicle": pl.Boolean, "two_passenger_one_danger": pl.Boolean,
    },
    "employments": {"id_number": pl.String, "uscc": pl.String, "start": pl.Date, "end": pl.Date},
    "licences": {
        "id_number": pl.String, "school_uscc": pl.String, "first_issued": pl.Date, "classes": pl.String,
        "points": pl.Int64, "cycle_start": pl.Date,
    },
    "companies": {"uscc": pl.String, "name": pl.String, "kind": pl.String},
}
CREDIT_FILES = (("violations", "violations.csv"), ("inspections", "inspections.csv"), ("safety_records", "safety_records.csv"), ("gps_alarms", "gps_alarms.csv"))


def import_credit_inputs(database, demo_dir: Path, actor) -> None:
    for kind, name in CREDIT_FILES:
        assert import_file(database, kind, demo_dir / name, actor).quarantined == 0
    assert ingest_file(database, "accidents", demo_dir / "accidents.jsonl", actor).quarantined == 0


def test_load_gives_the_interface_frames_on_the_demo_city(loaded, demo_dir: Path, admin_actor):
    import_credit_inputs(loaded, demo_dir, admin_actor)
    data = load(loaded)
    for name, schema in INTERFACE.items():
        frame = getattr(data, name)
        assert frame.height > 0, name
        assert list(frame.columns[: len(schema)]) == list(schema), name
        for column, dtype in schema.items():
            assert frame.schema[column] == dtype, (name, column, frame.schema[column])
        assert dict(frame.schema) == SCHEMAS[name], name
    vehicles = data.vehicles
    assert (vehicles["vehicle"] == vehicles["plate_number"] + ":" + vehicles["plate_type"]).all()
    # A vehicle operated under a company belongs to it; a company-owned one too; a private one to nobody.
    operated = vehicles.filter(pl.col("operator_uscc").is_not_null())
    assert (operated["company"] == operated["operator_uscc"]).all()
    companies = set(data.companies["uscc"])
    owned = vehicles.filter(pl.col("operator_uscc").is_null() & pl.col("owner_id").is_in(companies))
    assert owned.height > 0 and (owned["company"] == owned["owner_id"]).all()
    private = vehicles.filter(pl.col("operator_uscc").is_null() & ~pl.col("owner_id").is_in(companies))
    assert private.height > 0 and private["company"].is_null().all()
    assert vehicles["two_passenger_one_danger"].any() and vehicles["key_vehicle"].any()
    # known_at: the decision or report time where given, never before the event.
    assert (data.violations["known_at"] >= data.violations["occurred_at"]).all()
    assert (data.accident_parties["known_at"] >= data.accident_parties["occurred_at"]).all()
    assert data.accident_parties["vehicle_known"].any()


def test_known_by_keeps_only_what_was_known(loaded, demo_dir: Path, admin_actor):
    import_credit_inputs(loaded, demo_dir, admin_actor)
    data = load(loaded)
    cut = datetime(2025, 6, 30, 4, tzinfo=UTC)  # noon in China: June is not over
    known = data.known_by(cut)
    assert isinstance(known, CreditData)
    for name in ("violations", "accident_parties", "inspections", "gps_alarms"):
        frame = getattr(known, name)
        assert 0 < frame.height < getattr(data, name).height, name
        assert (frame["known_at"] <= cut).all(), name
    decided_late = data.violations.filter((pl.col("occurred_at") <= cut) & (pl.col("known_at") > cut))
    assert decided_late.height > 0
    assert not set(decided_late["violation_id"]) & set(known.violations["violation_id"])
    assert (known.safety_records["month"] < "2025-06").all()
    assert known.vehicles["registered_on"].max() <= cut.date()
