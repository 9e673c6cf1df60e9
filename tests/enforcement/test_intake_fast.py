"""The column-wise intake (enforcement.intake) against the per-record model: same stored rows, same rejections.

`intake.check_batch` may only say "valid" of a record the model (`service.validate_capture`) accepts,
and must then give exactly the stored form the model's result gives; everything else goes to the model.
Checked on a golden table of shapes, on hypothesis-generated records, and through `ingest_captures`
on SQLite and PostgreSQL (fast path on, and off: every record through the model).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from trafficgov.enforcement import intake, service
from trafficgov.enforcement.model import Measured
from trafficgov.enforcement.store import CaptureRow
from trafficgov.errors import FieldError
from trafficgov.registry.codetables import code_tables
from trafficgov.rules.loader import default_rulebook

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
SHA = "0123456789abcdef" * 4
DEVICES = [
    {"device_id": "CAM-GOOD", "kind": "fixed_camera", "mount": "fixed", "certified_until": date(2027, 6, 30), "location_published_at": date(2025, 1, 1), "region": "370102", "road": "经十路", "stretch": "E-101"},
    {"device_id": "CAM-LAPSED", "kind": "fixed_camera", "mount": "fixed", "certified_until": date(2026, 6, 10), "location_published_at": date(2025, 1, 1), "region": "370102", "stretch": "E-102"},
    {"device_id": "PATROL-1", "kind": "video_patrol", "mount": "fixed", "certified_until": date(2027, 6, 30), "location_published_at": date(2025, 1, 1)},
    {"device_id": "MOB-1", "kind": "mobile_device", "mount": "handheld", "operated_by_police": True, "certified_until": date(2027, 6, 30)},
]


def record(capture_id: str = "cap-1", **changes: Any) -> dict[str, Any]:
    """A capture in the common shape a camera sends; `changes` replace fields (None-valued keys are removed)."""
    base: dict[str, Any] = {
        "capture_id": capture_id,
        "source": "fixed_camera",
        "device_id": "CAM-GOOD",
        "captured_at": "2026-06-20T08:15:00+08:00",
        "place": {"region": "370102", "lon": 117.0, "lat": 36.6, "road": "经十路", "speed_limit_kmh": 60},
        "plate_number": "鲁A12345",
        "plate_type": "02",
        "behavior": "red_light",
        "measurements": {},
        "evidence": [{"uri": f"s3://evidence/{capture_id}.jpg", "sha256": SHA}],
    }
    for key, value in changes.items():
        if value is _DROP:
            base.pop(key, None)
        else:
            base[key] = value
    return base


_DROP = object()


def by_model(raw: Any, catalogue: dict) -> intake.Canonical | str:
    """The model's verdict: the stored form, or the name of the rejected field."""
    try:
        return intake.from_model(service.validate_capture(raw, NOW, catalogue))
    except FieldError as error:
        return error.field


def fast(records: list[Any]) -> list[intake.Canonical | None]:
    catalogues: dict[date, Any] = {}
    return intake.check_batch(records, NOW, code_tables().plate_types, lambda day: catalogues.setdefault(day, default_rulebook().at(day).behaviours))


def test_field_lists_are_the_models_own():
    assert intake.CAPTURE_FIELDS == set(service.CaptureIn.model_fields)
    assert intake.CAPTURE_REQUIRED == {name for name, field in service.CaptureIn.model_fields.items() if field.is_required()}
    assert intake.PLACE_FIELDS == set(service.Place.model_fields)
    assert intake.EVIDENCE_FIELDS == set(service.Evidence.model_fields)
    assert list(intake.MEASURED_FIELDS) == list(Measured.model_fields)
    assert intake.SOURCES == service.adm.SOURCES and intake.DEVICE_SOURCES == service.adm.DEVICE_SOURCES


