"""Use cases of the audit log: append inside the caller's transaction, seal, verify, search, export, purge.

None of these functions commits: each runs in the session (transaction) it is given, so an audit entry
commits or rolls back together with the write or read it records. Time is always an argument.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from trafficgov.audit import store
from trafficgov.audit.chain import (
    GENESIS,
    canonical_detail,
    canonical_fields,
    chain_hash,
    format_time,
    sign_head,
    signature_valid,
)
from trafficgov.audit.model import (
    CHECKPOINT_KINDS,
    AuditEntry,
    AuditRecord,
    Checkpoint,
    RetentionPolicy,
    VerifyReport,
)

__all__ = [
    "AuditEntry",
    "AuditIntegrityError",
    "AuditRecord",
    "Checkpoint",
    "RetentionPolicy",
    "VerifyReport",
    "append",
    "append_many",
    "apply_retention",
    "default_retention_cutoff",
    "export_rows",
    "load_retention_policy",
    "maybe_seal",
    "read_witness",
    "search",
    "seal",
    "verify",
    "write_witness",
]

log = logging.getLogger(__name__)

RETENTION_FILE = Path(__file__).with_name("retention.yaml")
MAX_LISTED_PROBLEMS = 200


class AuditIntegrityError(RuntimeError):
    """The chain is broken where a seal or a purge was about to rely on it; nothing was signed or deleted."""

    def __init__(self, problems: list[str], problems_zh: list[str]) -> None:
        super().__init__("; ".join(problems[:5]))
        self.problems = problems
        self.problems_zh = problems_zh


# --- append -------------------------------------------------------------------------------------


def append(session: Session, entry: AuditEntry) -> int:
    """记录 — append one entry in the caller's transaction; returns its seq."""
    return append_many(session, [entry])


