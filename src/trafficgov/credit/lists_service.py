"""红黑名单程序 — use cases of the red and black lists: proposals from a scoring run, the due-process steps
(review, publication, appeal, repair, expiry) with optimistic locking and an audit entry per write, what
is in force on a day (for the scoring), and the views staff, companies and drivers read.

The rules (who may take which step from which state, the appeal period, the remediation) are the pure
`credit.lists` over `credit/data/lists.yaml`; this module only stores and replays entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.audit import service as audit
from trafficgov.audit.model import AuditEntry
from trafficgov.credit import lists
from trafficgov.credit.store import CreditListEntryRow
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.registry.service import Masker
from trafficgov.store.db import Database

SYSTEM = "system"  # the role (and username) of the scheduled run, as lists.yaml names it
ACTIONS = ("approve", "reject", "publish", "appeal", "uphold", "withdraw", "repair", "expire")
ACTION_LABELS_ZH = {
    "propose": "提出拟列入", "approve": "审核通过", "reject": "审核不通过", "publish": "公布",
    "appeal": "提出异议", "uphold": "维持（异议不成立）", "withdraw": "撤销（异议成立）",
    "repair": "信用修复移出", "expire": "期满移出",
}
SUBJECT_LABELS_ZH = {"company": "道路运输企业", "school": "驾驶培训机构", "driver": "驾驶员", "vehicle": "车辆"}
READER_ROLES = (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN)
OPEN_BEFORE_PUBLICATION = frozenset({"proposed", "reviewed"})
PURPOSE = "credit_lists"
BEIJING = timezone(timedelta(hours=8), "北京时间")  # the bureau's day: a step is dated in Beijing time


# ---------------------------------------------------------------- JSON of the pure entry


def _step_to_json(step: lists.Step) -> dict[str, Any]:
    return {"action": step.action, "from_state": step.from_state, "to_state": step.to_state, "actor_role": step.actor_role,
            "on": step.on.isoformat(), "reason": step.reason}


def entry_to_json(entry: lists.ListEntry) -> dict[str, Any]:
    """The pure ListEntry as JSON (dates ISO); `entry_from_json` reads it back unchanged."""
    return {
        "list_name": entry.list_name, "subject_kind": entry.subject_kind, "subject_id": entry.subject_id, "state": entry.state,
        "proposed_on": entry.proposed_on.isoformat(),
        "published_on": entry.published_on.isoformat() if entry.published_on else None,
        "ends_on": entry.ends_on.isoformat() if entry.ends_on else None,
        "criteria": list(entry.criteria), "history": [_step_to_json(s) for s in entry.history],
    }


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def entry_from_json(raw: Mapping[str, Any]) -> lists.ListEntry:
    """Read back what `entry_to_json` wrote; keys it does not know (the proposal, who acted) are ignored."""
    return lists.ListEntry(
        list_name=raw["list_name"], subject_kind=raw["subject_kind"], subject_id=raw["subject_id"], state=raw["state"],
        proposed_on=date.fromisoformat(raw["proposed_on"]), published_on=_day(raw.get("published_on")), ends_on=_day(raw.get("ends_on")),
        criteria=tuple(raw.get("criteria", ())),
        history=tuple(
            lists.Step(s["action"], s.get("from_state"), s["to_state"], s["actor_role"], date.fromisoformat(s["on"]), s.get("reason"))
            for s in raw.get("history", ())
        ),
    )


def proposal_to_json(proposal: lists.ListProposal) -> dict[str, Any]:
    """What the entry page shows of the proposal: each criterion met and each measure with its basis."""
    return {
        "label_zh": proposal.label_zh,
        "criteria": [asdict(c) for c in proposal.criteria],
        "measures": [asdict(m) for m in proposal.measures],
        "duration_days": proposal.duration_days,
        "table_version": proposal.table_version,
        "configurable_default": proposal.configurable_default,
    }


def _stored(entry: lists.ListEntry, proposal: Mapping[str, Any], steps_by: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {**entry_to_json(entry), "proposal": dict(proposal), "steps_by": list(steps_by)}


# ---------------------------------------------------------------- views


class CriterionView(BaseModel):
    code: str
    text_zh: str
    basis: str
    default: bool


class StepView(BaseModel):
    action: str
    action_zh: str
    from_state: str | None
    to_state: str
    to_state_zh: str
    actor_role: str
    on: date
    reason: str | None
    by: str | None
    at: datetime | None


class ListEntryView(BaseModel):
    id: int
    list_name: str
    list_label_zh: str
    subject_kind: str
    subject_kind_zh: str
    subject_id: str
    company_uscc: str | None
    state: str
    state_zh: str
    in_force: bool
    proposed_on: date
    published_on: date | None
    ends_on: date | None
    criteria: list[CriterionView]
    measures: list[CriterionView]
    table_version: str | None
    configurable_default: bool
    history: list[StepView]
    version: int
    created_at: datetime
    updated_at: datetime


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=16, description="approve, reject, publish, appeal, uphold, withdraw, repair, expire")
    version: int = Field(ge=1, description="条目版本号（乐观锁）")
    reason: str | None = Field(default=None, max_length=2000, description="理由（驳回、异议、维持、撤销时必填）")
    remediation: dict[str, float] | None = Field(default=None, description="信用修复完成情况，如 {\"class_hours\": 18}")


class ExpireRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = Field(default=None, description="截至日期（默认今日，不得晚于今日）")


@dataclass(frozen=True)
class ProposeSummary:
    """One `propose` call: subjects read, entries proposed, proposals skipped as already open, their ids."""

    subjects: int
    proposed: int
    skipped: int
    entry_ids: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"subjects": self.subjects, "proposed": self.proposed, "skipped": self.skipped, "entry_ids": list(self.entry_ids)}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def local_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def _mask_subject(actor: Actor, kind: str, subject_id: str) -> str:
    if kind != "driver":
        return subject_id
    return Masker(actor).id_number(subject_id, subject_id) or subject_id


def is_subject(actor: Actor, row: CreditListEntryRow) -> bool:
    """名单主体 — a company account for entries of itself and of its vehicles and drivers; a citizen for their own driver entry."""
    if actor.role is Role.COMPANY:
        return bool(actor.uscc) and actor.uscc == row.company_uscc
    if actor.role is Role.CITIZEN:
        return bool(actor.id_number) and row.subject_kind == "driver" and row.subject_id == actor.id_number
    return False


def may_read(actor: Actor, row: CreditListEntryRow) -> bool:
    return actor.role in READER_ROLES or is_subject(actor, row)


def view(actor: Actor, row: CreditListEntryRow, as_of: date | None = None) -> ListEntryView:
    entry = entry_from_json(row.entry)
    proposal = row.entry.get("proposal") or {}
    steps_by = row.entry.get("steps_by") or []
    day = as_of or local_day(datetime.now(UTC))
    history = []
    for i, s in enumerate(entry.history):
        who = steps_by[i] if i < len(steps_by) else {}
        history.append(StepView(
            action=s.action, action_zh=ACTION_LABELS_ZH.get(s.action, s.action), from_state=s.from_state, to_state=s.to_state,
            to_state_zh=lists.STATE_LABELS_ZH.get(s.to_state, s.to_state), actor_role=s.actor_role, on=s.on, reason=s.reason,
            by=who.get("by"), at=datetime.fromisoformat(who["at"]) if who.get("at") else None,
        ))
    return ListEntryView(
        id=row.id, list_name=row.list_name, list_label_zh=proposal.get("label_zh") or lists.LIST_LABELS_ZH[row.list_name],
        subject_kind=row.subject_kind, subject_kind_zh=SUBJECT_LABELS_ZH.get(row.subject_kind, row.subject_kind),
        subject_id=_mask_subject(actor, row.subject_kind, row.subject_id), company_uscc=row.company_uscc,
        state=row.state, state_zh=lists.STATE_LABELS_ZH.get(row.state, row.state),
        in_force=bool(lists.effective_lists([entry], day)),
        proposed_on=entry.proposed_on, published_on=row.published_on, ends_on=row.ends_on,
        criteria=[CriterionView(**c) for c in proposal.get("criteria", [])],
        measures=[CriterionView(**m) for m in proposal.get("measures", [])],
        table_version=proposal.get("table_version"), configurable_default=bool(proposal.get("configurable_default", True)),
        history=history, version=row.version, created_at=row.created_at, updated_at=row.updated_at,
    )


def _audit(session: Session, actor: Actor | None, action: str, key: str | None, at: datetime, **detail: Any) -> None:
    audit.append(session, AuditEntry(
        actor=actor.username if actor else SYSTEM, role=str(actor.role) if actor else SYSTEM, unit=actor.unit if actor else None,
        action=action, entity="credit_list_entries", record_key=key, purpose=PURPOSE, at=at, detail=detail,
    ))


def _role(actor: Actor | None) -> str:
    return str(actor.role) if actor is not None else SYSTEM


def _refuse_role(exc: FieldError) -> Exception:
    """A step the role may not take is a 403, not a bad field; every other refusal names its field (422)."""
    if exc.field == "actor_role":
        return Forbidden(exc.zh, exc.en)
    return exc


# ---------------------------------------------------------------- what is in force


def _state_on(entry: lists.ListEntry, as_of: date) -> str | None:
    """The entry's state as it stood at the end of `as_of` (replayed from its steps)."""
    state = None
    for step in entry.history:
        if step.on <= as_of:
            state = step.to_state
    return state


