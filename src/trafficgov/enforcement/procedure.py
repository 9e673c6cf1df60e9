"""处罚程序 — general procedure, prior notice (告知), statement of one's case (陈述申辩), hearing (听证) and
payment with the late surcharge (加处罚款), as pure functions over dated data (data/procedure.yaml).

- ProcReg Art. 52: a warning or a fine up to 200 yuan without licence measure -> simple procedure;
  above, or with a licence measure -> general procedure, which needs a prior notice (APL Arts. 44-45,
  62): facts, grounds, the intended penalty and the right to state one's case, answered by the officer.
- APL Art. 63: a hearing is offered for a large fine (the region's threshold, 以上 inclusive) and for
  revoking a licence; APL Art. 64: asked for within 5 (working) days of the notice.
- APL Art. 64: the hearing is notified at least 7 (working) days before it is held, presided over by
  someone who did not investigate the case, in public unless a secret or privacy is at stake; APL Art.
  65: the decision is made on the minutes.
- APL Art. 67: the fine is paid within 15 days of receiving the decision; APL Art. 72: every day late
  adds 3% of the fine, the surcharge never more than the fine.
- APL Art. 66 para 2: a party in real financial difficulty may, on application and with approval, defer
  (暂缓) the fine or pay it in instalments (分期); the limits of a plan are the region's data. Under a plan
  the surcharge runs per instalment (the platform's reading, see `plan_owed`); APL Art. 72 para 2: the
  time to apply to the court counts from the end of the plan (`PlanOwed.end`).
- ProcReg Art. 54: a vehicle with five or more records not handled within 30 days -> a notice by app,
  SMS or mail; 30 days later without handling -> a public notice of 7 (working, ProcReg Art. 81) days,
  after which the decision may be made. ProcReg Arts. 55-56: a decision that cannot be served by mail
  or electronically is served by a public notice of 60 days; its end is the day of service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from trafficgov.enforcement.calendar import HolidayCalendar, add_days, default_calendar
from trafficgov.errors import FieldError

DATA = Path(__file__).parent / "data"
Party = Literal["person", "company", "unknown"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Strict):
    days: int = Field(ge=0, le=365)
    working: bool


class Threshold(_Strict):
    person: int = Field(gt=0)
    company: int = Field(gt=0)


class PaymentRelief(_Strict):
    """暂缓或分期缴纳罚款的限度 — APL Art. 66 para 2 sets no numbers: these are the region's practice."""

    max_defer_days: int = Field(ge=1, le=365, description="暂缓：至多推迟到原缴款期限后若干日")
    max_instalments: int = Field(ge=2, le=24, description="分期：至多期数")
    max_span_days: int = Field(ge=1, le=730, description="分期：末期至多在原缴款期限后若干日")
    surcharge_basis: Literal["instalment"] = Field(description="加处罚款按每期金额自该期到期次日起计算，以该期金额为限")


class ProcedureVersion(_Strict):
    version_id: str
    effective_from: date
    effective_to: date | None = None
    simple_procedure_max_fine_yuan: int = Field(ge=0)
    hearing_large_fine_yuan: dict[str, Threshold]
    hearing_licence_actions: list[Literal["suspend", "revoke"]]
    hearing_request_days: Period
    statement_days: Period
    pay_days: int = Field(ge=1, le=365)
    surcharge_per_day_pct: int = Field(ge=0, le=100)
    objection_review_days: Period
    hearing_notice_days: Period
    repeat_min_records: int = Field(ge=1, le=100)
    repeat_unhandled_days: Period
    repeat_notice_wait_days: Period
    repeat_public_notice_days: Period
    service_public_notice_days: Period
    payment_relief: PaymentRelief
    legal_basis: dict[str, list[str]]

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def large_fine(self, region: str | None, party: Party) -> int:
        """The region's 较大数额 (city code, then province code, then default); a company pays the unit figure."""
        table = self.hearing_large_fine_yuan
        entry = None
        if region:
            entry = table.get(region) or table.get(region[:4] + "00") or table.get(region[:2] + "0000")
        entry = entry or table["default"]
        return entry.company if party == "company" else entry.person


class ProcedureRules:
    def __init__(self, versions: list[ProcedureVersion]) -> None:
        ordered = sorted(versions, key=lambda v: v.effective_from)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.effective_to is None or before.effective_to >= after.effective_from:
                raise ValueError(f"procedure versions overlap: {before.version_id} and {after.version_id}")
        for v in ordered:
            if "default" not in v.hearing_large_fine_yuan:
                raise ValueError(f"{v.version_id}: hearing_large_fine_yuan needs a default")
        self.versions = ordered

    def at(self, day: date) -> ProcedureVersion:
        for version in self.versions:
            if version.in_force(day):
                return version
        raise LookupError(f"no procedure rules in force on {day.isoformat()}")


