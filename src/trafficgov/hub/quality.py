"""数据质量 — measure the hub's source records per source and field (completeness, validity, cross-source
consistency, timeliness), list the defects with the records behind them, and raise a source's alerts
(pure: no web, no database).

What is measured, and over which records:
- 完整性 completeness: the share of a source's records in which a mapped field is filled. A record that
  sync quarantined because this very field was missing counts as a record without it.
- 有效性 validity: the share of filled values that pass `standard.check_value` for the field's type (check
  digits of ID numbers and credit codes, VINs, code tables). Sync quarantines a record with an invalid value,
  so a quarantined record whose fault is this field counts as filled and invalid.
- 一致性 consistency: records of different sources about the same subject (a vehicle by plate number and plate
  type, a company by credit code …; data/quality.yaml) that disagree on an attribute both carry; each side
  gets a defect naming the other source's record and value.
- 时效性 timeliness: lag = when the hub took the record in − when the source says it changed. Records the
  source changed before its first sync are the initial backlog, not late, and are not timed.
Defects are listed for every invalid, inconsistent or late record, and for records missing a field the kind
is expected to carry (quality.yaml `expected`); every mapped field's completeness is measured either way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from trafficgov.credit.grade import Value, at_version, check_no_overlap, parse_versions
from trafficgov.errors import FieldError
from trafficgov.hub import normalise
from trafficgov.hub.model import Rejected, SourceRecord
from trafficgov.hub.standard import CHINA, Standard, check_value, standard, to_json_value

RULES_FILE = Path(__file__).with_name("data") / "quality.yaml"
RECORD = "*"  # the field of a defect about the record as a whole (timeliness)
DEFECT_KINDS_ZH = {"completeness": "完整性", "validity": "有效性", "consistency": "一致性", "timeliness": "时效性"}
ALERT_LEVELS_ZH = {"red": "严重", "yellow": "注意", "info": "提示"}


class QualityRulesError(ValueError):
    """数据质量规则错误 — quality.yaml must not be used; names the version and the fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attribute(_Strict):
    """A compared attribute of a subject and the field that carries it in each kind."""

    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    label_zh: StrictStr = Field(min_length=1)
    compare: Literal["exact", "text", "company_name"] = "exact"
    fields: dict[str, str] = Field(min_length=2)


class Subject(_Strict):
    """一致性比对主体 — a thing several sources describe, named in each kind by its key fields."""

    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    label_zh: StrictStr = Field(min_length=1)
    keys: dict[str, list[str]] = Field(min_length=2)
    attributes: list[Attribute] = Field(min_length=1)


class QualityVersion(_Strict):
    """One dated version of the quality rules."""

    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    lag_max_hours: Value
    silent_hours: Value
    quarantine_share_max: Value
    completeness_drop_points: Value
    completeness_drop_min_records: Value
    defects_kept_per_field: Value
    trend_runs: Value
    expected: dict[str, list[str]] = Field(default_factory=dict)
    subjects: list[Subject] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fits_standard(self) -> QualityVersion:
        std = standard()
        for kind, entries in self.expected.items():
            spec = std.kinds.get(kind)
            if spec is None:
                raise ValueError(f"expected: unknown kind {kind!r}")
            for entry in entries:
                for name in entry.split("|"):
                    if name not in spec.fields:
                        raise ValueError(f"expected.{kind}: unknown field {name!r}")
        codes = [s.code for s in self.subjects]
        if len(set(codes)) != len(codes):
            raise ValueError("a subject code is listed twice")
        for subject in self.subjects:
            for kind, keys in subject.keys.items():
                if kind not in std.kinds or not keys or any(k not in std.kinds[kind].fields for k in keys):
                    raise ValueError(f"subject {subject.code}: key {kind}: {keys} names an unknown kind or field")
            widths = {len(keys) for keys in subject.keys.values()}
            if len(widths) != 1:
                raise ValueError(f"subject {subject.code}: every kind's key must have as many fields")
            for attribute in subject.attributes:
                types = set()
                for kind, name in attribute.fields.items():
                    if kind not in subject.keys:
                        raise ValueError(f"subject {subject.code}.{attribute.code}: {kind} has no key for this subject")
                    if name not in std.kinds[kind].fields:
                        raise ValueError(f"subject {subject.code}.{attribute.code}: {kind} has no field {name!r}")
                    types.add(std.kinds[kind].fields[name].type)
                if attribute.compare == "exact" and len(types) != 1:
                    raise ValueError(f"subject {subject.code}.{attribute.code}: exact comparison of different types {sorted(types)}")
        for what in ("lag_max_hours", "silent_hours", "defects_kept_per_field", "trend_runs", "completeness_drop_points"):
            if getattr(self, what).value <= 0:
                raise ValueError(f"{what} must be positive")
        if not 0 < self.quarantine_share_max.value < 1:
            raise ValueError("quarantine_share_max is a share between 0 and 1")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class QualityRules:
    """数据质量规则 — every dated version; `at(day)` answers which is in force."""

    def __init__(self, versions: list[QualityVersion]) -> None:
        self.versions = versions

    def at(self, day: date) -> QualityVersion:
        return at_version(self.versions, day, None, "数据质量规则")


