"""Shared fixtures: a store on SQLite and on PostgreSQL, settings for tests, an app, the demo city."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from trafficgov.config import Settings
from trafficgov.store.db import Database

PG_ADMIN_URL = os.environ.get("TRAFFICGOV_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DEMO_AS_OF = date(2026, 6, 30)


def _postgres_reachable() -> bool:
    try:
        with create_engine(PG_ADMIN_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """PostgreSQL must be there: started if it is down, and a loud failure (never a skip) if it cannot be."""
    if not _postgres_reachable():
        script = Path(__file__).parents[1] / "scripts" / "system-deps.sh"
        subprocess.run(["bash", str(script)], check=False, capture_output=True)
    if not _postgres_reachable():
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: start it (scripts/system-deps.sh) — the suite runs on both stores")
    return PG_ADMIN_URL


def _sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL on each backend (PostgreSQL: a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        yield _sqlite_url(tmp_path)
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{admin_url}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return replace(
        Settings.from_env(),
        database_url=db_url,
        var_dir=tmp_path / "var",
        audit_key_file=tmp_path / "keys" / "audit.key",
        session_key_file=tmp_path / "keys" / "session.key",
        max_upload_bytes=2 * 1024 * 1024,
        argon2_profile="test",
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    yield db
    db.engine.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A SQLite store only, for tests that do not depend on the backend."""
    db = Database(_sqlite_url(tmp_path))
    yield db
    db.engine.dispose()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo city's files (seed 1), built once per test session."""
    from trafficgov.demo.city import build_city

    out = tmp_path_factory.mktemp("demo-city")
    build_city(1, "small", DEMO_AS_OF, out)
    return out


@pytest.fixture
def admin_actor(database: Database):
    from trafficgov.accounts.service import cli_actor

    return cli_actor(database, "admin")


@pytest.fixture
def loaded(database: Database, demo_dir: Path, admin_actor) -> Database:
    """A store with the small demo city loaded and its demo accounts created."""
    from trafficgov.demo.load import load_city

    load_city(database, demo_dir / "manifest.json", admin_actor, argon2_profile="test")
    return database


@pytest.fixture
def accounts(demo_dir: Path) -> dict[str, dict]:
    from trafficgov.demo.load import demo_accounts

    return demo_accounts(demo_dir / "manifest.json")


@pytest.fixture
def client(settings: Settings, loaded: Database):
    from fastapi.testclient import TestClient

    from trafficgov.web.app import create_app

    with TestClient(create_app(settings, loaded)) as test_client:
        yield test_client


@pytest.fixture
def tokens(client, accounts: dict[str, dict]) -> dict[str, str]:
    """A bearer token per demo role, obtained through the real login route."""
    result = {}
    for role, account in accounts.items():
        response = client.post("/api/v1/auth/token", data={"username": account["username"], "password": account["password"]})
        assert response.status_code == 200, response.text
        result[role] = response.json()["access_token"]
    return result


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tables_differing(engine) -> set[str]:  # noqa: ANN001
    """The tables whose schema in `engine` differs from the code's metadata (an Alembic autogenerate comparison):
    how a migration test shows that a migration creates exactly its tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import Table

    from trafficgov.store.tables import metadata

    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    found = set()
    for diff in diffs:
        _kind, *parts = diff[0] if isinstance(diff, list) else diff
        for part in parts:
            if isinstance(part, Table):
                found.add(part.name)
            elif getattr(part, "table", None) is not None:
                found.add(part.table.name)
            elif isinstance(part, str) and part in metadata.tables:
                found.add(part)
    return found
