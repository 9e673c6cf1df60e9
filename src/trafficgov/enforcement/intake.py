"""抓拍快速校验 — a batch of captures checked column by column, in the form each valid one is stored.

The per-record model (`service.validate_capture`: pydantic, plate format, behaviour catalogue) stays
the single source of truth. `check_batch` proves, a whole column at a time (Polars), which records are
in the common, canonical shape: exact JSON types, ASCII codes, plates already normalised, timestamps
in the plain ISO 8601 form with an offset. For each such record it returns exactly what the model would
have made of it (`Canonical`); for every other record it returns None, and the caller sends that
record through the model, which accepts it or rejects it with the field named. `from_model` turns a
record the model accepted into the same `Canonical`, so that both paths store the same row.

Pure: no database; time (`now`) and the catalogues are arguments.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, NamedTuple

import polars as pl

BEIJING = timezone(timedelta(hours=8))
SOURCES = ("fixed_camera", "video_patrol", "drone", "mobile_device", "citizen_report")
DEVICE_SOURCES = ("fixed_camera", "video_patrol", "drone", "mobile_device")
ROAD_TYPES = ("expressway", "urban_expressway", "ordinary")
ROAD_CLASSES = ("urban", "highway")
MAX_EVIDENCE = 20

# The fields of the input models (service.CaptureIn, Place, Evidence and model.Measured); a test
# checks that these stay the models' own.
CAPTURE_FIELDS = frozenset(("capture_id", "source", "device_id", "captured_at", "place", "plate_number", "plate_type", "behavior", "measurements", "evidence"))
CAPTURE_REQUIRED = frozenset(("capture_id", "source", "captured_at", "place", "plate_number", "plate_type", "behavior"))
PLACE_FIELDS = frozenset(("region", "lon", "lat", "road", "stretch", "road_type", "road_class", "speed_limit_kmh"))
EVIDENCE_FIELDS = frozenset(("uri", "sha256"))
# Measured's fields in their declared order (model_dump's order), each as (is float, maximum): all ge=0.
MEASURED_FIELDS: dict[str, tuple[bool, float]] = {
    "speed_kmh": (True, 400),
    "passengers": (False, 300),
    "total_mass_kg": (True, 200_000),
    "load_kg": (True, 200_000),
    "continuous_driving_min": (False, 24 * 60),
    "rest_min": (False, 24 * 60),
    "bac_mg_per_100ml": (True, 1000),
}

# What the store's JSON columns hold: SQLAlchemy's default serialiser (json.dumps, default settings).
encode = json.dumps

_CJK = "\u4e00-\u9fff"  # CJK unified ideographs: unchanged by NFKC and by upper()
_CANONICAL_PLATE = f"^[0-9A-Z{_CJK}]{{1,16}}$"  # already what registry.plates.normalise_plate returns
_CAPTURE_ID = r"^[A-Za-z0-9._:-]{1,64}$"
_REGION = r"^[0-9]{6}$"
_SHA256 = r"^[0-9a-f]{64}$"
_JSON_PLAIN = r"^[ !#-\[\]-~]{1,512}$"  # printable ASCII but '"' and '\': json.dumps writes it as it is
# 1900..2099, a real clock time (no leap second), at most microseconds, an offset of Z or ±hh:mm
_MOMENT = (
    r"^((?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2})T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])"
    r"(?:\.([0-9]{1,6}))?(Z|([+-])([01][0-9]|2[0-3]):([0-5][0-9]))$"
)
_DAY_US = 86_400_000_000
_BEIJING_US = 8 * 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Canonical(NamedTuple):
    """一条有效抓拍 — a valid capture as it is stored (JSON columns as their text)."""

    capture_id: str
    source: str
    device_id: str | None
    captured_utc: str  # the moment in UTC as `YYYY-MM-DD HH:MM:SS.ffffff` (see `captured_at`)
    day: date  # the capture day in Beijing time
    region: str
    lon: float | None
    lat: float | None
    road: str | None
    stretch: str | None
    plate_number: str
    plate_type: str
    behavior: str
    measurements: str
    road_facts: str
    evidence: str
    evidence_count: int

    @property
    def captured_at(self) -> datetime:
        """The moment, aware (UTC)."""
        return datetime.fromisoformat(self.captured_utc).replace(tzinfo=UTC)


def utc_text(moment: datetime) -> str:
    """An aware moment as `Canonical.captured_utc` writes it."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def road_facts_of(road_type: str | None, road_class: str | None, speed_limit_kmh: int | None) -> dict[str, Any]:
    """The road as the decision engine reads it (model.Road's field names)."""
    facts: dict[str, Any] = {}
    if road_type is not None:
        facts["type"] = road_type
    if road_class is not None:
        facts["class"] = road_class
    if speed_limit_kmh is not None:
        facts["speed_limit_kmh"] = speed_limit_kmh
    return facts


