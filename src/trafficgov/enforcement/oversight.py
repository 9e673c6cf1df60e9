"""执法监督 — pure logic over plain records: the consistency audit (同案不同罚), the 双公示 export of
penalty decisions against companies, and the periodic evaluation of leniency lists (定期评估).

No database, no web: `oversight_service` reads the store into these records; tests build them by hand.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from trafficgov.enforcement.calendar import CalendarNotCovered, HolidayCalendar, add_working_days
from trafficgov.errors import FieldError
from trafficgov.registry.identifiers import validate_uscc

OUTCOME_ZH = {"no_penalty": "不予处罚", "warning": "警告", "fine": "罚款", "fine_and_licence": "罚款并处驾驶证处罚", "referral": "移送追究刑事责任"}
LICENCE_ZH = {"suspend": "暂扣机动车驾驶证", "revoke": "吊销机动车驾驶证"}
PENALTIES = ("warning", "fine", "fine_and_licence")  # 不予处罚 and referral are not administrative penalties
DISCLOSURE_WORKING_DAYS = 7  # facts.md §6: online within 7 working days of the decision


# ---------------------------------------------------------------- consistency audit (同案不同罚)


@dataclass(frozen=True)
class IssuedDecision:
    """签发的决定 — what the audit compares: the facts the benchmark sees and the penalty given."""

    case_id: int
    decision_number: str | None
    behaviour: str
    facts: tuple[Any, ...]  # same tuple = same case for the benchmark (behaviour, tier inputs, history)
    outcome: str
    fine_yuan: int | None
    points: int
    licence_action: str = "none"
    licence_months: int | None = None
    officer: str | None = None
    unit: str | None = None
    issued_at: datetime | None = None
    explanation_zh: str = ""
    deviation_reason: str | None = None
    review_note: str | None = None

    @property
    def penalty(self) -> tuple[Any, ...]:
        return (self.outcome, self.fine_yuan or 0, self.points, self.licence_action, self.licence_months or 0)


def fact_signature(behaviour: str, proposal: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """The facts of a case as the benchmark saw them: the engine's proposal names every rule it applied
    (the region layer's tier row, the measurement band, the vehicle group, the leniency list and the
    history rules), so two cases with the same rule ids and the same proposed penalty had the same tier
    inputs. A case the engine could not propose for has no signature (it is not compared)."""
    if not proposal:
        return None
    return (
        behaviour,
        tuple(sorted(proposal.get("rule_ids") or [])),
        proposal.get("outcome"),
        proposal.get("fine_yuan") or 0,
        proposal.get("points") or 0,
        proposal.get("licence_action") or "none",
        proposal.get("licence_months") or 0,
    )


@dataclass
class Rate:
    key: str
    decisions: int = 0  # decisions in groups of two or more comparable decisions
    divergent: int = 0  # of those, the ones whose penalty differs from the group's usual one

    @property
    def rate(self) -> float:
        return round(self.divergent / self.decisions, 4) if self.decisions else 0.0


@dataclass
class DivergentPair:
    """一对同案不同罚 — the group's usual decision and one that differs, both with their reasons."""

    behaviour: str
    facts: tuple[Any, ...]
    usual: IssuedDecision
    other: IssuedDecision


@dataclass
class ConsistencyReport:
    groups: int = 0  # fact groups with two or more decisions
    inconsistent_groups: int = 0
    decisions: int = 0
    divergent: int = 0
    by_officer: list[Rate] = field(default_factory=list)
    by_unit: list[Rate] = field(default_factory=list)
    pairs: list[DivergentPair] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return round(self.divergent / self.decisions, 4) if self.decisions else 0.0

    def as_dict(self) -> dict[str, Any]:
        def dec(d: IssuedDecision) -> dict[str, Any]:
            out = asdict(d)
            out["facts"] = list(d.facts)
            out["issued_at"] = d.issued_at.isoformat() if d.issued_at else None
            return out

        return {
            "groups": self.groups,
            "inconsistent_groups": self.inconsistent_groups,
            "decisions": self.decisions,
            "divergent": self.divergent,
            "rate": self.rate,
            "by_officer": [{"officer": r.key, "decisions": r.decisions, "divergent": r.divergent, "rate": r.rate} for r in self.by_officer],
            "by_unit": [{"unit": r.key, "decisions": r.decisions, "divergent": r.divergent, "rate": r.rate} for r in self.by_unit],
            "pairs": [{"behaviour": p.behaviour, "usual": dec(p.usual), "other": dec(p.other)} for p in self.pairs],
        }


