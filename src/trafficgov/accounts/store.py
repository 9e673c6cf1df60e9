"""Tables of organisations and accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from trafficgov.store.base import Base
from trafficgov.store.types import UTCDateTime


class OrganisationRow(Base):
    """机构 — a unit of the bureau (支队, 大队, 中队, 车管所 …) or a partner department."""

    __tablename__ = "organisations"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"))
    jurisdiction: Mapped[str | None] = mapped_column(String(512))  # space-separated division codes


class UserRow(Base):
    """账户 — a login: staff belong to an organisation; citizens and companies to their own records."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    org_code: Mapped[str | None] = mapped_column(ForeignKey("organisations.code"))
    id_number: Mapped[str | None] = mapped_column(String(32), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
