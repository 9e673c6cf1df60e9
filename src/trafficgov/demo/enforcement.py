"""演示执法活动 — the demo city's non-site enforcement pillar with work on it: captures, review, cases,
notices, decisions, service, payments, an objection and a deviation, made through the real use cases.

Every step is a call of `enforcement.service` or `enforcement.procedure_service` by the demo account of
the role that does it (the officer reviews and decides, the legal reviewer approves, the clerk records
payments, the citizen objects), at a time worked out from `as_of` (never today's date), in time order.
What a service refuses is not forced. A fixed number of captures, whatever the city's size.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from trafficgov.accounts.model import Actor
from trafficgov.accounts.service import get_user
from trafficgov.demo.load import demo_accounts
from trafficgov.enforcement import procedure_service as ps
from trafficgov.enforcement import service
from trafficgov.enforcement.calendar import CalendarNotCovered, add_days, default_calendar
from trafficgov.enforcement.store import CaptureRow, CaseRow, NoticeRow, PaymentRow, SubmissionRow
from trafficgov.errors import FieldError
from trafficgov.store.db import Database

CAPTURES = 300  # recent ones, over the ten days before as_of
EARLIER = 16  # a month and more before as_of: decisions whose time to pay has run out
BJ = service.BEIJING
VEHICLE_POOL = 3000  # vehicles drawn from the first rows of vehicles.csv (a large city's file is not read whole)

# behaviours a camera of each kind records (cameras.csv `kind`), with weights
BY_CAMERA = {
    "speed": (("speeding", 1),),
    "red_light": (("red_light", 6), ("not_yielding_to_pedestrians", 2), ("violating_markings", 2), ("phone_use", 1)),
    "checkpoint": (("no_seatbelt", 3), ("phone_use", 3), ("speeding", 2)),
    "video_patrol": (("illegal_parking", 4), ("violating_markings", 2), ("phone_use", 1)),
}
REPORTED = ("illegal_parking", "not_yielding_to_pedestrians", "violating_markings")
ERASE = ("record_unclear", "plate_misread", "emergency_vehicle_on_duty", "conflicting_signals", "handled_on_site", "other")
DEVIATION_REASON = "当事人系首次违法，违法情节轻微并已及时纠正，依法从轻给予警告"
OBJECTION = "该时段本人车辆停放在小区地下车库，未在该路段行驶，请核查号牌是否被套用。"


@dataclass
class EnforcementSummary:
    """演示执法活动小结 — what the store holds of the demo's enforcement activity."""

    captures: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    notices: int = 0
    served: int = 0
    paid: int = 0
    objections: int = 0
    overdue_payments: int = 0
    already: bool = False

    def line_zh(self) -> str:
        c, k = self.captures, self.cases
        return (
            f"非现场执法：抓拍 {sum(c.values())} 条（待审核 {c.get('pending', 0)}、已立案 {c.get('confirmed', 0)}、已并案 {c.get('merged', 0)}、"
            f"已消除 {c.get('rejected', 0)}、不可采 {c.get('inadmissible', 0)}），案件 {sum(k.values())} 件（已签发 {k.get('issued', 0)}、"
            f"待签发 {k.get('proposed', 0)}、待人工裁量 {k.get('manual', 0)}、待法制审核 {k.get('pending_approval', 0)}），"
            f"告知 {self.notices} 份，送达 {self.served} 份，缴款 {self.paid} 笔，逾期未缴 {self.overdue_payments} 件，异议 {self.objections} 件"
            + ("（已存在，未重复生成）" if self.already else "")
        )


def summarise(db: Database, actor: Actor, as_of: date) -> EnforcementSummary:
    """What the store holds (read only): captures and cases by status, notices, decisions served, payments."""
    with db.transaction() as session:
        captures = dict(session.execute(select(CaptureRow.status, func.count()).group_by(CaptureRow.status)).all())
        cases = dict(session.execute(select(CaseRow.status, func.count()).group_by(CaseRow.status)).all())
        decisions = session.scalars(select(CaseRow.decision).where(CaseRow.status == "issued"))
        served = sum(1 for d in decisions if d and d.get("served_on"))
        notices = session.scalar(select(func.count()).select_from(NoticeRow)) or 0
        paid = session.scalar(select(func.count()).select_from(PaymentRow)) or 0
        objections = session.scalar(select(func.count()).select_from(SubmissionRow).where(SubmissionRow.kind == "objection")) or 0
    overdue = ps.list_overdue_payments(db, actor, on=as_of)
    return EnforcementSummary({k: int(v) for k, v in captures.items()}, {k: int(v) for k, v in cases.items()}, int(notices), served, int(paid), int(objections), len(overdue))


