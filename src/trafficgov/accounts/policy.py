"""Role policy loaded from accounts/data/roles.yaml: unmasked fields, home page, export rights."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from trafficgov.accounts.model import Role

DATA = Path(__file__).parent / "data" / "roles.yaml"


class RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label_zh: str
    staff: bool
    home: str
    unmasked: list[str]
    export_unmasked: bool


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    effective_from: date
    roles: dict[Role, RolePolicy]


@cache
def policy() -> PolicyFile:
    loaded = PolicyFile.model_validate(yaml.safe_load(DATA.read_text(encoding="utf-8")))
    missing = set(Role) - set(loaded.roles)
    if missing:
        raise ValueError(f"roles.yaml lacks roles: {sorted(missing)}")
    return loaded


def role_policy(role: Role) -> RolePolicy:
    return policy().roles[Role(role)]
