"""车辆集合 — the two sets of vehicles the law names, derived from vehicle type and use nature.

`key_vehicle_reasons` answers for MPS Order 163's 校车、中型以上载客载货汽车、危险物品运输车辆 (which
the points rules grade more strictly); `two_passenger_one_danger_one_freight` answers for transport's
两客一危一货. The two sets overlap and are never to be confused: each has its own member codes, its own
dated rules and its own legal basis, all in registry/data/vehicle_sets.yaml.
"""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, model_validator

from trafficgov.errors import FieldError
from trafficgov.registry.codetables import (
    DATA_DIR,
    YAML_LOADER,
    CodeTableError,
    CodeTables,
    VehicleType,
    code_tables,
)

VEHICLE_SETS_FILE = DATA_DIR / "vehicle_sets.yaml"
KEY_VEHICLE = "key_vehicle"
TWO_PASSENGER_ONE_DANGER_ONE_FREIGHT = "two_passenger_one_danger_one_freight"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One way to belong to a member: every list given must contain the vehicle's value."""

    use_natures: list[StrictStr] | None = None
    vehicle_types: list[StrictStr] | None = None
    families: list[StrictStr] | None = None
    sizes: list[StrictStr] | None = None
    min_total_mass_kg: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _names_something(self) -> Condition:
        if not (self.use_natures or self.vehicle_types or self.families or self.sizes):
            raise ValueError("a condition must name use_natures, vehicle_types, families or sizes")
        return self

    def holds(
        self,
        type_code: str | None,
        vehicle_type: VehicleType | None,
        use_nature: str | None,
        mass_kg: int | None,
    ) -> bool:
        if self.use_natures is not None and use_nature not in self.use_natures:
            return False
        if self.vehicle_types is not None and type_code not in self.vehicle_types:
            return False
        if self.families is not None and (vehicle_type is None or vehicle_type.family not in self.families):
            return False
        if self.sizes is not None and (vehicle_type is None or vehicle_type.size not in self.sizes):
            return False
        return self.min_total_mass_kg is None or mass_kg is None or mass_kg >= self.min_total_mass_kg


class Fallback(_Strict):
    """Thresholds used only when the vehicle type says nothing of size; each must be known and reached."""

    use_natures: list[StrictStr] | None = None
    min_total_mass_kg: int | None = Field(default=None, ge=0)
    min_rated_passengers: int | None = Field(default=None, ge=0)
    max_rated_passengers: int | None = Field(default=None, ge=0)
    note: str | None = None
    unconfirmed: bool = False

    @model_validator(mode="after")
    def _has_threshold(self) -> Fallback:
        if self.min_total_mass_kg is None and self.min_rated_passengers is None:
            raise ValueError("a fallback needs min_total_mass_kg or min_rated_passengers")
        return self

    def holds(self, use_nature: str | None, mass_kg: int | None, passengers: int | None) -> bool:
        if self.use_natures is not None and use_nature not in self.use_natures:
            return False
        if self.min_total_mass_kg is not None and (mass_kg is None or mass_kg < self.min_total_mass_kg):
            return False
        if self.min_rated_passengers is not None and (
            passengers is None or passengers < self.min_rated_passengers
        ):
            return False
        return (
            self.max_rated_passengers is None or passengers is None or passengers <= self.max_rated_passengers
        )


class Member(_Strict):
    """A kind of vehicle within a set (a reason a vehicle belongs to it)."""

    code: StrictStr = Field(min_length=1)
    label_zh: StrictStr = Field(min_length=1)
    note: str | None = None
    unconfirmed: bool = False
    any_of: list[Condition] = Field(min_length=1)
    fallback: Fallback | None = None
    max_route_class: int | None = Field(default=None, ge=1)


class LegalBasis(_Strict):
    document: StrictStr = Field(min_length=1)
    article: StrictStr = Field(min_length=1)


class SetRule(_Strict):
    """The members of a set during one period, with the law that defines them."""

    rule_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    legal_basis: list[LegalBasis] = Field(min_length=1)
    note: str | None = None
    unconfirmed: bool = False
    members: list[Member] = Field(min_length=1)

    @model_validator(mode="after")
    def _valid(self) -> SetRule:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError(f"{self.rule_id}: effective_to is not after effective_from")
        codes = [m.code for m in self.members]
        if len(codes) != len(set(codes)):
            raise ValueError(f"{self.rule_id}: duplicate member code")
        return self

    def in_force(self, as_of: date) -> bool:
        return self.effective_from <= as_of and (self.effective_to is None or as_of < self.effective_to)