def parse_rules(raw: dict[str, Any]) -> ProcedureRules:
    return ProcedureRules([ProcedureVersion.model_validate(v) for v in raw["versions"]])


@cache
def procedure_rules() -> ProcedureRules:
    """The shipped rules, validated on first use."""
    return parse_rules(yaml.safe_load((DATA / "procedure.yaml").read_text(encoding="utf-8")))


# ---------------------------------------------------------------- which procedure


@dataclass(frozen=True)
class Requirements:
    """What the law asks before a decision may be issued."""

    procedure: Literal["simple", "general"]
    notice_required: bool
    hearing_offered: bool
    hearing_reason_zh: str | None
    legal_basis: tuple[str, ...]


def requirements(decision: dict[str, Any], version: ProcedureVersion, *, region: str | None = None, party: Party = "person") -> Requirements:
    """The procedure an intended decision needs (ProcReg Art. 52; APL Arts. 44, 63)."""
    outcome = decision.get("outcome")
    fine = int(decision.get("fine_yuan") or 0) if outcome in ("fine", "fine_and_licence") else 0
    licence = decision.get("licence_action") or "none"
    general = licence != "none" or fine > version.simple_procedure_max_fine_yuan
    reason = None
    if licence in version.hearing_licence_actions:
        reason = "拟吊销机动车驾驶证，当事人有权要求听证" if licence == "revoke" else "拟暂扣机动车驾驶证，当事人有权要求听证"
    elif fine and fine >= version.large_fine(region, party):
        reason = f"拟处较大数额罚款（{fine}元，本地标准{version.large_fine(region, party)}元以上），当事人有权要求听证"
    basis = list(version.legal_basis.get("procedure", []))
    if general:
        basis += version.legal_basis.get("notice", [])
    if reason:
        basis += version.legal_basis.get("hearing", [])
    return Requirements("general" if general else "simple", general, reason is not None, reason, tuple(basis))


def statement_due(notice_day: date, version: ProcedureVersion, calendar: HolidayCalendar | None = None) -> date:
    """The last day to state one's case (and to ask for a hearing: APL Art. 64 (一), working days per Art. 85)."""
    period = version.hearing_request_days
    return add_days(notice_day, period.days, working=period.working, calendar=calendar or default_calendar())


def objection_due(received_day: date, version: ProcedureVersion, calendar: HolidayCalendar | None = None) -> date:
    period = version.objection_review_days
    return add_days(received_day, period.days, working=period.working, calendar=calendar or default_calendar())


def heavier_than(decision: dict[str, Any], notified: dict[str, Any]) -> bool:
    """Whether a decision is heavier than what the notice told the party (then a new notice is due)."""
    rank = {"none": 0, "suspend": 1, "revoke": 2}
    return (
        int(decision.get("fine_yuan") or 0) > int(notified.get("fine_yuan") or 0)
        or int(decision.get("points") or 0) > int(notified.get("points") or 0)
        or rank.get(decision.get("licence_action") or "none", 0) > rank.get(notified.get("licence_action") or "none", 0)
        or int(decision.get("licence_months") or 0) > int(notified.get("licence_months") or 0)
    )


def cite(basis: str) -> str:
    """A legal basis as the rule files write it ("行政处罚法 第四十四条") as a text cites it (《行政处罚法》第四十四条)."""
    document, _, article = basis.partition(" ")
    return f"《{document}》{article}" if article and not basis.startswith("《") else basis


def notice_text_zh(decision: dict[str, Any], facts_zh: str, req: Requirements, due: date) -> str:
    """告知书正文 — facts, grounds, the intended penalty and the party's rights (APL Art. 44)."""
    parts = [f"经查，{facts_zh}。"]
    basis = "、".join(map(cite, decision.get("legal_basis") or []))
    if basis:
        parts.append(f"依据{basis}，")
    penalty = []
    if decision.get("outcome") == "warning":
        penalty.append("警告")
    if decision.get("fine_yuan"):
        penalty.append(f"罚款{decision['fine_yuan']}元")
    if decision.get("licence_action") == "suspend":
        penalty.append(f"暂扣机动车驾驶证{decision.get('licence_months') or ''}个月")
    if decision.get("licence_action") == "revoke":
        penalty.append("吊销机动车驾驶证")
    if decision.get("points"):
        penalty.append(f"记{decision['points']}分")
    parts.append(f"拟作出{'、'.join(penalty) or '处理'}的决定。")
    parts.append(f"你（单位）有权进行陈述和申辩，请于{due.isoformat()}前提出；提出的事实、理由或者证据成立的，本机关将予以采纳，不因陈述申辩而加重处罚。")
    if req.hearing_offered:
        parts.append(f"{req.hearing_reason_zh}，请于{due.isoformat()}前提出，逾期视为放弃。")
    return "".join(parts)


