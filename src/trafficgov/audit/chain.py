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
from typing import Any

from trafficgov.audit.model import AuditEntry

GENESIS = "0" * 64
SIGNATURE_CONTEXT = "trafficgov-audit-v1"


def format_time(at: datetime) -> str:
    """ISO 8601 in UTC with microseconds: the one textual form of a time inside the chain."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_detail(detail: dict[str, Any]) -> str:
    """Sorted-key compact JSON of an entry's detail (also the form stored in the table)."""
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_entry(entry: AuditEntry) -> str:
    """Sorted-key compact JSON of every field of an entry; the input of its hash."""
    return json.dumps(
        {
            "actor": entry.actor,
            "role": entry.role,
            "unit": entry.unit,
            "action": entry.action,
            "entity": entry.entity,
            "record_key": entry.record_key,
            "purpose": entry.purpose,
            "at": format_time(entry.at),
            "detail": entry.detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )


def entry_hash(prev_hash: str, seq: int, entry: AuditEntry) -> str:
    """sha256 (hex) of the previous hash, this entry's sequence number and its canonical form."""
    payload = f"{prev_hash}\n{seq}\n{canonical_entry(entry)}".encode()
    return hashlib.sha256(payload).hexdigest()


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
