"""Alembic environment: runs against the connection handed in by service.storage.migrate."""

from __future__ import annotations

from alembic import context

from service.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations always run through service.storage.migrate
    raise RuntimeError("run migrations with `pvm db upgrade`, which passes the configured connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
