"""红黑名单 — red list (守信激励) and black list (失信惩戒): which criteria a subject meets, the measures
that follow, and the due process of an entry (proposed -> reviewed -> published -> appealed -> upheld or
withdrawn; published -> repaired or expired), as pure functions over dated data (data/lists.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from trafficgov.credit.grade import (
    GRADES,
    LIABILITIES,
    SEVERITIES,
    Accident,
    Based,
    GradeTableError,
    Offence,
    Value,
    at_version,
    catalogue_codes,
    check_no_overlap,
    parse_versions,
)
from trafficgov.errors import FieldError

DATA = Path(__file__).parent / "data"
LIST_NAMES = ("red", "black")
BANDS = ("low", "medium", "high", "insufficient_data")
SUBJECT_KINDS = ("company", "school", "driver", "vehicle")
STATES = ("proposed", "reviewed", "rejected", "published", "appealed", "upheld", "withdrawn", "repaired", "expired")
IN_FORCE_STATES = frozenset({"published", "appealed", "upheld"})  # an appeal does not suspend the entry
TERMINAL_STATES = frozenset({"rejected", "withdrawn", "repaired", "expired"})
ROLES = ("citizen", "company", "clerk", "officer", "legal_reviewer", "supervisor", "partner", "command", "admin", "system")
STATE_LABELS_ZH = {
    "proposed": "拟列入", "reviewed": "已审核", "rejected": "审核不通过", "published": "已公布", "appealed": "异议处理中",
    "upheld": "异议不成立（维持）", "withdrawn": "异议成立（撤销）", "repaired": "信用修复移出", "expired": "期满移出",
}
LIST_LABELS_ZH = {"red": "红名单", "black": "黑名单"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriousBehaviour(Based):
    behaviour: StrictStr


class Criterion(Based):
    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text_zh: StrictStr = Field(min_length=1)
    kind: Literal["grade_in", "band_in", "no_veto_within_days", "veto_within_days", "not_on_list",
                  "serious_offences_at_least", "accidents_at_least"]
    grades: list[Literal["AAA", "AA", "A", "B"]] = []
    bands: list[Literal["low", "medium", "high", "insufficient_data"]] = []
    days: int | None = Field(default=None, ge=1)
    count: int | None = Field(default=None, ge=1)
    on_list: Literal["red", "black"] | None = None
    severity: Literal["property", "injury", "fatal"] | None = None
    min_deaths: int = Field(default=0, ge=0)
    liabilities: list[Literal["full", "main", "equal", "minor"]] = []

    @model_validator(mode="after")
    def _args(self) -> Criterion:
        need = {
            "grade_in": ("grades",), "band_in": ("bands",), "no_veto_within_days": ("days",),
            "veto_within_days": ("days",), "not_on_list": ("on_list",), "serious_offences_at_least": ("count", "days"),
            "accidents_at_least": ("count", "days", "liabilities"),
        }[self.kind]
        for name in need:
            if not getattr(self, name):
                raise ValueError(f"{self.code}: a {self.kind} criterion needs {name}")
        return self


class Measure(Based):
    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text_zh: StrictStr = Field(min_length=1)
    applies_when: StrictStr | None = None  # only when this criterion is met


class Remedy(Based):
    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]*$")
    text_zh: StrictStr = Field(min_length=1)
    at_least: float = Field(gt=0)


class ListDef(_Strict):
    label_zh: StrictStr
    applies_to: list[Literal["company", "school", "driver", "vehicle"]] = Field(min_length=1)
    match: Literal["all", "any"]
    duration_days: Value
    criteria: list[Criterion] = Field(min_length=1)
    measures: list[Measure] = []
    remediation: dict[Literal["company", "school", "driver", "vehicle"], list[Remedy]] = {}


class Transition(Based):
    action: Literal["propose", "approve", "reject", "publish", "appeal", "uphold", "withdraw", "repair", "expire"]
    from_: StrictStr | None = Field(alias="from")
    to: StrictStr
    roles: list[StrictStr] = Field(min_length=1)
    reason_required: bool = False
    by_subject: bool = False
    within_appeal_days: bool = False
    remediation: bool = False
    at_end: bool = False
    lists: list[Literal["red", "black"]] = list(LIST_NAMES)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ListsVersion(_Strict):
    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    serious_behaviours: list[SeriousBehaviour]
    serious_min_order163_points: Value
    lists: dict[Literal["red", "black"], ListDef]
    appeal_days: Value
    transitions: list[Transition]

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def _check(v: ListsVersion, codes: frozenset[str]) -> None:
    where = v.version_id
    for row in v.serious_behaviours:
        if row.behaviour not in codes:
            raise GradeTableError(f"{where}: unknown behaviour {row.behaviour!r} (not in the enforcement catalogue)")
    if set(v.lists) != set(LIST_NAMES):
        raise GradeTableError(f"{where}: lists must define red and black")
    for name, ldef in v.lists.items():
        codes_seen = [c.code for c in ldef.criteria] + [m.code for m in ldef.measures]
        if len(set(codes_seen)) != len(codes_seen):
            raise GradeTableError(f"{where}: {name} repeats a code")
        for m in ldef.measures:
            if m.applies_when and m.applies_when not in {c.code for c in ldef.criteria}:
                raise GradeTableError(f"{where}: {name} measure {m.code} names an unknown criterion {m.applies_when!r}")
    seen: set[tuple[str, str | None]] = set()
    for t in v.transitions:
        if (t.from_ is not None and t.from_ not in STATES) or t.to not in STATES:
            raise GradeTableError(f"{where}: transition {t.action} names an unknown state")
        for role in t.roles:
            if role not in ROLES:
                raise GradeTableError(f"{where}: transition {t.action} names an unknown role {role!r}")
        if (t.action, t.from_) in seen:
            raise GradeTableError(f"{where}: transition {t.action} from {t.from_} given twice")
        seen.add((t.action, t.from_))
        if t.from_ in TERMINAL_STATES:
            raise GradeTableError(f"{where}: transition {t.action} leaves a terminal state {t.from_}")
        if t.remediation and any(not v.lists[name].remediation for name in t.lists):
            raise GradeTableError(f"{where}: repair allowed on a list without remediation rules")


class ListRules:
    """红黑名单规则 — every dated version; `at(as_of)` answers which is in force."""

    def __init__(self, versions: list[ListsVersion], codes: frozenset[str]) -> None:
        for v in versions:
            _check(v, codes)
        self.versions = check_no_overlap(versions, "lists")

    def at(self, as_of: date, version: str | None = None) -> ListsVersion:
        return at_version(self.versions, as_of, version, "红黑名单规则")


def parse_lists(raw: Any, behaviour_codes: Iterable[str] | None = None) -> ListRules:
    versions = parse_versions(raw, ListsVersion, "lists")
    codes = frozenset(behaviour_codes) if behaviour_codes is not None else catalogue_codes()
    return ListRules(versions, codes)


@cache
def list_rules() -> ListRules:
    return parse_lists(yaml.safe_load((DATA / "lists.yaml").read_text(encoding="utf-8")))


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class VetoEvent:
    """A veto item (一票否决) hit on a day, e.g. from GradeResult.veto_items with the event's date."""

    code: str
    on: date