def from_model(capture: Any) -> Canonical:
    """The stored form of a capture the per-record model accepted (a `service.CaptureIn`)."""
    at = capture.captured_at.astimezone(UTC)
    place = capture.place
    return Canonical(
        capture.capture_id,
        capture.source,
        capture.device_id,
        utc_text(at),
        local_day(at),
        place.region,
        place.lon,
        place.lat,
        place.road,
        place.stretch,
        capture.plate_number,
        capture.plate_type,
        capture.behavior,
        encode(capture.measurements.model_dump(exclude_none=True)),
        encode(road_facts_of(place.road_type, place.road_class, place.speed_limit_kmh)),
        encode([e.model_dump() for e in capture.evidence]),
        len(capture.evidence),
    )


# ---------------------------------------------------------------- the fast path


def _number(value: Any, low: float, high: float) -> bool:
    """A JSON number (not a bool) within [low, high]; -0.0 is left to the model (its text differs from 0.0)."""
    kind = type(value)
    if kind is int:
        return low <= value <= high
    if kind is float:
        return low <= value <= high and (value != 0 or math.copysign(1.0, value) > 0)
    return False


class _Measurements:
    """The JSON text of a measurements object in canonical shape (once per distinct content); None if not canonical."""

    def __init__(self) -> None:
        self.texts: dict[tuple, str] = {}

    def __call__(self, value: Any) -> str | None:
        if type(value) is not dict:
            return None
        if not value:
            return "{}"
        dumped = []
        for name, (is_float, maximum) in MEASURED_FIELDS.items():  # model_dump's order
            if name not in value:
                continue
            item = value[name]
            if not _number(item, 0, maximum) or (not is_float and type(item) is not int):
                return None
            dumped.append((name, float(item) if is_float else item))
        if len(dumped) != len(value):
            return None  # an unknown field, or an explicit null
        key = tuple(dumped)  # values already as the model keeps them (float fields as floats)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = encode(dict(dumped))
        return text


_ROW = (
    "capture_id", "source", "device_id", "captured_at", "region", "road", "stretch", "road_type", "road_class",
    "plate_number", "plate_type", "behavior", "uri", "sha256",
)
_NO_ITEMS: list[Any] = []  # never changed


def _shape(records: Sequence[Any], measurements: _Measurements) -> tuple[list[bool], dict[str, list[Any]], list[str | None], list[tuple[int, list]]]:
    """One pass over the Python objects: exact types and field names; the fields gathered as columns.

    Returns (shape ok per record, columns (None where the shape is wrong; the uri and sha256 of a single
    evidence item among them; lon, lat and speed limit as the model keeps them), measurements text per
    record, and the evidence lists of two items or more as (record index, items)).
    """
    size = len(records)
    ok = [False] * size
    columns: dict[str, list[Any]] = {name: [None] * size for name in (*_ROW, "lon", "lat", "speed_limit_kmh")}
    measured: list[str | None] = [None] * size
    items: list[tuple[int, list]] = []
    add_item = items.append
    ids, sources, devices, moments, regions, roads, stretches, road_types, road_classes, plates, kinds, behaviours, uris, hashes, lons, lats, limits = columns.values()
    top, required, place_fields, evidence_fields = CAPTURE_FIELDS, CAPTURE_REQUIRED, PLACE_FIELDS, EVIDENCE_FIELDS
    for index, raw in enumerate(records):
        if type(raw) is not dict or not (raw.keys() <= top and required <= raw.keys()):
            continue
        place = raw["place"]
        if type(place) is not dict or not place.keys() <= place_fields or "region" not in place:
            continue
        get = place.get
        lon, lat, limit = get("lon"), get("lat"), get("speed_limit_kmh")
        # a JSON number, not a bool (-0.0 is out of these ranges)
        if not (
            (lon is None or ((type(lon) is float or type(lon) is int) and 73 <= lon <= 136))
            and (lat is None or ((type(lat) is float or type(lat) is int) and 3 <= lat <= 54))
            and (limit is None or (type(limit) is int and 0 < limit <= 150))
        ):
            continue
        text = measurements(raw.get("measurements", {}))
        evidence = raw.get("evidence", _NO_ITEMS)
        if text is None or type(evidence) is not list or len(evidence) > MAX_EVIDENCE:
            continue
        region, road, stretch, road_type, road_class = place["region"], get("road"), get("stretch"), get("road_type"), get("road_class")
        capture_id, source, device_id, moment = raw["capture_id"], raw["source"], raw.get("device_id"), raw["captured_at"]
        plate, kind, behaviour = raw["plate_number"], raw["plate_type"], raw["behavior"]
        if not (
            type(capture_id) is str and type(source) is str and type(moment) is str and type(region) is str
            and type(plate) is str and type(kind) is str and type(behaviour) is str
            and (device_id is None or type(device_id) is str) and (road is None or type(road) is str)
            and (stretch is None or type(stretch) is str) and (road_type is None or type(road_type) is str)
            and (road_class is None or type(road_class) is str)
        ):
            continue
        uri = sha256 = None
        if len(evidence) == 1:
            item = evidence[0]
            if type(item) is not dict or item.keys() != evidence_fields:
                continue
            uri, sha256 = item["uri"], item["sha256"]
            if type(uri) is not str or type(sha256) is not str:
                continue
        elif evidence:
            if any(type(item) is not dict or item.keys() != evidence_fields for item in evidence):
                continue
            add_item((index, evidence))
        ok[index] = True
        ids[index], sources[index], devices[index], moments[index] = capture_id, source, device_id, moment
        regions[index], roads[index], stretches[index], road_types[index], road_classes[index] = region, road, stretch, road_type, road_class
        plates[index], kinds[index], behaviours[index], uris[index], hashes[index] = plate, kind, behaviour, uri, sha256
        lons[index] = lon if lon is None or type(lon) is float else float(lon)
        lats[index] = lat if lat is None or type(lat) is float else float(lat)
        limits[index] = limit
        measured[index] = text
    return ok, columns, measured, items