def _in_force_rows(session: Session, as_of: date) -> Iterable[CreditListEntryRow]:
    query = select(CreditListEntryRow).where(
        CreditListEntryRow.published_on.is_not(None), CreditListEntryRow.published_on <= as_of,
        (CreditListEntryRow.ends_on.is_(None)) | (CreditListEntryRow.ends_on > as_of),
    )
    for row in session.scalars(query):
        if _state_on(entry_from_json(row.entry), as_of) in lists.IN_FORCE_STATES:
            yield row


def lists_in_force(session: Session, as_of: date) -> dict[tuple[str, str], list[str]]:
    """(subject_kind, subject_id) -> the lists with a published entry in force on `as_of` (for SubjectFacts.lists_in_force).

    Replayed from each entry's steps, so an old `as_of` sees what was in force then (an entry withdrawn
    or repaired later still counts before that day)."""
    out: dict[tuple[str, str], set[str]] = {}
    for row in _in_force_rows(session, as_of):
        out.setdefault((row.subject_kind, row.subject_id), set()).add(row.list_name)
    return {key: sorted(names) for key, names in out.items()}


def published(session: Session, as_of: date) -> dict[tuple[str, str], str]:
    """(subject_kind, subject_id) -> "red" or "black": published entries in force on `as_of` only (the public
    contract's `list`). A subject on both lists (a red entry still running when a black one is published)
    is answered "black": punishment measures take precedence over incentives."""
    return {key: "black" if "black" in names else names[0] for key, names in lists_in_force(session, as_of).items()}


