"""规则库 — load and validate the dated rule files; `Rulebook.at(as_of, region)` gives the rules in force.

Files under `rules/data/` (recursively): YAML with the keys `region` (None = national defaults) and
any of `behaviours`, `statutory`, `points`, `discretion`, `leniency`; or CSV tables of discretion
tiers (one row per tier, columns as in `CSV_COLUMNS`). Loading refuses — raises `RuleFileError` —
on an invalid row, a missing legal basis, overlapping dates of one `rule_id`, an unknown unit,
behaviour or vehicle group, and tier bands that overlap or leave an undeclared gap.
"""

from __future__ import annotations

import bisect
import csv
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from trafficgov.rules.schema import Behaviour, Discretion, Leniency, Points, Row, Statutory, Tiered

DATA_DIR = Path(__file__).parent / "data"
KINDS: dict[str, type[Row]] = {
    "behaviours": Behaviour,
    "statutory": Statutory,
    "points": Points,
    "discretion": Discretion,
    "leniency": Leniency,
}
CSV_COLUMNS = (
    "rule_id", "table", "behaviour", "unit", "lower", "lower_inclusive", "upper", "upper_inclusive",
    "gap_below", "outcome", "fine_yuan", "tier_zh", "vehicle_groups", "road_groups",
    "effective_from", "effective_to", "document", "article", "label_zh", "unconfirmed", "note",
)


