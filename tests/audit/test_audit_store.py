"""The audit log on a real store: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, delete, insert, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from trafficgov.audit import service, store
from trafficgov.audit.chain import GENESIS, entry_hash, sign_head
from trafficgov.audit.cli import app, witness_path
from trafficgov.audit.model import AuditEntry
from trafficgov.config import Settings
from trafficgov.store.base import Base
from trafficgov.store.db import make_engine

PG_URL = os.environ.get("TRAFFICGOV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEY = bytes(range(32))
T0 = datetime(2024, 1, 1, tzinfo=UTC)
LOG = store.AuditLogRow.__table__
HEAD = store.AuditHeadRow.__table__
CHECKPOINTS = store.AuditCheckpointRow.__table__


@dataclass
class Store:
    """A fresh store holding only the audit tables; `url` opens the same one from the CLI."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def transaction(self):
        return self.sessions.begin()

    def run(self, sql, **params) -> None:
        """Raw SQL, as an administrator with table access would run it."""
        with self.engine.begin() as conn:
            conn.execute(text(sql) if isinstance(sql, str) else sql, params)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
        engine = make_engine(url)
        cleanup = None
    else:
        schema = f"test_audit_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except OperationalError as error:  # never skip: CI must run the PostgreSQL half
            admin.dispose()
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {error}")
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    Base.metadata.create_all(engine, tables=store.AUDIT_TABLES)
    try:
        yield Store(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    finally:
        engine.dispose()
        if cleanup is not None:
            cleanup()


def entry(i: int, *, at: datetime | None = None, actor: str | None = None, **changes) -> AuditEntry:
    values = {
        "actor": actor or f"officer-{i % 7}",
        "role": "officer",
        "unit": "历下大队" if i % 2 else None,
        "action": ("read", "update", "export")[i % 3],
        "entity": "person" if i % 4 else "vehicle",
        "record_key": f"R{i % 50:04d}",
        "purpose": "违法处理",
        "at": at or T0 + timedelta(seconds=i, microseconds=i),
        "detail": {"i": i, "fields": ["姓名", "证件号码"]},
    }
    values.update(changes)
    return AuditEntry(**values)


def fill(db: Store, count: int, *, seal_every: int | None = None, start: int = 1) -> None:
    for i in range(start, start + count):
        with db.transaction() as session:
            service.append(session, entry(i))
            if seal_every:
                service.maybe_seal(session, KEY, T0 + timedelta(seconds=i), every=seal_every)


def check(db: Store, **kwargs) -> service.VerifyReport:
    with db.transaction() as session:
        return service.verify(session, KEY, **kwargs)


def seal_now(db: Store):
    with db.transaction() as session:
        return service.seal(session, KEY, datetime.now(UTC))


def problems_text(report) -> str:
    return "\n".join(report.problems + report.problems_zh)


# --- intact chain --------------------------------------------------------------------------------


def test_chain_stays_intact_after_many_appends(db):
    fill(db, 120, seal_every=50)
    with db.transaction() as session:
        last = service.append_many(session, [entry(i) for i in range(121, 301)])
    assert last == 300
    report = check(db)
    assert report.ok, report.problems
    assert (report.entries, report.first_seq, report.last_seq) == (300, 1, 300)
    assert report.checkpoints == 2
    assert report.last_sealed_seq == 100
    assert report.unsealed_tail == 200

    checkpoint = seal_now(db)
    assert checkpoint is not None and checkpoint.seq == 300
    assert seal_now(db) is None  # nothing new to seal
    report = check(db)
    assert report.ok and report.unsealed_tail == 0 and report.last_sealed_seq == 300


def test_stored_entries_read_back_exactly(db):
    original = entry(
        5, at=datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC), detail={"a": [1, 2.5, None]}
    )
    with db.transaction() as session:
        seq = service.append(session, original)
    with db.transaction() as session:
        (record,) = service.search(session)
    assert record.seq == seq == 1
    assert record.entry == original
    assert record.prev_hash == GENESIS
    assert record.hash == entry_hash(GENESIS, 1, original)


def test_rollback_of_the_callers_transaction_leaves_no_entry(db):
    fill(db, 3)
    with pytest.raises(RuntimeError), db.transaction() as session:
        service.append(session, entry(99))
        raise RuntimeError("the audited write failed")
    report = check(db)
    assert report.ok and report.entries == 3
    with db.transaction() as session:
        assert service.append(session, entry(4)) == 4
    assert check(db).ok


def test_detail_that_is_not_json_is_refused_before_anything_is_written(db):
    with pytest.raises(TypeError), db.transaction() as session:
        service.append(session, entry(1, detail={"when": datetime.now(UTC)}))
    with db.transaction() as session:
        assert service.append(session, entry(1)) == 1