# (name, record, taken by the fast path, the model's verdict: None = valid, else the rejected field)
GOLDEN = [
    ("common shape", record(), True, None),
    ("UTC with Z and microseconds", record(captured_at="2026-06-19T23:59:59.123456Z"), True, None),
    ("milliseconds, negative offset", record(captured_at="2026-06-19T20:00:00.5-05:30"), True, None),
    ("speeding with an int speed (stored as a float)", record(behavior="speeding", measurements={"speed_kmh": 80}), True, None),
    ("several measurements in another order", record(measurements={"passengers": 9, "speed_kmh": 71.5}), True, None),
    ("no measurements, no evidence keys", record(measurements=_DROP, evidence=_DROP), True, None),
    ("two evidence items", record(evidence=[{"uri": "a", "sha256": SHA}, {"uri": "b", "sha256": SHA}]), True, None),
    ("uri the JSON encoder escapes", record(evidence=[{"uri": 's3://证据/"x".jpg', "sha256": SHA}]), True, None),
    ("citizen report without device", record(source="citizen_report", device_id=None), True, None),
    ("road facts", record(place={"region": "370102", "road_type": "expressway", "road_class": "highway", "speed_limit_kmh": 100}), True, None),
    ("new-energy plate in force", record(plate_number="鲁AD12345", plate_type="52"), True, None),
    ("place with explicit nulls", record(place={"region": "370102", "lon": None, "road": None}), True, None),
    ("plate with separator: the model normalises", record(plate_number="鲁A·12345"), False, None),
    ("plate in lower case: the model normalises", record(plate_number="鲁a12345"), False, None),
    ("offset without colon: the model parses", record(captured_at="2026-06-20T08:15:00+0800"), False, None),
    ("space instead of T: the model parses", record(captured_at="2026-06-20 08:15:00+08:00"), False, None),
    ("speed given as text: the model converts", record(measurements={"speed_kmh": "80"}), False, None),
    ("measurement null: the model drops it", record(measurements={"speed_kmh": None}), False, None),
    ("negative zero speed: the model keeps -0.0", record(measurements={"speed_kmh": -0.0}), False, None),
    ("lon as int: the model converts", record(place={"region": "370102", "lon": 117}), True, None),
    ("lon given as text", record(place={"region": "370102", "lon": "117.0"}), False, None),
    ("not an object", "not an object", False, "record"),
    ("unknown field", record(colour="red"), False, "colour"),
    ("missing plate", record(plate_number=_DROP), False, "plate_number"),
    ("plate that fits no format", record(plate_number="XX123"), False, "plate_number"),
    ("unknown plate type", record(plate_type="77"), False, "plate_type"),
    ("new-energy letters on an old type", record(plate_number="鲁AD12345", plate_type="01"), False, "plate_number"),
    ("unknown behaviour", record(behavior="flying"), False, "behavior"),
    ("future capture", record(captured_at="2026-06-30T20:00:01+08:00"), False, "captured_at"),
    ("no offset", record(captured_at="2026-06-20T08:15:00"), False, "captured_at"),
    ("30 February", record(captured_at="2026-02-30T08:15:00+08:00"), False, "captured_at"),
    ("device capture without device", record(device_id=None), False, "device_id"),
    ("device capture with empty device", record(device_id=""), False, "device_id"),
    ("bad region", record(place={"region": "37010"}), False, "place.region"),
    ("lon out of China", record(place={"region": "370102", "lon": 12.0}), False, "place.lon"),
    ("lon as bool", record(place={"region": "370102", "lon": True}), False, "place.lon"),
    ("speed limit as float", record(place={"region": "370102", "speed_limit_kmh": 60.5}), False, "place.speed_limit_kmh"),
    ("speed over 400", record(measurements={"speed_kmh": 401.0}), False, "measurements.speed_kmh"),
    ("passengers as float", record(measurements={"passengers": 3.5}), False, "measurements.passengers"),
    ("unknown measurement", record(measurements={"altitude": 3}), False, "measurements.altitude"),
    ("bad sha256", record(evidence=[{"uri": "a", "sha256": "XYZ"}]), False, "evidence.0.sha256"),
    ("empty uri", record(evidence=[{"uri": "", "sha256": SHA}]), False, "evidence.0.uri"),
    ("bad capture id", record("cap 1"), False, "capture_id"),
    ("unknown source", record(source="satellite"), False, "source"),
]