@dataclass(frozen=True)
class SubjectFacts:
    """What the list criteria read about one subject (the caller gathers it: grade, risk band, events)."""

    subject_kind: Literal["company", "school", "driver", "vehicle"]
    subject_id: str
    grade: str | None = None
    band: str | None = None
    vetoes: Sequence[VetoEvent] = ()
    offences: Sequence[Offence] = ()
    accidents: Sequence[Accident] = ()
    lists_in_force: Sequence[str] = ()  # lists with an entry in force now ("red", "black")


@dataclass(frozen=True)
class CriterionMet:
    code: str
    text_zh: str
    basis: str
    default: bool


@dataclass(frozen=True)
class MeasureItem:
    code: str
    text_zh: str
    basis: str
    default: bool


@dataclass(frozen=True)
class ListProposal:
    """拟列入 — a proposal to put a subject on a list; it still needs review (transition `approve`)."""

    list_name: str
    label_zh: str
    subject_kind: str
    subject_id: str
    criteria: tuple[CriterionMet, ...]
    measures: tuple[MeasureItem, ...]
    proposed_on: date
    duration_days: int
    table_version: str
    configurable_default: bool


def _serious(v: ListsVersion, offence: Offence, codes: frozenset[str], name: str) -> bool:
    if offence.behavior is not None and offence.behavior not in codes:
        raise FieldError(f"{name}.behavior", f"未知的违法行为代码：{offence.behavior}", f"unknown behaviour {offence.behavior!r}")
    if offence.behavior in {row.behaviour for row in v.serious_behaviours}:
        return True
    return offence.points is not None and offence.points >= v.serious_min_order163_points.value


def _within(day: date, as_of: date, days: int) -> bool:
    return as_of - timedelta(days=days - 1) <= day <= as_of