# ---------------------------------------------------------------- the city's devices, roads and vehicles


def _read_csv(path: Path, keep: Callable[[dict[str, str]], bool] | None = None, limit: int | None = None) -> list[dict[str, str]]:
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        for rec in csv.DictReader(handle):
            if keep is None or keep(rec):
                out.append(rec)
                if limit is not None and len(out) >= limit:
                    break
    return out


def _vehicles(path: Path, owners: set[str]) -> tuple[list[dict[str, str]], dict[str, list[dict[str, str]]]]:
    """The first VEHICLE_POOL registered vehicles (not the demo accounts'), and the demo accounts' own."""
    pool: list[dict[str, str]] = []
    own: dict[str, list[dict[str, str]]] = {o: [] for o in owners}
    with path.open(encoding="utf-8", newline="") as handle:
        for rec in csv.DictReader(handle):
            owner = rec["owner_id"]
            if owner in own:
                own[owner].append(rec)
            elif rec["status"] == "A" and len(pool) < VEHICLE_POOL:
                pool.append(rec)
    return pool, own


def _admissible_on(camera: dict[str, str], day: date) -> bool:
    certified, published = camera.get("certified_until"), camera.get("location_published_at")
    return bool(certified) and day <= date.fromisoformat(certified) and bool(published) and date.fromisoformat(published) <= day


def _place(camera: dict[str, str], edges: dict[str, dict]) -> dict[str, Any]:
    edge = edges.get(camera["edge_id"], {})
    expressway = edge.get("road_class") == "expressway"
    place: dict[str, Any] = {"region": camera["district"], "lon": float(camera["lon"]), "lat": float(camera["lat"]), "road": edge.get("name"), "stretch": camera["edge_id"],
                             "road_type": "expressway" if expressway else "ordinary", "road_class": "highway" if expressway else "urban"}
    if edge.get("speed_limit_kmh"):
        place["speed_limit_kmh"] = int(edge["speed_limit_kmh"])
    return place


def _evidence(capture_id: str, count: int, kind: str = "jpg") -> list[dict[str, str]]:
    return [{"uri": f"s3://evidence/demo/{capture_id}/{i}.{kind}", "sha256": hashlib.sha256(f"{capture_id}/{i}".encode()).hexdigest()} for i in range(1, count + 1)]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BJ)


def _working_after(day: date, days: int) -> date:
    """The officer's working day `days` after `day` (the holiday calendar; calendar days outside it)."""
    try:
        return add_days(day, days, working=True, calendar=default_calendar())
    except CalendarNotCovered:
        return day + timedelta(days=days)


# ---------------------------------------------------------------- the plan: captures and what happens to each


@dataclass
class Plan:
    """One capture and what its reviewer, officer, party and clerk will do with it."""

    record: dict[str, Any]
    at: datetime
    review: str = "leave"  # confirm, reject, leave
    review_delay: int = 1  # working days after the capture day (the captures of a day arrive that evening)
    review_minute: int = 0  # minutes after nine that morning
    erase: str | None = None
    notify: bool = True
    issue_delay: int = 1
    serve_delay: int = 1
    pay_delay: int | None = None  # days after service; None: not paid
    deviate: str | None = None  # "approved" or "pending": issue a lighter decision than proposed
    objection: bool = False
    party: str | None = None  # the demo account whose vehicle it is ("citizen", "company")


