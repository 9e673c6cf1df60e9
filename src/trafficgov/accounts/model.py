"""Plain types of accounts: roles with stable codes and Chinese labels, and the acting identity."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"
    COMPANY = "company"
    CLERK = "clerk"
    OFFICER = "officer"
    LEGAL_REVIEWER = "legal_reviewer"
    SUPERVISOR = "supervisor"
    PARTNER = "partner"
    COMMAND = "command"
    ADMIN = "admin"


LABELS_ZH = {
    Role.CITIZEN: "群众",
    Role.COMPANY: "企业",
    Role.CLERK: "窗口民警/辅警",
    Role.OFFICER: "执勤民警",
    Role.LEGAL_REVIEWER: "法制审核员",
    Role.SUPERVISOR: "督察/审计",
    Role.PARTNER: "协作部门",
    Role.COMMAND: "指挥中心",
    Role.ADMIN: "系统管理员",
}

STAFF_ROLES = frozenset({Role.CLERK, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN})
ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Actor:
    """操作人 — who acts: an account's username, role and unit (and whose records a citizen/company owns)."""

    username: str
    role: Role
    unit: str | None = None
    display_name: str = ""
    id_number: str | None = None  # a citizen's own resident ID number
    uscc: str | None = None  # a company account's own credit code
    user_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


ORG_KIND_LABELS_ZH = {
    "detachment": "支队",
    "brigade": "大队",
    "squadron": "中队",
    "vehicle_admin": "车管所",
    "county_office": "县（市）区交警部门",
    "command_centre": "指挥中心",
    "transport": "交通运输部门",
    "market_regulation": "市场监管部门",
    "tax": "税务部门",
    "insurance": "保险监管/行业",
    "emergency": "应急管理部门",
    "city_management": "城市管理部门",
}
BUREAU_ORG_KINDS = frozenset({"detachment", "brigade", "squadron", "vehicle_admin", "county_office", "command_centre"})


def region_cover(codes: frozenset[str] | set[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """行政区划覆盖 — split division codes (GB/T 2260: 2 digits province, 2 city, 2 county) into county codes
    matched exactly and the prefixes a province (xx0000) or city (xxxx00) code covers."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    for code in codes:
        if len(code) == 6 and code.endswith("0000"):
            prefixes.add(code[:2])
        elif len(code) == 6 and code.endswith("00"):
            prefixes.add(code[:4])
        else:
            exact.add(code)
    return frozenset(exact), tuple(sorted(prefixes))