# ---------------------------------------------------------------- payment


def pay_by(served_on: date, version: ProcedureVersion) -> date:
    """缴款期限 — 15 days after the day the decision was served (the day of service not counted)."""
    return served_on + timedelta(days=version.pay_days)


@dataclass(frozen=True)
class Payment:
    fine_yuan: Decimal
    pay_by: date
    on: date
    days_late: int
    surcharge_yuan: Decimal
    capped: bool
    total_yuan: Decimal


def late_surcharge(fine_yuan: int | Decimal, due: date, on: date, *, per_day_pct: int = 3) -> Payment:
    """加处罚款 — each day after `due` up to and including `on` adds `per_day_pct`% of the fine, the
    surcharge never more than the fine (APL Art. 72 (一)). Amounts in yuan to the fen, half up."""
    fine = Decimal(fine_yuan)
    if fine < 0:
        raise ValueError("fine must not be negative")
    days = max(0, (on - due).days)
    raw = fine * per_day_pct * days / 100
    capped = raw > fine
    surcharge = min(raw, fine).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Payment(fine, due, on, days, surcharge, capped, (fine + surcharge).quantize(Decimal("0.01")))


PaymentStatus = Literal["none", "not_served", "unpaid", "overdue", "paid"]


def payment_status(*, fine_yuan: int | Decimal | None, served_on: date | None, pay_by_day: date | None, paid: bool, on: date) -> PaymentStatus:
    """缴款状态 — paid, unpaid (within the 15 days or not yet served), overdue (after the last day to pay)."""
    if not fine_yuan:
        return "none"
    if paid:
        return "paid"
    if served_on is None or pay_by_day is None or on < served_on:
        return "not_served"
    return "overdue" if on > pay_by_day else "unpaid"


def amount_shortfall(amount: Decimal, due: Payment) -> Decimal:
    """How much an amount falls short of the fine plus the surcharge owed that day (0 when it covers it)."""
    return max(Decimal("0.00"), (due.total_yuan - amount).quantize(Decimal("0.01")))


# ---------------------------------------------------------------- deferral and instalments (APL Art. 66 para 2)


PlanKind = Literal["defer", "instalments"]
PLAN_KIND_ZH = {"defer": "暂缓（延期）缴纳", "instalments": "分期缴纳"}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Instalment:
    """一期 — an amount due by a day (a deferral is a plan of one)."""

    due: date
    amount_yuan: Decimal


def validate_schedule(kind: PlanKind, schedule: Iterable[Instalment], *, fine_yuan: int | Decimal, pay_by_day: date, version: ProcedureVersion) -> tuple[Instalment, ...]:
    """缴纳计划校验 — a deferral is one payment of the whole fine after the original last day to pay and
    at most `max_defer_days` after it; instalments are 2 to `max_instalments` payments, due dates
    ascending, the first not before the original last day, the last at most `max_span_days` after it.
    Every amount is above zero, to the fen, and together they are exactly the fine. Raises FieldError
    naming the field (`schedule`, `schedule.N.due`, `schedule.N.amount_yuan`, N from 0)."""
    limits = version.payment_relief
    plan = tuple(schedule)
    fine = Decimal(fine_yuan)
    if kind == "defer" and len(plan) != 1:
        raise FieldError("schedule", "暂缓缴纳只有一期：写明暂缓至的日期，金额为全部罚款", "a deferral has exactly one entry")
    if kind == "instalments" and not 2 <= len(plan) <= limits.max_instalments:
        raise FieldError("schedule", f"分期缴纳应分2至{limits.max_instalments}期", f"instalments: 2 to {limits.max_instalments} entries")
    previous: date | None = None
    for i, item in enumerate(plan):
        n = i + 1
        if item.amount_yuan <= 0:
            raise FieldError(f"schedule.{i}.amount_yuan", f"第{n}期金额应大于零", f"entry {i}: the amount must be above zero")
        if item.amount_yuan != item.amount_yuan.quantize(CENT):
            raise FieldError(f"schedule.{i}.amount_yuan", f"第{n}期金额至多精确到分（两位小数）", f"entry {i}: at most two decimals")
        if previous is not None and item.due <= previous:
            raise FieldError(f"schedule.{i}.due", f"第{n}期的缴纳日期应晚于第{n - 1}期", f"entry {i}: due dates must ascend")
        previous = item.due
    first, last = plan[0].due, plan[-1].due
    if kind == "defer":
        latest = pay_by_day + timedelta(days=limits.max_defer_days)
        if first <= pay_by_day:
            raise FieldError("schedule.0.due", f"暂缓至的日期应晚于原缴款期限{pay_by_day.isoformat()}", "a deferral ends after the original last day to pay")
        if first > latest:
            raise FieldError("schedule.0.due", f"暂缓缴纳至多至原缴款期限后{limits.max_defer_days}日，即{latest.isoformat()}（本地执法规范）",
                             f"a deferral may run up to {latest.isoformat()}")
    else:
        latest = pay_by_day + timedelta(days=limits.max_span_days)
        if first < pay_by_day:
            raise FieldError("schedule.0.due", f"第1期的缴纳日期不能早于原缴款期限{pay_by_day.isoformat()}", "the first instalment is due on or after the original last day")
        if last > latest:
            raise FieldError(f"schedule.{len(plan) - 1}.due", f"分期缴纳的末期至多在原缴款期限后{limits.max_span_days}日，即{latest.isoformat()}（本地执法规范）",
                             f"the last instalment may be due up to {latest.isoformat()}")
    total = sum((item.amount_yuan for item in plan), Decimal("0"))
    if total != fine:
        raise FieldError("schedule", f"各期金额合计{total}元，应等于罚款{fine}元", f"the amounts add up to {total}, not the fine {fine}")
    return plan