def consistency_audit(decisions: Iterable[IssuedDecision], *, max_pairs: int = 500) -> ConsistencyReport:
    """同案不同罚 — group issued decisions by their facts; in a group of two or more, the most common
    penalty is the usual one (ties: the earliest issued) and every decision with another penalty is
    divergent and is listed paired with the group's earliest usual decision. Rates per officer and per
    unit are divergent / compared decisions."""
    groups: dict[tuple[Any, ...], list[IssuedDecision]] = defaultdict(list)
    for d in decisions:
        groups[d.facts].append(d)
    report = ConsistencyReport()
    officers: dict[str, Rate] = {}
    units: dict[str, Rate] = {}
    for facts, members in groups.items():
        if len(members) < 2:
            continue
        members.sort(key=lambda d: (d.issued_at or datetime.min, d.case_id))
        counts = Counter(d.penalty for d in members)
        first_seen = {p: i for i, p in reversed(list(enumerate(d.penalty for d in members)))}
        usual_penalty = max(counts, key=lambda p: (counts[p], -first_seen[p]))
        usual = next(d for d in members if d.penalty == usual_penalty)
        report.groups += 1
        report.inconsistent_groups += 1 if len(counts) > 1 else 0
        for d in members:
            diverges = d.penalty != usual_penalty
            report.decisions += 1
            report.divergent += diverges
            for table, key in ((officers, d.officer or "—"), (units, d.unit or "—")):
                rate = table.setdefault(key, Rate(key))
                rate.decisions += 1
                rate.divergent += diverges
            if diverges and len(report.pairs) < max_pairs:
                report.pairs.append(DivergentPair(d.behaviour, facts, usual, d))
    order = lambda r: (-r.rate, -r.divergent, r.key)  # noqa: E731
    report.by_officer = sorted(officers.values(), key=order)
    report.by_unit = sorted(units.values(), key=order)
    return report


# ---------------------------------------------------------------- 双公示 (public disclosure)


@dataclass(frozen=True)
class CompanyDecision:
    """A penalty decision against a company as the store keeps it."""

    decision_number: str
    counterparty: str  # the owner's id as stored; a USCC for a company
    behaviour: str
    behaviour_label: str
    occurred_at: datetime
    decided_on: date
    outcome: str
    fine_yuan: int | None
    points: int
    licence_action: str
    licence_months: int | None
    legal_basis: Sequence[str]
    authority: str
    place: str = ""


DISCLOSURE_FIELDS = (
    "decision_number", "penalty_name", "penalty_category", "cause", "legal_basis", "counterparty_code",
    "result", "authority", "decision_date", "due_date", "overdue",
)
DISCLOSURE_HEADERS_ZH = {
    "decision_number": "行政处罚决定书文号", "penalty_name": "处罚名称", "penalty_category": "处罚类别",
    "cause": "处罚事由", "legal_basis": "处罚依据", "counterparty_code": "行政相对人代码（统一社会信用代码）",
    "result": "处罚结果", "authority": "处罚机关", "decision_date": "处罚决定日期", "due_date": "公示期限",
    "overdue": "是否超期",
}


@dataclass(frozen=True)
class DisclosureRow:
    decision_number: str
    penalty_name: str
    penalty_category: str
    cause: str
    legal_basis: str
    counterparty_code: str
    result: str
    authority: str
    decision_date: date
    due_date: date | None  # None: the holiday calendar does not cover the period
    overdue: bool


def is_uscc(value: str | None) -> bool:
    if not value or len(value) != 18:
        return False
    try:
        validate_uscc(value)
    except FieldError:
        return False
    return True


def _category(d: CompanyDecision) -> str:
    parts = []
    if d.outcome == "warning":
        parts.append("警告")
    if d.fine_yuan:
        parts.append("罚款")
    if d.licence_action in LICENCE_ZH:
        parts.append(LICENCE_ZH[d.licence_action])
    return "、".join(parts) or OUTCOME_ZH.get(d.outcome, d.outcome)


