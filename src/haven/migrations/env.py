"""Alembic environment: migrations run on the connection Haven hands over (SQLite or PostgreSQL)."""

from __future__ import annotations

from alembic import context

from haven.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through haven (haven init), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
