"""存储 — database engine, sessions, tables and Alembic migrations."""