class _City:
    def __init__(self, city_dir: Path, accounts: dict[str, dict]) -> None:
        cameras = _read_csv(city_dir / "cameras.csv")
        self.edges = {e["id"]: e for e in json.loads((city_dir / "roads.json").read_text(encoding="utf-8"))["edges"]}
        self.cameras = cameras
        self.region = (accounts["officer"].get("org_code") or "")[:6]
        citizen, company = accounts["citizen"].get("id_number"), accounts["company"].get("uscc")
        self.pool, own = _vehicles(city_dir / "vehicles.csv", {o for o in (citizen, company) if o})
        self.citizen_vehicles = own.get(citizen or "", [])
        self.company_vehicles = own.get(company or "", [])


def _camera_record(rng: random.Random, capture_id: str, camera: dict[str, str], edges: dict, vehicle: dict[str, str], at: datetime, behaviour: str | None = None) -> dict[str, Any]:
    choices = BY_CAMERA.get(camera["kind"], BY_CAMERA["red_light"])
    behaviour = behaviour or rng.choices([b for b, _ in choices], weights=[w for _, w in choices])[0]
    place = _place(camera, edges)
    record: dict[str, Any] = {
        "capture_id": capture_id, "source": "video_patrol" if camera["kind"] == "video_patrol" else "fixed_camera", "device_id": camera["camera_id"],
        "captured_at": at.isoformat(), "place": place, "plate_number": vehicle["plate_number"], "plate_type": vehicle["plate_type"], "behavior": behaviour,
        "evidence": _evidence(capture_id, 2 if behaviour != "illegal_parking" else 3),
    }
    if behaviour == "speeding":
        limit = place.get("speed_limit_kmh") or 60
        # mostly 10-49 % over the limit; one in eight 50 % or more (a licence measure: the general procedure)
        over = rng.uniform(0.5, 0.7) if rng.random() < 0.125 else rng.uniform(0.11, 0.45)
        record["measurements"] = {"speed_kmh": round(limit * (1 + over))}
    return record


