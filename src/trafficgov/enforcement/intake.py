"""抓拍快速校验 — a batch of captures checked in one pass, in the form each valid one is stored.

The per-record model (`service.validate_capture`: pydantic, plate format, behaviour catalogue) stays
the single source of truth. `check_batch` proves, in one pass over the Python objects, which records
are in the common, canonical shape: exact JSON types, ASCII codes, plates already normalised,
timestamps in the plain ISO 8601 form with an offset. For each such record it returns exactly what the
model would have made of it (`Canonical`); for every other record it returns None, and the caller sends
that record through the model, which accepts it or rejects it with the field named. `from_model` turns
a record the model accepted into the same `Canonical`, so that both paths store the same row.

Pure: no database; time (`now`) and the catalogues are arguments.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, NamedTuple

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
# Each pattern must match the whole text (`fullmatch`).
_PLATE_RE = re.compile(f"[0-9A-Z{_CJK}]{{1,16}}")  # already what registry.plates.normalise_plate returns
_CAPTURE_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_REGION_RE = re.compile(r"[0-9]{6}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_JSON_PLAIN_RE = re.compile(r"[ !#-\[\]-~]{1,512}")  # printable ASCII but '"' and '\': json.dumps writes it as it is
# 1900..2099, a real clock time (no leap second), at most microseconds, an offset of Z or ±hh:mm;
# groups: the date, the hour, ":MM:SS", the fraction, the offset
_MOMENT_RE = re.compile(
    r"((?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2})T([01][0-9]|2[0-3])(:[0-5][0-9]:[0-5][0-9])"
    r"(?:\.([0-9]{1,6}))?(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


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


class _Moments:
    """(`Canonical.captured_utc`, Beijing day) of a moment in the one plain form `_MOMENT_RE` describes and
    not after `now`; None otherwise (an impossible date such as 30 February included).

    With an offset of whole hours, minutes and seconds are the same in UTC: the UTC hour and the Beijing
    day are worked out once per (date, hour, offset), kept across batches (a camera's captures come in
    order: the hours of one batch are mostly those of the last), and the rest of the text is copied.
    """

    hours: dict[tuple[str, str, str], tuple[str, date] | None] = {}  # shared by all batches; pure
    MAX_HOURS = 100_000  # about 11 years of one offset's hours; emptied when full

    def __init__(self, now: datetime) -> None:
        self.now = utc_text(now)  # fixed-width texts compare as the moments they name
        if len(self.hours) > self.MAX_HOURS:
            self.hours.clear()

    def __call__(self, text: str) -> tuple[str, date] | None:
        match = _MOMENT_RE.fullmatch(text)
        if match is None:
            return None
        day, hour, minutes, fraction, offset = match.groups()
        if offset == "Z" or offset.endswith(":00"):
            key = (day, hour, offset)
            if key in self.hours:
                start = self.hours[key]
            else:
                start = self.hours[key] = self._hour(f"{day}T{hour}:00:00{offset}")
            if start is None:
                return None
            utc = f"{start[0]}{minutes}.{fraction.ljust(6, '0') if fraction else '000000'}"
            local = start[1]
        else:
            try:
                moment = datetime.fromisoformat(text).astimezone(UTC)
            except ValueError:
                return None
            utc, local = utc_text(moment), local_day(moment)
        return None if utc > self.now else (utc, local)

    @staticmethod
    def _hour(text: str) -> tuple[str, date] | None:
        """("YYYY-MM-DD HH" in UTC, Beijing day) of the start of an hour, or None for an impossible date."""
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return utc_text(moment)[:13], local_day(moment)


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


_NO_ITEMS: list[Any] = []  # never changed


def check_batch(
    records: Sequence[Any],
    now: datetime,
    plate_types: Mapping[str, Any],
    behaviours_on: Callable[[date], Collection[str]],
) -> list[Canonical | None]:
    """Each record's stored form if it is certainly valid and canonical, else None (for the model to judge).

    `plate_types` are the code tables' plate types (`entry.matches(plate, day)`), `behaviours_on(day)`
    the behaviour catalogue in force on a day. One pass over the Python objects: exact JSON types and
    field names, the same checks as the model's, and what depends on the day (plate formats in force,
    the behaviour catalogue) looked up once per day; JSON texts built once per distinct content.
    """
    out: list[Canonical | None] = [None] * len(records)
    measurements, moments = _Measurements(), _Moments(now)
    kinds = {code for code in plate_types if len(code) == 2}
    catalogues: dict[date, Collection[str]] = {}
    matchers: dict[tuple[str, date], Callable[[str], bool]] = {}
    compiled: dict[str, tuple] = {}
    facts: dict[tuple, str] = {}
    top, required, place_fields, evidence_fields = CAPTURE_FIELDS, CAPTURE_REQUIRED, PLACE_FIELDS, EVIDENCE_FIELDS
    capture_id_ok, region_ok, plate_ok, sha256_ok, plain = _CAPTURE_ID_RE.fullmatch, _REGION_RE.fullmatch, _PLATE_RE.fullmatch, _SHA256_RE.fullmatch, _JSON_PLAIN_RE.fullmatch
    for index, raw in enumerate(records):
        if type(raw) is not dict or not (raw.keys() <= top and required <= raw.keys()):
            continue
        place = raw["place"]
        if type(place) is not dict or not place.keys() <= place_fields:
            continue
        get = place.get
        region, lon, lat, limit = get("region"), get("lon"), get("lat"), get("speed_limit_kmh")
        road, stretch, road_type, road_class = get("road"), get("stretch"), get("road_type"), get("road_class")
        capture_id, source, device_id, moment = raw["capture_id"], raw["source"], raw.get("device_id"), raw["captured_at"]
        plate, kind, behaviour = raw["plate_number"], raw["plate_type"], raw["behavior"]
        if not (
            type(capture_id) is str and type(source) is str and type(moment) is str and type(region) is str
            and type(plate) is str and type(kind) is str and type(behaviour) is str
            and capture_id_ok(capture_id) is not None and source in SOURCES and region_ok(region) is not None
            and kind in kinds and plate_ok(plate) is not None and 1 <= len(behaviour) <= 64
            and (device_id is None or (type(device_id) is str and len(device_id) <= 32))
            and (source not in DEVICE_SOURCES or bool(device_id))
            and (road is None or (type(road) is str and len(road) <= 64))
            and (stretch is None or (type(stretch) is str and len(stretch) <= 64))
            and (road_type is None or (type(road_type) is str and road_type in ROAD_TYPES))
            and (road_class is None or (type(road_class) is str and road_class in ROAD_CLASSES))
            # a JSON number, not a bool (-0.0 is out of these ranges)
            and (lon is None or ((type(lon) is float or type(lon) is int) and 73 <= lon <= 136))
            and (lat is None or ((type(lat) is float or type(lat) is int) and 3 <= lat <= 54))
            and (limit is None or (type(limit) is int and 0 < limit <= 150))
        ):
            continue
        measured = measurements(raw.get("measurements", {}))
        if measured is None:
            continue
        evidence = raw.get("evidence", _NO_ITEMS)
        if type(evidence) is not list:
            continue
        count = len(evidence)
        if count == 1:
            item = evidence[0]
            if type(item) is not dict or item.keys() != evidence_fields:
                continue
            uri, sha256 = item["uri"], item["sha256"]
            if type(uri) is not str or type(sha256) is not str or sha256_ok(sha256) is None or not 1 <= len(uri) <= 512:
                continue
            # json.dumps of the one item, written directly where the uri needs no escaping (sha256 is hex)
            evidence_text = f'[{{"uri": "{uri}", "sha256": "{sha256}"}}]' if plain(uri) is not None else encode([{"uri": uri, "sha256": sha256}])
        elif count == 0:
            evidence_text = "[]"
        elif count > MAX_EVIDENCE or any(type(item) is not dict or item.keys() != evidence_fields for item in evidence):
            continue
        else:
            evidence_text = _evidence_list(evidence)
            if evidence_text is None:
                continue
        when = moments(moment)
        if when is None:
            continue
        day = when[1]
        # what depends on the day: the behaviour catalogue and the plate's formats in force (Python's own
        # regular expressions, as the model uses them)
        catalogue = catalogues.get(day)
        if catalogue is None:
            catalogue = catalogues[day] = behaviours_on(day)
        matcher = matchers.get((kind, day))
        if matcher is None:
            formats = compiled.get(kind)
            if formats is None:
                formats = compiled[kind] = plate_formats(plate_types[kind])
            matcher = matchers[kind, day] = plate_matcher(formats, day)
        if behaviour not in catalogue or not matcher(plate):
            continue
        key = (road_type, road_class, limit)
        road_facts = facts.get(key)
        if road_facts is None:
            road_facts = facts[key] = encode(road_facts_of(*key))
        out[index] = Canonical(
            capture_id, source, device_id, when[0], day, region,
            lon if lon is None or type(lon) is float else float(lon), lat if lat is None or type(lat) is float else float(lat),
            road, stretch, plate, kind, behaviour, measured, road_facts, evidence_text, count,
        )
    return out


def _evidence_list(items: list[dict[str, Any]]) -> str | None:
    """The JSON text of an evidence list of two items or more (fields already checked), or None if an item is invalid."""
    for item in items:
        uri, sha256 = item["uri"], item["sha256"]
        if type(uri) is not str or type(sha256) is not str or not 1 <= len(uri) <= 512 or _SHA256_RE.fullmatch(sha256) is None:
            return None
    return encode([{"uri": item["uri"], "sha256": item["sha256"]} for item in items])
