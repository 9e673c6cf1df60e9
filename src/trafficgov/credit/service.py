"""Use cases of credit supervision that other packages call inside their own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trafficgov.credit.store import CreditViolationRow


def record_decision(
    session: Session,
    *,
    violation_id: str,
    occurred_at: datetime,
    decided_at: datetime,
    behavior: str,
    plate_number: str,
    plate_type: str,
    driver_id: str | None,
    region: str | None,
    outcome: str | None,
    fine_yuan: int | None,
    points: int | None,
) -> bool:
    """一案一条违法记录 — an issued enforcement decision as a row of `credit_violations`, in the caller's
    transaction. The risk and credit pillar then reads decisions and imported violations together.

    Idempotent: a row already stored under `violation_id` is left as it is (issuing happens once per
    case). -> whether a row was written."""
    table = CreditViolationRow.__table__
    if session.scalar(select(table.c.id).where(table.c.violation_id == violation_id)) is not None:
        return False
    session.execute(
        table.insert().values(
            violation_id=violation_id,
            occurred_at=occurred_at,
            decided_at=decided_at,
            behavior=behavior,
            violation_code=None,
            plate_number=plate_number,
            plate_type=plate_type,
            driver_id=driver_id or None,
            region=region or None,
            outcome=outcome or None,
            fine_yuan=fine_yuan,
            points=points,
            camera_id=None,
            updated_at=decided_at,
        )
    )
    return True


def set_driver(session: Session, violation_id: str, driver_id: str, at: datetime) -> bool:
    """实际驾驶人 — name the driver of a stored violation once they are known (a company vehicle's case).
    -> whether a row was changed."""
    table = CreditViolationRow.__table__
    result = session.execute(
        table.update().where(table.c.violation_id == violation_id, table.c.driver_id.is_(None)).values(driver_id=driver_id, updated_at=at)
    )
    return bool(result.rowcount)