def _plan(city: _City, as_of: date, seed: int, captures: int) -> list[Plan]:
    """Every capture with its fate, drawn from one seeded generator in a fixed order."""
    rng = random.Random(f"enforcement-{seed}-{as_of.isoformat()}")
    first = as_of - timedelta(days=10)
    usable = [c for c in city.cameras if _admissible_on(c, first) and _admissible_on(c, as_of)]
    lapsed = [c for c in city.cameras if c.get("certified_until") and date.fromisoformat(c["certified_until"]) < first]
    mine = [c for c in usable if c["district"] == city.region] or usable
    others = [c for c in usable if c["district"] != city.region] or usable
    plans: list[Plan] = []

    def new_id() -> str:
        return f"demo-{seed}-{as_of:%Y%m%d}-{len(plans) + 1:04d}"

    def moment(day: date) -> datetime:
        return _at(day, rng.randint(7, 21), rng.randint(0, 59))

    def fate(plan: Plan, day: date) -> Plan:
        """The officer's review and what follows, for a capture in the officer's jurisdiction."""
        plan.review_delay = rng.choice((1, 1, 1, 2, 2, 3))
        plan.review_minute = rng.randint(0, 420)
        draw = rng.random()
        plan.review = "leave" if draw < 0.06 else "reject" if draw < 0.16 else "confirm"
        if plan.review == "reject":
            plan.erase = rng.choice(ERASE)
        plan.notify = rng.random() > 0.08
        plan.issue_delay = rng.choice((0, 1, 1, 2))
        plan.serve_delay = rng.choice((0, 1, 1, 2, 3))
        plan.pay_delay = rng.randint(1, 12) if rng.random() < 0.45 else None
        return plan

    # the earlier month: decided and served long enough ago that unpaid fines are past their time to pay
    earlier = [c for c in mine if _admissible_on(c, as_of - timedelta(days=45))] or mine
    for _ in range(EARLIER):
        day = as_of - timedelta(days=rng.randint(35, 45))
        camera, vehicle, at = rng.choice(earlier), rng.choice(city.pool), moment(day)
        plan = fate(Plan(_camera_record(rng, new_id(), camera, city.edges, vehicle, at), at), day)
        plan.review, plan.erase, plan.deviate = "confirm", None, None
        plan.pay_delay = rng.randint(2, 20) if rng.random() < 0.5 else None
        plans.append(plan)

    # the demo citizen's vehicle: a red light decided, served and paid; a seat belt served and unpaid; an objection
    for behaviour, back, pay, objection in (("red_light", 9, 3, False), ("no_seatbelt", 6, None, False), ("illegal_parking", 4, None, True)):
        if not city.citizen_vehicles:
            break
        day = as_of - timedelta(days=back)
        at = _at(day, 8, 20 + back)
        vehicle = city.citizen_vehicles[back % len(city.citizen_vehicles)]
        camera = next((c for c in mine if behaviour in dict(BY_CAMERA.get(c["kind"], ()))), mine[0])
        # the objected case waits for the officer's answer before any decision
        plan = Plan(_camera_record(rng, new_id(), camera, city.edges, vehicle, at, behaviour), at, review="confirm", review_delay=1, review_minute=back,
                    issue_delay=99 if objection else 1, serve_delay=1, pay_delay=pay, objection=objection, party="citizen")
        plans.append(plan)
    # a company's lorry on a red light: its decision awaits the actual driver's points and goes on the 双公示 list
    if city.company_vehicles:
        day = as_of - timedelta(days=7)
        at = _at(day, 14, 5)
        camera = next((c for c in mine if c["kind"] == "red_light"), mine[0])
        plans.append(Plan(_camera_record(rng, new_id(), camera, city.edges, city.company_vehicles[0], at, "red_light"), at, review="confirm", review_delay=1,
                          issue_delay=1, serve_delay=2, party="company"))

    # the recent ten days
    recent = captures - len(plans) - 1  # and the second capture of one act, below
    for _ in range(recent):
        day = as_of - timedelta(days=rng.randint(1, 10))
        at = moment(day)
        vehicle = rng.choice(city.pool)
        draw = rng.random()
        if draw < 0.04 and lapsed:
            # a camera whose certification had lapsed before the capture day: inadmissible
            record = _camera_record(rng, new_id(), rng.choice(lapsed), city.edges, vehicle, at)
            plans.append(Plan(record, at))
            continue
        if draw < 0.10:
            # a citizen's report with photos or a video (ProcReg Art. 23): evidence is all it needs
            camera = rng.choice(mine)
            place = _place(camera, city.edges)
            capture_id = new_id()
            record = {"capture_id": capture_id, "source": "citizen_report", "captured_at": at.isoformat(), "place": {k: place[k] for k in ("region", "lon", "lat", "road")},
                      "plate_number": vehicle["plate_number"], "plate_type": vehicle["plate_type"], "behavior": rng.choice(REPORTED),
                      "evidence": _evidence(capture_id, rng.randint(1, 3), rng.choice(("jpg", "mp4")))}
            plans.append(fate(Plan(record, at), day))
            continue
        if draw < 0.12:
            # no evidence attached: inadmissible whatever the device
            record = _camera_record(rng, new_id(), rng.choice(mine), city.edges, vehicle, at)
            record["evidence"] = []
            plans.append(Plan(record, at))
            continue
        in_mine = draw < 0.78
        record = _camera_record(rng, new_id(), rng.choice(mine if in_mine else others), city.edges, vehicle, at)
        plan = Plan(record, at)
        plans.append(fate(plan, day) if record["place"]["region"] == city.region else plan)
    # one act caught twice (一事不再罚): the second capture joins the first one's case
    twice = next((p for p in plans if p.review == "confirm" and p.party is None and p.record["behavior"] == "illegal_parking" and p.at.date() > as_of - timedelta(days=10)), None)
    if twice is not None:
        again = dict(twice.record, capture_id=new_id(), captured_at=(twice.at + timedelta(minutes=12)).isoformat())
        again["evidence"] = _evidence(again["capture_id"], 2)
        plans.append(Plan(again, twice.at + timedelta(minutes=12), review="confirm", review_delay=twice.review_delay, review_minute=twice.review_minute + 5))
    # one decision lighter than proposed, approved by the legal reviewer; one still awaiting review. The
    # brigade's commonest behaviour, so the consistency audit has the usual decision to set it against;
    # not a trailer's plate (the engine has no category for a trailer, so no proposal to deviate from).
    trailers = {(v["plate_number"], v["plate_type"]) for v in city.pool if v["vehicle_type"].startswith("B")}
    eligible = [p for p in plans if p.review == "confirm" and p.party is None and p.record["place"]["region"] == city.region
                and (p.record["plate_number"], p.record["plate_type"]) not in trailers and as_of - timedelta(days=10) <= p.at.date() <= as_of - timedelta(days=6)]
    common = Counter(p.record["behavior"] for p in eligible).most_common()
    usual = min(common, key=lambda kv: (-kv[1], kv[0]))[0] if common else None
    candidates = [p for p in eligible if p.record["behavior"] == usual]
    for plan, how in zip(candidates[-2:], ("approved", "pending"), strict=False):
        plan.deviate, plan.review_delay, plan.issue_delay = how, 1, 1  # decided well before as_of
    return sorted(plans, key=lambda p: (p.at, p.record["capture_id"]))


