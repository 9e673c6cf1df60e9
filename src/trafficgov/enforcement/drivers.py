"""实际驾驶人 — naming who drove a vehicle caught by a camera, so the points go on the right licence.

ProcReg Art. 21: where the actual driver of a non-site violation can be established, the violation is
recorded as theirs. Art. 53: an owner or manager who lent the vehicle tells the driver to come and deal
with it. Here the owner (a company for its vehicles, a citizen for theirs) names the driver; the named
driver confirms online, or an officer verifies at the window; only a confirmed naming puts the points on
the driver's licence (in the cycle that holds the day of confirmation: 记分管理办法 Arts. 3, 9) and names
the driver on the violation record credit supervision reads. A driver who declines leaves the case
waiting; the owner may name someone else.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import Actor, Role
from trafficgov.credit import service as credit
from trafficgov.enforcement.service import _audit, _locked_case, local_day
from trafficgov.enforcement.store import CaseRow, DriverNominationRow
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.registry import service as registry
from trafficgov.registry.identifiers import parse_id_number
from trafficgov.registry.store import LicenceRow
from trafficgov.store.db import Database

VERIFYING_ROLES = frozenset({Role.CLERK, Role.OFFICER})
STATUS_ZH = {"pending": "待驾驶人确认", "confirmed": "已确认，记分已记入", "declined": "驾驶人不认可", "withdrawn": "已撤回"}


class NominationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    driver_id: str = Field(min_length=15, max_length=18, description="实际驾驶人身份证号码")
    note: str = Field(default="", max_length=500, description="说明（如借用、派车单号）")


class NominationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool


class NominationView(BaseModel):
    id: int
    case_id: int
    plate_number: str
    plate_type: str
    behavior: str
    points: int
    driver_id: str
    note: str | None
    named_at: datetime
    named_by: str
    status: str
    status_zh: str
    decided_at: datetime | None
    decided_by: str | None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _mask(actor: Actor, id_number: str) -> str:
    return registry.Masker(actor).id_number(id_number, id_number) or id_number


def _view(actor: Actor, row: DriverNominationRow, case: CaseRow) -> NominationView:
    return NominationView(
        id=row.id,
        case_id=case.id,
        plate_number=case.plate_number,
        plate_type=case.plate_type,
        behavior=case.behavior,
        points=int((case.decision or {}).get("points") or 0),
        driver_id=row.driver_id if actor.id_number == row.driver_id else _mask(actor, row.driver_id),
        note=row.note,
        named_at=row.named_at,
        named_by=row.named_by,
        status=row.status,
        status_zh=STATUS_ZH[row.status],
        decided_at=row.decided_at,
        decided_by=row.decided_by,
    )


def _is_owner(actor: Actor, case: CaseRow) -> bool:
    return (actor.role is Role.COMPANY and actor.uscc == case.owner_id) or (actor.role is Role.CITIZEN and actor.id_number == case.owner_id)


def _apply(session: Session, actor: Actor, case: CaseRow, row: DriverNominationRow, at: datetime) -> None:
    points = int((case.decision or {}).get("points") or 0)
    change = registry.apply_points(session, row.driver_id, points, at=at, day=local_day(at), actor=actor.username, source=f"decision:{case.id}")
    if change is None:
        raise FieldError("driver_id", "该驾驶人没有本地驾驶证记录，请到窗口办理", "the named driver holds no licence here")
    row.status, row.decided_at, row.decided_by = "confirmed", at, actor.username
    case.points_applied_to = row.driver_id
    case.awaiting_driver = False
    case.version += 1
    credit.set_driver(session, str(case.id), row.driver_id, at)


def nominate(db: Database, actor: Actor, case_id: int, request: NominationRequest, *, now: datetime | None = None) -> NominationView:
    """指定实际驾驶人 — by the vehicle's owner, or by an officer who verified the driver at the window (then
    confirmed at once)."""
    at = _now(now)
    driver_id = parse_id_number(request.driver_id, "driver_id").number
    with db.transaction(write=True) as session:
        case = _locked_case(session, case_id)
        verifying = actor.role in VERIFYING_ROLES
        if not (verifying or _is_owner(actor, case)):
            raise NotFound(f"case {case_id}")
        if case.status != "issued" or not case.awaiting_driver:
            raise Conflict("该案件无待确认的记分", "the case has no points waiting for a driver")
        pending = session.scalars(select(DriverNominationRow).where(DriverNominationRow.case_id == case_id, DriverNominationRow.status == "pending")).first()
        if pending is not None:
            if verifying:
                pending.status, pending.decided_at, pending.decided_by = "withdrawn", at, actor.username
            else:
                raise Conflict("已指定驾驶人，正在等待其确认", "a named driver has not answered yet")
        if session.scalar(select(LicenceRow.id).where(LicenceRow.id_number == driver_id)) is None:
            raise FieldError("driver_id", "该驾驶人没有本地驾驶证记录，请到窗口办理", "the named driver holds no licence here")
        row = DriverNominationRow(case_id=case_id, driver_id=driver_id, note=request.note or None, named_at=at, named_by=actor.username, status="pending")
        session.add(row)
        session.flush()
        if verifying:
            _apply(session, actor, case, row, at)
        _audit(session, actor, "create", "enforcement_driver_nominations", str(row.id), at, case_id=case_id, verified=verifying)
        return _view(actor, row, case)


def answer(db: Database, actor: Actor, nomination_id: int, request: NominationAnswer, *, now: datetime | None = None) -> NominationView:
    """驾驶人确认 — the named driver accepts (the points go on their licence) or declines."""
    at = _now(now)
    with db.transaction(write=True) as session:
        row = session.get(DriverNominationRow, nomination_id)
        if row is None or actor.role is not Role.CITIZEN or actor.id_number != row.driver_id:
            raise NotFound(f"nomination {nomination_id}")
        case = _locked_case(session, row.case_id)
        session.refresh(row)
        if row.status != "pending":
            raise Conflict("该指定已处理", "the nomination was already answered")
        if request.accept:
            _apply(session, actor, case, row, at)
        else:
            row.status, row.decided_at, row.decided_by = "declined", at, actor.username
        _audit(session, actor, "update", "enforcement_driver_nominations", str(row.id), at, accept=request.accept)
        return _view(actor, row, case)


def nominations_for_me(db: Database, actor: Actor) -> list[NominationView]:
    """待我确认/我发起的 — a citizen sees namings of them; a company (or citizen owner) those it made."""
    with db.transaction() as session:
        query = select(DriverNominationRow, CaseRow).join(CaseRow, CaseRow.id == DriverNominationRow.case_id).order_by(DriverNominationRow.id.desc()).limit(500)
        if actor.role is Role.CITIZEN:
            query = query.where((DriverNominationRow.driver_id == actor.id_number) | (CaseRow.owner_id == actor.id_number))
        elif actor.role is Role.COMPANY:
            query = query.where(CaseRow.owner_id == actor.uscc)
        else:
            raise Forbidden("仅群众和企业可查看", "only citizens and companies have own nominations")
        return [_view(actor, n, c) for n, c in session.execute(query)]


def nominations_of_case(db: Database, actor: Actor, case_id: int) -> list[NominationView]:
    with db.transaction() as session:
        case = session.get(CaseRow, case_id)
        if case is None or not (actor.is_staff or _is_owner(actor, case)):
            raise NotFound(f"case {case_id}")
        rows = session.scalars(select(DriverNominationRow).where(DriverNominationRow.case_id == case_id).order_by(DriverNominationRow.id))
        return [_view(actor, r, case) for r in rows]
