"""Alembic environment: runs on the connection Floe hands it (see ``floe.server.db.engine.migrate``)."""

from alembic import context

from floe.server.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - Floe always passes a connection
    raise RuntimeError("run migrations through floe.server.db.engine.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