# ---------------------------------------------------------------- running the plan in time order


class _Run:
    def __init__(self, db: Database, actor: Actor, actors: dict[str, Actor], as_of: date, end: datetime) -> None:
        self.db, self.actor, self.actors, self.as_of, self.end = db, actor, actors, as_of, end
        self.events: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.count = 0

    def at(self, when: datetime, action: Callable[[datetime], None]) -> None:
        if when <= self.end:
            self.count += 1
            heapq.heappush(self.events, (when, self.count, action))

    def run(self, progress: Callable[[int, int], None] | None) -> None:
        done = 0
        while self.events:
            when, _, action = heapq.heappop(self.events)
            action(when)
            done += 1
            if progress and done % 25 == 0:
                progress(done, done + len(self.events))
        if progress:
            progress(done, done)

    # each step, and what it makes due next

    def review(self, plan: Plan) -> None:
        day = _working_after(plan.at.astimezone(BJ).date(), plan.review_delay)
        when = _at(day, 9, 0) + timedelta(minutes=plan.review_minute)
        officer = self.actors["officer"]

        def act(now: datetime) -> None:
            if plan.review == "reject":
                reason = plan.erase or "record_unclear"
                note = "抓拍时段该路口信号灯故障，已由设备运维单位出具说明" if reason == "other" else ""
                service.reject_capture(self.db, officer, plan.record["capture_id"], reason, note, now=now)
                return
            case = service.confirm_capture(self.db, officer, plan.record["capture_id"], now=now)
            if case.merged:
                return
            if plan.notify:
                self.at(_at(_working_after(now.date(), 1), 9, 30), lambda n: service.mark_notified(self.db, officer, case.id, now=n))
            if plan.objection:
                self.at(now + timedelta(hours=30), lambda n: self.object(case.id, n))
            if case.status != "proposed":
                return  # 待人工裁量: the engine could not propose; the officer decides by hand later
            if case.procedure == "general" and plan.deviate is None:
                self.at(now + timedelta(hours=1), lambda n: self.notice(plan, case.id, n))
            else:
                self.at(_at(_working_after(now.date(), plan.issue_delay), 10, 15) if plan.issue_delay else now + timedelta(hours=2), lambda n: self.issue(plan, case.id, n))

        self.at(when, act)

    def object(self, case_id: int, now: datetime) -> None:
        ps.object_online(self.db, self.actors["citizen"], ps.ObjectionRequest(case_id=case_id, text=OBJECTION), now=now)

    def notice(self, plan: Plan, case_id: int, now: datetime) -> None:
        view = ps.serve_notice(self.db, self.actors["officer"], case_id, ps.NoticeRequest(), now=now)
        assert view.notice is not None
        # the decision once the party's time to state their case has run out (nobody stated it)
        self.at(_at(_working_after(view.notice.statement_due, 1), 10, 0), lambda n: self.issue(plan, case_id, n))

    def issue(self, plan: Plan, case_id: int, now: datetime) -> None:
        officer = self.actors["officer"]
        version = service.get_case(self.db, officer, case_id, now=now).version
        if plan.deviate:
            request = service.IssueRequest(version=version, deviation=service.Deviation(outcome="warning"), reason=DEVIATION_REASON)
            view = service.issue_decision(self.db, officer, case_id, request, now=now)
            if plan.deviate == "approved":
                legal = self.actors["legal_reviewer"]
                approval = service.ApprovalRequest(version=view.version, approve=True, note="违法情节轻微并已纠正，同意从轻给予警告")
                self.at(_at(_working_after(now.date(), 1), 11, 0), lambda n: self.served_next(plan, service.decide_deviation(self.db, legal, case_id, approval, now=n), n))
            return
        self.served_next(plan, service.issue_decision(self.db, officer, case_id, service.IssueRequest(version=version), now=now), now)

    def served_next(self, plan: Plan, view: service.CaseView, now: datetime) -> None:
        if view.status != "issued":
            return
        day = now.astimezone(BJ).date() + timedelta(days=plan.serve_delay)

        def serve(n: datetime) -> None:
            served = ps.serve_decision(self.db, self.actors["officer"], view.id, ps.ServeRequest(served_on=day), now=n)
            if plan.pay_delay is not None and served.payment is not None:
                paid_on = day + timedelta(days=plan.pay_delay)
                self.at(_at(paid_on, 15, 0), lambda m: self.pay(view.id, paid_on, m))

        self.at(_at(day, 16, 0), serve)

    def pay(self, case_id: int, paid_on: date, now: datetime) -> None:
        clerk = self.actors["clerk"]
        owed = ps.payment(self.db, clerk, case_id, on=paid_on, now=now)
        receipt = f"JN{paid_on:%Y%m%d}{case_id:05d}"
        request = ps.PaymentRequest(receipt_number=receipt, amount_yuan=owed.total_yuan.quantize(Decimal("0.01")), paid_on=paid_on, channel=("online", "bank", "window")[case_id % 3])
        ps.record_payment(self.db, clerk, case_id, request, now=now)


