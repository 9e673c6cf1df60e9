"""执法监督 — pure logic over plain records: the consistency audit (同案不同罚), the 双公示 export of
penalty decisions against companies with their publication record, the periodic evaluation of leniency
lists (定期评估) and the new dated list version a legal reviewer builds from it.

No database, no web: `oversight_service` reads the store into these records; tests build them by hand.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import yaml

from trafficgov.enforcement.calendar import CalendarNotCovered, HolidayCalendar, add_working_days
from trafficgov.enforcement.decide import OUTCOME_ZH
from trafficgov.enforcement.intake import local_day
from trafficgov.errors import FieldError
from trafficgov.registry.identifiers import validate_uscc

LICENCE_ZH = {"suspend": "暂扣机动车驾驶证", "revoke": "吊销机动车驾驶证"}
LICENCE_ACTION_ZH = {"none": "不涉及驾驶证", **LICENCE_ZH}
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
    behaviour_labels: dict[str, str] = field(default_factory=dict)  # code -> 违法行为名称 (the rulebook's catalogue)

    @property
    def rate(self) -> float:
        return round(self.divergent / self.decisions, 4) if self.decisions else 0.0

    def behaviour_zh(self, code: str) -> str:
        return self.behaviour_labels.get(code, code)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON; every code keeps its field and gains a `*_zh` label beside it."""

        def dec(d: IssuedDecision) -> dict[str, Any]:
            out = asdict(d)
            out["facts"] = list(d.facts)
            out["issued_at"] = d.issued_at.isoformat() if d.issued_at else None
            out["behaviour_zh"] = self.behaviour_zh(d.behaviour)
            out["outcome_zh"] = outcome_zh(d.outcome)
            out["licence_action_zh"] = licence_action_zh(d.licence_action)
            out["penalty_zh"] = penalty_zh(d)
            return out

        return {
            "groups": self.groups,
            "inconsistent_groups": self.inconsistent_groups,
            "decisions": self.decisions,
            "divergent": self.divergent,
            "rate": self.rate,
            "by_officer": [{"officer": r.key, "decisions": r.decisions, "divergent": r.divergent, "rate": r.rate} for r in self.by_officer],
            "by_unit": [{"unit": r.key, "decisions": r.decisions, "divergent": r.divergent, "rate": r.rate} for r in self.by_unit],
            "pairs": [{"behaviour": p.behaviour, "behaviour_zh": self.behaviour_zh(p.behaviour), "usual": dec(p.usual), "other": dec(p.other)} for p in self.pairs],
        }


def outcome_zh(code: str | None) -> str:
    return OUTCOME_ZH.get(code or "", code or "—")


def licence_action_zh(code: str | None) -> str:
    return LICENCE_ACTION_ZH.get(code or "none", code or "—")


def penalty_zh(d: IssuedDecision) -> str:
    """The penalty in words: 罚款200元，记6分，暂扣机动车驾驶证3个月."""
    return penalty_words(d.outcome, d.fine_yuan, d.points, d.licence_action, d.licence_months)


def penalty_words(outcome: str, fine_yuan: int | None, points: int | None, licence_action: str | None = None, licence_months: int | None = None) -> str:
    """A decision's penalty in words (see `penalty_zh`)."""
    parts = [outcome_zh(outcome)] if outcome not in ("fine", "fine_and_licence") or not fine_yuan else []
    if fine_yuan:
        parts.append(f"罚款{fine_yuan}元")
    if points:
        parts.append(f"记{points}分")
    if licence_action == "suspend":
        parts.append(f"暂扣机动车驾驶证{licence_months}个月" if licence_months else LICENCE_ZH["suspend"])
    elif licence_action == "revoke":
        parts.append(LICENCE_ZH["revoke"])
    return "，".join(parts)


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
    case_id: int = 0
    published_at: datetime | None = None  # when it went online (Beijing time), if recorded
    published_on: date | None = None  # that day, as the due day is counted
    channel: str | None = None


