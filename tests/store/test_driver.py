"""The driver path of the hot routes (store.driver, ADR 0003) against SQLAlchemy's own execution.

The same Core statements must give the same rows (values, types and names) and the audit entries it
appends must keep the hash chain intact, committed or rolled back as one transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, select

from trafficgov.audit import service as audit
from trafficgov.audit import store as audit_store
from trafficgov.audit.model import AuditEntry
from trafficgov.registry import service as registry
from trafficgov.registry.store import PersonRow, VehicleRow
from trafficgov.store.db import Database
from trafficgov.store.driver import DriverSession, Prepared, driver_transaction

AT = datetime(2026, 6, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def city(sqlite_database: Database, demo_dir: Path) -> Database:
    """The small demo city in a SQLite store (the driver path exists only there)."""
    from trafficgov.accounts.service import cli_actor
    from trafficgov.demo.load import load_city

    load_city(sqlite_database, demo_dir / "manifest.json", cli_actor(sqlite_database, "admin"), argon2_profile="test")
    return sqlite_database


def entry(n: int) -> AuditEntry:
    return AuditEntry(actor="officer1", role="officer", unit="一大队", action="read", entity="vehicle", record_key=f"鲁A{n:05d}:02", purpose="case_handling", at=AT + timedelta(seconds=n), detail={"n": n})


def test_the_hot_statements_give_the_rows_sqlalchemy_gives(city: Database):
    with city.transaction() as session:
        people = list(session.scalars(select(PersonRow.id_number).order_by(PersonRow.id_number).limit(150)))
        plates = list(session.execute(select(VehicleRow.plate_number, VehicleRow.plate_type).order_by(VehicleRow.id).limit(150)))
    cases = [(registry._PERSON_AND_LICENCE, {"id_number": p}) for p in people]
    cases += [(registry._VEHICLES_OF_OWNER, {"owner_id": p}) for p in people]
    cases += [(registry._VEHICLE_BY_PLATE, {"plate_number": n, "plate_type": t}) for n, t in plates]
    cases += [(registry._VEHICLE_BY_PLATE, {"plate_number": "鲁A00000", "plate_type": "02"})]  # no such vehicle
    compared = 0
    with city.engine.connect() as connection, city.hot_transaction() as hot:
        assert isinstance(hot, DriverSession)
        for statement, params in cases:
            expected = connection.execute(statement, params).all()
            got = hot.execute(statement, params).all()
            assert [tuple(r) for r in got] == [tuple(r) for r in expected]
            assert [type(v) for r in got for v in r] == [type(v) for r in expected for v in r]
            assert all(g._fields == e._fields for g, e in zip(got, expected, strict=True))
            compared += len(expected)
    assert compared > 300  # people with licences and vehicles, and vehicles with owners, were compared


def test_audit_entries_appended_on_the_driver_keep_the_chain(city: Database):
    key = b"k" * 32
    with city.transaction(write=True) as session:
        audit.append(session, entry(1))
    with city.hot_transaction(write=True) as hot:
        audit.append(hot, entry(2))
        audit.append_many(hot, [entry(3), entry(4)])
    with city.transaction(write=True) as session:
        audit.append(session, entry(5))
    with city.transaction() as session:
        report = audit.verify(session, key)
        rows = session.execute(select(audit_store._log.c.record_key, audit_store._log.c.at, audit_store._log.c.detail).where(audit_store._log.c.entity == "vehicle").order_by(audit_store._log.c.seq)).all()
    assert report.ok, report.problems
    assert [r.record_key for r in rows] == [f"鲁A{n:05d}:02" for n in range(1, 6)]
    assert [r.at.replace(tzinfo=UTC) if r.at.tzinfo is None else r.at for r in rows] == [AT + timedelta(seconds=n) for n in range(1, 6)]


def test_a_failing_driver_transaction_leaves_nothing(city: Database):
    with city.transaction() as session:
        before = session.scalar(select(func.count()).select_from(audit_store._log)), audit_store.get_head(session)
    with pytest.raises(RuntimeError), city.hot_transaction(write=True) as hot:
        audit.append(hot, entry(1))
        raise RuntimeError("the view could not be built")
    with city.transaction() as session:
        assert (session.scalar(select(func.count()).select_from(audit_store._log)), audit_store.get_head(session)) == before
    # and the pooled connection is usable afterwards, with no transaction left open
    with driver_transaction(city.engine, write=False) as hot:
        assert hot.execute(registry._VEHICLES_OF_OWNER, {"owner_id": "nobody"}).all() == []


def test_parameters_are_checked(city: Database):
    with city.hot_transaction() as hot, pytest.raises(KeyError, match="owner_id"):
        hot.execute(registry._VEHICLES_OF_OWNER, {})
    in_list = select(VehicleRow.id).where(VehicleRow.owner_id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(TypeError, match="expanding"):
        Prepared(in_list, city.engine.dialect)


def test_concurrent_audited_reads_on_the_driver_and_orm_writers_keep_one_chain(city: Database):
    """Staff look-ups (driver path, inline in the server) and ORM writers in other threads all append to the
    one hash chain: none is lost, none doubled, and the chain verifies."""
    import threading

    from trafficgov.accounts.model import Actor, Role

    officer = Actor(username="officer-t", role=Role.OFFICER, unit="一大队", display_name="并发民警")
    with city.transaction() as session:
        plates = list(session.execute(select(VehicleRow.plate_number, VehicleRow.plate_type).order_by(VehicleRow.id).limit(40)))
        before = session.scalar(select(func.count()).select_from(audit_store._log))
    errors: list[BaseException] = []

    def reader(offset: int) -> None:
        try:
            for n, t in plates[offset::4]:
                registry.get_vehicle(city, officer, n, t, purpose="case_handling", at=AT)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def writer() -> None:
        try:
            for n in range(20):
                with city.transaction(write=True) as session:
                    audit.append(session, entry(n))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with city.transaction() as session:
        after = session.scalar(select(func.count()).select_from(audit_store._log))
        report = audit.verify(session, b"k" * 32)
    assert after - before == len(plates) + 20
    assert report.ok, report.problems


def test_plain_sql_runs_as_on_a_connection_and_rolls_back_with_the_transaction(sqlite_database: Database):
    """`exec_driver_sql`: a list of tuples is one executemany; a tuple gives the rows; an error undoes both."""
    with sqlite_database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE plain_t (k TEXT PRIMARY KEY, v INTEGER)")
    with driver_transaction(sqlite_database.engine, write=True) as hot:
        assert hot.exec_driver_sql("INSERT INTO plain_t VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 3)]) == []
        assert hot.exec_driver_sql("SELECT k, v FROM plain_t WHERE v >= ? ORDER BY k", (2,)) == [("b", 2), ("c", 3)]
    with pytest.raises(sqlite3.IntegrityError), driver_transaction(sqlite_database.engine, write=True) as hot:
        hot.exec_driver_sql("INSERT INTO plain_t VALUES (?, ?)", [("d", 4)])
        hot.exec_driver_sql("INSERT INTO plain_t VALUES (?, ?)", [("a", 9)])  # the key is taken
    with sqlite_database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT k, v FROM plain_t ORDER BY k").all() == [("a", 1), ("b", 2), ("c", 3)]