def test_concurrent_appenders_serialise_on_the_head(db):
    fill(db, 1)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                with db.transaction() as session:
                    service.append(session, entry(1000 * n + i, actor=f"worker-{n}"))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = check(db)
    assert report.ok, report.problems
    assert report.entries == 101


# --- tampering -----------------------------------------------------------------------------------


def test_edited_field_is_detected(db):
    fill(db, 20)
    db.run("UPDATE audit_log SET purpose = '私人查询' WHERE seq = 7")
    report = check(db)
    assert not report.ok
    assert "row 7 was altered" in problems_text(report)
    assert "第 7 条被篡改" in problems_text(report)


def test_edited_detail_is_detected(db):
    fill(db, 5)
    db.run("UPDATE audit_log SET detail = :d WHERE seq = 3", d='{"i":3}')
    assert "row 3 was altered" in problems_text(check(db))


def test_deleted_row_is_detected(db):
    fill(db, 20)
    db.run("DELETE FROM audit_log WHERE seq IN (8, 9)")
    report = check(db)
    assert not report.ok
    assert "rows 8-9 are missing" in problems_text(report)


def test_deleted_last_row_is_detected_by_the_head(db):
    fill(db, 20)
    db.run("DELETE FROM audit_log WHERE seq = 20")
    assert "rows deleted from the end" in problems_text(check(db))


def test_row_inserted_after_the_head_is_detected(db):
    fill(db, 10)
    with db.transaction() as session:
        (last,) = service.search(session, limit=1)
    forged = entry(11, actor="nobody")
    db.run(
        insert(LOG).values(
            seq=11, **_row_values(forged), prev_hash=last.hash, hash=entry_hash(last.hash, 11, forged)
        )
    )
    report = check(db)
    assert not report.ok
    assert "added outside the audit service" in problems_text(report)


def test_row_inserted_in_the_middle_is_detected(db):
    fill(db, 10)
    # Make room by renumbering rows 5..10 to 6..11, keeping their stored hashes, and move the head.
    for seq in range(10, 4, -1):
        db.run("UPDATE audit_log SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    with db.transaction() as session:
        (row4,) = [r for r in service.search(session) if r.seq == 4]
    forged = entry(5, actor="nobody")
    db.run(
        insert(LOG).values(
            seq=5, **_row_values(forged), prev_hash=row4.hash, hash=entry_hash(row4.hash, 5, forged)
        )
    )
    db.run("UPDATE audit_log SET prev_hash = :h WHERE seq = 6", h=entry_hash(row4.hash, 5, forged))
    db.run("UPDATE audit_head SET seq = 11")
    report = check(db)
    assert not report.ok
    assert "row 6 was altered" in problems_text(report)


def test_rewritten_chain_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(db):
    fill(db, 30)
    seal_now(db)
    fill(db, 5, start=31)
    db.run("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 12")
    _recompute_every_hash(db)
    report = check(db)
    assert not report.ok
    text_ = problems_text(report)
    assert "the chain was rewritten" in text_
    assert "哈希链被重写" in text_
    assert "altered" not in text_  # every hash is consistent: only the key betrays the rewrite


def test_rewrite_that_also_deletes_the_checkpoints_is_caught_by_the_witness(db):
    fill(db, 30)
    checkpoint = seal_now(db)
    db.run("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 12")
    _recompute_every_hash(db)
    db.run("DELETE FROM audit_checkpoints")
    blind = check(db)
    assert blind.ok and blind.unsealed_tail == 30  # without the witness the whole log looks unsealed
    report = check(db, witness=checkpoint)
    assert not report.ok
    assert "checkpoints were deleted" in problems_text(report)


def test_forged_checkpoint_is_detected(db):
    fill(db, 10)
    with db.transaction() as session:
        (last,) = service.search(session, limit=1)
    db.run(
        insert(CHECKPOINTS).values(
            seq=10,
            head_hash=last.hash,
            signed_at=datetime.now(UTC),
            signature=sign_head(b"not the bureau's key", 10, last.hash),
            kind="seal",
        )
    )
    report = check(db)
    assert not report.ok
    assert "invalid signature" in problems_text(report)
    assert report.checkpoints == 0


def test_seal_relabelled_as_retention_anchor_is_detected(db):
    fill(db, 10)
    seal_now(db)
    db.run("UPDATE audit_checkpoints SET kind = 'retention'")
    db.run("DELETE FROM audit_log WHERE seq <= 10")
    report = check(db)
    assert not report.ok
    assert "invalid signature" in problems_text(report)


def test_head_disagreeing_with_the_last_row_is_detected(db):
    fill(db, 10)
    db.run(update(HEAD).values(hash="f" * 64))
    assert "head's hash disagrees with row 10" in problems_text(check(db))


def test_seal_refuses_to_sign_a_tampered_tail(db):
    fill(db, 10)
    seal_now(db)
    fill(db, 10, start=11)
    db.run("UPDATE audit_log SET record_key = 'X' WHERE seq = 15")
    with pytest.raises(service.AuditIntegrityError) as caught:
        seal_now(db)
    assert "row 15 was altered" in caught.value.problems[0]
    with db.transaction() as session:
        assert service.maybe_seal(session, KEY, datetime.now(UTC), every=1) is None


def test_maybe_seal_waits_for_enough_entries(db):
    fill(db, 9)
    with db.transaction() as session:
        assert service.maybe_seal(session, KEY, datetime.now(UTC), every=10) is None
        service.append(session, entry(10))
        checkpoint = service.maybe_seal(session, KEY, datetime.now(UTC), every=10)
    assert checkpoint is not None and checkpoint.seq == 10


def test_verify_reads_a_large_log_in_chunks(db):
    with db.transaction() as session:
        service.append_many(session, [entry(i) for i in range(1, 1001)])
    seal_now(db)
    with db.transaction() as session:
        report = service.verify(session, KEY, chunk=97)
    assert report.ok and report.entries == 1000 and report.unsealed_tail == 0


# --- search and export ---------------------------------------------------------------------------


def test_search_filters_and_pages(db):
    fill(db, 60)
    with db.transaction() as session:
        by_record = service.search(session, entity="person", record_key="R0005")
        assert [r.seq for r in by_record] == [55, 5]
        by_actor = service.search(session, actor="officer-3", action="read")
        assert by_actor and all(r.actor == "officer-3" and r.action == "read" for r in by_actor)
        window = service.search(session, since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=20))
        assert [r.seq for r in window] == list(range(19, 9, -1))
        page = service.search(session, limit=5, offset=5)
        assert [r.seq for r in page] == [55, 54, 53, 52, 51]
        exported = list(service.export_rows(session, action="update", chunk=4))
        assert [r.seq for r in exported] == list(range(1, 61, 3))


