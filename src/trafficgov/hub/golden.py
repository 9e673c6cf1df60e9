"""主数据（黄金记录）— from every source's records to one record per person, company and vehicle (pure).

Each standard record names entities (a policy names a vehicle and its policyholder): those are mentions.
Mentions of one source that carry the same national key are one group. Sources are then linked one after
another, most trusted first, each against the golden records built so far (`link`): a pair at or above the
kind's threshold joins, one between the review floor and the threshold waits for a clerk, whose decision
(confirm or split) is kept and overrides the model. A golden record takes each field from the most trusted
source that has it, then the newest, and says which source gave it and when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from trafficgov.credit.grade import Value, at_version, check_no_overlap, parse_versions
from trafficgov.hub import normalise as nz
from trafficgov.hub.model import SourceRecord

GOLDEN_FILE = Path(__file__).with_name("data") / "golden.yaml"
ENTITY_KINDS = ("people", "companies", "vehicles")
EntityKind = Literal["people", "companies", "vehicles"]
LINK_COLUMNS: dict[str, tuple[str, ...]] = {
    "people": ("id_number", "name", "phone", "address", "birth_date", "sex", "former_name"),
    "companies": ("uscc", "name", "address", "permit_number", "kind"),
    "vehicles": ("vin", "plate_number", "plate_type", "owner_id", "vehicle_type"),
}


class GoldenSettingsError(ValueError):
    """主数据参数文件错误 — data/golden.yaml must not be used; the message names the fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoldenVersion(_Strict):
    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    review_floor: Value
    needs: dict[EntityKind, list[StrictStr]]
    mentions: dict[StrictStr, dict[EntityKind, dict[StrictStr, StrictStr]]]
    trust: dict[EntityKind, dict[StrictStr, list[StrictStr]]]

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def model_post_init(self, _context: Any) -> None:
        for std_kind, by_entity in self.mentions.items():
            for entity, columns in by_entity.items():
                unknown = set(columns) - set(LINK_COLUMNS[entity])
                if unknown:
                    raise GoldenSettingsError(f"golden.yaml: mentions.{std_kind}.{entity} names unknown link columns {sorted(unknown)}")
        for entity, fields in self.trust.items():
            unknown = set(fields) - set(LINK_COLUMNS[entity])
            if unknown:
                raise GoldenSettingsError(f"golden.yaml: trust.{entity} names unknown columns {sorted(unknown)}")


def load_golden(path: Path = GOLDEN_FILE) -> list[GoldenVersion]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return check_no_overlap(parse_versions(raw, GoldenVersion, path.name, GoldenSettingsError), path.name, GoldenSettingsError)


@cache
def golden_settings_versions() -> tuple[GoldenVersion, ...]:
    return tuple(load_golden())


def golden_settings(as_of: date) -> GoldenVersion:
    return at_version(golden_settings_versions(), as_of, None, "主数据参数")


# ---------------------------------------------------------------- mentions


@dataclass(frozen=True)
class Mention:
    """实体提及 — one record's naming of a person, company or vehicle, in link columns."""

    entity: str
    source: str
    source_id: str
    values: dict[str, Any]
    updated_at: datetime | None

    @property
    def ref(self) -> str:
        return f"{self.source}/{self.source_id}"


def mentions_of(record: SourceRecord, version: GoldenVersion) -> list[Mention]:
    """The entities a standard record names; a mention needs at least one of its kind's `needs` fields."""
    found = []
    for entity, columns in version.mentions.get(record.kind, {}).items():
        values = {column: record.fields.get(std_field) for column, std_field in columns.items()}
        values = {k: v for k, v in values.items() if v not in (None, "")}
        if any(values.get(n) for n in version.needs[entity]):
            found.append(Mention(entity, record.source, record.source_id, values, record.source_updated_at))
    # A party named only by name may be a person or a company (保单的投保人): the side with a national key
    # is the party; with no key on either side, neither can be told.
    parties = [m for m in found if m.entity in ("people", "companies")]
    if len(parties) == 2:
        keyed = [m for m in parties if m.values.get(version.needs[m.entity][0])]
        drop = {id(m) for m in parties} - {id(m) for m in keyed} if keyed else {id(m) for m in parties}
        found = [m for m in found if id(m) not in drop]
    return found


def group_key(mention: Mention) -> str | None:
    """The exact key that makes two mentions of one source the same entity (None: the mention stands alone)."""
    v = mention.values
    if mention.entity == "people":
        return nz.resident_id(v.get("id_number"))
    if mention.entity == "companies":
        return nz.uscc(v.get("uscc"))
    plate, plate_type = nz.plate(v.get("plate_number")), nz.code(v.get("plate_type"))
    if plate and plate_type:
        return f"{plate}:{plate_type}"
    return nz.vin(v.get("vin"))