def _result(d: CompanyDecision) -> str:
    parts = []
    if d.outcome == "warning":
        parts.append("警告")
    if d.fine_yuan:
        parts.append(f"罚款{d.fine_yuan}元")
    if d.licence_action == "suspend" and d.licence_months:
        parts.append(f"暂扣机动车驾驶证{d.licence_months}个月")
    elif d.licence_action == "revoke":
        parts.append("吊销机动车驾驶证")
    if d.points:
        parts.append(f"记{d.points}分（由实际驾驶人承担）")
    return "，".join(parts) or OUTCOME_ZH.get(d.outcome, d.outcome)


def disclosure_rows(decisions: Iterable[CompanyDecision], as_of: date, calendar: HolidayCalendar) -> list[DisclosureRow]:
    """双公示 — the penalty decisions against companies (counterparty a valid USCC, outcome a penalty),
    each due online within 7 working days of the decision day; overdue once `as_of` is past the due day."""
    rows = []
    for d in decisions:
        if d.outcome not in PENALTIES or not is_uscc(d.counterparty):
            continue
        try:
            due: date | None = add_working_days(d.decided_on, DISCLOSURE_WORKING_DAYS, calendar)
        except CalendarNotCovered:
            due = None
        place = f"在{d.place}" if d.place else ""
        rows.append(
            DisclosureRow(
                decision_number=d.decision_number,
                penalty_name=f"对{d.behaviour_label}的行政处罚",
                penalty_category=_category(d),
                cause=f"该单位所属机动车于{d.occurred_at.strftime('%Y年%m月%d日')}{place}有{d.behaviour_label}的违法行为",
                legal_basis="；".join(d.legal_basis),
                counterparty_code=d.counterparty,
                result=_result(d),
                authority=d.authority,
                decision_date=d.decided_on,
                due_date=due,
                overdue=due is not None and as_of > due,
            )
        )
    rows.sort(key=lambda r: (r.decision_date, r.decision_number))
    return rows


def _plain(row: DisclosureRow) -> dict[str, Any]:
    out = asdict(row)
    out["decision_date"] = row.decision_date.isoformat()
    out["due_date"] = row.due_date.isoformat() if row.due_date else None
    return out


def disclosure_json(rows: Sequence[DisclosureRow]) -> str:
    return json.dumps([_plain(r) for r in rows], ensure_ascii=False, indent=2)


