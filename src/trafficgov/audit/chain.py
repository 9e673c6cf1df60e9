"""Hash chain and head signatures of the audit log: pure functions of plain values (no database).

Each entry's hash covers the previous entry's hash, its own sequence number and a canonical
serialisation of the entry, so editing, deleting, inserting or reordering a row breaks the chain.
Anyone who can write the table can recompute every hash, so the head is also signed at intervals
with an HMAC key kept outside the database; a rewritten chain no longer matches those signatures.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote  # json's escaping for ensure_ascii=False
from typing import Any

from trafficgov.audit.model import AuditEntry

GENESIS = "0" * 64
SIGNATURE_CONTEXT = "trafficgov-audit-v1"


def format_time(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds: the one textual form of a time inside the chain."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_detail(detail: dict[str, Any]) -> str:
    """Sorted-key compact JSON of an entry's detail (also the form stored in the table)."""
    return _ENCODER.encode(detail)


def canonical_fields(
    *,
    action: str,
    actor: str,
    at: str,
    detail: str,
    entity: str,
    purpose: str | None,
    record_key: str | None,
    role: str,
    unit: str | None,
) -> str:
    """The canonical form from stored values: `at` as format_time() text, `detail` as canonical_detail().

    Equal to sorted-key compact JSON of the whole entry (see canonical_entry); taking the detail as
    stored text lets verify hash a million rows without parsing and re-serialising every detail.
    """
    # Written out by hand in sorted key order (action, actor, at, detail, entity, purpose, record_key,
    # role, unit) with json's own string escaping: identical to json.dumps(..., sort_keys=True,
    # ensure_ascii=False, separators=(",", ":")), which the tests check, at a fraction of the cost.
    return (
        f'{{"action":{_text(action)},"actor":{_text(actor)},"at":{_text(at)},"detail":{detail},'
        f'"entity":{_text(entity)},"purpose":{_text(purpose)},"record_key":{_text(record_key)},'
        f'"role":{_text(role)},"unit":{_text(unit)}}}'
    )


def canonical_entry(entry: AuditEntry) -> str:
    """Sorted-key compact JSON of every field of an entry; the input of its hash."""
    return canonical_fields(
        action=entry.action,
        actor=entry.actor,
        at=format_time(entry.at),
        detail=canonical_detail(entry.detail),
        entity=entry.entity,
        purpose=entry.purpose,
        record_key=entry.record_key,
        role=entry.role,
        unit=entry.unit,
    )


def chain_hash(prev_hash: str, seq: int, canonical: str) -> str:
    """sha256 (hex) of the previous hash, the sequence number and an entry's canonical form."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{canonical}".encode()).hexdigest()


def entry_hash(prev_hash: str, seq: int, entry: AuditEntry) -> str:
    """sha256 (hex) of the previous hash, this entry's sequence number and its canonical form."""
    return chain_hash(prev_hash, seq, canonical_entry(entry))


def _head_message(kind: str, seq: int, head_hash: str) -> bytes:
    # The kind is signed too: otherwise a 'seal' could be relabelled 'retention' and used as an
    # anchor that silently drops everything before it.
    return f"{SIGNATURE_CONTEXT}|{kind}|{seq}|{head_hash}".encode()


def sign_head(key: bytes, seq: int, head_hash: str, *, kind: str = "seal") -> str:
    """HMAC-SHA256 (hex) of the chain's head at `seq`."""
    return hmac.new(key, _head_message(kind, seq, head_hash), hashlib.sha256).hexdigest()


def signature_valid(key: bytes, seq: int, head_hash: str, signature: str, *, kind: str = "seal") -> bool:
    """Whether `signature` is the key's signature of this head (constant-time comparison)."""
    expected = sign_head(key, seq, head_hash, kind=kind).encode()
    return hmac.compare_digest(expected, (signature or "").encode("utf-8", "replace"))