# ---------------------------------------------------------------- survivorship


@dataclass(frozen=True)
class FieldValue:
    """A golden field's value and where it came from."""

    value: Any
    source: str
    source_id: str
    updated_at: datetime | None


def merge(entity: str, members: Sequence[Mention], version: GoldenVersion) -> dict[str, FieldValue]:
    """Each field from the most trusted source that has it, then the most recently updated."""
    trust = version.trust.get(entity, {})
    out: dict[str, FieldValue] = {}
    for column in LINK_COLUMNS[entity]:
        order = trust.get(column, [])
        candidates = [m for m in members if m.values.get(column) not in (None, "")]
        if not candidates:
            continue

        def rank(m: Mention, order: list[str] = order) -> tuple[int, float, str]:
            position = order.index(m.source) if m.source in order else len(order)
            stamp = m.updated_at.timestamp() if m.updated_at else 0.0
            return (position, -stamp, m.ref)

        best = min(candidates, key=rank)
        out[column] = FieldValue(best.values[column], best.source, best.source_id, best.updated_at)
    return out


# ---------------------------------------------------------------- resolution


Linker = Callable[[str, list[dict], list[dict], float], list[tuple[str, str, float]]]


@dataclass
class Cluster:
    """One entity: its mentions and the golden values built from them."""

    entity: str
    members: list[Mention] = field(default_factory=list)
    golden: dict[str, FieldValue] = field(default_factory=dict)

    def refs(self) -> set[str]:
        return {m.ref for m in self.members}


@dataclass(frozen=True)
class Doubtful:
    """待确认关联 — a pair the model scored between the review floor and the threshold."""

    entity: str
    left_ref: str  # a member of the golden record
    right_ref: str  # the newcomer's first member
    probability: float


@dataclass(frozen=True)
class Resolution:
    entity: str
    clusters: list[Cluster]
    doubtful: list[Doubtful]


def _source_order(entity: str, sources: Iterable[str], version: GoldenVersion) -> list[str]:
    key = version.needs[entity][0]
    order = version.trust.get(entity, {}).get(key, [])
    return sorted(set(sources), key=lambda s: (order.index(s) if s in order else len(order), s))


def _groups(mentions: list[Mention]) -> list[list[Mention]]:
    by_key: dict[str, list[Mention]] = {}
    alone: list[list[Mention]] = []
    for m in sorted(mentions, key=lambda m: m.ref):
        key = group_key(m)
        if key is None:
            alone.append([m])
        else:
            by_key.setdefault(key, []).append(m)
    return [*by_key.values(), *alone]


def _row(record_id: str, values: dict[str, Any], entity: str) -> dict[str, Any]:
    return {"record_id": record_id, **{c: values.get(c) for c in LINK_COLUMNS[entity]}}


def resolve(
    entity: str,
    mentions: list[Mention],
    linker: Linker,
    *,
    threshold: float,
    version: GoldenVersion,
    decisions: dict[frozenset[str], str] | None = None,
) -> Resolution:
    """Build the golden records of one entity kind. `linker(entity, left_rows, right_rows, floor)` returns
    (left_id, right_id, probability) for pairs at or above `floor`; `decisions` maps a pair of mention refs to
    "confirm" or "split" (a clerk's decision, kept across runs)."""
    decisions = decisions or {}
    floor = float(version.review_floor.value)
    by_source: dict[str, list[Mention]] = {}
    for m in mentions:
        if m.entity == entity:
            by_source.setdefault(m.source, []).append(m)
    clusters: list[Cluster] = []
    doubtful: list[Doubtful] = []
    by_key: dict[str, int] = {}  # the exact key (valid ID, USCC, plate + plate type) -> its cluster
    for source in _source_order(entity, by_source, version):
        groups = _groups(by_source[source])
        # a group whose exact key a golden record already holds is that entity (unless a clerk split them or
        # their VINs differ: a plate handed on to another vehicle); only the rest go to the model
        keyed: dict[int, int] = {}
        for j, group in enumerate(groups):
            i = by_key.get(group_key(group[0]) or "")
            if i is not None and _verdict(clusters[i], group, decisions) != "split" and not _keys_conflict(clusters[i], group):
                keyed[j] = i
        rest = [j for j in range(len(groups)) if j not in keyed]
        best: dict[int, tuple[float, int]] = {}
        if clusters and rest:
            left = [_row(str(i), {c: fv.value for c, fv in cl.golden.items()}, entity) for i, cl in enumerate(clusters)]
            right = [_row(str(j), groups[j][0].values | _merged_values(entity, groups[j], version), entity) for j in rest]
            for left_id, right_id, p in linker(entity, left, right, floor):
                i, j = int(left_id), int(right_id)
                if p > best.get(j, (-1.0, -1))[0]:
                    best[j] = (p, i)
        for j, group in enumerate(groups):
            target = keyed.get(j)
            if target is None:
                target = _decided_target(clusters, group, decisions)
            if target is None and j in best:
                p, i = best[j]
                verdict = _verdict(clusters[i], group, decisions)
                if verdict == "split":
                    target = None
                elif p >= threshold or verdict == "confirm":
                    target = i
                else:
                    doubtful.append(Doubtful(entity, min(clusters[i].refs()), group[0].ref, round(p, 6)))
            if target is None:
                clusters.append(Cluster(entity, list(group), merge(entity, group, version)))
                target = len(clusters) - 1
            else:
                clusters[target].members.extend(group)
                clusters[target].golden = merge(entity, clusters[target].members, version)
            key = group_key(group[0])
            if key is not None:
                by_key.setdefault(key, target)
    return Resolution(entity, clusters, doubtful)