def disclosure_csv(rows: Sequence[DisclosureRow], *, chinese_headers: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([DISCLOSURE_HEADERS_ZH[f] if chinese_headers else f for f in DISCLOSURE_FIELDS])
    for row in rows:
        plain = _plain(row)
        plain["overdue"] = "是" if row.overdue else "否"
        writer.writerow(["" if plain[f] is None else plain[f] for f in DISCLOSURE_FIELDS])
    return buffer.getvalue()


# ---------------------------------------------------------------- leniency evaluation (定期评估)


@dataclass(frozen=True)
class ViolationRecord:
    behaviour: str
    occurred_at: datetime
    outcome: str  # no_penalty, warning (首违警告 lists), fine, fine_and_licence, …
    plate: str | None = None  # plate type + number: the vehicle
    driver: str | None = None  # the driver's id number


@dataclass(frozen=True)
class AccidentRecord:
    occurred_at: datetime
    plates: frozenset[str]
    drivers: frozenset[str]


def plate_key(plate_type: str | None, plate_number: str | None) -> str | None:
    return f"{plate_type or ''}:{plate_number}" if plate_number else None


def accidents_from_records(records: Iterable[Mapping[str, Any]]) -> list[AccidentRecord]:
    """The demo city's accidents.jsonl records (already parsed) as accident records; a record without
    a valid time is skipped."""
    out = []
    for rec in records:
        try:
            at = datetime.fromisoformat(str(rec["occurred_at"]))
        except (KeyError, ValueError):
            continue
        if at.tzinfo is None:
            continue
        parties = [p for p in rec.get("parties") or [] if isinstance(p, Mapping)]
        plates = frozenset(k for p in parties if (k := plate_key(p.get("plate_type"), p.get("plate_number"))))
        drivers = frozenset(str(p["driver_id"]) for p in parties if p.get("driver_id"))
        out.append(AccidentRecord(at, plates, drivers))
    return out


def violations_from_records(records: Iterable[Mapping[str, Any]]) -> list[ViolationRecord]:
    """Violation records (the demo's violations.csv rows, or rows the service builds) as plain records."""
    out = []
    for rec in records:
        try:
            at = datetime.fromisoformat(str(rec["occurred_at"]))
        except (KeyError, ValueError):
            continue
        if at.tzinfo is None or not rec.get("behavior"):
            continue
        out.append(
            ViolationRecord(
                behaviour=str(rec["behavior"]),
                occurred_at=at,
                outcome=str(rec.get("outcome") or "fine"),
                plate=plate_key(rec.get("plate_type"), rec.get("plate_number")),
                driver=str(rec["driver_id"]) if rec.get("driver_id") else None,
            )
        )
    return out


@dataclass
class BehaviourStats:
    behaviour: str
    label_zh: str
    on_list: bool
    frequency: int = 0
    lenient: int = 0
    fined: int = 0
    accidents_after_lenient: int = 0
    accidents_after_fine: int = 0
    repeats_after_lenient: int = 0
    repeats_after_fine: int = 0
    recommendation: str = "keep"  # keep, remove, add, none, insufficient_data
    reason_zh: str = ""

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def accident_rate_lenient(self) -> float | None:
        return self._rate(self.accidents_after_lenient, self.lenient)

    @property
    def accident_rate_fine(self) -> float | None:
        return self._rate(self.accidents_after_fine, self.fined)

    @property
    def repeat_rate_lenient(self) -> float | None:
        return self._rate(self.repeats_after_lenient, self.lenient)

    @property
    def repeat_rate_fine(self) -> float | None:
        return self._rate(self.repeats_after_fine, self.fined)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("accident_rate_lenient", "accident_rate_fine", "repeat_rate_lenient", "repeat_rate_fine"):
            out[name] = getattr(self, name)
        return out


@dataclass
class LeniencyReport:
    list_id: str | None
    outcome: str | None
    window_days: int
    period_from: date | None
    period_to: date
    accidents: int
    violations: int
    behaviours: list[BehaviourStats]

    def as_dict(self) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "outcome": self.outcome,
            "window_days": self.window_days,
            "period_from": self.period_from.isoformat() if self.period_from else None,
            "period_to": self.period_to.isoformat(),
            "accidents": self.accidents,
            "violations": self.violations,
            "behaviours": [b.as_dict() for b in self.behaviours],
            "recommend_add": [b.behaviour for b in self.behaviours if b.recommendation == "add"],
            "recommend_remove": [b.behaviour for b in self.behaviours if b.recommendation == "remove"],
        }


@dataclass(frozen=True)
class Thresholds:
    """When the report recommends a change (the legal reviewer decides; nothing is written)."""

    min_sample: int = 20  # lenient and fined outcomes each, before rates are compared
    repeat_margin: float = 0.10  # leniency's repeat rate above the fine's by more than this -> remove
    accident_margin: float = 0.02  # accidents after leniency above after a fine by more than this -> remove
    add_max_accident_rate: float = 0.01  # floor of the accident rate under which an unlisted behaviour is a candidate


def _by_party(violations: Sequence[ViolationRecord]) -> dict[str, list[ViolationRecord]]:
    index: dict[str, list[ViolationRecord]] = defaultdict(list)
    for v in violations:
        for key in {f"p:{v.plate}" if v.plate else None, f"d:{v.driver}" if v.driver else None} - {None}:
            index[key].append(v)  # type: ignore[index]
    for items in index.values():
        items.sort(key=lambda v: v.occurred_at)
    return index