# ---------------------------------------------------------------- proposals


def _open_keys(session: Session, as_of: date, keys: set[tuple[str, str]]) -> set[tuple[str, str, str]]:
    """(kind, id, list) already proposed, under review, or in force — a proposal for them is not repeated.

    Reads every open entry (far fewer than a run's subjects) rather than a parameter per subject."""
    if not keys:
        return set()
    states = OPEN_BEFORE_PUBLICATION | lists.IN_FORCE_STATES
    rows = session.execute(
        select(CreditListEntryRow.subject_kind, CreditListEntryRow.subject_id, CreditListEntryRow.list_name, CreditListEntryRow.state, CreditListEntryRow.ends_on)
        .where(CreditListEntryRow.state.in_(states))
    )
    return {
        (kind, sid, name) for kind, sid, name, state, ends_on in rows
        if (kind, sid) in keys and (state in OPEN_BEFORE_PUBLICATION or ends_on is None or as_of < ends_on)
    }


def propose_in(session: Session, actor: Actor | None, as_of: date, facts: Sequence[lists.SubjectFacts],
               companies: Mapping[tuple[str, str], str | None] | None = None, *, now: datetime | None = None) -> ProposeSummary:
    """拟列入 — in the caller's transaction (the scoring run's): evaluate every subject's facts on `as_of` and
    store a proposed entry for each list it qualifies for, unless one is already proposed, under review or
    in force for the same subject and list. The lists in force in the store are added to each subject's
    `lists_in_force`, so a subject on the black list is never proposed for the red one.

    `companies` maps (subject_kind, subject_id) to the company whose pages show the entry (a vehicle's
    or driver's company); a company or school is its own. `actor` None is the scheduled run (role "system").
    """
    at = _now(now)
    if as_of > local_day(at):
        raise FieldError("as_of", "评定日期不能晚于今日", "as_of is in the future")
    companies = companies or {}
    keys = {(f.subject_kind, f.subject_id) for f in facts}
    in_force = {k: v for k, v in lists_in_force(session, as_of).items() if k in keys}
    taken = _open_keys(session, as_of, keys)
    created: list[int] = []
    skipped = 0
    role = _role(actor)
    for i, f in enumerate(facts):
        key = (f.subject_kind, f.subject_id)
        known = set(f.lists_in_force) | set(in_force.get(key, ()))
        if known != set(f.lists_in_force):
            f = replace(f, lists_in_force=tuple(sorted(known)))
        try:
            proposals = lists.evaluate_lists(f, as_of)
        except FieldError as exc:
            raise FieldError(f"facts[{i}].{exc.field}", f"{f.subject_kind} {f.subject_id}：{exc.zh}", exc.en) from exc
        for proposal in proposals:
            if (f.subject_kind, f.subject_id, proposal.list_name) in taken:
                skipped += 1
                continue
            try:
                entry = lists.transition(lists.new_entry(proposal), "propose", role, on=as_of)
            except FieldError as exc:
                raise _refuse_role(exc) from exc
            company = companies.get(key) or (f.subject_id if f.subject_kind in ("company", "school") else None)
            row = CreditListEntryRow(
                list_name=proposal.list_name, subject_kind=f.subject_kind, subject_id=f.subject_id, company_uscc=company,
                state=entry.state, entry=_stored(entry, proposal_to_json(proposal), [{"by": actor.username if actor else SYSTEM, "at": at.isoformat()}]),
                published_on=None, ends_on=None, created_at=at, updated_at=at, version=1,
            )
            session.add(row)
            session.flush()
            taken.add((f.subject_kind, f.subject_id, proposal.list_name))
            created.append(row.id)
            _audit(session, actor, "create", str(row.id), at, list_name=proposal.list_name, subject_kind=f.subject_kind,
                   subject_id=f.subject_id, criteria=[c.code for c in proposal.criteria], as_of=as_of.isoformat())
    return ProposeSummary(len(facts), len(created), skipped, tuple(created))


