"""Alembic environment: runs on the connection handed over by bot.store.migrate."""

from __future__ import annotations

from alembic import context

from bot.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand would get here
    raise RuntimeError("run migrations with `triagebot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