def _moments(text: pl.Expr, now_us: int) -> tuple[pl.Expr, pl.Expr]:
    """(valid and not after now, microseconds since the epoch in UTC) of an ISO 8601 column; the first
    reads the second from a column "us".

    Only text of the one form `_MOMENT` describes is valid; an impossible date (30 February) parses to null.
    """
    parsed = text.str.replace(r"Z$", "+00:00").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False)
    us = pl.col("us")
    ok = text.str.contains(_MOMENT) & us.is_not_null() & (us <= now_us)
    return ok.fill_null(False), parsed.dt.epoch("us")


def plate_formats(entry: Any) -> tuple[Any, Any, tuple]:
    """A plate type's compiled formats (codetables.PlateType: the entry, its undated and its dated patterns),
    read once: the model's private attributes cost a slow look-up on every access."""
    return entry, entry._undated, (entry._dated if entry._any is not None else None)


def plate_matcher(formats: tuple[Any, Any, tuple | None], day: date) -> Callable[[str], bool]:
    """`entry.matches(plate, day)` with the patterns in force on `day` chosen once."""
    from trafficgov.registry.codetables import _in_force

    entry, undated, dated = formats
    if dated is None:  # not compiled: matches() raises the loader's error
        return lambda plate: entry.matches(plate, day)
    patterns = [undated] if undated is not None else []
    patterns += [rx for start, end, rx in dated if _in_force(start, end, day)]
    if len(patterns) == 1:
        only = patterns[0].fullmatch
        return lambda plate: only(plate) is not None
    return lambda plate: any(rx.fullmatch(plate) for rx in patterns)


def _optional(cell: pl.Expr, ok: pl.Expr) -> pl.Expr:
    return cell.is_null() | ok.fill_null(False)