def plan_end(schedule: Iterable[Instalment]) -> date:
    """暂缓或者分期缴纳罚款期限结束之日 — the last due date; APL Art. 72 para 2: the time to apply to the court
    for enforcement counts from it."""
    return max(item.due for item in schedule)


@dataclass(frozen=True)
class InstalmentOwed:
    number: int
    due: date
    amount_yuan: Decimal
    paid: bool
    paid_on: date | None
    days_late: int
    surcharge_yuan: Decimal
    capped: bool
    total_yuan: Decimal


@dataclass(frozen=True)
class PlanOwed:
    instalments: tuple[InstalmentOwed, ...]
    end: date
    next_number: int | None
    overdue: bool
    paid_in_full: bool


def plan_owed(schedule: Iterable[Instalment], paid: dict[int, date], on: date, *, per_day_pct: int = 3) -> PlanOwed:
    """应缴（分期）— each instalment (numbered from 1) with what it owes on `on`, or owed on the day it was
    paid (`paid`: number -> paid_on). The platform's reading of APL Art. 72 (一) under an approved plan:
    the 3 %/day surcharge runs per instalment, from the day after that instalment's due date, on that
    instalment's amount, and never exceeds that instalment's amount."""
    rows = []
    for number, item in enumerate(schedule, start=1):
        day = paid.get(number)
        owed = late_surcharge(item.amount_yuan, item.due, day or on, per_day_pct=per_day_pct)
        rows.append(InstalmentOwed(number, item.due, item.amount_yuan, day is not None, day, owed.days_late, owed.surcharge_yuan, owed.capped, owed.total_yuan))
    unpaid = [r for r in rows if not r.paid]
    return PlanOwed(
        instalments=tuple(rows), end=max(r.due for r in rows),
        next_number=unpaid[0].number if unpaid else None, overdue=any(r.due < on for r in unpaid), paid_in_full=not unpaid,
    )


# ---------------------------------------------------------------- hearing (听证)


SECRECY_REASONS_ZH = {"state_secret": "涉及国家秘密", "trade_secret": "涉及商业秘密", "privacy": "涉及个人隐私"}


def hearing_earliest_day(notified_on: date, version: ProcedureVersion, calendar: HolidayCalendar | None = None) -> date:
    """The first day a hearing may be held: notified at least 7 days before (APL Art. 64 (二)), working
    days (APL Art. 85), the notice day not counted — the 7th working day after the notice is the earliest."""
    period = version.hearing_notice_days
    return add_days(notified_on, period.days, working=period.working, calendar=calendar or default_calendar())


def presiding_conflict(presiding: str, investigators: Iterable[str | None]) -> bool:
    """Whether the presiding officer investigated the case (APL Art. 64 (四): 非本案调查人员主持)."""
    wanted = presiding.strip().casefold()
    return any(i is not None and i.strip().casefold() == wanted for i in investigators)


# ---------------------------------------------------------------- ProcReg Art. 54: five or more unhandled records


