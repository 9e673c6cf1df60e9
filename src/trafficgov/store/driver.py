"""直连驱动 — Core statements run straight on the DB-API connection, for the hottest look-ups on SQLite.

SQLAlchemy's execution path costs some 25–40 µs a statement (events, the compiled cache, result
metadata), while an indexed look-up in the embedded SQLite store costs under 10 µs
(docs/benchmarks.md). On the few routes of ADR 0003 — a citizen's own records, a staff look-up with
its audit entry — a `DriverSession` runs the same Core statements through the driver's cursor and
does per call only what SQLAlchemy does per row: the parameters in the compiled order, each through
its column's bind processor, and each result column through its result processor. A statement is
compiled once per dialect (and, for an INSERT, per set of columns given).

It answers the part of `Session` that those paths use: `execute(statement, params)` with `first()`,
`all()` and `scalar()` on the result, and `get_bind()`; and, for plain SQL (a batch insert),
`exec_driver_sql` as SQLAlchemy's `Connection` has it. Statements must be module-level constants
(they are cached by identity); IN-lists ("expanding" parameters) are not supported.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import Executable

MAX_PREPARED = 256  # far more than the statements of the hot paths; emptied when full


class Prepared:
    """One statement compiled for one dialect with a positional paramstyle (SQLite's `?`)."""

    def __init__(self, statement: Executable, dialect: Any, keys: tuple[str, ...] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if compiled.positiontup is None:
            raise TypeError(f"{dialect.name}: only a positional paramstyle is supported")
        self.sql = str(compiled)
        processors = compiled._bind_processors
        self.binds: list[tuple[str, Any, bool, Any]] = []  # (name, processor, required, default)
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding:
                raise TypeError(f"{name}: expanding (IN-list) parameters are not supported")
            self.binds.append((name, processors.get(name), bind.required, None if bind.required else bind.effective_value))
        columns = compiled._result_columns
        self.row = namedtuple("Row", [c[0] for c in columns]) if columns else None  # type: ignore[misc]
        self.results = [c[3]._cached_result_processor(dialect, None) for c in columns]
        self.plain = all(p is None for p in self.results)

    def parameters(self, given: Mapping[str, Any]) -> tuple:
        values = []
        for name, process, required, default in self.binds:
            if name in given:
                value = given[name]
            elif required:
                raise KeyError(f"missing parameter {name!r}")
            else:
                value = default
            values.append(value if process is None or value is None else process(value))
        return tuple(values)

    def make(self, raw: tuple) -> Any:
        if self.plain:
            return self.row._make(raw)  # type: ignore[union-attr]
        return self.row._make([v if p is None or v is None else p(v) for p, v in zip(self.results, raw, strict=True)])  # type: ignore[union-attr]


class Result:
    """The rows of one statement, processed as SQLAlchemy would (named-tuple rows)."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return self._rows

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None


_prepared: dict[tuple, tuple[Executable, Prepared]] = {}


def prepared(statement: Executable, dialect: Any, keys: tuple[str, ...] | None = None) -> Prepared:
    """The statement compiled for the dialect, once (the statement is kept, so its identity stays its own)."""
    key = (id(statement), dialect.name, keys)
    found = _prepared.get(key)
    if found is None:
        if len(_prepared) >= MAX_PREPARED:
            _prepared.clear()
        found = _prepared[key] = (statement, Prepared(statement, dialect, keys))
    return found[1]


class DriverSession:
    """What the hot paths ask of a `Session`, answered by one DB-API connection in a transaction."""

    def __init__(self, connection: Any, engine: Engine) -> None:
        self.connection = connection
        self.engine = engine
        self.dialect = engine.dialect

    def get_bind(self) -> Engine:
        return self.engine

    def exec_driver_sql(self, sql: str, parameters: tuple | list[tuple] = ()) -> list[tuple]:
        """Plain SQL in the driver's own paramstyle, as `Connection.exec_driver_sql`: a list of tuples runs
        as executemany (no rows back); otherwise the rows, as the driver gives them."""
        cursor = self.connection.cursor()
        try:
            if isinstance(parameters, list):
                cursor.executemany(sql, parameters)
                return []
            cursor.execute(sql, parameters)
            return cursor.fetchall()
        finally:
            cursor.close()

    def execute(self, statement: Executable, params: Mapping[str, Any] | list[Mapping[str, Any]] | None = None) -> Result:
        many = isinstance(params, list)
        first = (params[0] if params else {}) if many else (params or {})
        # an INSERT compiles the columns it is given; other statements take their parameters by name
        keys = tuple(sorted(first)) if getattr(statement, "is_insert", False) else None
        statement_ = prepared(statement, self.dialect, keys)
        cursor = self.connection.cursor()
        try:
            if many:
                cursor.executemany(statement_.sql, [statement_.parameters(p) for p in params])  # type: ignore[union-attr]
                return Result([])
            cursor.execute(statement_.sql, statement_.parameters(first))
            if statement_.row is None:
                return Result([])
            return Result([statement_.make(raw) for raw in cursor.fetchall()])
        finally:
            cursor.close()


@contextmanager
def driver_transaction(engine: Engine, *, write: bool) -> Iterator[DriverSession]:
    """One SQLite transaction on a pooled connection (BEGIN IMMEDIATE for a writer, as `Database.transaction`):
    committed on success, rolled back on any error."""
    fairy = engine.raw_connection()
    try:
        connection = fairy.driver_connection
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
        try:
            yield DriverSession(connection, engine)
        except BaseException:
            if connection.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        fairy.close()
