"""Plain types of the audit log: what one entry says, what a stored row and a checkpoint hold, what verify finds."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

ACTION_LABELS_ZH: dict[str, str] = {
    "read": "查阅",
    "create": "新增",
    "update": "修改",
    "delete": "删除",
    "import": "导入",
    "export": "导出",
    "login": "登录",
    "logout": "退出登录",
    "decide": "作出决定",
    "share": "共享",
    "grant": "授权",
    "revoke": "撤销授权",
    "retention": "到期清理",
}

CHECKPOINT_KINDS = ("seal", "retention")
CHECKPOINT_KIND_LABELS_ZH: dict[str, str] = {"seal": "定期签封", "retention": "保留期清理锚点"}

# Column widths of the audit_log table; checked here so that SQLite (which ignores VARCHAR lengths)
# refuses exactly what PostgreSQL refuses.
FIELD_LIMITS: dict[str, int] = {
    "actor": 128,
    "role": 64,
    "unit": 128,
    "action": 32,
    "entity": 64,
    "record_key": 256,
    "purpose": 512,
}

_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def action_label(action: str) -> str:
    """The Chinese label of an action code, or the code itself when it has none."""
    return ACTION_LABELS_ZH.get(action, action)


@dataclass(frozen=True)
class AuditEntry:
    """审计记录 — who (actor, role, unit) did what (action) to which record, for what purpose, when."""

    actor: str
    role: str
    unit: str | None
    action: str
    entity: str
    record_key: str | None
    purpose: str | None
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("AuditEntry.at must be timezone-aware")
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", self.at.astimezone(UTC))
        if not _ACTION.match(self.action):
            raise ValueError(f"audit action must be a short lower-case ASCII verb, got {self.action!r}")
        for name in ("actor", "role", "entity"):
            if not getattr(self, name):
                raise ValueError(f"AuditEntry.{name} must not be empty")
        for name, limit in FIELD_LIMITS.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(f"AuditEntry.{name} must be a string, got {type(value).__name__}")
            if len(value) > limit:
                raise ValueError(f"AuditEntry.{name} longer than {limit} characters")
        if not isinstance(self.detail, dict):
            raise TypeError("AuditEntry.detail must be a dict")

    @property
    def action_zh(self) -> str:
        return action_label(self.action)


@dataclass(frozen=True)
class AuditRecord:
    """A stored audit entry: the entry's fields plus its place in the chain (seq, prev_hash, hash)."""

    seq: int
    at: datetime
    actor: str
    role: str
    unit: str | None
    action: str
    entity: str
    record_key: str | None
    purpose: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def entry(self) -> AuditEntry:
        return AuditEntry(
            actor=self.actor,
            role=self.role,
            unit=self.unit,
            action=self.action,
            entity=self.entity,
            record_key=self.record_key,
            purpose=self.purpose,
            at=self.at,
            detail=self.detail,
        )

    @property
    def action_zh(self) -> str:
        return action_label(self.action)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for export: `at` as an ISO string in UTC."""
        data = asdict(self)
        data["at"] = self.at.astimezone(UTC).isoformat(timespec="microseconds")
        return data


@dataclass(frozen=True)
class Checkpoint:
    """签封点 — the chain's head (seq, head_hash) signed with the outside key; kind 'seal' or 'retention'."""

    id: int | None
    seq: int
    head_hash: str
    signed_at: datetime
    signature: str
    kind: str = "seal"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["signed_at"] = self.signed_at.astimezone(UTC).isoformat(timespec="microseconds")
        return data


@dataclass
class VerifyReport:
    """校验结果 — whether the chain is intact, with every problem found in English and Chinese."""

    ok: bool
    entries: int
    checkpoints: int
    last_sealed_seq: int | None
    unsealed_tail: int
    problems: list[str] = field(default_factory=list)
    problems_zh: list[str] = field(default_factory=list)
    first_seq: int | None = None
    last_seq: int | None = None
    anchor_seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RetentionPolicy:
    """保留期 — one dated row of audit/retention.yaml."""

    rule_id: str
    effective_from: date
    effective_to: date | None
    keep_years: int
    floor_months: int
    label_zh: str
    legal_basis: tuple[tuple[str, str], ...] = ()