@pytest.mark.parametrize(("name", "raw", "taken", "field"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_fast_path_takes_only_what_the_model_accepts_and_stores_it_alike(name, raw, taken, field):
    got = fast([copy.deepcopy(raw)])[0]
    expected = by_model(copy.deepcopy(raw), {})
    assert (got is not None) == taken
    if field is None:
        assert isinstance(expected, intake.Canonical), expected
    else:
        assert expected == field
    if got is not None:
        assert got == expected
        assert got.captured_at == service.validate_capture(copy.deepcopy(raw), NOW).captured_at


# ---------------------------------------------------------------- hypothesis: any mix of shapes

_texts = st.one_of(st.text(max_size=6), st.sampled_from(["", "鲁A12345", "经十路", "x" * 65]))
_anything = st.one_of(st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=True), _texts, st.just([]), st.just({}))
_moments = st.one_of(
    st.builds(
        lambda d, h, m, s, frac, off: f"2026-06-{d:02d}T{h:02d}:{m:02d}:{s:02d}{frac}{off}",
        st.integers(1, 31), st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
        st.sampled_from(["", ".5", ".123456", ".1234567"]),
        st.sampled_from(["Z", "+08:00", "-05:30", "+0800", "", "+24:00", "+08"]),
    ),
    _anything,
)
_fields: dict[str, st.SearchStrategy] = {
    "capture_id": st.one_of(st.sampled_from(["cap-1", "cap-2", "cap-3", "a:b.c_d", "cap 9", ""]), _anything),
    "source": st.one_of(st.sampled_from(intake.SOURCES), _anything),
    "device_id": st.one_of(st.sampled_from([d["device_id"] for d in DEVICES] + ["UNKNOWN", ""]), _anything),
    "captured_at": _moments,
    "plate_number": st.one_of(st.sampled_from(["鲁A12345", "鲁AD12345", "鲁a12345", "鲁A 12345", "鲁ＡＢ1234", "XX1"]), _anything),
    "plate_type": st.one_of(st.sampled_from(["02", "01", "52", "77"]), _anything),
    "behavior": st.one_of(st.sampled_from(["red_light", "speeding", "flying"]), _anything),
    "measurements": st.one_of(
        st.dictionaries(st.sampled_from([*intake.MEASURED_FIELDS, "altitude"]), st.one_of(st.integers(-1, 500), st.floats(-1, 500), st.none(), st.booleans(), st.just("80")), max_size=3),
        _anything,
    ),
    "evidence": st.one_of(
        st.lists(
            st.one_of(
                st.fixed_dictionaries({"uri": st.one_of(st.text(max_size=8), st.just('a"\\b')), "sha256": st.sampled_from([SHA, SHA.upper(), "0" * 63, ""])}),
                _anything,
            ),
            max_size=3,
        ),
        _anything,
    ),
}
_place = st.one_of(
    st.fixed_dictionaries(
        {"region": st.one_of(st.sampled_from(["370102", "3701", "３７０１０２"]), _anything)},
        optional={
            "lon": st.one_of(st.floats(70, 140), _anything),
            "lat": st.one_of(st.floats(0, 60), _anything),
            "road": _texts,
            "stretch": _texts,
            "road_type": st.one_of(st.sampled_from(["expressway", "ordinary", "lane"]), _anything),
            "road_class": st.one_of(st.sampled_from(["urban", "highway"]), _anything),
            "speed_limit_kmh": st.one_of(st.integers(-1, 200), _anything),
        },
    ),
    _anything,
)


@st.composite
def captures(draw: st.DrawFn) -> Any:
    """A record: the common shape with a few fields replaced, dropped or added; sometimes not an object at all."""
    if draw(st.integers(0, 20)) == 0:
        return draw(_anything)
    raw = record(draw(st.sampled_from(["cap-1", "cap-2", "cap-3"])))
    for name in draw(st.lists(st.sampled_from([*_fields, "place", "drop", "extra"]), max_size=3)):
        if name == "place":
            raw["place"] = draw(_place)
        elif name == "drop":
            raw.pop(draw(st.sampled_from(sorted(raw))), None)
        elif name == "extra":
            raw[draw(st.sampled_from(["colour", "id"]))] = 1
        else:
            raw[name] = draw(_fields[name])
    return raw


@settings(max_examples=400, deadline=None)
@given(st.lists(captures(), min_size=1, max_size=12))
def test_fast_path_never_accepts_what_the_model_rejects_and_stores_the_same(records):
    got = fast(copy.deepcopy(records))
    catalogue: dict = {}
    for raw, row in zip(records, got, strict=True):
        if row is not None:
            assert by_model(copy.deepcopy(raw), catalogue) == row


# ---------------------------------------------------------------- through ingest_captures, on both stores


def _stored(db) -> list[tuple]:
    columns = [c for c in CaptureRow.__table__.c if c.name != "id"]
    with db.transaction() as session:
        return [tuple(row) for row in session.execute(select(*columns).order_by(CaptureRow.capture_id))]


def _both_ways(db, actor, batches: list[list[Any]], monkeypatch: pytest.MonkeyPatch) -> tuple[list, list, list, list]:
    """Each batch ingested with the fast path, then (store emptied) with every record through the model."""
    results = []
    for fast_path in (True, False):
        with db.transaction(write=True) as session:
            session.execute(delete(CaptureRow))
        with monkeypatch.context() as patch:
            if not fast_path:
                patch.setattr(intake, "check_batch", lambda records, *args: [None] * len(records))
            summaries = [service.ingest_captures(db, actor, copy.deepcopy(batch), now=NOW).model_dump() for batch in batches]
        results.append((summaries, _stored(db)))
    (fast_summaries, fast_rows), (model_summaries, model_rows) = results
    return fast_summaries, model_summaries, fast_rows, model_rows


def test_ingest_gives_the_same_rows_and_rejections_with_and_without_the_fast_path(database, admin_actor, monkeypatch):
    service.upsert_devices(database, admin_actor, DEVICES, now=NOW)
    batch = [raw for _, raw, _, _ in GOLDEN]
    batch = [({**raw, "capture_id": f"g-{i}"} if isinstance(raw, dict) and raw.get("capture_id") == "cap-1" else raw) for i, raw in enumerate(batch)]
    batch += [record("g-0"), record("dup-1", device_id="CAM-LAPSED"), record("dup-1", behavior="speeding"), record("mob-1", source="mobile_device", device_id="MOB-1", evidence=[])]
    second = [record("g-0"), record("new-1", source="video_patrol", device_id="PATROL-1"), record("new-2", device_id="NOWHERE")]
    fast_summaries, model_summaries, fast_rows, model_rows = _both_ways(database, admin_actor, [batch, second], monkeypatch)
    assert fast_summaries == model_summaries
    assert fast_rows == model_rows
    first = fast_summaries[0]
    assert first["duplicates"] == 2 and first["inadmissible"] >= 2 and len(first["rejected"]) == sum(1 for g in GOLDEN if g[3] is not None)
    assert fast_summaries[1]["duplicates"] == 1 and fast_summaries[1]["accepted"] == 2
    by_id = {row[0]: row for row in fast_rows}
    assert set(by_id) >= {"g-0", "dup-1", "mob-1", "new-1", "new-2"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(captures(), min_size=1, max_size=15))
def test_ingest_of_generated_batches_is_the_same_with_and_without_the_fast_path(sqlite_database, records):
    from trafficgov.accounts.service import cli_actor

    actor = cli_actor(sqlite_database, "admin")
    service.upsert_devices(sqlite_database, actor, DEVICES, now=NOW)
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast_summaries, model_summaries, fast_rows, model_rows = _both_ways(sqlite_database, actor, [records], monkeypatch)
    assert fast_summaries == model_summaries
    assert fast_rows == model_rows


def test_the_driver_path_reads_the_same_device_rows_as_the_orm(sqlite_database):
    """On SQLite the ingest runs on the driver (one look-up a device); elsewhere one IN-list query: same rows."""
    from trafficgov.accounts.service import cli_actor
    from trafficgov.store.driver import DriverSession

    service.upsert_devices(sqlite_database, cli_actor(sqlite_database, "admin"), DEVICES, now=NOW)
    wanted = {d["device_id"] for d in DEVICES} | {"NOWHERE"}
    with sqlite_database.transaction() as session:
        expected = service._device_rows(session, wanted)
    with sqlite_database.hot_transaction() as hot:
        assert isinstance(hot, DriverSession)
        got = service._device_rows(hot, wanted)
        assert service._device_rows(hot, set()) == {}
    assert set(got) == set(expected) == {d["device_id"] for d in DEVICES}
    for key, row in expected.items():
        assert tuple(got[key]) == tuple(row)
        assert [type(v) for v in got[key]] == [type(v) for v in row]  # dates as dates, booleans as booleans
        assert service._device(got[key]) == service._device(row)


@pytest.mark.parametrize(
    "bad",
    [
        record("bad id"),
        record("bad-plate", plate_number="鲁a12345"),
        record("bad-moment", captured_at="2026-06-20T08:15:00+0800"),
        record("bad-place", place={"region": "370102", "lon": "117.0"}),
        record("bad-evidence", evidence=[{"uri": "a", "sha256": "XYZ"}]),
        record("bad-measure", measurements={"speed_kmh": "80"}),
        record("other-keys", colour="red"),
        "not an object",
    ],
    ids=["capture_id", "plate", "moment", "place", "evidence", "measurements", "keys", "not-an-object"],
)
def test_one_uncertain_record_leaves_the_others_of_its_batch_on_the_fast_path(bad):
    """A column pass that fails looks at the values one by one: only the uncertain record goes to the model."""
    batch = [record(f"ok-{i}", captured_at=f"2026-06-2{i}T08:15:00+08:00") for i in range(3)]
    batch.insert(1, bad)
    got = fast(copy.deepcopy(batch))
    assert [g is not None for g in got] == [True, False, True, True]
    for raw, row in zip(batch, got, strict=True):
        if row is not None:
            assert row == by_model(copy.deepcopy(raw), {})
