"""Alembic's environment for the store's migrations: run on the connection (and in the
transaction) :func:`socialfeed.backends.sql.migrate.migrate_store` passes in, with a version
table of the store's own prefix."""

from alembic import context

config = context.config
context.configure(
    connection=config.attributes["connection"],
    version_table=config.attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