# --- retention -----------------------------------------------------------------------------------


def test_retention_keeps_the_chain_verifiable(db):
    # 40 entries a month apart, sealed every 10: seals at 10, 20, 30, 40.
    for i in range(1, 41):
        with db.transaction() as session:
            service.append(session, entry(i, at=T0 + timedelta(days=30 * i)))
            service.maybe_seal(session, KEY, T0 + timedelta(days=30 * i), every=10)
    before = T0 + timedelta(days=30 * 25 + 1)  # entries 1..25 are older; the latest seal among them is 20
    with db.transaction() as session:
        deleted = service.apply_retention(session, KEY, before=before, at=before + timedelta(days=365))
    assert deleted == 20
    report = check(db)
    assert report.ok, report.problems
    assert (report.anchor_seq, report.first_seq, report.last_seq) == (20, 21, 41)
    with db.transaction() as session:
        (purge,) = service.search(session, action="retention")
    assert purge.detail["deleted"] == 20 and purge.record_key == "1-20"

    # A second run with the same cut deletes nothing more.
    with db.transaction() as session:
        assert service.apply_retention(session, KEY, before=before, at=before + timedelta(days=365)) == 0

    # Deleting past the anchor is still caught.
    db.run("DELETE FROM audit_log WHERE seq = 21")
    assert "row 21 is missing" in problems_text(check(db))


def test_retention_refuses_to_destroy_a_tampered_segment(db):
    fill(db, 20)
    seal_now(db)
    db.run("UPDATE audit_log SET actor = 'x' WHERE seq = 3")
    with pytest.raises(service.AuditIntegrityError), db.transaction() as session:
        service.apply_retention(session, KEY, before=T0 + timedelta(days=1), at=T0 + timedelta(days=400))
    assert check(db).entries == 20


def test_retention_respects_the_six_month_floor(db):
    fill(db, 5)
    with pytest.raises(ValueError), db.transaction() as session:
        service.apply_retention(session, KEY, before=T0 + timedelta(days=1), at=T0 + timedelta(days=30))


def test_retention_period_is_read_from_the_dated_rule_file():
    policy = service.load_retention_policy(datetime(2025, 1, 1).date())
    assert policy.keep_years == 6 and policy.floor_months == 6
    assert service.default_retention_cutoff(datetime(2030, 2, 28, tzinfo=UTC)) == datetime(
        2024, 2, 28, tzinfo=UTC
    )


