"""执法监督 use cases over the store: the consistency audit, the 双公示 export and its publication
records, the leniency-list evaluation and the new list versions a legal reviewer accepts from it.
The logic is in `oversight` (pure); this module reads the store, writes the two oversight tables
(`enforcement_disclosures`, `leniency_list_versions`) and audits every write.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.accounts.store import OrganisationRow, UserRow
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit.store import CreditAccidentPartyRow, CreditAccidentRow, CreditViolationRow
from trafficgov.enforcement import oversight as ov
from trafficgov.enforcement.calendar import default_calendar
from trafficgov.enforcement.service import BEIJING, behaviour_label, local_day
from trafficgov.enforcement.store import CaseRow, DisclosureRecordRow, LeniencyVersionRow
from trafficgov.errors import FieldError, Forbidden, NotFound
from trafficgov.rules import loader
from trafficgov.rules.loader import Rulebook, RuleFileError, default_rulebook
from trafficgov.store.db import Database

DEFAULT_REGION = "370100"  # the demo city (济南) whose leniency list is evaluated by default
DEFAULT_AUTHORITY = "公安机关交通管理部门"
MAX_ROWS = 50_000
EVALUATION_PERIOD_DAYS = 365  # 定期评估: a year of violations, each followed for the window
MAX_PERIOD_DAYS = 3660
MAX_PUBLISH = 500
PUBLISHERS = (Role.LEGAL_REVIEWER, Role.SUPERVISOR)
VERSION_AUTHORS = (Role.LEGAL_REVIEWER,)
VERSION_STATUS_ZH = {"draft": "草案（待公布）", "published": "已公布并随规则数据施行"}


def _audit(session: Session, actor: Actor, action: str, entity: str, key: str | None, at: datetime, **detail: Any) -> None:
    audit.append(
        session,
        AuditEntry(actor=actor.username, role=str(actor.role), unit=actor.unit, action=action, entity=entity, record_key=key, purpose="oversight", at=at, detail=detail),
    )


def _issued(session) -> list[CaseRow]:
    return list(session.scalars(select(CaseRow).where(CaseRow.status == "issued").order_by(CaseRow.issued_at, CaseRow.id).limit(MAX_ROWS)))


def _units(session) -> tuple[dict[str, str | None], dict[str, str]]:
    """username -> organisation code, organisation code -> name."""
    users = {u: o for u, o in session.execute(select(UserRow.username, UserRow.org_code))}
    orgs = {c: n for c, n in session.execute(select(OrganisationRow.code, OrganisationRow.name))}
    return users, orgs


# ---------------------------------------------------------------- consistency audit


def issued_decisions(db: Database) -> list[ov.IssuedDecision]:
    """Every issued decision the engine had a proposal for, with its fact signature, officer and unit."""
    out = []
    with db.transaction() as session:
        users, orgs = _units(session)
        for row in _issued(session):
            facts = ov.fact_signature(row.behavior, row.proposal)
            decision = row.decision or {}
            if facts is None:
                continue
            officer = row.issued_by
            org = users.get(officer or "")
            out.append(
                ov.IssuedDecision(
                    case_id=row.id,
                    decision_number=row.decision_number,
                    behaviour=row.behavior,
                    facts=facts,
                    outcome=str(decision.get("outcome")),
                    fine_yuan=decision.get("fine_yuan"),
                    points=int(decision.get("points") or 0),
                    licence_action=decision.get("licence_action") or "none",
                    licence_months=decision.get("licence_months"),
                    officer=officer,
                    unit=orgs.get(org, org) if org else None,
                    issued_at=row.issued_at,
                    explanation_zh=decision.get("explanation_zh") or "",
                    deviation_reason=row.deviation_reason,
                    review_note=row.review_note,
                )
            )
    return out


def consistency_report(db: Database, actor: Actor) -> ov.ConsistencyReport:
    decisions = issued_decisions(db)
    report = ov.consistency_audit(decisions)
    # each behaviour under the catalogue's label of the day it was decided (labels are dated data too)
    for d in decisions:
        if d.behaviour not in report.behaviour_labels:
            report.behaviour_labels[d.behaviour] = behaviour_label(d.behaviour, local_day(d.issued_at) if d.issued_at else None)
    return report


# ---------------------------------------------------------------- 双公示


def company_decisions(db: Database, case_ids: Sequence[int] | None = None) -> list[ov.CompanyDecision]:
    """Issued decisions against companies (all, or the cases named), each with its publication record."""
    with db.transaction() as session:
        return _company_decisions(session, case_ids)


def _company_decisions(session: Session, case_ids: Sequence[int] | None = None) -> list[ov.CompanyDecision]:
    out = []
    users, orgs = _units(session)
    query = (
        select(CaseRow, DisclosureRecordRow)
        .outerjoin(DisclosureRecordRow, DisclosureRecordRow.case_id == CaseRow.id)
        .where(CaseRow.status == "issued", CaseRow.owner_kind == "company")
    )
    if case_ids is not None:
        query = query.where(CaseRow.id.in_(list(case_ids)))
    for row, record in session.execute(query.order_by(CaseRow.issued_at, CaseRow.id).limit(MAX_ROWS)):
        decision = row.decision or {}
        if not row.decision_number or not row.owner_id or row.issued_at is None:
            continue
        org = users.get(row.issued_by or "")
        day = local_day(row.occurred_at)
        out.append(
            ov.CompanyDecision(
                decision_number=row.decision_number,
                counterparty=row.owner_id,
                behaviour=row.behavior,
                behaviour_label=behaviour_label(row.behavior, day),
                occurred_at=row.occurred_at.astimezone(BEIJING),
                decided_on=local_day(row.issued_at),
                outcome=str(decision.get("outcome")),
                fine_yuan=decision.get("fine_yuan"),
                points=int(decision.get("points") or 0),
                licence_action=decision.get("licence_action") or "none",
                licence_months=decision.get("licence_months"),
                legal_basis=[str(b) for b in decision.get("legal_basis") or []],
                authority=orgs.get(org, DEFAULT_AUTHORITY) if org else DEFAULT_AUTHORITY,
                place=row.road or "",
                case_id=row.id,
                published_at=record.published_at.astimezone(BEIJING) if record else None,
                published_on=local_day(record.published_at) if record else None,
                channel=record.channel if record else None,
            )
        )
    return out


def disclosure(
    db: Database, actor: Actor | None = None, *, as_of: date | None = None, overdue_only: bool = False, status: str | None = None
) -> list[ov.DisclosureRow]:
    """双公示 rows of the company penalty decisions, each with its 7-working-day due day, its publication
    and its status; `overdue_only`: those not published by the due day; `status`: one status only."""
    day = as_of or local_day(datetime.now(UTC))
    if status is not None and status not in ov.DISCLOSURE_STATUS_ZH:
        raise FieldError("status", f"公示状态须为：{'、'.join(ov.DISCLOSURE_STATUS_ZH)}", f"status must be one of {sorted(ov.DISCLOSURE_STATUS_ZH)}")
    rows = ov.disclosure_rows(company_decisions(db), day, default_calendar())
    if overdue_only:
        rows = [r for r in rows if r.overdue]
    return [r for r in rows if r.status == status] if status else rows


class PublishRequest(BaseModel):
    """登记公示 — the decisions (case ids) that went online, where and when (default: now)."""

    model_config = ConfigDict(extra="forbid")
    case_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=MAX_PUBLISH)
    channel: str = Field(min_length=1, max_length=32, description="credit_china_shandong, credit_china, bureau_website, government_portal")
    published_at: AwareDatetime | None = None


class PublishResult(BaseModel):
    published: list[int]  # recorded by this call
    already: list[int]  # recorded before: unchanged (publishing twice changes nothing)
    channel: str
    published_at: datetime


def publish_disclosures(db: Database, actor: Actor, request: PublishRequest, *, now: datetime | None = None) -> PublishResult:
    """登记公示 — record that company penalty decisions went online. Idempotent per case: a case already
    recorded keeps its first record. Every case must be one of the 双公示 rows; nothing is written
    unless all are. Each case recorded is audited."""
    if Role(actor.role) not in PUBLISHERS:
        raise Forbidden("仅法制审核员或督察可登记公示", "only a legal reviewer or a supervisor records publication")
    at = now or datetime.now(UTC)
    published_at = request.published_at or at
    ov.check_publication(request.channel, published_at, at)
    wanted = list(dict.fromkeys(request.case_ids))
    with db.transaction(write=True) as session:
        rows = {r.case_id: r for r in ov.disclosure_rows(_company_decisions(session, wanted), local_day(at), default_calendar())}
        missing = [c for c in wanted if c not in rows]
        if missing:
            raise FieldError("case_ids", f"以下案件不是应公示的涉企行政处罚决定：{'、'.join(map(str, missing))}", f"not company penalty decisions to disclose: {missing}")
        for case_id in wanted:
            ov.check_published_after_decision(rows[case_id].decision_number, rows[case_id].decision_date, local_day(published_at))
        insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
        published, already = [], []
        for case_id in wanted:
            statement = (
                insert(DisclosureRecordRow)
                .values(case_id=case_id, decision_number=rows[case_id].decision_number, channel=request.channel, published_at=published_at, published_by=actor.username, recorded_at=at)
                .on_conflict_do_nothing(index_elements=["case_id"])
                .returning(DisclosureRecordRow.id)
            )
            (published if session.execute(statement).first() is not None else already).append(case_id)
        for case_id in published:
            _audit(
                session, actor, "publish", "enforcement_disclosures", str(case_id), at,
                decision_number=rows[case_id].decision_number, channel=request.channel, published_at=published_at.isoformat(), due_date=rows[case_id].due_date.isoformat() if rows[case_id].due_date else None,
            )
        if already:
            _audit(session, actor, "publish", "enforcement_disclosures", None, at, unchanged=already)
    return PublishResult(published=published, already=already, channel=request.channel, published_at=published_at)


def export_disclosure(db: Database, fmt: Literal["csv", "json"] = "csv", *, as_of: date | None = None, out: Path | None = None, overdue_only: bool = False) -> str:
    """CLI-friendly 双公示 export: the text (CSV with Chinese headers, or JSON), also written to `out` if given."""
    rows = disclosure(db, as_of=as_of, overdue_only=overdue_only)
    text = ov.disclosure_csv(rows) if fmt == "csv" else ov.disclosure_json(rows)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    return text


# ---------------------------------------------------------------- leniency evaluation


def store_violations(db: Database, since: datetime, until: datetime) -> list[ov.ViolationRecord]:
    """The violations that happened in [since, until], from the one table of them (`credit_violations`):
    those imported from the bureau's systems and the platform's own issued decisions (a decision is a
    violation, its id the case id; its driver is who took the points, once known)."""
    v = CreditViolationRow.__table__
    query = (
        select(v.c.behavior, v.c.occurred_at, v.c.outcome, v.c.plate_type, v.c.plate_number, v.c.driver_id)
        .where(v.c.occurred_at >= since, v.c.occurred_at <= until)
        .order_by(v.c.occurred_at, v.c.id)
    )
    with db.transaction() as session:
        return [
            ov.ViolationRecord(behaviour, at, outcome or "fine", ov.plate_key(plate_type, plate_number), driver or None)
            for behaviour, at, outcome, plate_type, plate_number, driver in session.execute(query)
        ]


def store_accidents(db: Database, since: datetime, until: datetime) -> list[ov.AccidentRecord]:
    """The accidents that happened in [since, until] (`credit_accidents`), each with the vehicles and
    drivers of its parties."""
    a, p = CreditAccidentRow.__table__, CreditAccidentPartyRow.__table__
    query = (
        select(a.c.accident_id, a.c.occurred_at, p.c.plate_type, p.c.plate_number, p.c.driver_id)
        .join(p, p.c.accident_id == a.c.accident_id, isouter=True)
        .where(a.c.occurred_at >= since, a.c.occurred_at <= until)
        .order_by(a.c.occurred_at, a.c.accident_id)
    )
    found: dict[str, tuple[datetime, set[str], set[str]]] = {}
    with db.transaction() as session:
        for accident_id, at, plate_type, plate_number, driver in session.execute(query):
            _, plates, drivers = found.setdefault(accident_id, (at, set(), set()))
            if (key := ov.plate_key(plate_type, plate_number)) is not None:
                plates.add(key)
            if driver:
                drivers.add(driver)
    return [ov.AccidentRecord(at, frozenset(plates), frozenset(drivers)) for at, plates, drivers in found.values()]


def leniency_report(
    db: Database,
    actor: Actor | None = None,
    *,
    region: str = DEFAULT_REGION,
    as_of: date | None = None,
    window_days: int = 90,
    period_days: int = EVALUATION_PERIOD_DAYS,
    accidents: Iterable[dict[str, Any]] | None = None,
    violations: Iterable[dict[str, Any]] | None = None,
) -> ov.LeniencyReport:
    """定期评估 of the region's leniency list in force on `as_of` over the violations of the `period_days`
    before `as_of - window_days` (each followed for `window_days`). Violations and accidents: the records
    given, else the store's (`store_violations`, `store_accidents`), read up to the end of `as_of` (Beijing
    time) only, so that an evaluation as of a past day is the one that could have been made on it.
    Nothing is written."""
    day = as_of or local_day(datetime.now(UTC))
    if not 2000 <= day.year <= 2100:
        raise FieldError("as_of", "评估日期须在2000年至2100年之间", "as_of must lie between 2000 and 2100")
    rules = default_rulebook().at(day, region)
    layer, lists = rules.leniency_list()
    listed: dict[str, str] = {}
    excluded: set[str] = set()
    for entry in lists:
        excluded.update(entry.conditions.excluded_behaviours)
        for item in entry.items:
            listed.setdefault(item.behaviour, item.label_zh or behaviour_label(item.behaviour, day))
    if not 1 <= period_days <= MAX_PERIOD_DAYS:
        raise FieldError("period_days", f"评估期须为1至{MAX_PERIOD_DAYS}日", f"period_days must lie between 1 and {MAX_PERIOD_DAYS}")
    until = datetime.combine(day + timedelta(days=1), time(), BEIJING)  # the end of as_of, Beijing time
    since = until - timedelta(days=window_days + period_days)
    if violations is not None:  # records given: the same period as the store's
        found = [v for v in ov.violations_from_records(violations) if since <= v.occurred_at <= until]
    else:
        found = store_violations(db, since, until)
    accidents_found = ov.accidents_from_records(accidents) if accidents is not None else store_accidents(db, since, until)
    labels = {code: b.label_zh for code, b in rules.behaviours.items()}
    report = ov.evaluate_leniency(
        listed,
        found,
        accidents_found,
        as_of=day,
        window_days=window_days,
        excluded=excluded,
        labels=labels,
        list_id=lists[0].list_id if lists else None,
        list_outcome=lists[0].outcome if lists else None,
    )
    report.rule_id = lists[0].rule_id if lists else None
    report.region = layer
    return report


# ---------------------------------------------------------------- new dated list version (定期评估 -> 清单新版本)


class LeniencyVersionRequest(BaseModel):
    """接受评估建议 — the list version in force (`base_rule_id`), the behaviours to add and remove, the day
    the new version takes effect and why."""

    model_config = ConfigDict(extra="forbid")
    base_rule_id: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9_.\-]+$")
    effective_from: date
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)
    reason: str = Field(min_length=1, max_length=ov.MAX_REASON)


class LeniencyVersionView(BaseModel):
    id: int
    region: str | None
    list_id: str
    file_path: str
    base_rule_id: str
    new_rule_id: str
    effective_from: date
    added: list[str]
    removed: list[str]
    added_zh: list[str]
    removed_zh: list[str]
    reason: str
    accepted_by: str
    accepted_at: datetime
    status: str  # draft; published once the shipped rule data holds the new version
    status_zh: str


@dataclass(frozen=True)
class Validated:
    version: ov.LeniencyVersion
    file_path: str  # relative to rules/data


def validate_leniency_version(request: LeniencyVersionRequest, *, today: date, accepted_by: str = "", data_dir: Path | None = None) -> Validated:
    """Build the new version in a copy of its region file and load the packaged rules with it through the
    same loader as on startup; a file the loader refuses is refused here with the loader's message."""
    shipped = default_rulebook() if data_dir is None else Rulebook.load([data_dir])
    data_dir = data_dir or loader.DATA_DIR
    base = next((item for item in shipped.rows("leniency") if item.row.rule_id == request.base_rule_id), None)
    if base is None:
        raise FieldError("base_rule_id", f"规则数据中没有清单版本{request.base_rule_id}", f"no leniency list {request.base_rule_id}")
    relative = Path(base.path).resolve().relative_to(Path(data_dir).resolve())
    text = (Path(data_dir) / relative).read_text(encoding="utf-8")
    catalogue = shipped.at(request.effective_from).behaviours
    measured = [code for code, b in catalogue.items() if b.measure != "none"]
    version = ov.build_leniency_version(
        text, base_rule_id=request.base_rule_id, effective_from=request.effective_from, add=request.add, remove=request.remove,
        reason=request.reason, today=today, measured=measured, labels={c: b.label_zh for c, b in catalogue.items()}, accepted_by=accepted_by,
    )
    with tempfile.TemporaryDirectory(prefix="leniency-") as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data_dir, copy)
        (copy / relative).write_text(version.yaml_text, encoding="utf-8")
        try:
            candidate = Rulebook.load([copy])
        except RuleFileError as exc:
            message = exc.message.replace(str(copy) + "/", "")
            raise FieldError("list", f"新版本清单未通过规则校验（与启动时相同的校验）：{message}", f"the new version fails the rule loader: {message}") from exc
    # the new version, and only it, is the region's list from its first day; the old one the day before
    rules = candidate.at(version.effective_from, base.region)
    _, lists = rules.leniency_list()
    in_force = {entry.rule_id for entry in lists}
    before = {entry.rule_id for entry in candidate.at(version.effective_from - timedelta(days=1), base.region).leniency_list()[1]}
    if version.new_rule_id not in in_force or version.base_rule_id in in_force or version.base_rule_id not in before:
        raise FieldError("effective_from", "新版本未能按日期接替现行清单，请检查规则文件中的日期", "the new version does not succeed the base version on its first day")
    return Validated(version, relative.as_posix())