def evaluate_leniency(
    listed: Mapping[str, str],
    violations: Iterable[ViolationRecord],
    accidents: Iterable[AccidentRecord],
    *,
    as_of: date,
    window_days: int = 90,
    lenient_outcomes: Sequence[str] = ("no_penalty", "warning"),
    excluded: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    list_id: str | None = None,
    list_outcome: str | None = None,
    thresholds: Thresholds = Thresholds(),
) -> LeniencyReport:
    """定期评估 — per behaviour: how often it occurs, how often it was let off (leniency) or fined, the
    share followed within `window_days` by an accident of the same driver or vehicle, and the share
    followed by the same behaviour again (repeat). `listed` maps the list's behaviours to their labels.

    A listed behaviour is recommended for removal when, with enough data, leniency is followed by more
    repeats or accidents than a fine; an unlisted behaviour (not excluded by the list) for addition when
    it is frequent and accidents follow its fines no more often than they follow leniency on the list. Only violations whose window has closed by
    `as_of` are counted."""
    labels = labels or {}
    excluded_set = set(excluded)
    window = timedelta(days=window_days)
    counted = [v for v in violations if v.occurred_at.date() + window <= as_of]
    accidents = list(accidents)
    acc_index: dict[str, list[datetime]] = defaultdict(list)
    for a in accidents:
        for key in [f"p:{p}" for p in a.plates] + [f"d:{d}" for d in a.drivers]:
            acc_index[key].append(a.occurred_at)
    by_party = _by_party(counted)
    stats: dict[str, BehaviourStats] = {}
    for b, label in listed.items():
        stats[b] = BehaviourStats(b, label or labels.get(b, b), True)
    for v in counted:
        s = stats.get(v.behaviour)
        if s is None:
            s = stats[v.behaviour] = BehaviourStats(v.behaviour, labels.get(v.behaviour, v.behaviour), False)
        s.frequency += 1
        lenient = v.outcome in lenient_outcomes
        fined = v.outcome in ("fine", "fine_and_licence")
        if not (lenient or fined):
            continue
        keys = [k for k in (f"p:{v.plate}" if v.plate else None, f"d:{v.driver}" if v.driver else None) if k]
        end = v.occurred_at + window
        accident = any(v.occurred_at < t <= end for k in keys for t in acc_index.get(k, ()))
        repeat = any(o is not v and o.behaviour == v.behaviour and v.occurred_at < o.occurred_at <= end for k in keys for o in by_party.get(k, ()))
        if lenient:
            s.lenient += 1
            s.accidents_after_lenient += accident
            s.repeats_after_lenient += repeat
        else:
            s.fined += 1
            s.accidents_after_fine += accident
            s.repeats_after_fine += repeat
    # an unlisted behaviour is as safe as the list when accidents follow its fines no more often than
    # they follow leniency on the listed behaviours (pooled over those with enough data)
    pooled = [s for s in stats.values() if s.on_list and s.lenient >= thresholds.min_sample]
    lenient_total = sum(s.lenient for s in pooled)
    baseline = sum(s.accidents_after_lenient for s in pooled) / lenient_total if lenient_total else 0.0
    add_limit = max(baseline, thresholds.add_max_accident_rate)
    for s in stats.values():
        _recommend(s, excluded_set, thresholds, add_limit)
    ordered = sorted(stats.values(), key=lambda s: (not s.on_list, s.recommendation not in ("add", "remove"), -s.frequency, s.behaviour))
    period_from = min((v.occurred_at.date() for v in counted), default=None)
    return LeniencyReport(list_id, list_outcome, window_days, period_from, as_of - window, len(accidents), len(counted), ordered)


def _recommend(s: BehaviourStats, excluded: set[str], t: Thresholds, add_limit: float) -> None:
    if s.on_list:
        if s.lenient < t.min_sample or s.fined < t.min_sample:
            s.recommendation, s.reason_zh = "insufficient_data", f"从宽处理{s.lenient}起、罚款{s.fined}起，样本不足{t.min_sample}起，暂不评价"
            return
        repeat_gap = (s.repeat_rate_lenient or 0) - (s.repeat_rate_fine or 0)
        accident_gap = (s.accident_rate_lenient or 0) - (s.accident_rate_fine or 0)
        if repeat_gap > t.repeat_margin:
            s.recommendation, s.reason_zh = "remove", f"从宽处理后再犯率高出罚款后{repeat_gap:.1%}，建议移出清单"
        elif accident_gap > t.accident_margin:
            s.recommendation, s.reason_zh = "remove", f"从宽处理后肇事率高出罚款后{accident_gap:.1%}，建议移出清单"
        else:
            s.recommendation, s.reason_zh = "keep", "从宽处理后再犯率、肇事率不高于罚款后，建议保留"
        return
    if s.behaviour in excluded:
        s.recommendation, s.reason_zh = "none", "清单明确排除的违法行为"
    elif s.fined >= t.min_sample and (s.accident_rate_fine or 0) <= add_limit:
        s.recommendation, s.reason_zh = (
            "add",
            f"罚款{s.fined}起，其后肇事率{(s.accident_rate_fine or 0):.1%}，不高于清单内行为从宽处理后的{add_limit:.1%}，可考虑纳入清单",
        )
    else:
        s.recommendation, s.reason_zh = "none", ""