def seed_enforcement(db: Database, actor: Actor, city_dir: Path, as_of: date, seed: int, *, captures: int = CAPTURES,
                     progress: Callable[[int, int], None] | None = None) -> EnforcementSummary:
    """演示执法活动 — a few hundred captures of the city's own vehicles on its own cameras, reviewed, decided,
    served and partly paid through the enforcement use cases, deterministic for (seed, as_of).

    A store that already holds them is left as it is (the same summary comes back, `already` set)."""
    accounts = demo_accounts(city_dir / "manifest.json")
    actors = {role: get_user(db, accounts[role]["username"]) for role in ("officer", "legal_reviewer", "clerk", "citizen", "company") if role in accounts}
    missing = [role for role, a in actors.items() if a is None]
    if missing or len(actors) < 5:
        raise FieldError("accounts", f"演示账户不存在：{', '.join(missing)}", f"demo accounts missing: {missing}")
    city = _City(city_dir, accounts)
    plans = _plan(city, as_of, seed, captures)
    # arrivals: each day's captures come in that evening, one batch a day
    days: dict[date, list[dict]] = {}
    for plan in plans:
        days.setdefault(plan.at.astimezone(BJ).date(), []).append(plan.record)
    first_day = min(days)
    probe = service.ingest_captures(db, actor, days[first_day], now=_at(first_day, 23, 30))
    if probe.accepted == 0 and probe.duplicates == len(days[first_day]):
        summary = summarise(db, actor, as_of)
        summary.already = True
        return summary
    if probe.rejected:
        raise FieldError("captures", f"演示抓拍被拒：{probe.rejected[0].reason_zh}", f"demo capture rejected: {probe.rejected[0].reason_en}")
    end = _at(as_of, 17, 30)
    run = _Run(db, actor, {k: v for k, v in actors.items() if v is not None}, as_of, end)

    def ingest(day: date) -> Callable[[datetime], None]:
        def act(now: datetime) -> None:
            result = service.ingest_captures(db, actor, days[day], now=now)
            if result.rejected:
                raise FieldError("captures", f"演示抓拍被拒：{result.rejected[0].reason_zh}", f"demo capture rejected: {result.rejected[0].reason_en}")
        return act

    for day in sorted(days)[1:]:
        run.at(_at(day, 23, 30), ingest(day))
    for plan in plans:
        if plan.review != "leave":
            run.review(plan)
    run.run(progress)
    return summarise(db, actor, as_of)
