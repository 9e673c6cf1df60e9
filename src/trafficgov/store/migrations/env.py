"""Alembic environment: runs on the engine handed over by trafficgov.store.db (or the configured URL)."""

from __future__ import annotations

from alembic import context

from trafficgov.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from trafficgov.config import Settings
        from trafficgov.store.db import make_engine

        engine = make_engine(Settings.from_env().database_url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run_migrations_online()