class VehicleSet(_Strict):
    """车辆集合 — a named set of vehicles as dated rules."""

    code: StrictStr = Field(min_length=1)
    label_zh: StrictStr = Field(min_length=1)
    fallback_types: list[StrictStr] = Field(default_factory=list)
    rules: list[SetRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _no_overlap(self) -> VehicleSet:
        rules = sorted(self.rules, key=lambda r: r.effective_from)
        for earlier, later in zip(rules, rules[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to > later.effective_from:
                raise ValueError(f"set {self.code}: rules {earlier.rule_id} and {later.rule_id} overlap")
        return self

    def rule_at(self, as_of: date | None) -> SetRule:
        """The rule in force on `as_of` (the latest rule when no date is given); LookupError if none."""
        if as_of is None:
            return max(self.rules, key=lambda r: r.effective_from)
        for rule in self.rules:
            if rule.in_force(as_of):
                return rule
        raise LookupError(f"no rule of vehicle set {self.code} is in force on {as_of}")


class VehicleSetsFile(_Strict):
    source: StrictStr = Field(min_length=1)
    compiled_on: date
    sets: list[VehicleSet] = Field(min_length=1)


class VehicleSets:
    """The loaded sets by code, the tables they were checked against, and every Chinese label."""

    def __init__(self, parsed: VehicleSetsFile, tables: CodeTables) -> None:
        self.source = parsed.source
        self.compiled_on = parsed.compiled_on
        self.sets: dict[str, VehicleSet] = {s.code: s for s in parsed.sets}
        self.tables = tables
        labels: dict[str, str] = {}
        for vehicle_set in parsed.sets:
            labels[vehicle_set.code] = vehicle_set.label_zh
            for rule in vehicle_set.rules:
                for member in rule.members:
                    labels.setdefault(member.code, member.label_zh)
        self.labels_zh = labels


def _check_codes(parsed: VehicleSetsFile, tables: CodeTables, path: Path) -> None:
    owner: dict[str, str] = {}
    known_families = {t.family for t in tables.vehicle_types.values()}
    known_sizes = {t.size for t in tables.vehicle_types.values()}

    def check(values: list[str] | None, known: Any, what: str) -> None:
        for value in values or []:
            if value not in known:
                raise CodeTableError(f"{path}: unknown {what} {value!r}")

    if len({s.code for s in parsed.sets}) != len(parsed.sets):
        raise CodeTableError(f"{path}: duplicate set code")
    for vehicle_set in parsed.sets:
        check(vehicle_set.fallback_types, tables.vehicle_types, "vehicle type")
        for rule in vehicle_set.rules:
            for member in rule.members:
                # A member code belongs to one set only, so a reason can never be read as the other set's.
                if owner.setdefault(member.code, vehicle_set.code) != vehicle_set.code:
                    raise CodeTableError(f"{path}: member code {member.code!r} is used by two sets")
                if member.code in {s.code for s in parsed.sets}:
                    raise CodeTableError(f"{path}: member code {member.code!r} is also a set code")
                for condition in member.any_of:
                    check(condition.use_natures, tables.use_natures, "use nature")
                    check(condition.vehicle_types, tables.vehicle_types, "vehicle type")
                    check(condition.families, known_families, "vehicle family")
                    check(condition.sizes, known_sizes, "vehicle size")
                if member.fallback is not None:
                    check(member.fallback.use_natures, tables.use_natures, "use nature")


def load_vehicle_sets(path: Path | None = None, tables: CodeTables | None = None) -> VehicleSets:
    """Load and validate the vehicle-set file against the code tables; CodeTableError if it is bad."""
    path = VEHICLE_SETS_FILE if path is None else Path(path)
    tables = tables if tables is not None else code_tables()
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
        parsed = VehicleSetsFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise CodeTableError(f"{path}: {error}") from None
    _check_codes(parsed, tables, path)
    return VehicleSets(parsed, tables)


@functools.cache
def vehicle_sets() -> VehicleSets:
    """The package's own vehicle sets, loaded once."""
    return load_vehicle_sets()


def _vehicle(
    sets: VehicleSets,
    vehicle_type: str | None,
    use_nature: str | None,
    mass_kg: int | None,
    passengers: int | None,
) -> tuple[str | None, VehicleType | None, str | None]:
    tables = sets.tables
    type_code = vehicle_type or None
    use = use_nature or None
    if type_code is not None:
        tables.require("vehicle_types", type_code, "vehicle_type")
    if use is not None:
        tables.require("use_natures", use, "use_nature")
    if mass_kg is not None and mass_kg < 0:
        raise FieldError(
            "max_total_mass_kg", f"总质量不能为负数：{mass_kg}", f"total mass cannot be negative: {mass_kg}"
        )
    if passengers is not None and passengers < 0:
        raise FieldError(
            "rated_passengers",
            f"核定载客人数不能为负数：{passengers}",
            f"rated passengers cannot be negative: {passengers}",
        )
    return type_code, tables.vehicle_types.get(type_code) if type_code else None, use


def _members(
    set_code: str,
    vehicle_type: str | None,
    use_nature: str | None,
    mass_kg: int | None,
    passengers: int | None,
    route_class: int | None,
    as_of: date | None,
    sets: VehicleSets | None,
) -> list[str]:
    sets = sets if sets is not None else vehicle_sets()
    vehicle_set = sets.sets[set_code]
    type_code, type_entry, use = _vehicle(sets, vehicle_type, use_nature, mass_kg, passengers)
    fallback_ok = type_code is None or type_code in vehicle_set.fallback_types
    found = []
    for member in vehicle_set.rule_at(as_of).members:
        if (
            member.max_route_class is not None
            and route_class is not None
            and route_class > member.max_route_class
        ):
            continue
        if any(c.holds(type_code, type_entry, use, mass_kg) for c in member.any_of) or (
            fallback_ok and member.fallback is not None and member.fallback.holds(use, mass_kg, passengers)
        ):
            found.append(member.code)
    return found


def key_vehicle_reasons(
    vehicle_type: str | None,
    use_nature: str | None,
    max_total_mass_kg: int | None = None,
    rated_passengers: int | None = None,
    *,
    as_of: date | None = None,
    sets: VehicleSets | None = None,
) -> list[str]:
    """重点车辆 — why Order 163 treats the vehicle as a 校车 / 中型以上载客载货汽车 / 危险物品运输车辆.

    Returns member codes in data order (school_bus, medium_or_larger_passenger, medium_or_larger_truck,
    dangerous_articles); an empty list means the vehicle is none of them. Unknown codes raise FieldError.
    """
    return _members(
        KEY_VEHICLE, vehicle_type, use_nature, max_total_mass_kg, rated_passengers, None, as_of, sets
    )


def is_key_vehicle(
    vehicle_type: str | None,
    use_nature: str | None,
    max_total_mass_kg: int | None = None,
    rated_passengers: int | None = None,
    *,
    as_of: date | None = None,
    sets: VehicleSets | None = None,
) -> bool:
    """Whether Order 163's stricter grading for 校车、中型以上载客载货汽车、危险物品运输车辆 applies."""
    return bool(
        key_vehicle_reasons(
            vehicle_type, use_nature, max_total_mass_kg, rated_passengers, as_of=as_of, sets=sets
        )
    )


def two_passenger_one_danger_one_freight(
    vehicle_type: str | None,
    use_nature: str | None,
    max_total_mass_kg: int | None = None,
    *,
    route_class: int | None = None,
    as_of: date | None = None,
    sets: VehicleSets | None = None,
) -> str | None:
    """两客一危一货 — the member the vehicle belongs to (first in data order), or None.

    Members: dangerous_goods, tourist_charter_bus, route_bus_class3_plus, heavy_freight. `route_class`
    (1-4) is the licensed route class of a 班线 bus where the caller knows it.
    """
    found = _members(
        TWO_PASSENGER_ONE_DANGER_ONE_FREIGHT,
        vehicle_type,
        use_nature,
        max_total_mass_kg,
        None,
        route_class,
        as_of,
        sets,
    )
    return found[0] if found else None


def __getattr__(name: str) -> Any:
    # Labels are data; load them on first use rather than at import.
    if name == "VEHICLE_SET_LABELS_ZH":
        return dict(vehicle_sets().labels_zh)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
