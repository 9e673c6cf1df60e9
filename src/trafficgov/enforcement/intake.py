"""抓拍快速校验 — a batch of captures checked in one pass, in the form each valid one is stored.

The per-record model (`service.validate_capture`: pydantic, plate format, behaviour catalogue) stays
the single source of truth. `check_batch` proves, a column of the batch at a time, which records
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
from itertools import repeat
from operator import add, call, itemgetter
from typing import Any, NamedTuple

from trafficgov.registry.codetables import _in_force

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


# ---------------------------------------------------------------- the fast path, a column at a time
#
# A batch is checked a column at a time: each check passes over a whole column in C (the types of its
# values as a set, one regular-expression match over its texts joined by newlines, min and max of its
# numbers) and looks at the values one by one only where that pass fails, to find which ones. What
# depends on a record's day (the plate formats and the behaviour catalogue in force) is worked out once
# per distinct (plate type, day) and (behaviour, day) and then applied a column at a time; so are the
# JSON texts, once per distinct content. Every record the pass is not certain of goes to the model.

_STR = frozenset((str,))
_STR_OR_NONE = frozenset((str, type(None)))
_FLOAT_OR_INT = frozenset((float, int))  # a JSON number; never bool (type(True) is bool)
_INT = frozenset((int,))
_NONE_TYPE = type(None)
_SOURCES = frozenset(SOURCES)
_ROAD_TYPES = frozenset((None, *ROAD_TYPES))
_ROAD_CLASSES = frozenset((None, *ROAD_CLASSES))
_FIRST = itemgetter(0)
_new = tuple.__new__


class _Text:
    """A form a whole text must have. A column is checked with one match over its texts joined by newlines
    (no form admits a newline, and the newlines are counted: no text brings its own); only where that fails
    are the texts matched one by one, to find the bad ones."""

    def __init__(self, pattern: str) -> None:
        self.one = re.compile(pattern)
        self.many = re.compile(f"(?:{pattern})(?:\n(?:{pattern}))*")

    def bad(self, column: Sequence[Any]) -> set[int]:
        """The positions whose value is not a text of this form."""
        if set(map(type, column)) == _STR:
            joined = "\n".join(column)
            if joined.count("\n") == len(column) - 1 and self.many.fullmatch(joined) is not None:
                return set()
        one = self.one.fullmatch
        return {i for i, value in enumerate(column) if type(value) is not str or one(value) is None}


_CJK = "\u4e00-\u9fff"  # CJK unified ideographs: unchanged by NFKC and by upper()
_PLATE = _Text(f"[0-9A-Z{_CJK}]{{1,16}}")  # already what registry.plates.normalise_plate returns
_CAPTURE_ID = _Text(r"[A-Za-z0-9._:-]{1,64}")
_REGION = _Text(r"[0-9]{6}")
_SHA256 = _Text(r"[0-9a-f]{64}")
_JSON_PLAIN = _Text(r"[ !#-\[\]-~]{1,512}")  # printable ASCII but '"' and '\': json.dumps writes it as it is
# 1900..2099, a real clock time (no leap second), at most microseconds, an offset of Z or ±hh:mm
_MOMENT = _Text(
    r"(?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def _not_in(column: Sequence[Any], allowed: frozenset) -> set[int]:
    """The positions whose value is not one of `allowed` (texts, and None where None is among them)."""
    if set(map(type, column)) <= _STR_OR_NONE and set(column) <= allowed:
        return set()
    return {i for i, value in enumerate(column) if not (value is None or type(value) is str) or value not in allowed}


def _sized(column: Sequence[Any], shortest: int, longest: int, *, optional: bool) -> set[int]:
    """The positions whose value is not a text of `shortest`..`longest` characters (or None, where optional)."""
    types = set(map(type, column))
    if types == _STR or (optional and types <= _STR_OR_NONE):
        lengths = [len(value) for value in column if value is not None] if _NONE_TYPE in types else list(map(len, column))
        if not lengths or (shortest <= min(lengths) and max(lengths) <= longest):
            return set()
    return {
        i for i, value in enumerate(column)
        if not ((value is None and optional) or (type(value) is str and shortest <= len(value) <= longest))
    }


def _numbers(column: Sequence[Any], low: float, high: float, kinds: frozenset) -> set[int]:
    """The positions whose value is neither None nor a number of one of `kinds` within [low, high] (NaN is not)."""
    types = set(map(type, column))
    if types <= kinds | {_NONE_TYPE}:
        values = [value for value in column if value is not None] if _NONE_TYPE in types else column
        if not values:
            return set()
        total = sum(values)  # NaN anywhere makes the sum NaN
        if total == total and low <= min(values) and max(values) <= high:
            return set()
    return {i for i, value in enumerate(column) if not (value is None or (type(value) in kinds and low <= value <= high))}


def _floats(column: Sequence[Any]) -> Sequence[Any]:
    """A number column as the model keeps it: ints as floats."""
    return [float(value) if type(value) is int else value for value in column] if int in set(map(type, column)) else column


def _columns(dicts: Sequence[dict[Any, Any]], shape: tuple[Any, ...]) -> dict[Any, Sequence[Any]]:
    """The values of dicts that all have these keys, a column per key (KeyError where one lacks a key)."""
    if len(shape) > 1:
        return dict(zip(shape, zip(*map(itemgetter(*shape), dicts), strict=True), strict=True))
    return {name: list(map(itemgetter(name), dicts)) for name in shape}


def _same_keys(dicts: Sequence[Any]) -> dict[Any, Sequence[Any]] | None:
    """A column per key where all values are dicts with the same keys (in any order), else None."""
    if not dicts or set(map(type, dicts)) != {dict}:
        return None
    shape = tuple(dicts[0])
    if set(map(len, dicts)) != {len(shape)}:
        return None
    try:  # as many keys as the first, and each of the first's: the same keys
        return _columns(dicts, shape)
    except KeyError:
        return None


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

    def column(self, column: Sequence[Any]) -> tuple[list[str | None], set[int]]:
        """The text of each measurements object, and the positions of those that are not canonical."""
        texts = ["{}" if type(value) is dict and not value else self(value) for value in column]
        return texts, ({i for i, text in enumerate(texts) if text is None} if None in texts else set())

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


class _Hours(dict):
    """("YYYY-MM-DD HH" in UTC, Beijing day) of the start of an hour, keyed "YYYY-MM-DDTHH" + offset (an
    offset of whole hours); None for an impossible date. Worked out on first use."""

    def __missing__(self, key: str) -> tuple[str, date] | None:
        try:
            moment = datetime.fromisoformat(f"{key[:13]}:00:00{key[13:]}")
        except ValueError:
            start = None
        else:
            start = utc_text(moment)[:13], local_day(moment)
        self[key] = start
        return start


class _Moments:
    """(`Canonical.captured_utc`, Beijing day) of each moment in the one plain form `_MOMENT` describes and
    not after `now`.

    With an offset of whole hours, minutes and seconds are the same in UTC: the UTC hour and the Beijing
    day are worked out once per (date, hour, offset), kept across batches (a camera's captures come in
    order: the hours of one batch are mostly those of the last), and the rest of the text is copied.
    """

    hours = _Hours()  # shared by all batches; pure
    MAX_HOURS = 100_000  # about 11 years of one offset's hours; emptied when full

    def __init__(self, now: datetime) -> None:
        self.now = utc_text(now)  # fixed-width texts compare as the moments they name
        if len(self.hours) > self.MAX_HOURS:
            self.hours.clear()

    def column(self, texts: Sequence[Any]) -> tuple[list[Any], list[Any], set[int]]:
        """The UTC texts and Beijing days of a column of moments, and the positions of those that are not
        in the plain form, name no real moment or are after `now` (their UTC text and day are None)."""
        bad = _MOMENT.bad(texts)
        # the common form: no fraction and one offset of whole hours ("2026-06-08T12:01:00+08:00")
        if not bad and set(map(len, texts)) == {25}:
            offsets = set(map(_OFFSET, texts))
            if len(offsets) == 1 and (offset := offsets.pop()).endswith(":00"):
                starts = list(map(self.hours.__getitem__, map(add, map(_HOUR, texts), repeat(offset))))
                if None not in starts:
                    utcs = list(map("".join, zip(map(_FIRST, starts), map(_MINUTES, texts), repeat(".000000"))))
                    if max(utcs) <= self.now:
                        return utcs, list(map(_SECOND, starts)), bad
        found = [None if i in bad else self.one(text) for i, text in enumerate(texts)]
        bad |= {i for i, moment in enumerate(found) if moment is None}
        return [moment and moment[0] for moment in found], [moment and moment[1] for moment in found], bad

    def one(self, text: str) -> tuple[str, date] | None:
        """One moment already in the plain form; None if it names no real moment or is after `now`."""
        offset = text[19:].lstrip(".0123456789")
        if offset == "Z" or offset.endswith(":00"):
            start = self.hours[text[:13] + offset]
            if start is None:
                return None
            fraction = text[20 : len(text) - len(offset)]
            utc = f"{start[0]}{text[13:19]}.{fraction.ljust(6, '0')}"
            local = start[1]
        else:
            try:
                moment = datetime.fromisoformat(text).astimezone(UTC)
            except ValueError:
                return None
            utc, local = utc_text(moment), local_day(moment)
        return None if utc > self.now else (utc, local)


_SECOND = itemgetter(1)
_HOUR, _MINUTES, _OFFSET = itemgetter(slice(13)), itemgetter(slice(13, 19)), itemgetter(slice(19, None))  # of the common form


def _evidence_column(column: Sequence[Any]) -> tuple[list[Any], list[int], set[int]]:
    """The JSON text and count of each evidence list, and the positions of those that are not canonical."""
    if set(map(type, column)) == {list} and set(map(len, column)) == {1}:  # the common case: one photo each
        items = list(map(_FIRST, column))
        found = _same_keys(items)
        if found is not None and found.keys() == EVIDENCE_FIELDS:
            uris, hashes = found["uri"], found["sha256"]
            if not _SHA256.bad(hashes) and not _JSON_PLAIN.bad(uris):
                # json.dumps of each one-item list, written directly: no text needs escaping or holds a newline
                inner = '"}]\n[{"uri": "'.join(map('", "sha256": "'.join, zip(uris, hashes, strict=True)))
                return f'[{{"uri": "{inner}"}}]'.split("\n"), [1] * len(column), set()
    texts = list(map(_evidence_text, column))
    bad = {i for i, text in enumerate(texts) if text is None} if None in texts else set()
    return texts, [0 if type(value) is not list else len(value) for value in column], bad


def _evidence_text(value: Any) -> str | None:
    """The JSON text of one evidence list, or None if it is not a list of canonical items."""
    if type(value) is not list or len(value) > MAX_EVIDENCE:
        return None
    for item in value:
        if type(item) is not dict or item.keys() != EVIDENCE_FIELDS:
            return None
        uri, sha256 = item["uri"], item["sha256"]
        if type(uri) is not str or type(sha256) is not str or not 1 <= len(uri) <= 512 or _SHA256.one.fullmatch(sha256) is None:
            return None
    if len(value) == 1 and _JSON_PLAIN.one.fullmatch(value[0]["uri"]) is not None:
        return f'[{{"uri": "{value[0]["uri"]}", "sha256": "{value[0]["sha256"]}"}}]'
    return encode([{"uri": item["uri"], "sha256": item["sha256"]} for item in value])


def check_batch(
    records: Sequence[Any],
    now: datetime,
    plate_types: Mapping[str, Any],
    behaviours_on: Callable[[date], Collection[str]],
) -> list[Canonical | None]:
    """Each record's stored form if it is certainly valid and canonical, else None (for the model to judge).

    `plate_types` are the code tables' plate types (`entry.matches(plate, day)`), `behaviours_on(day)`
    the behaviour catalogue in force on a day. The records are grouped by their keys (one group, as a
    rule) and each group checked a column at a time: exact JSON types and field names, the same checks
    as the model's; what depends on the day (plate formats in force, behaviour catalogue) looked up once
    per day; JSON texts built once per distinct content.
    """
    check = _Batch(now, plate_types, behaviours_on)
    columns = _same_keys(records)
    if columns is not None:  # as a rule: all of a batch alike
        return check.group(records, columns)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, raw in enumerate(records):
        if type(raw) is dict:
            groups.setdefault(tuple(raw), []).append(index)
    out: list[Canonical | None] = [None] * len(records)
    for shape, positions in groups.items():
        group = [records[i] for i in positions]
        for position, canonical in zip(positions, check.group(group, _columns(group, shape)), strict=True):
            out[position] = canonical
    return out


class _Batch:
    """The checks of one batch, with what they look up once: plate types, catalogues, matchers, road facts."""

    def __init__(self, now: datetime, plate_types: Mapping[str, Any], behaviours_on: Callable[[date], Collection[str]]) -> None:
        self.plate_types, self.behaviours_on = plate_types, behaviours_on
        self.measurements, self.moments = _Measurements(), _Moments(now)
        self.kinds = frozenset(code for code in plate_types if len(code) == 2)
        self.catalogues: dict[date, Collection[str]] = {}
        self.allowed: set[tuple[str, date]] = set()  # (behaviour, day) in the catalogue of that day
        self.matchers: dict[tuple[str, date], Callable[[str], Any]] = {}
        self.formats: dict[str, tuple | None] = {}
        self.facts: dict[tuple, str] = {}

    def group(self, records: Sequence[dict[str, Any]], column: dict[Any, Sequence[Any]]) -> list[Canonical | None]:
        """The stored forms of records that all have the same keys, given a column per key (None where not certain)."""
        count = len(records)
        if not (CAPTURE_REQUIRED <= column.keys() <= CAPTURE_FIELDS):
            return [None] * count
        nothing = (None,) * count
        ids, sources, devices, texts = column["capture_id"], column["source"], column.get("device_id", nothing), column["captured_at"]
        plates, kinds, behaviours = column["plate_number"], column["plate_type"], column["behavior"]
        bad = _CAPTURE_ID.bad(ids) | _not_in(sources, _SOURCES) | _PLATE.bad(plates) | _not_in(kinds, self.kinds) | _sized(behaviours, 1, 64, optional=False)
        bad |= _devices(sources, devices)
        place, place_bad = self.places(column["place"])
        bad |= place_bad
        measured, measured_bad = self.measurements.column(column["measurements"]) if "measurements" in column else (["{}"] * count, set())
        evidence, counts, evidence_bad = _evidence_column(column["evidence"]) if "evidence" in column else (["[]"] * count, [0] * count, set())
        utcs, days, moments_bad = self.moments.column(texts)
        bad |= measured_bad | evidence_bad | moments_bad
        facts = self.day_and_road(bad, behaviours, plates, kinds, days, place["road_type"], place["road_class"], place["speed_limit_kmh"])
        out = list(map(_new, repeat(Canonical), zip(
            ids, sources, devices, utcs, days, place["region"], _floats(place["lon"]), _floats(place["lat"]), place["road"],
            place["stretch"], plates, kinds, behaviours, measured, facts, evidence, counts, strict=True,
        )))
        for i in bad:
            out[i] = None
        return out

    @staticmethod
    def places(places: Sequence[Any]) -> tuple[dict[str, Sequence[Any]], set[int]]:
        """The place fields a column at a time, and the positions of places that are not valid."""
        found = _same_keys(places)
        if found is not None:  # as a rule: all places alike
            nothing = (None,) * len(places)
            fields = {name: found.get(name, nothing) for name in PLACE_FIELDS}
            bad: set[int] = set() if found.keys() <= PLACE_FIELDS else set(range(len(places)))
        else:
            bad = {i for i, place in enumerate(places) if type(place) is not dict or not place.keys() <= PLACE_FIELDS}
            places = [{} if type(place) is not dict else place for place in places]
            fields = {name: list(map(dict.get, places, repeat(name))) for name in PLACE_FIELDS}
        bad |= _REGION.bad(fields["region"]) | _sized(fields["road"], 0, 64, optional=True) | _sized(fields["stretch"], 0, 64, optional=True)
        bad |= _not_in(fields["road_type"], _ROAD_TYPES) | _not_in(fields["road_class"], _ROAD_CLASSES)
        bad |= _numbers(fields["lon"], 73, 136, _FLOAT_OR_INT) | _numbers(fields["lat"], 3, 54, _FLOAT_OR_INT)
        bad |= _numbers(fields["speed_limit_kmh"], 1, 150, _INT)
        return fields, bad

    def day_and_road(self, bad: set[int], behaviours: Sequence[Any], plates: Sequence[Any], kinds: Sequence[Any], days: Sequence[Any], *road: Sequence[Any]) -> list[Any]:
        """Marks bad the records whose behaviour is not in the catalogue or whose plate fits no format of its
        type on their day; returns each road-facts text (None where bad).

        Looks only at the records not yet bad (their values have the types these checks need), each
        distinct (behaviour, day), (plate type, day) and road once, then a column at a time."""
        count = len(plates)
        good = [i for i in range(count) if i not in bad] if bad else None
        if good is not None:
            behaviours, plates, kinds, days = ([column[i] for i in good] for column in (behaviours, plates, kinds, days))
            road = tuple([column[i] for i in good] for column in road)
        pairs = list(zip(behaviours, days, strict=True))
        allowed = self.allowed
        for behaviour, day in set(pairs) - allowed:
            if behaviour in self.catalogue(day):
                allowed.add((behaviour, day))
        keys = list(zip(kinds, days, strict=True))
        for kind, day in set(keys) - self.matchers.keys():
            self.matchers[kind, day] = self.matcher(kind, day)
        fits = list(map(call, map(self.matchers.__getitem__, keys), plates))
        roads = list(zip(*road, strict=True))
        for key in set(roads) - self.facts.keys():
            self.facts[key] = encode(road_facts_of(*key))
        texts = list(map(self.facts.__getitem__, roads))
        failed = []
        if None in fits or False in fits or not allowed.issuperset(pairs):
            failed = [i for i, (fit, pair) in enumerate(zip(fits, pairs, strict=True)) if not fit or pair not in allowed]
        if good is None:
            bad.update(failed)
            return texts
        bad.update(good[i] for i in failed)
        out: list[Any] = [None] * count
        for i, text in zip(good, texts, strict=True):
            out[i] = text
        return out

    def matcher(self, kind: str, day: date) -> Callable[[str], Any]:
        """A function of a plate whose result is true exactly when the plate has one of the formats of its
        type in force on `day` (`PlateType.matches(plate, day)`): the `fullmatch` of those formats, each
        type's formats read once (the model's private attributes cost a slow look-up on every access)."""
        entry = self.plate_types[kind]
        formats = self.formats.get(kind)
        if formats is None:
            formats = self.formats[kind] = (entry._undated, entry._dated) if entry._any is not None else None
        if formats is None:  # not compiled: matches() raises the loader's error
            return lambda plate: entry.matches(plate, day)
        undated, dated = formats
        patterns = [undated] if undated is not None else []
        patterns += [rx for start, end, rx in dated if _in_force(start, end, day)]
        if len(patterns) == 1:
            return patterns[0].fullmatch
        # none in force matches nothing; several: any of them (re's own cache keeps the union compiled)
        return re.compile("|".join(f"(?:{rx.pattern})" for rx in patterns) or "(?!)").fullmatch

    def catalogue(self, day: date) -> Collection[str]:
        found = self.catalogues.get(day)
        if found is None:
            found = self.catalogues[day] = self.behaviours_on(day)
        return found


def _devices(sources: Sequence[Any], devices: Sequence[Any]) -> set[int]:
    """The positions whose device_id is not None or a text of at most 32 characters, or is missing or empty
    where the source is a device."""
    if set(map(type, devices)) == _STR and max(map(len, devices)) <= 32 and "" not in devices:
        return set()
    return {
        i for i, (source, device_id) in enumerate(zip(sources, devices, strict=True))
        if not ((device_id is None or (type(device_id) is str and len(device_id) <= 32)) and (device_id or source not in DEVICE_SOURCES))
    }