# --- command line --------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db, tmp_path, monkeypatch) -> Store:
    monkeypatch.setenv("TRAFFICGOV_DATABASE_URL", db.url)
    monkeypatch.setenv("TRAFFICGOV_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("TRAFFICGOV_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TRAFFICGOV_USER", "auditor-1")
    _stamp_if_migrations_exist(db.engine)
    return db


def test_cli_verify_exit_code_follows_the_chain(cli_env):
    runner = CliRunner()
    fill(cli_env, 12)
    sealed = runner.invoke(app, ["seal"])
    assert sealed.exit_code == 0, sealed.output
    assert witness_path(Settings.from_env()).exists()

    intact = runner.invoke(app, ["verify"])
    assert intact.exit_code == 0, intact.output
    assert "audit log intact" in intact.output and "审计日志完整" in intact.output

    as_json = runner.invoke(app, ["verify", "--json"])
    report = json.loads(as_json.output)
    assert as_json.exit_code == 0 and report["ok"] is True and report["entries"] == 12

    cli_env.run("UPDATE audit_log SET purpose = NULL WHERE seq = 4")
    broken = runner.invoke(app, ["verify"])
    assert broken.exit_code == 1
    assert "BROKEN" in broken.output and "第 4 条被篡改" in broken.output
    broken_json = runner.invoke(app, ["verify", "--json"])
    assert broken_json.exit_code == 1 and json.loads(broken_json.output)["ok"] is False


def test_cli_search_and_export_are_themselves_audited(cli_env):
    runner = CliRunner()
    fill(cli_env, 6)
    found = runner.invoke(app, ["search", "--record-key", "R0003"])
    assert found.exit_code == 0, found.output
    assert "R0003" in found.output

    exported = runner.invoke(app, ["export", "--format", "jsonl", "--entity", "person"])
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.output.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 5, 6]
    as_csv = runner.invoke(app, ["export", "--format", "csv"])
    assert as_csv.output.splitlines()[0].startswith("seq,at,actor")

    with cli_env.transaction() as session:
        accesses = service.search(session, actor="auditor-1")
    assert [r.action for r in accesses] == ["export", "export", "read"]
    assert runner.invoke(app, ["verify"]).exit_code == 0


def test_cli_retention_purges_up_to_a_seal(cli_env):
    runner = CliRunner()
    for i in range(1, 11):
        with cli_env.transaction() as session:
            service.append(session, entry(i, at=T0 + timedelta(days=i)))
    assert runner.invoke(app, ["seal"]).exit_code == 0
    result = runner.invoke(app, ["retention", "--before", "2024-06-01", "--yes"])
    assert result.exit_code == 0, result.output
    assert "deleted 10" in result.output
    verified = runner.invoke(app, ["verify", "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["anchor_seq"] == 10


# --- helpers -------------------------------------------------------------------------------------


def _row_values(e: AuditEntry) -> dict:
    return {
        "at": e.at,
        "actor": e.actor,
        "role": e.role,
        "unit": e.unit,
        "action": e.action,
        "entity": e.entity,
        "record_key": e.record_key,
        "purpose": e.purpose,
        "detail": json.dumps(e.detail, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
    }


def _recompute_every_hash(db: Store) -> None:
    """What an administrator without the key can do: rebuild a perfectly consistent chain."""
    with db.engine.begin() as conn:
        rows = conn.execute(select(LOG).order_by(LOG.c.seq)).all()
        prev = GENESIS
        for row in rows:
            e = AuditEntry(
                actor=row.actor,
                role=row.role,
                unit=row.unit,
                action=row.action,
                entity=row.entity,
                record_key=row.record_key,
                purpose=row.purpose,
                at=store.utc(row.at),
                detail=json.loads(row.detail),
            )
            digest = entry_hash(prev, row.seq, e)
            conn.execute(update(LOG).where(LOG.c.seq == row.seq).values(prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(update(HEAD).values(hash=prev))


def _stamp_if_migrations_exist(engine: Engine) -> None:
    """The CLI opens the store through Database(), which migrates: mark our create_all'd store current."""
    from trafficgov.store.db import alembic_config, head_revision

    if head_revision(engine) is not None:
        from alembic import command

        command.stamp(alembic_config(engine), "head")


def test_fixture_tables_are_only_the_audit_tables(db):
    with db.engine.connect() as conn:
        assert conn.execute(select(LOG.c.seq)).all() == []
    # delete() on an empty table is fine on both dialects; keeps the import used for raw admin edits
    db.run(delete(LOG))
