"""处罚裁量 — the pure decision function `decide(case, as_of) -> Decision`.

Reads rules only through `Rulebook.at()`. Rules in force when the facts happened apply, unless those
in force at the decision are lighter (从旧兼从轻, APL Art. 37). Every applied `rule_id` and legal basis
is named and the result is explained in plain Chinese. A case that cannot be decided raises
`DecisionError`, which names the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from pydantic import ValidationError

from trafficgov.enforcement.model import Case, Decision, Vehicle
from trafficgov.errors import FieldError
from trafficgov.rules.loader import Rulebook, RuleSet, default_rulebook
from trafficgov.rules.schema import Band, Discretion, Leniency, LeniencyItem, Points, Statutory, When

OUTCOME_RANK = {"no_penalty": 0, "warning": 1, "fine": 2, "fine_and_licence": 3, "referral": 4}
LICENCE_RANK = {"none": 0, "suspend": 1, "revoke": 2}
OUTCOME_ZH = {"no_penalty": "不予处罚", "warning": "警告", "fine": "罚款", "fine_and_licence": "罚款并处暂扣或吊销驾驶证", "referral": "移送追究刑事责任"}
PARTY_COUNTS = {"driver": {"driver", "both"}, "vehicle": {"vehicle", "both"}, "both": {"driver", "vehicle", "both"}}

# Order 163's key vehicles and the other groups, from the case's category. Numbers win over the
# category where they say more: >=10 rated passengers = medium-or-larger passenger car (GA 802),
# >=4500 kg max total mass = medium-or-larger truck. Basis: Order 163 Arts. 8 (5), 9 (2), 10 (2).
PASSENGER = {"small_passenger_car", "passenger_car_7plus", "medium_passenger", "large_passenger", "school_bus", "highway_bus", "tourist_bus"}
TRUCKS = {"truck_light", "truck_medium", "truck_heavy", "tractor", "dangerous_goods"}
MEDIUM_PASSENGERS = 10
MEDIUM_TRUCK_KG = 4500


class DecisionError(FieldError):
    """无法裁量 — the case cannot be decided; `field` names the offending input."""


def vehicle_groups(vehicle: Vehicle) -> set[str]:
    """The groups of schema.VEHICLE_GROUPS the vehicle belongs to."""
    cat = vehicle.category
    seats = vehicle.rated_passengers
    mass = vehicle.max_total_mass_kg
    groups: set[str] = set()
    if cat in PASSENGER:
        if cat in {"school_bus", "highway_bus", "tourist_bus"}:
            groups.add("bus_school_highway_tourist")
        elif (seats or (7 if cat != "small_passenger_car" else 5)) >= 7:
            groups.add("passenger_7plus")
        else:
            groups.add("passenger_other")
        if cat in {"highway_bus", "tourist_bus"}:
            groups.add("highway_passenger")
        if seats is not None:
            medium = seats >= MEDIUM_PASSENGERS
        else:
            medium = cat in {"medium_passenger", "large_passenger", "school_bus", "highway_bus", "tourist_bus"}
        if medium:
            groups.update({"medium_plus_passenger", "key_vehicle"})
        if cat == "school_bus":
            groups.add("key_vehicle")
    elif cat in TRUCKS:
        groups.add("truck")
        if cat == "dangerous_goods":
            groups.update({"dangerous_goods", "key_vehicle"})
        elif mass is not None:
            if mass >= MEDIUM_TRUCK_KG:
                groups.add("key_vehicle")
        elif cat != "truck_light":
            groups.add("key_vehicle")
    elif cat == "motorcycle":
        groups.update({"motorcycle", "passenger_other"})
    return groups


def _pct(measured: float, base: float) -> Fraction:
    m = Fraction(str(measured))
    b = Fraction(str(base))
    return (m - b) * 100 / b


def _zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _fmt_pct(value: Fraction) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".") + "%"


@dataclass
class Context:
    case: Case
    behaviour: str
    day: date
    groups: set[str] | None
    metrics: dict[str, Fraction] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def require_groups(self) -> set[str]:
        if self.groups is None:
            raise DecisionError("vehicle.category", "该违法行为需要车辆类别", "this behaviour needs the vehicle category")
        return self.groups

    def metric(self, unit: str) -> Fraction:
        if unit not in self.metrics:
            self.metrics[unit] = _measure(self.case, unit)
        return self.metrics[unit]

    def road_group(self) -> str:
        road = self.case.road
        if road is None:
            raise DecisionError("road.type", "该违法行为需要道路类型", "this behaviour needs the road type")
        return "expressway" if road.type in {"expressway", "urban_expressway"} else "ordinary"


def _need(value: Any, name: str, zh: str) -> Any:
    if value is None:
        raise DecisionError(name, f"缺少{zh}", f"missing measurement {name}")
    return value


def _measure(case: Case, unit: str) -> Fraction:
    v, m, r = case.vehicle, case.measured, case.road
    if unit == "percent_over_speed_limit":
        limit = _need(r.speed_limit_kmh if r else None, "road.speed_limit_kmh", "限速")
        speed = _need(m.speed_kmh, "measured.speed_kmh", "实测车速")
        return _pct(speed, limit)
    if unit == "percent_over_rated_passengers":
        rated = _need(v.rated_passengers if v else None, "vehicle.rated_passengers", "核定载客人数")
        return _pct(_need(m.passengers, "measured.passengers", "实载人数"), rated)
    if unit == "percent_over_max_total_mass":
        base = _need(v.max_total_mass_kg if v else None, "vehicle.max_total_mass_kg", "最大允许总质量")
        return _pct(_need(m.total_mass_kg, "measured.total_mass_kg", "实测总质量"), base)
    if unit == "percent_over_rated_load":
        base = _need(v.rated_load_kg if v else None, "vehicle.rated_load_kg", "核定载质量")
        return _pct(_need(m.load_kg, "measured.load_kg", "实际载质量"), base)
    raise DecisionError("rules", f"未知计量单位{unit}", f"unknown unit {unit}")


def _when_holds(when: When, ctx: Context, strict: bool = True) -> bool:
    """Whether the conditions hold; with strict, a missing input raises instead of failing quietly."""
    try:
        if when.vehicle_groups is not None and not (ctx.require_groups() & set(when.vehicle_groups)):
            return False
        if when.not_vehicle_groups is not None and ctx.require_groups() & set(when.not_vehicle_groups):
            return False
        if when.road_groups is not None and ctx.road_group() not in when.road_groups:
            return False
        road = ctx.case.road
        if when.road_class is not None and (road is None or road.road_class != when.road_class):
            return False
        if when.speed_limit_below_kmh is not None and (
            road is None or road.speed_limit_kmh is None or road.speed_limit_kmh >= when.speed_limit_below_kmh
        ):
            return False
        if when.operating is not None:
            operating = bool(ctx.case.vehicle and ctx.case.vehicle.operating)
            if operating != when.operating:
                return False
        if when.repeat is not None and _is_repeat(ctx) != when.repeat:
            return False
    except DecisionError:
        if strict:
            raise
        return False
    return True


def _is_repeat(ctx: Context) -> bool:
    """Punished before for the same behaviour (RTSL Art. 91: 因饮酒后驾驶机动车被处罚，再次…)."""
    return any(
        p.behavior == ctx.behaviour
        and p.party in PARTY_COUNTS["driver"]
        and p.outcome in {"fine", "fine_and_licence"}
        and p.occurred_at < ctx.case.occurred_at
        for p in ctx.case.history
    )


def _band_holds(band: Band | None, ctx: Context, strict: bool = True) -> bool:
    if band is None:
        return True
    try:
        return band.contains(ctx.metric(band.unit))
    except DecisionError:
        if strict:
            raise
        return False


def _pick(rows: list[Any], ctx: Context) -> list[Any]:
    return [r for r in rows if _when_holds(r.when, ctx) and _band_holds(r.band, ctx)]


def _on_gap(rows: list[Discretion], ctx: Context) -> Discretion | None:
    """A value exactly on a declared gap point: the lighter neighbour applies."""
    for row in rows:
        if row.gap_below != "lighter" or row.band is None or not _when_holds(row.when, ctx):
            continue
        value = ctx.metric(row.band.unit)
        if value == Fraction(str(row.band.lower.value)):
            below = [r for r in rows if r.band and r.band.upper and Fraction(str(r.band.upper.value)) == value and r.when == row.when]
            candidates = [row, *below]
            return min(candidates, key=lambda r: (r.outcome == "fine", r.fine_yuan or 0))
    return None


@dataclass
class Draft:
    outcome: str
    fine_yuan: int | None = 0
    fine_range_yuan: list[int] | None = None
    points: int = 0
    licence_action: str = "none"
    licence_months: int | None = None
    licence_bar_years: int | None = None
    detention_days_max: int | None = None
    education: bool = False
    rule_ids: list[str] = field(default_factory=list)
    legal_basis: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def cite(self, row: Any) -> None:
        if row.rule_id not in self.rule_ids:
            self.rule_ids.append(row.rule_id)
        text = row.legal_basis.text()
        if text not in self.legal_basis:
            self.legal_basis.append(text)

    def severity(self) -> tuple[int, ...]:
        return (
            OUTCOME_RANK[self.outcome], LICENCE_RANK[self.licence_action], self.licence_bar_years or 0,
            self.licence_months or 0, self.detention_days_max or 0, self.points, self.fine_yuan or 0,
        )


def _resolve_behaviour(case: Case, rs: RuleSet) -> str:
    code = case.behavior
    if code is not None and code not in rs.behaviours:
        raise DecisionError("behavior", f"未知的违法行为代码{code}", f"unknown behaviour {code!r}")
    if case.violation_code is not None:
        raw = case.violation_code.strip().upper()
        mapped = rs.by_ga408.get(raw) or rs.by_ga408.get(raw.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        if mapped is None:
            raise DecisionError("violation_code", f"未知的违法代码{case.violation_code}", f"unknown violation code {case.violation_code!r}")
        if code is not None and mapped != code:
            raise DecisionError("violation_code", f"违法代码{case.violation_code}对应{mapped}，与behavior {code}不一致", f"violation_code means {mapped}, behavior says {code}")
        code = mapped
    if code is None:
        raise DecisionError("behavior", "缺少违法行为（behavior或violation_code）", "give behavior or violation_code")
    return code


def _establish(ctx: Context, rs: RuleSet) -> None:
    """Check the measurements establish the behaviour; record the facts for the explanation."""
    beh = rs.behaviours[ctx.behaviour]
    m = ctx.case.measured
    est = beh.establish
    if beh.measure == "speed":
        pct = ctx.metric("percent_over_speed_limit")
        if pct <= 0:
            raise DecisionError("measured.speed_kmh", "实测车速未超过限速", "measured speed is not above the limit")
        ctx.notes.append(f"实测车速{m.speed_kmh:g}公里/小时，限速{ctx.case.road.speed_limit_kmh}公里/小时，超过规定时速{_fmt_pct(pct)}")
    elif beh.measure == "passengers":
        pct = ctx.metric("percent_over_rated_passengers")
        if pct <= 0:
            raise DecisionError("measured.passengers", "实载人数未超过核定人数", "passengers do not exceed the rated number")
        ctx.notes.append(f"核定载客{ctx.case.vehicle.rated_passengers}人，实载{m.passengers}人，超员{_fmt_pct(pct)}")
    elif beh.measure == "freight":
        if "truck" not in ctx.require_groups():
            raise DecisionError("vehicle.category", "超载（货物）只适用于载货汽车", "freight overload applies to freight vehicles only")
        load = ctx.metric("percent_over_rated_load")
        if load <= 0:
            raise DecisionError("measured.load_kg", "实际载质量未超过核定载质量", "load does not exceed the rated load")
        mass = ctx.metric("percent_over_max_total_mass")
        ctx.notes.append(
            f"超过核定载质量{_fmt_pct(load)}（罚款以核定载质量为基数），超过最大允许总质量{_fmt_pct(mass) if mass > 0 else '0%'}（记分以最大允许总质量为基数）"
        )
    elif beh.measure == "fatigue" and est is not None:
        drove = _need(m.continuous_driving_min, "measured.continuous_driving_min", "连续驾驶时间")
        if drove <= (est.continuous_over_min or 0):
            raise DecisionError("measured.continuous_driving_min", "连续驾驶未超过4小时", "continuous driving is not over 4 hours")
        if m.rest_min is not None and m.rest_min >= (est.rest_under_min or 0):
            raise DecisionError("measured.rest_min", "已停车休息20分钟以上，不构成疲劳驾驶", "a rest of 20 minutes or more was taken")
        ctx.notes.append(f"连续驾驶{drove}分钟" + (f"，仅休息{m.rest_min}分钟" if m.rest_min is not None else "，未停车休息"))
    elif beh.measure == "bac" and est is not None:
        bac = _need(m.bac_mg_per_100ml, "measured.bac_mg_per_100ml", "血液酒精含量")
        if est.bac_from is not None and bac < est.bac_from:
            raise DecisionError("measured.bac_mg_per_100ml", f"血液酒精含量{bac:g}mg/100mL未达到{est.bac_from:g}", "BAC below the threshold of this behaviour")
        if est.bac_below is not None and bac >= est.bac_below:
            raise DecisionError("measured.bac_mg_per_100ml", f"血液酒精含量{bac:g}mg/100mL已达醉酒标准，应按醉酒驾驶（drunk_driving）移送", "BAC in the drunk range: decide as drunk_driving")
        ctx.notes.append(f"血液酒精含量{bac:g}mg/100mL")


def _lookback_start(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, 28)


def _leniency(ctx: Context, lists: list[Leniency], draft_lines: list[str]) -> tuple[Leniency, LeniencyItem] | None:
    case = ctx.case
    for lst in lists:
        items = [
            it for it in lst.items
            if it.behaviour == ctx.behaviour and _when_holds(it.when, ctx, strict=False) and _band_holds(it.band, ctx, strict=False)
        ]
        if not items:
            continue
        c = lst.conditions
        why: list[str] = []
        circ = case.circumstances
        if ctx.behaviour in c.excluded_behaviours:
            why.append("该行为被排除在清单之外")
        if c.on_site_only and not circ.on_site:
            why.append("须为现场发现")
        if c.no_accident and circ.accident:
            why.append("造成了交通事故")
        if c.no_congestion and circ.congestion:
            why.append("造成了交通拥堵")
        if c.corrected and not circ.corrected:
            why.append("未及时改正")
        counted = [
            p for p in case.history
            if p.party in PARTY_COUNTS[c.history_party] and p.occurred_at < case.occurred_at and _in_scope(c.scope, case.region, p.region)
        ]
        if c.past_settled and any(p.outcome == "pending" for p in counted):
            why.append("尚有未处理的违法记录")
        if c.lookback_months:
            start = _lookback_start(case.occurred_at.date(), c.lookback_months)
            priors = [
                p for p in counted
                if p.occurred_at.date() >= start and (c.leniency_counts_as_prior or p.outcome not in {"warning", "no_penalty"})
            ]
            if priors:
                why.append(f"近{c.lookback_months}个月内有违法记录")
        if c.uses_per_12_months:
            start = _lookback_start(case.occurred_at.date(), 12)
            used = [p for p in counted if p.occurred_at.date() >= start and p.outcome in {"warning", "no_penalty"}]
            if len(used) >= c.uses_per_12_months:
                why.append(f"12个月内已享受{len(used)}次从宽处理")
        if why:
            draft_lines.append(f"该行为列入《{lst.list_id}》，但{'、'.join(why)}，不适用。")
            continue
        return lst, items[0]
    return None


def _in_scope(scope: str, region: str | None, other: str | None) -> bool:
    if scope == "anywhere" or region is None or other is None:
        return True
    width = 2 if scope == "province" else 4
    return region[:width] == other[:width]


def _layered_pick(rs: RuleSet, kind: str, ctx: Context) -> tuple[str | None, list[Any]]:
    for region, rows in rs.layers(kind, ctx.behaviour):
        hit = _pick(rows, ctx)
        if hit:
            return region, hit
    return None, []


def _discretion(rs: RuleSet, ctx: Context) -> Discretion:
    for _region, rows in rs.layers("discretion", ctx.behaviour):
        hit = _pick(rows, ctx)
        if hit:
            return hit[0]
        gap = _on_gap(rows, ctx)
        if gap is not None:
            ctx.notes.append("该数值恰在基准两档的分界上（原文“超过”“不足”均不含本数），按较轻一档处理。")
            return gap
    raise DecisionError("behavior", "没有适用的裁量基准", f"no discretion benchmark for {ctx.behaviour}")


def evaluate(case: Case, rs: RuleSet, day: date) -> Draft:
    """Decide the case under one rule set (the rules in force on `day`)."""
    behaviour = _resolve_behaviour(case, rs)
    groups = vehicle_groups(case.vehicle) if case.vehicle is not None else None
    ctx = Context(case, behaviour, day, groups)
    _establish(ctx, rs)
    label = rs.behaviours[behaviour].label_zh
    facts = f"您于{_zh_date(case.occurred_at.date())}的违法行为为“{label}”"
    if ctx.notes:
        facts += "（" + "；".join(ctx.notes) + "）"
    ctx.notes.clear()

    _, statutory = _layered_pick(rs, "statutory", ctx)
    if not statutory:
        raise DecisionError("vehicle.category", "该车辆或情形不适用本违法行为的法定罚则", f"no statutory rule of {behaviour} covers this case")
    law: Statutory = statutory[0]
    if not rs.has("points"):
        raise DecisionError("occurred_at", "该日期适用的记分规则未收录（公安部令第163号自2022年4月1日起施行）", "no points rules are shipped for this date (Order 163 from 2022-04-01)")
    _, point_rows = _layered_pick(rs, "points", ctx)
    prow: Points | None = max(point_rows, key=lambda r: r.points) if point_rows else None

    if law.referral:
        d = Draft("referral", fine_yuan=None, licence_action=law.licence_action, licence_bar_years=law.licence_bar_years)
        d.cite(law)
        d.lines = [facts + "。", f"依照{law.legal_basis.text()}：{law.label_zh}。本案移送依法追究刑事责任，吊销驾驶证，{law.licence_bar_years}年内不得重新取得驾驶证。"]
        return d

    lines = [facts + "。"]
    found = _leniency(ctx, rs.leniency_list()[1], lines)
    if found is not None:
        lst, item = found
        d = Draft(lst.outcome, fine_yuan=0, education=True)
        d.cite(law)
        d.cite(lst)
        lines.append(f"依照{law.legal_basis.text()}，本行为{law.label_zh.split('：')[-1]}。")
        if lst.outcome == "no_penalty":
            lines.append(f"符合《{lst.list_id}》（{lst.legal_basis.text()}）：情节轻微并已及时改正，没有造成危害后果，依法不予处罚，对您进行教育。不罚款、不记分。")
        else:
            lines.append(f"符合《{lst.list_id}》的首次违法条件，给予警告并进行教育；警告不罚款，依《道路交通安全违法行为记分管理办法》第二十八条免予记分。")
            d.legal_basis.append("《道路交通安全违法行为记分管理办法》第二十八条")
        d.lines = lines
        return d

    bench = _discretion(rs, ctx)
    lines.append(f"依照{law.legal_basis.text()}：{law.label_zh}。")
    if bench.outcome == "warning":
        if not law.warning_allowed:
            raise DecisionError("rules", f"裁量基准{bench.rule_id}给予警告，但法定罚则不允许", f"{bench.rule_id} gives a warning the law does not allow")
        d = Draft("warning", fine_yuan=0)
        d.cite(law)
        d.cite(bench)
        lines.extend(ctx.notes)
        lines.append(f"按裁量基准{bench.legal_basis.text()}（{bench.label_zh}），给予警告；警告依《道路交通安全违法行为记分管理办法》第二十八条免予记分。")
        d.legal_basis.append("《道路交通安全违法行为记分管理办法》第二十八条")
        d.lines = lines
        return d

    fine = bench.fine_yuan or 0
    if law.fine_min is None or law.fine_max is None or not law.fine_min <= fine <= law.fine_max:
        raise DecisionError("rules", f"裁量基准{bench.rule_id}的罚款{fine}元超出法定幅度", f"{bench.rule_id} fines {fine}, outside the statutory range")
    outcome = "fine_and_licence" if law.licence_action != "none" else "fine"
    d = Draft(
        outcome,
        fine_yuan=fine,
        fine_range_yuan=None if law.fine_min == law.fine_max else [law.fine_min, law.fine_max],
        licence_action=law.licence_action,
        licence_months=law.licence_months,
        licence_bar_years=law.licence_bar_years,
        detention_days_max=law.detention_days_max,
    )
    d.cite(law)
    d.cite(bench)
    lines.extend(ctx.notes)
    lines.append(f"按裁量基准{bench.legal_basis.text()}（{bench.tier_zh}档：{bench.label_zh}），罚款{fine}元。")
    if prow is not None:
        d.points = prow.points
        d.cite(prow)
        lines.append(f"依照{prow.legal_basis.text()}（{prow.label_zh}），记{prow.points}分。")
    else:
        lines.append("记分办法对该行为未规定记分，不记分。")
    if law.licence_action == "suspend":
        lines.append(f"暂扣机动车驾驶证{law.licence_months}个月。")
    elif law.licence_action == "revoke":
        lines.append("吊销机动车驾驶证" + (f"，{law.licence_bar_years}年内不得重新取得。" if law.licence_bar_years else "。"))
    if law.licence_may_revoke:
        lines.append("法律规定可以并处吊销驾驶证，由公安机关交通管理部门依法决定。")
    if law.detention_days_max:
        lines.append(f"法律规定的行政拘留最多为{law.detention_days_max}日，由公安机关依法决定。")
    d.lines = lines
    return d


def parse_case(raw: Case | Mapping[str, Any]) -> Case:
    if isinstance(raw, Case):
        return raw
    try:
        return Case.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "case"
        if name == "road.class" or name.startswith("road.road_class"):
            name = "road.class"
        raise DecisionError(name, f"字段{name}无效：{err['msg']}", err["msg"]) from exc


def decide(raw: Case | Mapping[str, Any], as_of: date, rulebook: Rulebook | None = None) -> Decision:
    """裁量 — decide one case as of `as_of` (the day the engine runs); raise DecisionError naming the field."""
    book = rulebook or default_rulebook()
    case = parse_case(raw)
    occurred = case.occurred_at.date()
    decided = case.decided.date()
    if occurred > as_of:
        raise DecisionError("occurred_at", "违法时间晚于裁量日期", "occurred_at is in the future")
    if decided < occurred:
        raise DecisionError("decided_at", "决定时间早于违法时间", "decided_at is before occurred_at")
    if decided > as_of:
        raise DecisionError("decided_at", "决定时间晚于裁量日期", "decided_at is in the future")
    for i, prior in enumerate(case.history):
        if prior.occurred_at > case.occurred_at:
            raise DecisionError(f"history.{i}.occurred_at", "历史违法时间晚于本次违法", "a prior violation after this one")
    draft = evaluate(case, book.at(occurred, case.region), occurred)
    if decided != occurred:
        try:
            newer = evaluate(case, book.at(decided, case.region), decided)
        except DecisionError:
            newer = None
        if newer is not None and newer.severity() < draft.severity():
            newer.lines.append(
                f"违法行为发生后规则已修改，作出决定时（{_zh_date(decided)}）的规定处罚较轻，依《行政处罚法》第三十七条适用新的规定（从旧兼从轻）。"
            )
            newer.legal_basis.append("《行政处罚法》第三十七条")
            draft = newer
        elif newer is not None and draft.rule_ids != newer.rule_ids:
            draft.lines.append("作出决定时的规定并不更轻，依《行政处罚法》第三十七条适用违法行为发生时的规定。")
            draft.legal_basis.append("《行政处罚法》第三十七条")
    return Decision(
        case_id=case.case_id,
        outcome=draft.outcome,
        fine_yuan=draft.fine_yuan,
        fine_range_yuan=draft.fine_range_yuan,
        points=draft.points if draft.outcome in {"fine", "fine_and_licence"} else 0,
        licence_action=draft.licence_action,
        licence_months=draft.licence_months,
        licence_bar_years=draft.licence_bar_years,
        detention_days_max=draft.detention_days_max,
        education=draft.education,
        rule_ids=draft.rule_ids,
        legal_basis=draft.legal_basis,
        explanation_zh="".join(draft.lines),
    )


def decide_line(line: str, as_of: date, rulebook: Rulebook | None = None) -> dict[str, Any]:
    """One JSONL line in, one decision (or `{"case_id", "error"}`) out — what the batch command writes."""
    case_id: Any = None
    try:
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise DecisionError("case", "每行须为一个JSON对象", "each line must be a JSON object")
        case_id = raw.get("case_id")
        return decide(raw, as_of, rulebook).model_dump(mode="json")
    except json.JSONDecodeError as exc:
        return {"case_id": None, "error": {"field": "line", "reason_zh": "JSON格式错误", "reason_en": f"malformed JSON: {exc.msg}"}}
    except DecisionError as exc:
        return {"case_id": case_id, "error": exc.as_dict()}


def now_date() -> date:
    return datetime.now().astimezone().date()