def load_rules(path: Path = RULES_FILE) -> QualityRules:
    """Load and validate quality.yaml; QualityRulesError names what is wrong."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    versions = parse_versions(raw, QualityVersion, Path(path).name, QualityRulesError)
    return QualityRules(check_no_overlap(versions, Path(path).name, QualityRulesError))


@cache
def rules() -> QualityRules:
    return load_rules()


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class SourceSpec:
    """What the measurement needs of a source's mapping: its kind and the standard fields it fills."""

    source: str
    kind: str
    name_zh: str
    department: str
    fields: tuple[str, ...]


def spec_of(mapping: Any) -> SourceSpec:
    """A source's spec from its mapping (hub/mapping.py Mapping): the mapped fields and the constants."""
    names = [fmap.to for fmap in mapping.fields.values()] + list(mapping.constants)
    order = list(standard().kinds[mapping.kind].fields)
    return SourceSpec(mapping.source, mapping.kind, mapping.name_zh, mapping.department,
                      tuple(sorted(set(names), key=order.index)))


@dataclass(frozen=True)
class FieldQuality:
    """字段质量 — one source's one field: counts behind completeness, validity and consistency."""

    source: str
    field: str
    records: int
    filled: int
    valid: int
    compared: int = 0
    inconsistent: int = 0

    @property
    def completeness(self) -> float | None:
        return self.filled / self.records if self.records else None

    @property
    def validity(self) -> float | None:
        return self.valid / self.filled if self.filled else None

    @property
    def consistency(self) -> float | None:
        return (self.compared - self.inconsistent) / self.compared if self.compared else None


@dataclass(frozen=True)
class SourceQuality:
    """来源质量 — one source: its records, the unresolved quarantined ones, the lag and every field."""

    source: str
    records: int
    quarantined: int
    timed: int
    lag_p50_s: float | None
    lag_p95_s: float | None
    late: int
    fields: tuple[FieldQuality, ...]

    def field(self, name: str) -> FieldQuality | None:
        return next((f for f in self.fields if f.field == name), None)


@dataclass(frozen=True)
class Defect:
    """数据缺陷 — one record's fault in one field, explained in Chinese; `other_*` names the disagreeing record."""

    source: str
    source_id: str | None
    field: str
    kind: str  # completeness, validity, consistency, timeliness
    detail_zh: str
    other_source: str | None = None
    other_source_id: str | None = None


@dataclass(frozen=True)
class Measurement:
    """一次评估 — every source's quality, the defects kept (at most `defects_kept_per_field` per source,
    field and kind) and the full count of each."""

    sources: dict[str, SourceQuality]
    defects: tuple[Defect, ...]
    defect_counts: dict[tuple[str, str, str], int]


# ---------------------------------------------------------------- measuring