def _met(v: ListsVersion, c: Criterion, f: SubjectFacts, as_of: date, codes: frozenset[str]) -> bool:
    if c.kind == "grade_in":
        return f.grade in c.grades
    if c.kind == "band_in":
        return f.band in c.bands
    if c.kind in ("no_veto_within_days", "veto_within_days"):
        hit = any(_within(e.on, as_of, c.days or 0) for e in f.vetoes)
        return hit if c.kind == "veto_within_days" else not hit
    if c.kind == "not_on_list":
        return c.on_list not in f.lists_in_force
    if c.kind == "serious_offences_at_least":
        n = sum(1 for i, o in enumerate(f.offences) if _within(o.on, as_of, c.days or 0) and _serious(v, o, codes, f"offences[{i}]"))
        return n >= (c.count or 0)
    if c.kind == "accidents_at_least":
        # Any `count` such accidents inside a window of `days` ending on or before as_of.
        days = sorted(
            a.on for a in f.accidents
            if a.on <= as_of and a.liability in c.liabilities and (c.severity is None or a.severity == c.severity) and a.deaths >= c.min_deaths
        )
        n = c.count or 0
        return any((days[i + n - 1] - days[i]).days < (c.days or 0) for i in range(len(days) - n + 1))
    raise AssertionError(c.kind)  # pragma: no cover


def _validate_facts(f: SubjectFacts, as_of: date) -> None:
    if f.subject_kind not in SUBJECT_KINDS:
        raise FieldError("subject_kind", "主体类型应为company、school、driver或vehicle", "unknown subject kind")
    if f.grade is not None and f.grade not in GRADES:
        raise FieldError("grade", "信用等级应为AAA、AA、A或B", "unknown grade")
    if f.band is not None and f.band not in BANDS:
        raise FieldError("band", "风险等级应为low、medium、high或insufficient_data", "unknown risk band")
    for name in f.lists_in_force:
        if name not in LIST_NAMES:
            raise FieldError("lists_in_force", "名单应为red或black", "unknown list")
    for i, a in enumerate(f.accidents):
        if a.severity not in SEVERITIES or a.liability not in LIABILITIES:
            raise FieldError(f"accidents[{i}]", "事故等级或责任无效", "bad accident severity or liability")
    for name, records in (("vetoes", f.vetoes), ("offences", f.offences), ("accidents", f.accidents)):
        for i, rec in enumerate(records):
            if rec.on > as_of:
                raise FieldError(f"{name}[{i}].on", "记录日期晚于评定日", f"{name}[{i}] dated after as_of")


def evaluate_lists(facts: SubjectFacts, as_of: date, version: str | None = None, rules: ListRules | None = None,
                   behaviour_codes: frozenset[str] | None = None) -> list[ListProposal]:
    """Which lists the subject should be proposed for on `as_of`, naming each criterion met and its basis.

    Black before red: a subject meeting any black criterion is never proposed for the red list. A list
    the subject is already on (an entry in force) is not proposed again.
    """
    book = rules or list_rules()
    v = book.at(as_of, version)
    codes = behaviour_codes if behaviour_codes is not None else catalogue_codes()
    _validate_facts(facts, as_of)
    out: list[ListProposal] = []
    for name in ("black", "red"):
        ldef = v.lists[name]
        if facts.subject_kind not in ldef.applies_to or name in facts.lists_in_force:
            continue
        met = [c for c in ldef.criteria if _met(v, c, facts, as_of, codes)]
        ok = len(met) == len(ldef.criteria) if ldef.match == "all" else bool(met)
        if not ok or (name == "red" and any(p.list_name == "black" for p in out)):
            continue
        met_codes = {c.code for c in met}
        measures = [m for m in ldef.measures if m.applies_when is None or m.applies_when in met_codes]
        out.append(ListProposal(
            name, ldef.label_zh, facts.subject_kind, facts.subject_id,
            tuple(CriterionMet(c.code, c.text_zh, c.basis_text(), c.default) for c in met),
            tuple(MeasureItem(m.code, m.text_zh, m.basis_text(), m.default) for m in measures),
            as_of, int(ldef.duration_days.value), v.version_id,
            any(c.default for c in met) or any(m.default for m in measures) or ldef.duration_days.default,
        ))
    return out


# ---------------------------------------------------------------- due process


@dataclass(frozen=True)
class Step:
    action: str
    from_state: str | None
    to_state: str
    actor_role: str
    on: date
    reason: str | None = None


@dataclass(frozen=True)
class ListEntry:
    """名单条目 — one subject on one list, with the dates and every step of its due process."""

    list_name: str
    subject_kind: str
    subject_id: str
    state: str
    proposed_on: date
    published_on: date | None = None
    ends_on: date | None = None  # first day no longer in force: published_on + duration_days
    criteria: tuple[str, ...] = ()
    history: tuple[Step, ...] = field(default=())

    @property
    def in_force(self) -> bool:
        return self.state in IN_FORCE_STATES


def new_entry(proposal: ListProposal) -> ListEntry:
    """The entry a proposal opens, before any step (apply `transition(entry, "propose", ...)`)."""
    return ListEntry(proposal.list_name, proposal.subject_kind, proposal.subject_id, "", proposal.proposed_on,
                     criteria=tuple(c.code for c in proposal.criteria))


