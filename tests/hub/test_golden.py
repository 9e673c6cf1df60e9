"""Golden records as plain functions: mentions, survivorship by trust then recency, resolution across sources
with the real linker, and a clerk's confirm/split decisions overriding the model."""

from __future__ import annotations

from datetime import UTC, date, datetime

from trafficgov.hub import golden
from trafficgov.hub.link import link, settings_at
from trafficgov.hub.model import SourceRecord

V = golden.golden_settings(date(2026, 6, 30))
T1 = datetime(2026, 5, 1, tzinfo=UTC)
T2 = datetime(2026, 6, 1, tzinfo=UTC)


def linker(entity, left, right, floor):
    return [(m.left_id, m.right_id, m.match_probability) for m in link(entity, left, right, threshold=floor)]


def rec(source, kind, source_id, at=T1, **fields) -> SourceRecord:
    return SourceRecord(source, kind, source_id, fields, at, at)


def vehicle(source, source_id, at=T1, **fields):
    return golden.Mention("vehicles", source, source_id, fields, at)


def test_a_policy_names_its_vehicle_and_its_policyholder():
    policy = rec("ins_ctpl", "insurance_policies", "P1", plate_number="鲁A12345", plate_type="02", vin="LVSFKAML4GF423558",
                 policyholder_name="张伟", policyholder_id_number="110101199003077571", policyholder_uscc=None)
    found = {m.entity: m.values for m in golden.mentions_of(policy, V)}
    assert found == {"vehicles": {"plate_number": "鲁A12345", "plate_type": "02", "vin": "LVSFKAML4GF423558"},
                     "people": {"id_number": "110101199003077571", "name": "张伟"}}


def test_each_field_comes_from_the_most_trusted_source_then_the_newest():
    members = [
        vehicle("ins_ctpl", "P1", T2, vin="LVSFKAML4GF42355X", plate_number="鲁A12345"),
        vehicle("tp_vehicle", "V1", T1, vin="LVSFKAML4GF423558", plate_number="鲁A12345", vehicle_type=""),
        vehicle("insp_truck", "R1", T1, vehicle_type="H11"),
        vehicle("insp_truck", "R2", T2, vehicle_type="H12"),
    ]
    merged = golden.merge("vehicles", members, V)
    assert (merged["vin"].value, merged["vin"].source) == ("LVSFKAML4GF423558", "tp_vehicle")  # trusted first
    assert (merged["vehicle_type"].value, merged["vehicle_type"].source_id) == ("H12", "R2")  # newest; empty never wins


def test_sources_are_linked_into_one_record_per_vehicle():
    mentions = [
        vehicle("tp_vehicle", "V1", plate_number="鲁A12345", plate_type="02", vin="LVSFKAML4GF423558"),
        vehicle("tp_vehicle", "V2", plate_number="鲁B54321", plate_type="01", vin="LZZ1CLSB8DA123457"),
        vehicle("ins_ctpl", "P1", plate_number="A12345", plate_type="02", vin="LVSFKAML4GF423558"),  # no province char
        vehicle("tp_violation", "W1", plate_number="鲁A12345", plate_type="02"),
        vehicle("tp_violation", "W2", plate_number="鲁A12345", plate_type="02"),  # one group with W1
        vehicle("tax_invoice", "I1", vin="LZZ1CLSB8DA123457"),
    ]
    result = golden.resolve("vehicles", mentions, linker, threshold=settings_at().kinds["vehicles"].threshold, version=V)
    clusters = sorted(sorted(c.refs()) for c in result.clusters)
    assert clusters == [
        ["ins_ctpl/P1", "tp_vehicle/V1", "tp_violation/W1", "tp_violation/W2"],
        ["tax_invoice/I1", "tp_vehicle/V2"],
    ]
    first = next(c for c in result.clusters if "tp_vehicle/V1" in c.refs())
    assert golden.golden_key(first) == "鲁A12345:02" and first.golden["plate_number"].source == "tp_vehicle"


def test_a_clerks_split_keeps_two_records_apart_and_a_confirm_joins_them():
    mentions = [
        vehicle("tp_vehicle", "V1", plate_number="鲁A12345", plate_type="02", vin="LVSFKAML4GF423558"),
        vehicle("ins_ctpl", "P1", plate_number="A12345", plate_type="02", vin="LVSFKAML4GF423558"),
    ]
    threshold = settings_at().kinds["vehicles"].threshold
    together = golden.resolve("vehicles", mentions, linker, threshold=threshold, version=V)
    assert len(together.clusters) == 1
    split = golden.resolve("vehicles", mentions, linker, threshold=threshold, version=V,
                           decisions={frozenset({"tp_vehicle/V1", "ins_ctpl/P1"}): "split"})
    assert len(split.clusters) == 2
    never = [vehicle("tp_vehicle", "V1", plate_number="鲁A12345", plate_type="02"), vehicle("ins_ctpl", "P9", plate_number="鲁Q99999", plate_type="02")]
    confirmed = golden.resolve("vehicles", never, lambda *a: [], threshold=threshold, version=V,
                               decisions={frozenset({"tp_vehicle/V1", "ins_ctpl/P9"}): "confirm"})
    assert len(confirmed.clusters) == 1


def test_a_pair_below_the_threshold_but_above_the_floor_waits_for_a_clerk():
    mentions = [vehicle("tp_vehicle", "V1", plate_number="鲁A12345", plate_type="02"), vehicle("ins_ctpl", "P1", plate_number="鲁A12345")]
    result = golden.resolve("vehicles", mentions, lambda *_: [("0", "0", 0.9)], threshold=0.99, version=V)
    assert len(result.clusters) == 2
    assert result.doubtful == [golden.Doubtful("vehicles", "tp_vehicle/V1", "ins_ctpl/P1", 0.9)]


def test_the_same_plate_is_one_vehicle_unless_their_vins_differ():
    mentions = [
        vehicle("tp_vehicle", "V1", plate_number="鲁A12345", plate_type="02", vin="LVSFKAML4GF423558"),
        vehicle("tr_gps", "G1", plate_number="鲁A12345", plate_type="02"),  # joined on the exact key, no model
        vehicle("ins_ctpl", "P1", plate_number="鲁A12345", plate_type="02", vin="LZZ1CLSB6DA123457"),  # the plate handed on
    ]
    result = golden.resolve("vehicles", mentions, lambda *_: [], threshold=0.99, version=V)
    assert sorted(sorted(c.refs()) for c in result.clusters) == [["ins_ctpl/P1"], ["tp_vehicle/V1", "tr_gps/G1"]]
