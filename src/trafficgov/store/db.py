"""Engine and session factory; migrates the store on first use."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from trafficgov.store.driver import driver_transaction

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout, its folder is created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per worker thread (anyio runs up to 40): an overflow connection would be
        # closed on return and reopened, pragmas and all, on the next request.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=40, max_overflow=10)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            # We emit BEGIN ourselves (below), so the driver must not start transactions on its own.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Read pages through a memory map and keep a larger page cache: a look-up in a store of
            # millions of rows then costs memory reads, not a system call per B-tree page.
            cursor.execute("PRAGMA mmap_size=1073741824")
            cursor.execute("PRAGMA cache_size=-32768")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # A transaction that will write takes the write lock up front (BEGIN IMMEDIATE): in WAL
            # mode a deferred transaction that read first and writes later fails at once with
            # SQLITE_BUSY when another writer committed in between, whatever the busy timeout.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """迁移 — bring the schema to `revision` (the same migrations serve SQLite and PostgreSQL)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def ensure_schema(engine: Engine) -> None:
    """Create or migrate the store when it is behind (any command that needs it calls this)."""
    if current_revision(engine) != head_revision(engine):
        upgrade(engine)


class Database:
    """One store: an engine plus a session factory."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            ensure_schema(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.RLock()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """One explicit transaction: committed on success, rolled back on any error.

        `write=True` for a transaction that reads and then writes (an audited read, an import): on
        SQLite it takes the write lock at the start, so it waits its turn instead of failing.
        """
        if write and self.is_sqlite:
            # Writers of this process queue on a lock of ours rather than in SQLite's busy handler,
            # which sleeps in steps of up to 100 ms and makes the slowest requests very slow.
            with self._write_lock, self.sessions() as session, session.begin():
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                yield session
            return
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def hot_transaction(self, *, write: bool = False) -> Iterator[Any]:
        """A transaction for the hottest look-ups (ADR 0003): on SQLite a `store.driver.DriverSession`, which
        runs Core statements straight on the driver's connection; elsewhere an ORM session as `transaction`.
        Only Core statements (`execute`) belong in it."""
        if not self.is_sqlite:
            with self.transaction(write=write) as session:
                yield session
            return
        if write:
            with self._write_lock, driver_transaction(self.engine, write=True) as session:
                yield session
            return
        with driver_transaction(self.engine, write=False) as session:
            yield session

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A short store call from async code (a hot look-up route): inline on the embedded SQLite, where an
        indexed look-up costs less than the hop to a worker thread; in a worker thread on a server database,
        whose network waits must not hold up the event loop."""
        if self.is_sqlite:
            return call(*args, **kwargs)
        from anyio import to_thread

        return await to_thread.run_sync(functools.partial(call, *args, **kwargs))