# The export's columns are a public contract: new columns are only ever added at the end.
DISCLOSURE_FIELDS = (
    "decision_number", "penalty_name", "penalty_category", "cause", "legal_basis", "counterparty_code",
    "result", "authority", "decision_date", "due_date", "overdue", "published_at", "status",
)
DISCLOSURE_HEADERS_ZH = {
    "decision_number": "行政处罚决定书文号", "penalty_name": "处罚名称", "penalty_category": "处罚类别",
    "cause": "处罚事由", "legal_basis": "处罚依据", "counterparty_code": "行政相对人代码（统一社会信用代码）",
    "result": "处罚结果", "authority": "处罚机关", "decision_date": "处罚决定日期", "due_date": "公示期限",
    "overdue": "是否超期", "published_at": "公示时间", "status": "公示状态",
}
# 公示状态 — published by the due day, published after it, not yet published and still in time, not
# published and past the due day; `published` where the holiday calendar cannot give the due day.
DISCLOSURE_STATUS_ZH = {
    "published_on_time": "已按期公示", "published_late": "逾期公示", "published": "已公示",
    "due": "待公示", "overdue": "超期未公示",
}
UNPUBLISHED = ("due", "overdue")
# 公示渠道 — where a decision goes online (facts.md §6: collected to 信用中国).
DISCLOSURE_CHANNELS_ZH = {
    "credit_china_shandong": "信用中国（山东）",
    "credit_china": "信用中国",
    "bureau_website": "本局门户网站",
    "government_portal": "本级人民政府门户网站",
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
    overdue: bool  # not published by the due day (published late, or still unpublished after it)
    published_at: datetime | None = None
    status: str = "due"
    case_id: int = 0
    channel: str | None = None

    @property
    def status_zh(self) -> str:
        return DISCLOSURE_STATUS_ZH.get(self.status, self.status)

    @property
    def publishable(self) -> bool:
        return self.status in UNPUBLISHED


def disclosure_status(due: date | None, published_on: date | None, as_of: date) -> str:
    """公示状态 on `as_of`: a publication recorded after `as_of` does not count yet (a past day's view)."""
    if published_on is not None and published_on <= as_of:
        if due is None:
            return "published"
        return "published_on_time" if published_on <= due else "published_late"
    return "overdue" if due is not None and as_of > due else "due"


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
    each due online within 7 working days of the decision day; overdue when it was not published by the
    due day (published late, or still unpublished once `as_of` is past the due day)."""
    rows = []
    for d in decisions:
        if d.outcome not in PENALTIES or not is_uscc(d.counterparty):
            continue
        try:
            due: date | None = add_working_days(d.decided_on, DISCLOSURE_WORKING_DAYS, calendar)
        except CalendarNotCovered:
            due = None
        place = f"在{d.place}" if d.place else ""
        status = disclosure_status(due, d.published_on, as_of)
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
                overdue=status in ("overdue", "published_late"),
                published_at=d.published_at if status not in UNPUBLISHED else None,
                status=status,
                case_id=d.case_id,
                channel=d.channel if status not in UNPUBLISHED else None,
            )
        )
    rows.sort(key=lambda r: (r.decision_date, r.decision_number))
    return rows


def disclosure_plain(row: DisclosureRow) -> dict[str, Any]:
    out = asdict(row)
    out["decision_date"] = row.decision_date.isoformat()
    out["due_date"] = row.due_date.isoformat() if row.due_date else None
    out["published_at"] = row.published_at.isoformat() if row.published_at else None
    out["status_zh"] = row.status_zh
    out["channel_zh"] = DISCLOSURE_CHANNELS_ZH.get(row.channel, row.channel) if row.channel else None
    return out


def disclosure_json(rows: Sequence[DisclosureRow]) -> str:
    return json.dumps([disclosure_plain(r) for r in rows], ensure_ascii=False, indent=2)


def disclosure_csv(rows: Sequence[DisclosureRow], *, chinese_headers: bool = True) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([DISCLOSURE_HEADERS_ZH[f] if chinese_headers else f for f in DISCLOSURE_FIELDS])
    for row in rows:
        plain = disclosure_plain(row)
        plain["overdue"] = "是" if row.overdue else "否"
        plain["status"] = row.status_zh if chinese_headers else row.status
        writer.writerow(["" if plain[f] is None else plain[f] for f in DISCLOSURE_FIELDS])
    return buffer.getvalue()


def check_publication(channel: str, published_at: datetime, now: datetime) -> None:
    """A publication record must name a known channel and a time that has already come."""
    if channel not in DISCLOSURE_CHANNELS_ZH:
        raise FieldError("channel", f"公示渠道须为：{'、'.join(DISCLOSURE_CHANNELS_ZH.values())}", f"channel must be one of {sorted(DISCLOSURE_CHANNELS_ZH)}")
    if published_at.tzinfo is None:
        raise FieldError("published_at", "公示时间须带时区", "published_at needs a UTC offset")
    if not 2000 <= published_at.year <= 2100:
        raise FieldError("published_at", "公示时间须在2000年至2100年之间", "published_at must lie between 2000 and 2100")
    if published_at > now:
        raise FieldError("published_at", "公示时间不能晚于当前时间", "published_at lies in the future")


def check_published_after_decision(decision_number: str, decided_on: date, published_on: date) -> None:
    if published_on < decided_on:
        raise FieldError("published_at", f"{decision_number}的公示时间早于处罚决定日期", f"{decision_number}: published before the decision day")


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
    rule_id: str | None = None  # the list version in force (the base of a new version)
    region: str | None = None  # the layer the list belongs to

    def as_dict(self) -> dict[str, Any]:
        return {
            "list_id": self.list_id,
            "rule_id": self.rule_id,
            "region": self.region,
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
    counted = [v for v in violations if local_day(v.occurred_at) + window <= as_of]  # Beijing days, whatever the offset (the store keeps UTC)
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
    period_from = min((local_day(v.occurred_at) for v in counted), default=None)
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


# ---------------------------------------------------------------- new dated list version (清单新版本)

_VERSION_SUFFIX = re.compile(r"\.v\d{4}-\d{2}-\d{2}$")
MAX_REASON = 2000


@dataclass(frozen=True)
class LeniencyVersion:
    """清单新版本（草案）— the region file with the list in force closed the day before `effective_from`
    and a copy of it, with the items changed, in force from that day. Not loaded by the engine: it takes
    effect once published (公布, APL Art. 34) and shipped in the rule data."""

    region: str | None
    list_id: str
    base_rule_id: str
    new_rule_id: str
    effective_from: date
    added: tuple[str, ...]
    removed: tuple[str, ...]
    reason: str
    yaml_text: str


def new_rule_id(base_rule_id: str, effective_from: date) -> str:
    """jn.first_warning.demo -> jn.first_warning.demo.v2027-01-01 (an earlier version suffix is replaced)."""
    return f"{_VERSION_SUFFIX.sub('', base_rule_id)}.v{effective_from.isoformat()}"


def _codes(values: Iterable[str], name: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        code = str(value).strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", code):
            raise FieldError(name, f"违法行为代码“{code}”格式不正确", f"{name}: {code!r} is not a behaviour code")
        if code not in out:
            out.append(code)
    return tuple(out)


def build_leniency_version(
    file_text: str,
    *,
    base_rule_id: str,
    effective_from: date,
    add: Iterable[str],
    remove: Iterable[str],
    reason: str,
    today: date,
    measured: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    accepted_by: str = "",
) -> LeniencyVersion:
    """Build the new version of a leniency list in the text of its region file.

    Refused (FieldError naming the field): an effective day in the past or not after the base version's
    start, no change, a behaviour both added and removed, adding one already listed or excluded by the
    list's conditions or one measured in bands (speeding, overload …: its band must be written by hand),
    removing one not listed, no reason. Everything else the loader checks (unknown behaviour, an empty
    list, overlapping dates) is checked by loading the result, as on startup."""
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", "请填写调整理由（评估结论）", "reason is required")
    if len(reason) > MAX_REASON:
        raise FieldError("reason", f"调整理由不超过{MAX_REASON}字", f"reason longer than {MAX_REASON} characters")
    if effective_from < today:
        raise FieldError("effective_from", "新版本生效日期不能早于今天（清单须先公布后施行）", "effective_from lies in the past")
    added, removed = _codes(add, "add"), _codes(remove, "remove")
    if not added and not removed:
        raise FieldError("add", "请至少选择一项纳入或移出的违法行为", "nothing added or removed")
    if both := sorted(set(added) & set(removed)):
        raise FieldError("add", f"同一违法行为不能既纳入又移出：{'、'.join(both)}", f"added and removed: {both}")
    try:
        doc = yaml.safe_load(file_text)
    except yaml.YAMLError as exc:
        raise FieldError("base_rule_id", "清单所在规则文件无法解析", f"region file is not YAML: {exc}") from exc
    rows = doc.get("leniency") if isinstance(doc, dict) else None
    index = next((i for i, r in enumerate(rows or []) if isinstance(r, dict) and r.get("rule_id") == base_rule_id), None)
    if index is None:
        raise FieldError("base_rule_id", f"规则文件中没有清单版本{base_rule_id}", f"no leniency row {base_rule_id} in the file")
    base = rows[index]
    base_from = _as_date(base.get("effective_from"))
    base_to = _as_date(base.get("effective_to")) if base.get("effective_to") is not None else None
    if effective_from <= base_from:
        raise FieldError("effective_from", f"新版本生效日期须晚于现行版本的施行日期（{base_from.isoformat()}）", "effective_from must follow the base version's start")
    if base_to is not None and effective_from > base_to:
        raise FieldError("effective_from", f"现行版本于{base_to.isoformat()}失效，新版本生效日期须在此之前", "the base version ends before effective_from")
    listed = [str(item.get("behaviour")) for item in base.get("items") or []]
    conditions = base.get("conditions") or {}
    excluded = set(conditions.get("excluded_behaviours") or [])
    measured_set = set(measured)
    for code in added:
        if code in listed:
            raise FieldError("add", f"{code}已在清单中", f"{code} is already listed")
        if code in excluded:
            raise FieldError("add", f"{code}为清单明确排除的违法行为，须先修改适用条件", f"{code} is excluded by the list's conditions")
        if code in measured_set:
            raise FieldError("add", f"{code}须按测量值区间列入（如超速不足百分之十），请在规则文件中写明区间", f"{code} is measured: write its band in the rule file")
    for code in removed:
        if code not in listed:
            raise FieldError("remove", f"{code}不在清单中", f"{code} is not listed")
    new_id = new_rule_id(base_rule_id, effective_from)
    items = [item for item in base.get("items") or [] if item.get("behaviour") not in removed] + [{"behaviour": code} for code in added]
    named = lambda codes: "、".join(f"{(labels or {}).get(c, c)}（{c}）" for c in codes)  # noqa: E731
    changes = "；".join(part for part in (f"纳入{named(added)}" if added else "", f"移出{named(removed)}" if removed else "") if part)
    new = _dated({**base, "rule_id": new_id, "items": items, "note": f"定期评估调整（{changes}）：{reason}"}, effective_from, base_to)
    rows[index] = _dated(base, base_from, effective_from - timedelta(days=1))
    rows.insert(index + 1, new)
    header = _leading_comments(file_text)
    header.append(f"# {new_id}: 定期评估形成的新版本草案（{changes}），{accepted_by or '法制审核人员'}接受；公布并随规则数据发布后施行。")
    text = "\n".join(header) + "\n" + yaml.dump(doc, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, default_flow_style=None, width=200)
    return LeniencyVersion(
        region=str(doc.get("region")) if doc.get("region") is not None else None,
        list_id=str(base.get("list_id")),
        base_rule_id=base_rule_id,
        new_rule_id=new_id,
        effective_from=effective_from,
        added=added,
        removed=removed,
        reason=reason,
        yaml_text=text,
    )


class _PlainDumper(yaml.SafeDumper):
    """Writes a shared value out twice rather than as an anchor and alias: a rule file is read by people."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dated(row: Mapping[str, Any], start: date, end: date | None) -> dict[str, Any]:
    """The row with its dates set, written right after its ids as in the shipped files."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("effective_from", "effective_to"):
            continue
        out[key] = value
        if key == "list_id":
            out["effective_from"] = start
            if end is not None:
                out["effective_to"] = end
    if "effective_from" not in out:
        out["effective_from"] = start
        if end is not None:
            out["effective_to"] = end
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _leading_comments(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        out.append(line)
    return out