def _version_view(row: LeniencyVersionRow, shipped: set[str]) -> LeniencyVersionView:
    day = row.effective_from
    status = "published" if row.new_rule_id in shipped else row.status
    return LeniencyVersionView(
        id=row.id, region=row.region, list_id=row.list_id, file_path=row.file_path, base_rule_id=row.base_rule_id, new_rule_id=row.new_rule_id,
        effective_from=row.effective_from, added=list(row.added), removed=list(row.removed),
        added_zh=[behaviour_label(c, day) for c in row.added], removed_zh=[behaviour_label(c, day) for c in row.removed],
        reason=row.reason, accepted_by=row.accepted_by, accepted_at=row.accepted_at, status=status, status_zh=VERSION_STATUS_ZH.get(status, status),
    )


def _shipped_leniency_ids() -> set[str]:
    return {item.row.rule_id for item in default_rulebook().rows("leniency")}


def accept_leniency_version(db: Database, actor: Actor, request: LeniencyVersionRequest, *, now: datetime | None = None) -> LeniencyVersionView:
    """接受评估建议，形成清单新版本草案 — validated as on startup, stored with its YAML, audited. Accepting
    again for the same list and day replaces the earlier draft (it was never published); a version
    already shipped cannot be replaced."""
    if Role(actor.role) not in VERSION_AUTHORS:
        raise Forbidden("仅法制审核员可接受评估建议形成清单新版本", "only a legal reviewer accepts a new list version")
    at = now or datetime.now(UTC)
    checked = validate_leniency_version(request, today=local_day(at), accepted_by=actor.username)
    version = checked.version
    shipped = _shipped_leniency_ids()
    with db.transaction(write=True) as session:
        row = session.scalars(select(LeniencyVersionRow).where(LeniencyVersionRow.new_rule_id == version.new_rule_id)).first()
        if row is not None and (row.status != "draft" or row.new_rule_id in shipped):
            raise FieldError("effective_from", f"清单版本{version.new_rule_id}已公布，不能再修改；请另定生效日期", f"{version.new_rule_id} is already published")
        action = "update" if row is not None else "create"
        if row is None:
            row = LeniencyVersionRow(new_rule_id=version.new_rule_id)
            session.add(row)
        row.region, row.list_id, row.file_path, row.base_rule_id = version.region, version.list_id, checked.file_path, version.base_rule_id
        row.effective_from, row.added, row.removed, row.reason = version.effective_from, list(version.added), list(version.removed), version.reason
        row.yaml_text, row.accepted_by, row.accepted_at, row.status = version.yaml_text, actor.username, at, "draft"
        session.flush()
        _audit(
            session, actor, action, "leniency_list_versions", version.new_rule_id, at,
            base_rule_id=version.base_rule_id, effective_from=version.effective_from.isoformat(), added=list(version.added), removed=list(version.removed), reason=version.reason,
        )
        return _version_view(row, shipped)


def list_leniency_versions(db: Database, actor: Actor) -> list[LeniencyVersionView]:
    shipped = _shipped_leniency_ids()
    with db.transaction() as session:
        rows = session.scalars(select(LeniencyVersionRow).order_by(LeniencyVersionRow.accepted_at.desc(), LeniencyVersionRow.id.desc()).limit(500))
        return [_version_view(r, shipped) for r in rows]


def leniency_version_yaml(db: Database, actor: Actor, version_id: int) -> tuple[LeniencyVersionView, str]:
    """The draft's region file (YAML) for the release process."""
    with db.transaction() as session:
        row = session.get(LeniencyVersionRow, version_id)
        if row is None:
            raise NotFound(f"leniency list version {version_id}")
        return _version_view(row, _shipped_leniency_ids()), row.yaml_text
