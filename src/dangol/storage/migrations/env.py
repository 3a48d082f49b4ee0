"""Alembic environment. Run through `dangol.storage.migrate`, which hands us a connection."""

from alembic import context

from dangol.storage.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through dangol.storage.migrate (dangol init)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