def append_many(session: Session, entries: Iterable[AuditEntry]) -> int:
    """Append entries in order in the caller's transaction; returns the last seq (the head's when none).

    Cost: one UPDATE of the head row (which also serialises concurrent appenders), one INSERT of the
    rows, one UPDATE of the head's hash. No scan of the log.
    """
    entries = list(entries)
    if not entries:
        head = store.get_head(session)
        return head[0] if head else 0
    # Serialise before taking the lock (a detail that is not JSON fails here, holding nothing) and so
    # that the lock is held only for the hashing itself.
    details = [canonical_detail(entry.detail) for entry in entries]
    canonicals = [
        canonical_fields(
            action=entry.action,
            actor=entry.actor,
            at=format_time(entry.at),
            detail=detail,
            entity=entry.entity,
            purpose=entry.purpose,
            record_key=entry.record_key,
            role=entry.role,
            unit=entry.unit,
        )
        for entry, detail in zip(entries, details, strict=True)
    ]
    start = store.advance_head(session, len(entries))
    if start is None:
        # First append ever (or a head row lost): start from the last row, else from genesis.
        seq, prev = store.last_row(session) or (0, GENESIS)
        store.create_head(session, seq, prev)
        start = store.advance_head(session, len(entries))
        assert start is not None
    seq, prev = start
    rows = []
    for entry, detail, canonical in zip(entries, details, canonicals, strict=True):
        seq += 1
        digest = chain_hash(prev, seq, canonical)
        rows.append(
            {
                "seq": seq,
                "at": store.to_store_time(entry.at),
                "actor": entry.actor,
                "role": entry.role,
                "unit": entry.unit,
                "action": entry.action,
                "entity": entry.entity,
                "record_key": entry.record_key,
                "purpose": entry.purpose,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    store.insert_rows(session, rows)
    store.set_head_hash(session, prev)
    return seq


# --- walking the chain --------------------------------------------------------------------------


@dataclass
class _Problems:
    """English and Chinese problem lists, capped so that a rewritten million-row log stays readable."""

    limit: int = MAX_LISTED_PROBLEMS
    en: list[str] = field(default_factory=list)
    zh: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, en: str, zh: str) -> None:
        self.count += 1
        if self.count <= self.limit:
            self.en.append(en)
            self.zh.append(zh)

    def finish(self) -> tuple[list[str], list[str]]:
        if self.count > self.limit:
            more = self.count - self.limit
            self.en.append(f"... and {more} more problems not listed")
            self.zh.append(f"……另有 {more} 处问题未列出")
        return self.en, self.zh


@dataclass
class _Walk:
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    last_sealed_seq: int | None = None
    sealed_rows: set[int] = field(default_factory=set)


def _row_hash(row: Any) -> str:
    """Recompute a stored row's hash from its columns (the detail as stored, without parsing it)."""
    return chain_hash(
        row.prev_hash,
        row.seq,
        canonical_fields(
            action=row.action,
            actor=row.actor,
            at=format_time(store.utc(row.at)),
            detail=row.detail,
            entity=row.entity,
            purpose=row.purpose,
            record_key=row.record_key,
            role=row.role,
            unit=row.unit,
        ),
    )


def _walk(
    session: Session,
    problems: _Problems,
    *,
    after: int,
    prev_hash: str,
    through: int | None,
    seals: dict[int, list[Checkpoint]] | None = None,
    from_start: bool = False,
    chunk: int = 10_000,
) -> _Walk:
    """Recompute the chain from the anchor (after, prev_hash), row by row, noting every break.

    With `from_start`, rows at or below a retention anchor are looked for too: they must not exist.
    """
    walk = _Walk()
    expected = after + 1
    prev = prev_hash
    seals = seals or {}
    for row in store.scan(session, after=0 if from_start else after, through=through, chunk=chunk):
        seq = row.seq
        if seq <= after:
            problems.add(
                f"row {seq} lies before the retention anchor at seq {after} (inserted, or purge undone)",
                f"第 {seq} 条位于保留期清理锚点（第 {after} 条）之前（被插入或清理被撤销）",
            )
            continue
        if walk.first_seq is None:
            walk.first_seq = seq
        if seq != expected:
            if expected == seq - 1:
                problems.add(f"row {expected} is missing (deleted)", f"第 {expected} 条缺失（被删除）")
            else:
                problems.add(
                    f"rows {expected}-{seq - 1} are missing (deleted)",
                    f"第 {expected}–{seq - 1} 条缺失（被删除）",
                )
        elif row.prev_hash != prev:
            problems.add(
                f"row {seq} does not link to the row before it (that row, or this one, was replaced)",
                f"第 {seq} 条与前一条的链接不符（前一条或本条被替换）",
            )
        try:
            computed = _row_hash(row)
        except (ValueError, TypeError) as error:
            computed = None
            problems.add(f"row {seq} cannot be read ({error})", f"第 {seq} 条无法解析（{error}）")
        if computed is not None and computed != row.hash:
            problems.add(
                f"row {seq} was altered: its content does not match its hash",
                f"第 {seq} 条被篡改：内容与其哈希值不符",
            )
        for checkpoint in seals.get(seq, ()):
            walk.sealed_rows.add(seq)
            if checkpoint.head_hash != row.hash:
                problems.add(
                    f"checkpoint #{checkpoint.id} signed seq {seq} with another hash: the chain was rewritten",
                    f"签封点 #{checkpoint.id} 签署的第 {seq} 条哈希与日志不符：哈希链被重写",
                )
            else:
                walk.last_sealed_seq = seq
        prev = row.hash
        expected = seq + 1
        walk.entries += 1
        walk.last_seq = seq
        walk.last_hash = row.hash
    return walk


def _valid_checkpoints(session: Session, key: bytes, problems: _Problems | None) -> list[Checkpoint]:
    valid = []
    for checkpoint in store.list_checkpoints(session):
        ok = checkpoint.kind in CHECKPOINT_KINDS and signature_valid(
            key, checkpoint.seq, checkpoint.head_hash, checkpoint.signature, kind=checkpoint.kind
        )
        if ok:
            valid.append(checkpoint)
        elif problems is not None:
            problems.add(
                f"checkpoint #{checkpoint.id} ({checkpoint.kind}, seq {checkpoint.seq}) has an invalid "
                "signature: forged or altered",
                f"签封点 #{checkpoint.id}（{checkpoint.kind}，第 {checkpoint.seq} 条）签名无效：伪造或被改动",
            )
    return valid


def _anchor(valid: list[Checkpoint]) -> Checkpoint | None:
    anchors = [checkpoint for checkpoint in valid if checkpoint.kind == "retention"]
    return max(anchors, key=lambda checkpoint: (checkpoint.seq, checkpoint.id or 0)) if anchors else None


def _raise_if(problems: _Problems) -> None:
    if problems.count:
        raise AuditIntegrityError(*problems.finish())


# --- verify -------------------------------------------------------------------------------------


def verify(
    session: Session, key: bytes, *, witness: Checkpoint | None = None, chunk: int = 10_000
) -> VerifyReport:
    """校验 — recompute the whole chain and check it against the signed checkpoints and the head.

    `witness` is the latest seal as recorded outside the database (see write_witness): it catches
    an administrator who rewrites the log and also deletes every checkpoint that would betray it.
    The unsealed tail after the last checkpoint is reported but is not a failure.
    """
    problems = _Problems()
    # Read order matters on a live PostgreSQL store (READ COMMITTED): checkpoints, then the last row,
    # then the head. Every checkpoint seen then lies at or below the head seen, and every row at or
    # below that head is committed; rows appended meanwhile lie above it and are left for next time.
    valid = _valid_checkpoints(session, key, problems)
    last = store.last_row(session)
    head = store.get_head(session)

    anchor = _anchor(valid)
    after, prev_hash = (anchor.seq, anchor.head_hash) if anchor else (0, GENESIS)
    seals: dict[int, list[Checkpoint]] = {}
    for checkpoint in valid:
        if checkpoint.seq > after:
            seals.setdefault(checkpoint.seq, []).append(checkpoint)
        elif checkpoint.seq == after and anchor is not None and checkpoint.head_hash != anchor.head_hash:
            problems.add(
                f"checkpoint #{checkpoint.id} disagrees with the retention anchor at seq {after}",
                f"签封点 #{checkpoint.id} 与保留期清理锚点（第 {after} 条）不一致",
            )

    if head is None:
        through = None
        if last is not None:
            problems.add("the head row (audit_head) is missing", "链头记录（audit_head）缺失")
    else:
        through = head[0]
        if last is not None and last[0] > head[0]:
            problems.add(
                f"rows after the head (seq {head[0]}) up to {last[0]} were added outside the audit service",
                f"链头（第 {head[0]} 条）之后出现了第 {last[0]} 条等记录，未经审计服务写入",
            )
            through = last[0]

    walk = _walk(
        session,
        problems,
        after=after,
        prev_hash=prev_hash,
        through=through,
        seals=seals,
        from_start=True,
        chunk=chunk,
    )

    if head is not None:
        end_seq = walk.last_seq if walk.last_seq is not None else after
        end_hash = walk.last_hash if walk.last_hash is not None else prev_hash
        if head[0] > end_seq:
            problems.add(
                f"the head says seq {head[0]} but the log ends at {end_seq}: rows deleted from the end",
                f"链头为第 {head[0]} 条，但日志止于第 {end_seq} 条：末尾记录被删除",
            )
        elif head[0] == end_seq and head[1] != end_hash:
            problems.add(
                f"the head's hash disagrees with row {end_seq}",
                f"链头哈希与第 {end_seq} 条不符",
            )
    end = walk.last_seq if walk.last_seq is not None else after
    for seq, checkpoints in seals.items():
        if seq not in walk.sealed_rows:
            for checkpoint in checkpoints:
                problems.add(
                    f"checkpoint #{checkpoint.id} signed seq {seq}, which is no longer in the log (rows deleted)",
                    f"签封点 #{checkpoint.id} 签署的第 {seq} 条已不在日志中（记录被删除）",
                )
    if witness is not None:
        _check_witness(key, witness, valid, problems)

    last_sealed = (
        walk.last_sealed_seq if walk.last_sealed_seq is not None else (anchor.seq if anchor else None)
    )
    en, zh = problems.finish()
    return VerifyReport(
        ok=problems.count == 0,
        entries=walk.entries,
        checkpoints=len(valid),
        last_sealed_seq=last_sealed,
        unsealed_tail=max(0, end - (last_sealed or 0)),
        problems=en,
        problems_zh=zh,
        first_seq=walk.first_seq,
        last_seq=walk.last_seq,
        anchor_seq=after,
    )


def _check_witness(key: bytes, witness: Checkpoint, valid: list[Checkpoint], problems: _Problems) -> None:
    if not signature_valid(key, witness.seq, witness.head_hash, witness.signature, kind=witness.kind):
        problems.add(
            "the seal witness kept outside the database has an invalid signature",
            "库外保存的签封凭证签名无效",
        )
        return
    found = any(
        checkpoint.seq == witness.seq and checkpoint.head_hash == witness.head_hash for checkpoint in valid
    )
    if not found:
        problems.add(
            f"the seal of seq {witness.seq} recorded outside the database is missing from "
            "audit_checkpoints: checkpoints were deleted",
            f"库外记录的第 {witness.seq} 条签封点已不在 audit_checkpoints 中：签封点被删除",
        )


# --- seal ---------------------------------------------------------------------------------------


def _latest_valid(session: Session, key: bytes) -> Checkpoint | None:
    valid = _valid_checkpoints(session, key, None)
    return max(valid, key=lambda checkpoint: (checkpoint.seq, checkpoint.id or 0)) if valid else None


def seal(session: Session, key: bytes, at: datetime) -> Checkpoint | None:
    """签封 — sign the current head; None when the log is empty or the head is already sealed.

    Entries since the previous checkpoint are checked first, so a seal never blesses a tampered tail:
    a broken tail raises AuditIntegrityError and nothing is signed.
    """
    # A zero-step advance locks the head, so appenders wait while the new tail is checked and signed.
    head = store.advance_head(session, 0)
    if head is None or head[0] == 0:
        return None
    base = _latest_valid(session, key)
    after, prev_hash = (base.seq, base.head_hash) if base else (0, GENESIS)
    if after >= head[0]:
        return None
    problems = _Problems()
    walk = _walk(session, problems, after=after, prev_hash=prev_hash, through=head[0])
    if walk.last_seq != head[0] or walk.last_hash != head[1]:
        problems.add(
            f"the head (seq {head[0]}) disagrees with the log (last row {walk.last_seq})",
            f"链头（第 {head[0]} 条）与日志（最后一条为第 {walk.last_seq} 条）不一致",
        )
    _raise_if(problems)
    checkpoint = Checkpoint(
        id=None,
        seq=head[0],
        head_hash=head[1],
        signed_at=at.astimezone(UTC),
        signature=sign_head(key, head[0], head[1], kind="seal"),
        kind="seal",
    )
    return store.insert_checkpoint(session, checkpoint)


def maybe_seal(session: Session, key: bytes, at: datetime, every: int = 100) -> Checkpoint | None:
    """Seal when at least `every` entries were appended since the last checkpoint.

    Called on the request path, so a broken chain is logged rather than raised: failing every audited
    request would not repair it, and `trafficgov audit verify` reports it in full.
    """
    head = store.get_head(session)
    if head is None:
        return None
    latest = store.latest_checkpoint(session)
    if head[0] - (latest.seq if latest else 0) < every:
        return None
    try:
        return seal(session, key, at)
    except AuditIntegrityError as error:
        log.error("audit chain broken, not sealed: %s", error)
        return None


# --- witness ------------------------------------------------------------------------------------


def write_witness(path: Path, checkpoint: Checkpoint) -> None:
    """Record a seal outside the database (next to the key); write after the seal has committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(checkpoint.as_dict(), ensure_ascii=False))
    temporary.replace(path)


def read_witness(path: Path) -> Checkpoint | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Checkpoint(
        id=data.get("id"),
        seq=int(data["seq"]),
        head_hash=data["head_hash"],
        signed_at=datetime.fromisoformat(data["signed_at"]),
        signature=data["signature"],
        kind=data.get("kind", "seal"),
    )


# --- search and export --------------------------------------------------------------------------


def search(
    session: Session,
    *,
    actor: str | None = None,
    entity: str | None = None,
    record_key: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditRecord]:
    """检索 — entries matching every filter given, newest first (`since` inclusive, `until` exclusive)."""
    stmt = store.filtered(
        actor=actor, entity=entity, record_key=record_key, action=action, since=since, until=until
    )
    stmt = stmt.order_by(store.AuditLogRow.__table__.c.seq.desc()).limit(limit).offset(offset)
    return [store.to_record(row) for row in session.execute(stmt)]


def export_rows(
    session: Session,
    *,
    actor: str | None = None,
    entity: str | None = None,
    record_key: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    chunk: int = 5_000,
) -> Iterator[AuditRecord]:
    """导出 — every matching entry, oldest first, fetched in chunks (for CSV or JSON Lines)."""
    seq_column = store.AuditLogRow.__table__.c.seq
    base = store.filtered(
        actor=actor, entity=entity, record_key=record_key, action=action, since=since, until=until
    )
    last = 0
    while True:
        rows = session.execute(base.where(seq_column > last).order_by(seq_column).limit(chunk)).all()
        for row in rows:
            yield store.to_record(row)
        if len(rows) < chunk:
            return
        last = rows[-1].seq


# --- retention ----------------------------------------------------------------------------------


def load_retention_policy(as_of: date, path: Path = RETENTION_FILE) -> RetentionPolicy:
    """The retention row of audit/retention.yaml in force on `as_of`."""
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    for row in rows:
        start, end = row["effective_from"], row.get("effective_to")
        if start <= as_of and (end is None or as_of < end):
            policy = RetentionPolicy(
                rule_id=row["rule_id"],
                effective_from=start,
                effective_to=end,
                keep_years=int(row["keep_years"]),
                floor_months=int(row["floor_months"]),
                label_zh=row["label_zh"],
                legal_basis=tuple((basis["document"], basis["article"]) for basis in row["legal_basis"]),
            )
            if policy.keep_years * 12 < policy.floor_months:
                raise ValueError(
                    f"{policy.rule_id}: keep_years is below the legal floor of {policy.floor_months} months"
                )
            return policy
    raise LookupError(f"no audit retention rule in force on {as_of}")


def _months_before(at: datetime, months: int) -> datetime:
    index = at.year * 12 + at.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def default_retention_cutoff(at: datetime, path: Path = RETENTION_FILE) -> datetime:
    """Entries older than this may be purged on `at`, by the retention rule in force that day."""
    policy = load_retention_policy(at.date(), path)
    return _months_before(at, policy.keep_years * 12)


def apply_retention(
    session: Session,
    key: bytes,
    *,
    before: datetime,
    at: datetime,
    actor: str = "system",
    role: str = "admin",
    unit: str | None = None,
) -> int:
    """到期清理 — delete the oldest entries, up to a sealed checkpoint, that all lie before `before`.

    The cut is the latest validly signed seal whose entries all predate `before`; the segment to be
    deleted is verified first (a broken segment raises AuditIntegrityError and nothing is deleted),
    then a 'retention' checkpoint signs the hash of the last deleted entry, from which verify starts.
    The purge itself is appended to the log. Returns how many entries were deleted.
    """
    floor = load_retention_policy(at.date()).floor_months
    if before > _months_before(at, floor):
        raise ValueError(f"audit logs must be kept at least {floor} months (网络安全法 第二十一条)")
    valid = _valid_checkpoints(session, key, None)
    anchor = _anchor(valid)
    after, prev_hash = (anchor.seq, anchor.head_hash) if anchor else (0, GENESIS)
    first_kept = store.first_seq_at_or_after(session, before)
    limit = first_kept - 1 if first_kept is not None else (store.get_head(session) or (0, GENESIS))[0]
    candidates = [c for c in valid if c.kind == "seal" and after < c.seq <= limit]
    if not candidates:
        return 0
    cut = max(candidates, key=lambda checkpoint: checkpoint.seq)
    problems = _Problems()
    walk = _walk(session, problems, after=after, prev_hash=prev_hash, through=cut.seq, seals={cut.seq: [cut]})
    if walk.last_seq != cut.seq:
        problems.add(
            f"row {cut.seq}, signed by checkpoint #{cut.id}, is missing",
            f"签封点 #{cut.id} 签署的第 {cut.seq} 条缺失",
        )
    _raise_if(problems)
    deleted = store.delete_through(session, cut.seq)
    store.insert_checkpoint(
        session,
        Checkpoint(
            id=None,
            seq=cut.seq,
            head_hash=cut.head_hash,
            signed_at=at.astimezone(UTC),
            signature=sign_head(key, cut.seq, cut.head_hash, kind="retention"),
            kind="retention",
        ),
    )
    append(
        session,
        AuditEntry(
            actor=actor,
            role=role,
            unit=unit,
            action="retention",
            entity="audit_log",
            record_key=f"{after + 1}-{cut.seq}",
            purpose="retention",
            at=at,
            detail={"before": before.astimezone(UTC).isoformat(), "deleted": deleted, "through_seq": cut.seq},
        ),
    )
    return deleted