class RuleFileError(ValueError):
    """规则文件错误 — a rule file that must not be loaded; names the file and the row."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Loaded:
    kind: str
    region: str | None
    row: Any
    path: str


def _region_of(value: Any, path: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) != 6 or not text.isdigit():
        raise RuleFileError(path, f"region must be a 6-digit division code or null, not {value!r}")
    return text


def _parse(kind: str, raw: Any, path: str, index: int) -> Row:
    if not isinstance(raw, dict):
        raise RuleFileError(path, f"{kind}[{index}] is not a mapping")
    if "legal_basis" not in raw or not raw.get("legal_basis"):
        raise RuleFileError(path, f"{kind}[{index}] ({raw.get('rule_id')}): missing legal_basis")
    try:
        return KINDS[kind].model_validate(raw)
    except ValidationError as exc:
        raise RuleFileError(path, f"{kind}[{index}] ({raw.get('rule_id')}): {exc.errors()[0]['msg']} at {exc.errors()[0]['loc']}") from exc


def _read_yaml(path: Path) -> list[Loaded]:
    name = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleFileError(name, f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise RuleFileError(name, "a rule file is a mapping")
    unknown = set(doc) - set(KINDS) - {"region", "description"}
    if unknown:
        raise RuleFileError(name, f"unknown keys {sorted(unknown)}")
    region = _region_of(doc.get("region"), name)
    out: list[Loaded] = []
    for kind in KINDS:
        rows = doc.get(kind) or []
        if not isinstance(rows, list):
            raise RuleFileError(name, f"{kind} must be a list")
        out.extend(Loaded(kind, region, _parse(kind, raw, name, i), name) for i, raw in enumerate(rows))
    return out


def _csv_bool(text: str) -> bool:
    return text.strip().lower() in {"true", "1", "yes"}


def _csv_row(rec: dict[str, str]) -> dict[str, Any]:
    upper = None
    if rec["upper"].strip():
        upper = {"value": float(rec["upper"]), "inclusive": _csv_bool(rec["upper_inclusive"])}
    when: dict[str, Any] = {}
    if rec["vehicle_groups"].strip():
        when["vehicle_groups"] = rec["vehicle_groups"].split("|")
    if rec["road_groups"].strip():
        when["road_groups"] = rec["road_groups"].split("|")
    raw: dict[str, Any] = {
        "rule_id": rec["rule_id"],
        "table": rec["table"],
        "behaviour": rec["behaviour"],
        "when": when,
        "band": {
            "unit": rec["unit"],
            "lower": {"value": float(rec["lower"]), "inclusive": _csv_bool(rec["lower_inclusive"])},
            "upper": upper,
        },
        "gap_below": rec["gap_below"] or None,
        "outcome": rec["outcome"],
        "fine_yuan": int(rec["fine_yuan"]) if rec["fine_yuan"].strip() else None,
        "tier_zh": rec["tier_zh"],
        "effective_from": rec["effective_from"],
        "effective_to": rec["effective_to"] or None,
        "label_zh": rec["label_zh"],
        "unconfirmed": _csv_bool(rec["unconfirmed"]),
        "note": rec["note"] or None,
    }
    if rec["document"].strip() and rec["article"].strip():
        raw["legal_basis"] = {"document": rec["document"], "article": rec["article"]}
    return raw


def _read_csv(path: Path) -> list[Loaded]:
    name = str(path)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or set(reader.fieldnames) != set(CSV_COLUMNS) | {"region"}:
            raise RuleFileError(name, f"CSV columns must be region + {', '.join(CSV_COLUMNS)}")
        out: list[Loaded] = []
        for i, rec in enumerate(reader):
            try:
                region = _region_of(rec["region"] or None, name)
                out.append(Loaded("discretion", region, _parse("discretion", _csv_row(rec), name, i), name))
            except RuleFileError:
                raise
            except ValueError as exc:
                raise RuleFileError(name, f"row {i + 2}: {exc}") from exc
        return out


def _check_dates(loaded: Sequence[Loaded]) -> None:
    by_id: dict[str, list[Loaded]] = defaultdict(list)
    for item in loaded:
        by_id[item.row.rule_id].append(item)
    for rule_id, items in by_id.items():
        if len({(i.kind, i.region) for i in items}) > 1:
            raise RuleFileError(items[1].path, f"rule_id {rule_id} used in more than one kind or region")
        ordered = sorted(items, key=lambda i: i.row.effective_from)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.row.effective_to is None or before.row.effective_to >= after.row.effective_from:
                raise RuleFileError(after.path, f"rule_id {rule_id}: dates overlap ({before.row.effective_from} and {after.row.effective_from})")


def _check_behaviours(loaded: Sequence[Loaded]) -> None:
    codes = {i.row.code for i in loaded if i.kind == "behaviours"}
    ga_seen: dict[str, str] = {}
    for item in loaded:
        if item.kind == "behaviours":
            for ga in item.row.ga408_codes:
                if ga_seen.setdefault(ga, item.row.code) != item.row.code:
                    raise RuleFileError(item.path, f"GA 408.1 code {ga} given to two behaviours")
        elif item.kind == "leniency":
            names = [it.behaviour for it in item.row.items] + list(item.row.conditions.excluded_behaviours)
            for name in names:
                if name not in codes:
                    raise RuleFileError(item.path, f"{item.row.rule_id}: unknown behaviour {name!r}")
        elif item.row.behaviour not in codes:
            raise RuleFileError(item.path, f"{item.row.rule_id}: unknown behaviour {item.row.behaviour!r}")


def _check_tables(loaded: Sequence[Loaded]) -> None:
    tables: dict[tuple[str, str | None, str], list[Loaded]] = defaultdict(list)
    for item in loaded:
        if isinstance(item.row, Tiered):
            tables[(item.kind, item.region, item.row.table)].append(item)
    for (_kind, _region, table), items in tables.items():
        first = items[0].row
        for item in items:
            if item.row.behaviour != first.behaviour or item.row.when != first.when:
                raise RuleFileError(item.path, f"table {table}: rows differ in behaviour or conditions")
        for day in sorted({i.row.effective_from for i in items}):
            rows = [i.row for i in items if i.row.in_force(day)]
            _check_bands(table, rows, items[0].path)


def _check_bands(table: str, rows: list[Tiered], path: str) -> None:
    banded = [r for r in rows if r.band is not None]
    if not banded:
        if len(rows) > 1:
            raise RuleFileError(path, f"table {table}: {len(rows)} unbanded rows in force on one day")
        return
    if len(banded) != len(rows):
        raise RuleFileError(path, f"table {table}: mixes banded and unbanded rows")
    if len({r.band.unit for r in banded}) > 1:
        raise RuleFileError(path, f"table {table}: rows use different units")
    ordered = sorted(banded, key=lambda r: (r.band.lower.value, not r.band.lower.inclusive))
    if ordered[0].gap_below is not None:
        raise RuleFileError(path, f"{ordered[0].rule_id}: gap_below on the lowest tier")
    for low, high in zip(ordered, ordered[1:], strict=False):
        if low.band.upper is None:
            raise RuleFileError(path, f"table {table}: {low.rule_id} is open above but {high.rule_id} follows")
        if low.band.upper.value != high.band.lower.value:
            raise RuleFileError(path, f"table {table}: boundary mismatch between {low.rule_id} ({low.band.upper.value}) and {high.rule_id} ({high.band.lower.value})")
        if low.band.upper.inclusive and high.band.lower.inclusive:
            raise RuleFileError(path, f"table {table}: {low.rule_id} and {high.rule_id} both include {high.band.lower.value}")
        gap = not low.band.upper.inclusive and not high.band.lower.inclusive
        if gap and high.gap_below is None:
            raise RuleFileError(path, f"table {table}: {high.band.lower.value} belongs to no tier; declare gap_below on {high.rule_id}")
        if not gap and high.gap_below is not None:
            raise RuleFileError(path, f"{high.rule_id}: gap_below declared where there is no gap")


def load_rows(directories: Iterable[Path]) -> list[Loaded]:
    """Read and validate every rule file below the directories (later directories add rows)."""
    loaded: list[Loaded] = []
    for directory in directories:
        for path in sorted(Path(directory).rglob("*")):
            if path.suffix in {".yaml", ".yml"}:
                loaded.extend(_read_yaml(path))
            elif path.suffix == ".csv":
                loaded.extend(_read_csv(path))
    if not any(i.kind == "behaviours" for i in loaded):
        raise RuleFileError(str(list(directories)), "no behaviour catalogue")
    _check_dates(loaded)
    _check_behaviours(loaded)
    _check_tables(loaded)
    return loaded


@functools.lru_cache(maxsize=4096)
def _chain(region: str | None) -> tuple[str | None, ...]:
    if region is None:
        return (None,)
    out: list[str | None] = []
    for code in (region, region[:4] + "00", region[:2] + "0000", None):
        if code not in out:
            out.append(code)
    return tuple(out)


def region_chain(region: str | None) -> list[str | None]:
    """370102 -> [370102, 370100, 370000, None]: the layers, most specific first."""
    return list(_chain(region))


@dataclass
class RuleSet:
    """规则集 — the rules in force on one day for one place, layered from the city down to national."""

    day: date
    region: str | None
    chain: list[str | None]
    behaviours: dict[str, Behaviour]
    by_ga408: dict[str, str]
    _rows: dict[str, dict[str | None, dict[str, list[Any]]]] = field(repr=False)

    def layers(self, kind: str, behaviour: str) -> list[tuple[str | None, list[Any]]]:
        """For each layer in the chain that has rows of `kind` for the behaviour: (region, rows)."""
        out = []
        for region in self.chain:
            rows = self._rows.get(kind, {}).get(region, {}).get(behaviour)
            if rows:
                out.append((region, rows))
        return out

    def has(self, kind: str) -> bool:
        """Whether any row of the kind is in force (in any layer)."""
        return any(self._rows.get(kind, {}).values())

    def leniency_list(self) -> tuple[str | None, list[Leniency]]:
        for region in self.chain:
            lists = self._rows.get("leniency", {}).get(region, {}).get("*")
            if lists:
                return region, lists
        return None, []


class Rulebook:
    """规则库 — every dated rule row; `at()` answers which are in force."""

    def __init__(self, loaded: list[Loaded]) -> None:
        self._loaded = loaded

    @classmethod
    def load(cls, directories: Iterable[Path] | None = None) -> Rulebook:
        dirs = [DATA_DIR] if directories is None else list(directories)
        return cls(load_rows(dirs))

    @functools.cached_property
    def _epochs(self) -> list[date]:
        """Days on which some row starts or stops being in force, sorted."""
        days = {date.min}
        for item in self._loaded:
            days.add(item.row.effective_from)
            if item.row.effective_to is not None and item.row.effective_to < date.max:
                days.add(item.row.effective_to + timedelta(days=1))
        return sorted(days)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - the rulebook is immutable and long-lived
    def _index(self, epoch: date) -> tuple[dict[str, Any], dict[str, Behaviour], dict[str, str]]:
        rows: dict[str, dict[str | None, dict[str, list[Any]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
        behaviours: dict[str, Behaviour] = {}
        by_ga: dict[str, str] = {}
        for item in self._loaded:
            if not item.row.in_force(epoch):
                continue
            if item.kind == "behaviours":
                behaviours[item.row.code] = item.row
                for ga in item.row.ga408_codes:
                    by_ga[ga] = item.row.code
            elif item.kind == "leniency":
                rows["leniency"][item.region]["*"].append(item.row)
            else:
                rows[item.kind][item.region][item.row.behaviour].append(item.row)
        return rows, behaviours, by_ga

    def at(self, as_of: date, region: str | None = None) -> RuleSet:
        """The rules in force on `as_of` for `region` (city, then province, then national layers)."""
        epochs = self._epochs
        epoch = epochs[bisect.bisect_right(epochs, as_of) - 1]
        rows, behaviours, by_ga = self._index(epoch)
        return RuleSet(as_of, region, region_chain(region), behaviours, by_ga, rows)

    def rows(self, kind: str | None = None) -> list[Loaded]:
        return [i for i in self._loaded if kind is None or i.kind == kind]


@functools.cache
def default_rulebook() -> Rulebook:
    """The shipped rulebook, loaded once per process."""
    return Rulebook.load()


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)