def propose(db: Database, actor: Actor | None, as_of: date, facts: Sequence[lists.SubjectFacts],
            companies: Mapping[tuple[str, str], str | None] | None = None, *, now: datetime | None = None) -> ProposeSummary:
    """拟列入 — `propose_in` in a transaction of its own."""
    with db.transaction(write=True) as session:
        return propose_in(session, actor, as_of, facts, companies, now=now)


# ---------------------------------------------------------------- due-process steps


def _locked(session: Session, entry_id: int) -> CreditListEntryRow:
    row = session.scalars(select(CreditListEntryRow).where(CreditListEntryRow.id == entry_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"list entry {entry_id}")
    return row


def _apply(session: Session, actor: Actor | None, row: CreditListEntryRow, action: str, on: date, at: datetime, *,
           reason: str | None = None, remediation: Mapping[str, float] | None = None, subject: bool = False) -> None:
    entry = entry_from_json(row.entry)
    try:
        moved = lists.transition(entry, action, _role(actor), on=on, reason=reason, actor_is_subject=subject, remediation=remediation)
    except FieldError as exc:
        raise _refuse_role(exc) from exc
    steps_by = [*(row.entry.get("steps_by") or []), {"by": actor.username if actor else SYSTEM, "at": at.isoformat()}]
    row.entry = _stored(moved, row.entry.get("proposal") or {}, steps_by)
    row.state, row.published_on, row.ends_on = moved.state, moved.published_on, moved.ends_on
    row.updated_at = at
    row.version += 1
    _audit(session, actor, "update", str(row.id), at, step=action, from_state=entry.state, to_state=moved.state, reason=reason,
           remediation=dict(remediation) if remediation else None, version=row.version)


def act(db: Database, actor: Actor, entry_id: int, action: str, *, version: int, reason: str | None = None,
        remediation: Mapping[str, float] | None = None, now: datetime | None = None) -> ListEntryView:
    """名单程序的一步 — review (approve/reject) and publish by a supervisor, appeal by the listed subject,
    uphold/withdraw the appeal, repair, expire; `version` must be the entry's current one (else 409)."""
    at = _now(now)
    if action not in ACTIONS:
        raise FieldError("action", f"未知的操作：{action}", f"unknown action {action!r}")
    with db.transaction(write=True) as session:
        row = _locked(session, entry_id)
        session.refresh(row)
        if not may_read(actor, row):
            raise NotFound(f"list entry {entry_id}")
        if row.version != version:
            raise Conflict("该名单条目已被他人处理，请刷新后重试", f"list entry {entry_id} is at version {row.version}, not {version}")
        _apply(session, actor, row, action, local_day(at), at, reason=(reason or "").strip() or None,
               remediation=remediation, subject=is_subject(actor, row))
        return view(actor, row, local_day(at))


def expire_due(db: Database, as_of: date | None = None, actor: Actor | None = None, *, now: datetime | None = None) -> list[int]:
    """期满移出 — every published or upheld entry whose `ends_on` is on or before `as_of` (default today) is
    expired; returns their ids. `actor` None is the scheduled run (role "system"); `as_of` may not be later than today."""
    at = _now(now)
    today = local_day(at)
    day = as_of or today
    if day > today:
        raise FieldError("as_of", "截至日期不能晚于今日", "as_of is in the future")
    if actor is not None and actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("只有督察或系统管理员可以处理期满条目", "only a supervisor or an administrator may expire entries")
    done: list[int] = []
    with db.transaction(write=True) as session:
        rows = session.scalars(
            select(CreditListEntryRow)
            .where(CreditListEntryRow.state.in_(("published", "upheld")), CreditListEntryRow.ends_on.is_not(None), CreditListEntryRow.ends_on <= day)
            .order_by(CreditListEntryRow.id).with_for_update()
        ).all()
        for row in rows:
            _apply(session, actor, row, "expire", day, at)
            done.append(row.id)
    return done


# ---------------------------------------------------------------- reading


def list_entries(db: Database, actor: Actor, *, state: str | None = None, list_name: str | None = None, limit: int = 500) -> list[ListEntryView]:
    """名单 — staff see every entry (filter by state and list); a company its own and its vehicles' and
    drivers'; a citizen their own entry as a driver."""
    if state is not None and state not in lists.STATES:
        raise FieldError("state", "名单状态无效", f"unknown state {state!r}")
    if list_name is not None and list_name not in lists.LIST_NAMES:
        raise FieldError("list", "名单应为red或black", f"unknown list {list_name!r}")
    query = select(CreditListEntryRow).order_by(CreditListEntryRow.id.desc()).limit(limit)
    if actor.role is Role.COMPANY:
        query = query.where(CreditListEntryRow.company_uscc == (actor.uscc or ""))
    elif actor.role is Role.CITIZEN:
        query = query.where(CreditListEntryRow.subject_kind == "driver", CreditListEntryRow.subject_id == (actor.id_number or ""))
    elif actor.role not in READER_ROLES:
        raise Forbidden("您的角色无权查看名单", f"role {actor.role} may not read the lists")
    if state is not None:
        query = query.where(CreditListEntryRow.state == state)
    if list_name is not None:
        query = query.where(CreditListEntryRow.list_name == list_name)
    with db.transaction() as session:
        day = local_day(datetime.now(UTC))
        return [view(actor, row, day) for row in session.scalars(query)]


def get_entry(db: Database, actor: Actor, entry_id: int) -> ListEntryView:
    with db.transaction() as session:
        row = session.get(CreditListEntryRow, entry_id)
        if row is None or not may_read(actor, row):
            raise NotFound(f"list entry {entry_id}")
        return view(actor, row)


def allowed_actions(actor: Actor, entry: ListEntryView, on: date | None = None) -> list[str]:
    """The steps the viewer's role may take on the entry now (the page offers only these forms).
    The checks on dates and remediation stay with `transition`, which explains a refusal."""
    day = on or local_day(datetime.now(UTC))
    rules = lists.list_rules().at(day)
    subject = (actor.role is Role.COMPANY and bool(actor.uscc) and actor.uscc == entry.company_uscc) or (
        actor.role is Role.CITIZEN and entry.subject_kind == "driver" and entry.subject_id == actor.id_number)
    out = []
    for t in rules.transitions:
        if t.action == "propose" or t.from_ != entry.state or str(actor.role) not in t.roles or entry.list_name not in t.lists:
            continue
        if t.by_subject and not subject:
            continue
        if t.action not in out:
            out.append(t.action)
    return out


def remediation_fields(entry: ListEntryView, on: date | None = None) -> list[lists.Remedy]:
    """信用修复条件 the repair form asks for (days since publication is counted, not entered)."""
    day = on or local_day(datetime.now(UTC))
    return [r for r in lists.remediation_required(entry.list_name, entry.subject_kind, day) if r.code != "days_since_entry"]