def _filled(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of `values` (share 0.5 is the median); None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class _Counts:
    records: int = 0
    filled: int = 0
    valid: int = 0
    compared: int = 0
    inconsistent: int = 0


@dataclass
class _SourceState:
    spec: SourceSpec
    records: int = 0
    quarantined: int = 0
    lags: list[float] = field(default_factory=list)
    late: int = 0
    counts: dict[str, _Counts] = field(default_factory=dict)


class Meter:
    """Takes a run's records one at a time (so a large store streams through it) and gives the Measurement.

    `specs` names the sources measured; `since` (source -> its first sync's start) marks the initial backlog
    that is not timed; records of other sources are ignored.
    """

    def __init__(self, rules: QualityVersion, specs: dict[str, SourceSpec], *, std: Standard | None = None,
                 since: dict[str, datetime] | None = None) -> None:
        self.rules = rules
        self.std = std or standard()
        self.since = since or {}
        self.states = {code: _SourceState(spec, counts={name: _Counts() for name in spec.fields}) for code, spec in specs.items()}
        self.defects: list[Defect] = []
        self.lag_max_s = rules.lag_max_hours.value * 3600
        self._memo: dict[tuple[str, Any], tuple[Any, str | None]] = {}
        # subject code, key values -> [(source, source_id, {attribute code: (field, comparable, shown)})]
        self._subjects: dict[tuple[str, tuple[str, ...]], list[tuple[str, str, dict[str, tuple[str, str, str]]]]] = defaultdict(list)

    # -------------------------------------------------- one value

    def _check(self, field_type: str, value: Any, name: str) -> tuple[Any, str | None]:
        """(normalised value, None) or (None, the fault in Chinese); memoised, codes repeat a lot."""
        key = (field_type, value) if isinstance(value, (str, int, float, bool)) else None
        if key is not None and key in self._memo:
            return self._memo[key]
        try:
            result: tuple[Any, str | None] = (check_value(field_type, value, name), None)
        except FieldError as error:
            result = (None, error.zh)
        if key is not None and len(self._memo) < 500_000:
            self._memo[key] = result
        return result

    def _label(self, kind: str, name: str) -> str:
        spec = self.std.kinds[kind].fields.get(name)
        return spec.label_zh if spec else name

    # -------------------------------------------------- one record

    def add(self, record: SourceRecord) -> None:
        state = self.states.get(record.source)
        if state is None:
            return
        spec = state.spec
        kind = self.std.kinds[spec.kind]
        state.records += 1
        normalised: dict[str, Any] = {}
        for name in spec.fields:
            counts = state.counts[name]
            counts.records += 1
            value = record.fields.get(name)
            if not _filled(value):
                continue
            counts.filled += 1
            checked, fault = self._check(kind.fields[name].type, value, name)
            if fault is None:
                counts.valid += 1
                normalised[name] = checked
            else:
                self._defect(Defect(record.source, record.source_id, name, "validity", f"{self._label(spec.kind, name)}无效：{fault}"))
        for entry in self.rules.expected.get(spec.kind, ()):
            names = [n for n in entry.split("|") if n in spec.fields]
            if names and not any(_filled(record.fields.get(n)) for n in names):
                labels = "或".join(self._label(spec.kind, n) for n in names)
                self._defect(Defect(record.source, record.source_id, names[0], "completeness", f"缺少{labels}"))
        self._time(state, record)
        self._index(record, normalised)

    def _time(self, state: _SourceState, record: SourceRecord) -> None:
        updated = record.source_updated_at
        if updated is None:
            return
        since = self.since.get(record.source)
        if since is not None and updated < since:
            return  # the initial backlog: it changed before the hub watched this source
        lag = max(0.0, (record.synced_at - updated).total_seconds())
        state.lags.append(lag)
        if lag > self.lag_max_s:
            state.late += 1
            self._defect(Defect(
                record.source, record.source_id, RECORD, "timeliness",
                f"源系统更新于{updated.astimezone(CHINA):%Y-%m-%d %H:%M}，{lag / 3600:.1f}小时后才进入数据中台"
                f"（上限{self.rules.lag_max_hours.value:g}小时）",
            ))

    def _index(self, record: SourceRecord, normalised: dict[str, Any]) -> None:
        for subject in self.rules.subjects:
            keys = subject.keys.get(record.kind)
            if keys is None or any(k not in normalised for k in keys):
                continue
            values: dict[str, tuple[str, str, str]] = {}
            for attribute in subject.attributes:
                name = attribute.fields.get(record.kind)
                if name is None or name not in normalised:
                    continue
                shown = str(to_json_value(normalised[name]))
                comparable = _comparable(attribute.compare, shown)
                values[attribute.code] = (name, comparable, shown)
            if values:
                key = tuple(str(to_json_value(normalised[k])) for k in keys)
                self._subjects[(subject.code, key)].append((record.source, record.source_id, values))

    def reject(self, rejected: Rejected) -> None:
        """A record sync quarantined and the source has not since sent right: it counts against its field."""
        state = self.states.get(rejected.source)
        if state is None:
            return
        state.quarantined += 1
        name = rejected.field
        if name is None or name not in state.counts:
            return  # not valid JSON, no id, no update time: only the quarantine share says it
        counts = state.counts[name]
        counts.records += 1
        missing = rejected.reason_en.startswith("required field")
        if not missing:
            counts.filled += 1
        if rejected.source_id is not None:
            kind = "completeness" if missing else "validity"
            self._defect(Defect(rejected.source, rejected.source_id, name, kind, f"已隔离：{rejected.reason_zh}"))

    def _defect(self, defect: Defect) -> None:
        self.defects.append(defect)

    # -------------------------------------------------- the result

    def _consistency(self) -> None:
        labels = {(s.code, a.code): a.label_zh for s in self.rules.subjects for a in s.attributes}
        for (subject, _key), entries in self._subjects.items():
            if len({source for source, _, _ in entries}) < 2:
                continue
            for source, source_id, values in entries:
                state = self.states[source]
                for code, (name, comparable, shown) in values.items():
                    others = sorted((s, i, v[code]) for s, i, v in entries if s != source and code in v)
                    if not others:
                        continue
                    state.counts[name].compared += 1
                    differing = next(((s, i, v) for s, i, v in others if v[1] != comparable), None)
                    if differing is None:
                        continue
                    state.counts[name].inconsistent += 1
                    other_source, other_id, (_, _, other_shown) = differing
                    other_name = self.states[other_source].spec.name_zh
                    self._defect(Defect(
                        source, source_id, name, "consistency",
                        f"{labels[(subject, code)]}与{other_name}（记录{other_id}）不一致：本来源为{shown}，对方为{other_shown}",
                        other_source, other_id,
                    ))

    def result(self) -> Measurement:
        self._consistency()
        sources = {}
        for code, state in self.states.items():
            fields = tuple(
                FieldQuality(code, name, c.records, c.filled, c.valid, c.compared, c.inconsistent)
                for name, c in state.counts.items()
            )
            sources[code] = SourceQuality(
                source=code, records=state.records, quarantined=state.quarantined, timed=len(state.lags),
                lag_p50_s=percentile(state.lags, 0.5), lag_p95_s=percentile(state.lags, 0.95), late=state.late, fields=fields,
            )
        ordered = sorted(self.defects, key=lambda d: (d.source, d.field, d.kind, d.source_id or "", d.other_source or "", d.other_source_id or ""))
        counts: dict[tuple[str, str, str], int] = defaultdict(int)
        kept: list[Defect] = []
        cap = int(self.rules.defects_kept_per_field.value)
        for defect in ordered:
            key = (defect.source, defect.field, defect.kind)
            counts[key] += 1
            if counts[key] <= cap:
                kept.append(defect)
        return Measurement(sources, tuple(kept), dict(counts))


def measure(records: Iterable[SourceRecord], rejected: Iterable[Rejected], specs: dict[str, SourceSpec], rules: QualityVersion, *,
            std: Standard | None = None, since: dict[str, datetime] | None = None) -> Measurement:
    """数据质量评估 — the quality of `specs`' sources from their records and their unresolved quarantined records."""
    meter = Meter(rules, specs, std=std, since=since)
    for record in records:
        meter.add(record)
    for item in rejected:
        meter.reject(item)
    return meter.result()


# ---------------------------------------------------------------- alerts


@dataclass(frozen=True)
class SyncInfo:
    """What the alerts need of one sync run."""

    id: int
    status: str  # running, done, failed
    started_at: datetime
    finished_at: datetime | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    error: str | None


@dataclass(frozen=True)
class Alert:
    """数据来源告警 — red (严重) or yellow (注意); info (提示) says something that is not an alert."""

    source: str
    code: str  # never_synced, silent, failed, schema_changed, quarantine_share, completeness_drop, repeats
    level: str
    message_zh: str


_SCHEMA_WORDS = ("schema", "结构已变化")


def alerts(source: str, syncs: list[SyncInfo], current: SourceQuality | None, previous: dict[str, float | None] | None,
           rules: QualityVersion, now: datetime) -> list[Alert]:
    """A source's alerts from its syncs (newest first), its latest measurement and the previous run's
    completeness per field: silent, last sync failed, schema change, quarantine share, completeness drop.
    A sync that read records which were all unchanged is the source repeating itself: said, never alerted."""
    found: list[Alert] = []
    if not syncs:
        return [Alert(source, "never_synced", "yellow", "尚未同步过：数据中台没有该来源的数据")]
    done = [s for s in syncs if s.status == "done"]
    last_done = max((s.started_at for s in done), default=None)  # the time the sync was asked to take
    silent_s = rules.silent_hours.value * 3600
    if last_done is None:
        found.append(Alert(source, "silent", "red", "从未成功同步：该来源至今没有一次成功的同步"))
    elif (now - last_done).total_seconds() > silent_s:
        hours = (now - last_done).total_seconds() / 3600
        found.append(Alert(source, "silent", "red",
                           f"停止供数：已{hours:.0f}小时没有成功同步（上限{rules.silent_hours.value:g}小时），"
                           f"最近一次成功同步于{last_done.astimezone(CHINA):%Y-%m-%d %H:%M}"))
    last = syncs[0]
    if last.status == "failed":
        error = last.error or "未记录原因"
        if any(word in error for word in _SCHEMA_WORDS):
            found.append(Alert(source, "schema_changed", "red", f"数据结构变化：最近一次同步因来源结构变化失败 — {error}"))
        else:
            found.append(Alert(source, "failed", "red", f"最近一次同步失败（同步编号{last.id}）：{error}"))
    measured = next((s for s in syncs if s.status != "running" and s.read > 0), None)
    if measured is not None and measured.quarantined / measured.read > rules.quarantine_share_max.value:
        share = measured.quarantined / measured.read
        found.append(Alert(source, "quarantine_share", "yellow",
                           f"隔离比例过高：同步编号{measured.id}读取{measured.read}条，隔离{measured.quarantined}条"
                           f"（{share:.1%}，上限{rules.quarantine_share_max.value:.0%}）"))
    if current is not None and previous:
        drop = rules.completeness_drop_points.value / 100
        for fq in current.fields:
            before = previous.get(fq.field)
            now_share = fq.completeness
            if before is None or now_share is None or fq.records < rules.completeness_drop_min_records.value:
                continue
            if before - now_share >= drop:
                found.append(Alert(source, "completeness_drop", "yellow",
                                   f"疑似数据结构变化：字段{fq.field}完整率由{before:.1%}降至{now_share:.1%}"))
    if last.status == "done" and last.read > 0 and last.inserted == 0 and last.updated == 0:
        found.append(Alert(source, "repeats", "info",
                           f"最近一次同步读取{last.read}条，均与已有记录相同（来源重复发送）：数据未丢失也未重复入库，不构成告警"))
    return found


def _comparable(mode: str, shown: str) -> str:
    """How two sources' values are compared: as sent, as text (no spaces, no full-width), or as a company
    name's core (without 有限公司 and the place prefix: 济南信城客运有限公司 and 信城客运 agree)."""
    if mode == "text":
        return normalise.compact(shown) or ""
    if mode == "company_name":
        return normalise.company_core(shown) or normalise.compact(shown) or ""
    return shown