def transition(entry: ListEntry, action: str, actor_role: str, *, on: date, reason: str | None = None,
               actor_is_subject: bool = False, remediation: Mapping[str, float] | None = None,
               version: str | None = None, rules: ListRules | None = None) -> ListEntry:
    """One due-process step; returns the entry in its new state or raises FieldError naming why not.

    An entry not yet proposed has state "" (see `new_entry`).
    """
    book = rules or list_rules()
    v = book.at(on, version)
    current = entry.state or None
    if current is not None and current not in STATES:
        raise FieldError("state", f"未知的名单状态：{current}", f"unknown state {current!r}")
    if entry.list_name not in LIST_NAMES:
        raise FieldError("list_name", "名单应为red或black", "unknown list")
    candidates = [t for t in v.transitions if t.action == action]
    if not candidates:
        raise FieldError("action", f"未知的操作：{action}", f"unknown action {action!r}")
    rule = next((t for t in candidates if t.from_ == current), None)
    if rule is None:
        raise FieldError("action", f"当前状态（{STATE_LABELS_ZH.get(current or '', '未提出')}）不能执行该操作：{action}",
                         f"{action} is not allowed from state {current}")
    if entry.list_name not in rule.lists:
        raise FieldError("action", f"{LIST_LABELS_ZH[entry.list_name]}不适用该操作：{action}", f"{action} does not apply to the {entry.list_name} list")
    if actor_role not in rule.roles:
        raise FieldError("actor_role", f"角色{actor_role}无权执行该操作", f"role {actor_role} may not {action}")
    if rule.by_subject and not actor_is_subject:
        raise FieldError("actor_role", "只有名单主体本人（单位）可以提出异议", "only the listed subject may appeal")
    if rule.reason_required and not (reason and reason.strip()):
        raise FieldError("reason", "该操作须说明理由", f"{action} needs a reason")
    last = entry.history[-1].on if entry.history else entry.proposed_on
    if on < last:
        raise FieldError("on", "操作日期早于上一步骤", "date before the previous step")
    published_on, ends_on = entry.published_on, entry.ends_on
    if rule.within_appeal_days:
        if published_on is None or (on - published_on).days > v.appeal_days.value:
            raise FieldError("on", f"已超过异议期限（公布后{v.appeal_days.value:g}日）", "appeal period has passed")
    if rule.at_end and (ends_on is None or on < ends_on):
        raise FieldError("on", f"名单有效期至{ends_on}，未到期不能期满移出", "the entry has not reached its end date")
    if rule.remediation:
        _check_remediation(v, entry, remediation or {}, on)
    if rule.to == "published":
        published_on = on
        ends_on = on + timedelta(days=int(v.lists[entry.list_name].duration_days.value))
    step = Step(action, current, rule.to, actor_role, on, reason)
    return replace(entry, state=rule.to, published_on=published_on, ends_on=ends_on, history=(*entry.history, step))


def remediation_required(list_name: str, subject_kind: str, as_of: date, version: str | None = None,
                         rules: ListRules | None = None) -> list[Remedy]:
    """信用修复条件 — what a subject must complete before its entry may be repaired (e.g. 18 class-hours)."""
    v = (rules or list_rules()).at(as_of, version)
    return list(v.lists[list_name].remediation.get(subject_kind, []))  # type: ignore[index]


def _check_remediation(v: ListsVersion, entry: ListEntry, done: Mapping[str, float], on: date) -> None:
    remedies = v.lists[entry.list_name].remediation.get(entry.subject_kind, [])  # type: ignore[call-overload]
    if not remedies:
        raise FieldError("remediation", "该类主体无信用修复规则", "no remediation rules for this subject kind")
    for remedy in remedies:
        if remedy.code == "days_since_entry":
            value = float((on - entry.published_on).days) if entry.published_on else 0.0
        else:
            value = float(done.get(remedy.code, 0))
        if value < remedy.at_least:
            raise FieldError(f"remediation.{remedy.code}", f"修复条件未满足：{remedy.text_zh}须达到{remedy.at_least:g}（现为{value:g}）",
                             f"{remedy.code} {value:g} below {remedy.at_least:g}")


def effective_lists(entries: Iterable[ListEntry], as_of: date) -> list[str]:
    """Lists with an entry in force on `as_of` (published, under appeal or upheld, and not past its end)."""
    return sorted({e.list_name for e in entries if e.in_force and (e.ends_on is None or as_of < e.ends_on)})


__all__ = [
    "IN_FORCE_STATES", "ListEntry", "ListProposal", "ListRules", "STATE_LABELS_ZH", "Step", "SubjectFacts", "VetoEvent",
    "effective_lists", "evaluate_lists", "list_rules", "new_entry", "parse_lists", "remediation_required", "transition",
]

