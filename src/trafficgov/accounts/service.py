"""Use cases of accounts: organisations, creating accounts, logging in, the CLI's operator identity."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from trafficgov.accounts.model import ORG_KIND_LABELS_ZH, Actor, Role
from trafficgov.accounts.passwords import hash_password, verify_password
from trafficgov.accounts.store import OrganisationRow, UserRow
from trafficgov.errors import FieldError
from trafficgov.store.db import Database

LOCAL_ADMIN = "admin"
LOCAL_ORG = "local"


def actor_of(user: UserRow) -> Actor:
    return Actor(
        username=user.username, role=Role(user.role), unit=user.org_code, display_name=user.display_name,
        id_number=user.id_number, uscc=user.uscc, user_id=user.id,
    )


def upsert_organisation(db: Database, code: str, name: str, kind: str, parent_code: str | None = None, jurisdiction: str | None = None) -> None:
    if kind not in ORG_KIND_LABELS_ZH:
        raise FieldError("kind", f"未知的机构类型：{kind}", f"unknown organisation kind: {kind}")
    with db.transaction(write=True) as session:
        row = session.get(OrganisationRow, code) or OrganisationRow(code=code)
        row.name, row.kind, row.parent_code, row.jurisdiction = name, kind, parent_code, jurisdiction
        session.add(row)


def load_organisations(db: Database, path: Path) -> int:
    """Load organisations from a CSV (code, name, kind, parent_code, jurisdiction); parents first."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    done: set[str] = set()
    pending = rows
    while pending:
        progressed = [r for r in pending if not r.get("parent_code") or r["parent_code"] in done]
        if not progressed:
            raise FieldError("parent_code", "机构的上级不存在", f"unknown parent organisation in {path.name}")
        for r in progressed:
            upsert_organisation(db, r["code"], r["name"], r["kind"], r.get("parent_code") or None, r.get("jurisdiction") or None)
            done.add(r["code"])
        pending = [r for r in pending if r["code"] not in done]
    return len(rows)


def list_organisations(db: Database) -> list[OrganisationRow]:
    with db.transaction() as session:
        return list(session.scalars(select(OrganisationRow).order_by(OrganisationRow.code)))


def get_organisation(db: Database, code: str) -> OrganisationRow | None:
    with db.transaction() as session:
        return session.get(OrganisationRow, code)


def create_user(db: Database, username: str, password: str, role: Role, *, display_name: str = "", org_code: str | None = None, id_number: str | None = None, uscc: str | None = None, profile: str = "production") -> Actor:
    """Create or reset an account. Staff need an organisation; citizens an ID number; companies a USCC."""
    role = Role(role)
    if role in (Role.CITIZEN,) and not id_number:
        raise FieldError("id_number", "群众账户须关联身份证号码", "a citizen account needs an ID number")
    if role is Role.COMPANY and not uscc:
        raise FieldError("uscc", "企业账户须关联统一社会信用代码", "a company account needs a USCC")
    if role not in (Role.CITIZEN, Role.COMPANY) and not org_code:
        raise FieldError("org_code", "工作人员账户须属于一个机构", "a staff or department account needs an organisation")
    with db.transaction() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == username))
        if user is None:
            user = UserRow(username=username, created_at=datetime.now(UTC))
        user.display_name = display_name or username
        user.role = str(role)
        user.org_code = org_code
        user.id_number = id_number
        user.uscc = uscc
        user.password_hash = hash_password(password, profile)
        user.active = True
        session.add(user)
        session.flush()
        return actor_of(user)


def authenticate(db: Database, username: str, password: str, profile: str = "production") -> Actor | None:
    with db.transaction(write=True) as session:
        user = session.scalar(select(UserRow).where(UserRow.username == username, UserRow.active.is_(True)))
    if user is None:
        verify_password(hash_password("timing-equaliser", profile), password, profile)
        return None
    if not verify_password(user.password_hash, password, profile):
        return None
    return actor_of(user)


def get_user(db: Database, username: str) -> Actor | None:
    with db.transaction() as session:
        user = session.scalar(select(UserRow).where(UserRow.username == username))
        return actor_of(user) if user else None


def display_names(db: Database, usernames: Iterable[str | None]) -> dict[str, str]:
    """姓名 — the display name of each of these accounts that has one (staff pages name people, not logins)."""
    wanted = sorted({name for name in usernames if name})
    if not wanted:
        return {}
    with db.transaction() as session:
        rows = session.execute(select(UserRow.username, UserRow.display_name).where(UserRow.username.in_(wanted)))
        return {username: name for username, name in rows if name}


def cli_actor(db: Database, username: str) -> Actor:
    """The operator identity the CLI acts as (TRAFFICGOV_USER); the local administrator by default."""
    actor = get_user(db, username)
    if actor is not None:
        return actor
    if username != LOCAL_ADMIN:
        raise FieldError("TRAFFICGOV_USER", f"账户不存在：{username}", f"no such account: {username}")
    with db.transaction(write=True) as session:
        if session.get(OrganisationRow, LOCAL_ORG) is None:
            session.add(OrganisationRow(code=LOCAL_ORG, name="本机运维", kind="detachment"))
        user = UserRow(
            username=LOCAL_ADMIN, display_name="本地管理员", role=str(Role.ADMIN), org_code=LOCAL_ORG,
            password_hash="!", active=True, created_at=datetime.now(UTC),
        )
        session.add(user)
        session.flush()
        return actor_of(user)


def jurisdiction_of(session: Session, org_code: str | None) -> frozenset[str] | None:
    """辖区 — the division codes a unit answers for: its own jurisdiction, else the union of its sub-units'.
    None means unrestricted (an account without a unit, or a unit without any jurisdiction on record)."""
    if not org_code:
        return None
    rows = {code: (parent, jurisdiction) for code, parent, jurisdiction in session.execute(select(OrganisationRow.code, OrganisationRow.parent_code, OrganisationRow.jurisdiction))}
    if org_code not in rows:
        return None
    own = (rows[org_code][1] or "").split()
    if own:
        return frozenset(own)
    children: dict[str | None, list[str]] = {}
    for code, (parent, _) in rows.items():
        children.setdefault(parent, []).append(code)
    found: set[str] = set()
    stack = list(children.get(org_code, ()))
    while stack:
        code = stack.pop()
        found.update((rows[code][1] or "").split())
        stack.extend(children.get(code, ()))
    return frozenset(found) or None