def check_batch(
    records: Sequence[Any],
    now: datetime,
    plate_types: Mapping[str, Any],
    behaviours_on: Callable[[date], Collection[str]],
) -> list[Canonical | None]:
    """Each record's stored form if it is certainly valid and canonical, else None (for the model to judge).

    `plate_types` are the code tables' plate types (`entry.matches(plate, day)`), `behaviours_on(day)`
    the behaviour catalogue in force on a day.
    """
    ok, columns, measured, lists = _shape(records, _Measurements())
    if not any(ok):
        return [None] * len(records)
    text_columns = [pl.Series(name, columns[name], dtype=pl.String) for name in _ROW]
    frame = pl.DataFrame([pl.Series("shape", ok, dtype=pl.Boolean), *text_columns])
    now_us = (now - _EPOCH) // timedelta(microseconds=1)
    moment_ok, us = _moments(pl.col("captured_at"), now_us)
    frame = frame.with_columns(us.alias("us"))  # parsed once, used thrice
    c = pl.col
    us = c("us")
    checks = [
        c("capture_id").str.contains(_CAPTURE_ID),
        c("source").is_in(SOURCES),
        _optional(c("device_id"), c("device_id").str.len_chars() <= 32),
        ~c("source").is_in(DEVICE_SOURCES) | (c("device_id").str.len_chars() >= 1).fill_null(False),
        moment_ok,
        c("region").str.contains(_REGION),
        _optional(c("road"), c("road").str.len_chars() <= 64),
        _optional(c("stretch"), c("stretch").str.len_chars() <= 64),
        _optional(c("road_type"), c("road_type").is_in(ROAD_TYPES)),
        _optional(c("road_class"), c("road_class").is_in(ROAD_CLASSES)),
        c("plate_type").is_in([code for code in plate_types if len(code) == 2]),
        c("plate_number").str.contains(_CANONICAL_PLATE),
        c("behavior").str.len_chars().is_between(1, 64),
        _optional(c("sha256"), c("sha256").str.contains(_SHA256) & c("uri").str.len_chars().is_between(1, 512)),
    ]
    # json.dumps([{"uri": ..., "sha256": ...}]) of a single item whose uri needs no escaping (sha256 is hex)
    single = pl.concat_str([pl.lit('[{"uri": "'), c("uri"), pl.lit('", "sha256": "'), c("sha256"), pl.lit('"}]')])
    checked = frame.select(
        (c("shape") & pl.all_horizontal(checks).fill_null(False)).alias("ok"),
        pl.from_epoch(us, time_unit="us").dt.strftime("%Y-%m-%d %H:%M:%S%.6f").alias("at"),
        ((us + _BEIJING_US) // _DAY_US).cast(pl.Int32).cast(pl.Date).alias("day"),
        pl.when(c("uri").is_null()).then(pl.lit("[]")).when(c("uri").str.contains(_JSON_PLAIN)).then(single).alias("evidence"),
    )
    good, moments, days, evidence = (checked[name].to_list() for name in ("ok", "at", "day", "evidence"))
    counts = [0 if uri is None else 1 for uri in columns["uri"]]
    for index, items in lists:
        if good[index]:
            text = _evidence_list(items)
            good[index] = text is not None
            evidence[index], counts[index] = text, len(items)
    # what a column operation cannot say: the plate's format in force on the capture day (Python's own
    # regular expressions, as the model uses them) and the behaviour in that day's catalogue
    catalogues: dict[date, Collection[str]] = {}
    matchers: dict[tuple[str, date], Callable[[str], bool]] = {}
    compiled: dict[str, tuple] = {}
    plates, kinds, behaviours = columns["plate_number"], columns["plate_type"], columns["behavior"]
    for i, day in enumerate(days):
        if not good[i]:
            continue
        kind = kinds[i]
        catalogue = catalogues.get(day)
        if catalogue is None:
            catalogue = catalogues[day] = behaviours_on(day)
        matcher = matchers.get((kind, day))
        if matcher is None:
            formats = compiled.get(kind)
            if formats is None:
                formats = compiled[kind] = plate_formats(plate_types[kind])
            matcher = matchers[kind, day] = plate_matcher(formats, day)
        if behaviours[i] not in catalogue or not matcher(plates[i]):
            good[i] = False
        elif evidence[i] is None:  # one item whose uri the encoder escapes
            evidence[i] = encode([{"uri": columns["uri"][i], "sha256": columns["sha256"][i]}])
    facts: dict[tuple, str] = {}
    road_facts = [
        facts[key] if key in facts else facts.setdefault(key, encode(road_facts_of(*key)))
        for key in zip(columns["road_type"], columns["road_class"], columns["speed_limit_kmh"], strict=True)
    ]
    rows = map(
        Canonical._make,
        zip(
            columns["capture_id"], columns["source"], columns["device_id"], moments, days, columns["region"], columns["lon"], columns["lat"],
            columns["road"], columns["stretch"], plates, kinds, behaviours, measured, road_facts, evidence, counts, strict=True,
        ),
    )
    return [row if fine else None for row, fine in zip(rows, good, strict=True)]


_SHA256_RE = re.compile(_SHA256.strip("^$"))


def _evidence_list(items: list[dict[str, Any]]) -> str | None:
    """The JSON text of an evidence list of two items or more (fields already checked), or None if an item is invalid."""
    for item in items:
        uri, sha256 = item["uri"], item["sha256"]
        if type(uri) is not str or type(sha256) is not str or not 1 <= len(uri) <= 512 or _SHA256_RE.fullmatch(sha256) is None:
            return None
    return encode([{"uri": item["uri"], "sha256": item["sha256"]} for item in items])