def _keys_conflict(cluster: Cluster, group: list[Mention]) -> bool:
    """Two valid VINs that differ: the same plate on two vehicles (a plate handed on), never one entity."""
    if cluster.entity != "vehicles":
        return False
    mine = nz.vin(cluster.golden["vin"].value) if "vin" in cluster.golden else None
    theirs = {nz.vin(m.values.get("vin")) for m in group} - {None}
    return bool(mine and theirs and mine not in theirs)


def _merged_values(entity: str, group: list[Mention], version: GoldenVersion) -> dict[str, Any]:
    return {c: fv.value for c, fv in merge(entity, group, version).items()}


def _verdict(cluster: Cluster, group: list[Mention], decisions: dict[frozenset[str], str]) -> str | None:
    """A clerk's decision on any pair with one side in the cluster and the other in the group."""
    mine, theirs = cluster.refs(), {m.ref for m in group}
    for pair, verdict in decisions.items():
        if len(pair) == 2 and pair & mine and pair & theirs and not pair <= mine and not pair <= theirs:
            return verdict
    return None


def _decided_target(clusters: list[Cluster], group: list[Mention], decisions: dict[frozenset[str], str]) -> int | None:
    """A clerk's confirmation joins the group to the cluster holding the other side of the pair."""
    refs = {m.ref for m in group}
    for pair, verdict in decisions.items():
        if verdict != "confirm" or not pair & refs:
            continue
        other = next(iter(pair - refs), None)
        for i, cluster in enumerate(clusters):
            if other in cluster.refs():
                return i
    return None


def golden_key(cluster: Cluster) -> str:
    """A stable name of a golden record: its national key where it has one, else its first mention."""
    g = {c: fv.value for c, fv in cluster.golden.items()}
    if cluster.entity == "people" and nz.resident_id(g.get("id_number")):
        return str(nz.resident_id(g.get("id_number")))
    if cluster.entity == "companies" and nz.uscc(g.get("uscc")):
        return str(nz.uscc(g.get("uscc")))
    if cluster.entity == "vehicles":
        plate, plate_type = nz.plate(g.get("plate_number")), nz.code(g.get("plate_type"))
        if plate and plate_type:
            return f"{plate}:{plate_type}"
        if nz.vin(g.get("vin")):
            return str(nz.vin(g.get("vin")))
    return "~" + min(cluster.refs())


def truth_of(entity: str, facts: dict[str, Any]) -> str | None:
    """The planted entity a demo source record's truth names for a mention of this kind (None: not known)."""
    if entity == "people":
        return facts.get("person")
    if entity == "companies":
        return facts.get("company")
    vehicle = facts.get("vehicle")
    return f"{vehicle[0]}:{vehicle[1]}" if vehicle else None


def pairwise_scores(clusters: Iterable[Iterable[str]], truth: dict[str, str]) -> dict[str, float]:
    """Precision, recall and F1 of pairs of mentions put together, counted over the mentions whose true
    entity is known (`truth`: ref -> entity): the usual measure of entity resolution."""
    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    predicted = together = 0
    sizes: dict[str, int] = {}
    for cluster in clusters:
        known = [truth[r] for r in cluster if r in truth]
        predicted += pairs(len(known))
        by_entity: dict[str, int] = {}
        for e in known:
            by_entity[e] = by_entity.get(e, 0) + 1
        together += sum(pairs(n) for n in by_entity.values())
    for e in truth.values():
        sizes[e] = sizes.get(e, 0) + 1
    actual = sum(pairs(n) for n in sizes.values())
    precision = together / predicted if predicted else 1.0
    recall = together / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "true_pairs": actual, "found_pairs": predicted}