UNHANDLED_STATUSES = ("proposed", "manual", "pending_approval")


@dataclass(frozen=True)
class UnhandledRecord:
    """A violation record of a vehicle awaiting its decision; `since` is the day the 30 days count from
    (the day the party was notified, else the day the record was entered)."""

    case_id: int
    plate_number: str
    plate_type: str
    status: str
    since: date


@dataclass(frozen=True)
class RepeatVehicle:
    plate_number: str
    plate_type: str
    case_ids: tuple[int, ...]
    oldest_since: date
    overdue_since: date


def unhandled_deadline(since: date, version: ProcedureVersion) -> date:
    """The last day of the 30 days to accept handling (ProcReg Art. 53; calendar days: Art. 81 lists only up to 十五日)."""
    period = version.repeat_unhandled_days
    return add_days(since, period.days, working=period.working, calendar=default_calendar())


def repeat_vehicles(records: Iterable[UnhandledRecord], as_of: date, version: ProcedureVersion) -> list[RepeatVehicle]:
    """ProcReg Art. 54 — vehicles with five or more (五起以上: inclusive, Art. 81) unhandled records whose
    oldest record has not been handled within 30 days (the 30 days over on `as_of`). Grouped by plate
    number and plate type; issued or closed cases do not count."""
    groups: dict[tuple[str, str], list[UnhandledRecord]] = {}
    for r in records:
        if r.status in UNHANDLED_STATUSES:
            groups.setdefault((r.plate_number, r.plate_type), []).append(r)
    found = []
    for (number, kind), rows in sorted(groups.items()):
        if len(rows) < version.repeat_min_records:
            continue
        oldest = min(r.since for r in rows)
        deadline = unhandled_deadline(oldest, version)
        if as_of > deadline:
            found.append(RepeatVehicle(number, kind, tuple(sorted(r.case_id for r in rows)), oldest, deadline + timedelta(days=1)))
    return found


def repeat_public_notice_from(notified_on: date, version: ProcedureVersion) -> date:
    """The first day the public notice (公告) may be published: the party did not come within 30 days
    of the Art. 54 notice (calendar days), so the day after the 30th day."""
    period = version.repeat_notice_wait_days
    return add_days(notified_on, period.days, working=period.working, calendar=default_calendar()) + timedelta(days=1)


def repeat_public_notice_end(published_on: date, version: ProcedureVersion, calendar: HolidayCalendar | None = None) -> date:
    """The last day of the 7-day public notice (公告期为七日; ProcReg Art. 81: 七日 are working days);
    the decision may be made from the next day."""
    period = version.repeat_public_notice_days
    return add_days(published_on, period.days, working=period.working, calendar=calendar or default_calendar())


def service_by_public_notice(published_on: date, version: ProcedureVersion) -> date:
    """公告送达 — the day a decision published under ProcReg Art. 55 counts as served: the end of the
    60-day period (Art. 56: 公告期满，即为送达; calendar days, 六十日 is not among Art. 81's working-day periods)."""
    period = version.service_public_notice_days
    return add_days(published_on, period.days, working=period.working, calendar=default_calendar())


def repeat_notice_text_zh(plate_number: str, cases: list[tuple[int, str, dict[str, Any]]], *, public: bool, until: date | None = None) -> str:
    """Art. 54 告知/公告 text — facts, grounds and basis of each intended decision, the party's rights; no
    name or identity number of the owner (ProcReg Art. 56: 公告内容应当避免泄漏个人隐私)."""
    lines = [f"号牌号码{plate_number}的机动车有{len(cases)}起交通技术监控设备记录的违法行为逾期未处理："]
    for case_id, facts, decision in cases:
        penalty = []
        if decision.get("outcome") == "warning":
            penalty.append("警告")
        if decision.get("fine_yuan"):
            penalty.append(f"罚款{decision['fine_yuan']}元")
        if decision.get("points"):
            penalty.append(f"记{decision['points']}分")
        basis = "、".join(decision.get("legal_basis") or [])
        lines.append(f"（案件{case_id}）{facts}，依据{basis or '有关规定'}，拟作出{'、'.join(penalty) or '处理'}的决定；")
    lines.append("当事人依法享有陈述、申辩的权利，请及时到公安机关交通管理部门或者通过互联网交通安全综合服务管理平台接受处理。")
    if public:
        lines.append(f"公告期为七日，至{until.isoformat() if until else ''}届满；公告期届满仍未接受处理的，将依法作出行政处罚决定（《道路交通安全违法行为处理程序规定》第五十四条）。")
    return "".join(lines)
