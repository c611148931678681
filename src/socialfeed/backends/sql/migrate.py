"""Migrations of the store's schema with Alembic: create a new database at the newest revision,
upgrade an older one (0.1's included) in place, refuse one newer than this code.

The revisions live in ``migrations/versions`` (revision ``0001`` is the 0.1 schema). Each table
prefix has a version table of its own (``<prefix>alembic_store``), so several stores can share a
database. The migration runs on the store's first transaction, under a lock (an advisory lock on
PostgreSQL, ``GET_LOCK`` on MySQL/MariaDB, SQLite's write lock), so processes starting together
migrate once.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, inspect, select, text

from socialfeed.backends.sql.schema import StoreTables
from socialfeed.errors import BackendError

__all__ = ["BASELINE", "HEAD", "migrate_store", "version_table"]

_SCRIPTS = Path(__file__).with_name("migrations")
BASELINE = "0001"
"""The revision of a database created by socialfeed 0.1."""


def _config(conn: Connection, prefix: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes.update(connection=conn, prefix=prefix, version_table=version_table(prefix))
    return cfg


def version_table(prefix: str) -> str:
    """The Alembic version table of the store under ``prefix``."""
    return f"{prefix}alembic_store"


HEAD = ScriptDirectory.from_config(_config(None, "")).get_current_head()  # type: ignore[arg-type]
"""The newest revision this code knows."""


def _current(conn: Connection, prefix: str) -> str | None:
    opts = {"version_table": version_table(prefix)}
    return MigrationContext.configure(conn, opts=opts).get_current_revision()


def _lock(conn: Connection, prefix: str) -> None:
    key = zlib.crc32(f"socialfeed-migrate-{prefix}".encode())
    if conn.dialect.name == "postgresql":  # released when the transaction ends
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    elif conn.dialect.name in ("mysql", "mariadb"):
        conn.execute(text("SELECT GET_LOCK(:k, 60)"), {"k": f"socialfeed-{key}"})


def _unlock(conn: Connection, prefix: str) -> None:
    if conn.dialect.name in ("mysql", "mariadb"):
        key = zlib.crc32(f"socialfeed-migrate-{prefix}".encode())
        conn.execute(text("SELECT RELEASE_LOCK(:k)"), {"k": f"socialfeed-{key}"})


def migrate_store(conn: Connection, t: StoreTables) -> None:
    """Bring the store tables ``t`` to :data:`HEAD` on ``conn`` (see the module docs)."""
    prefix = t.tweets.name.removesuffix("tweets")
    # The lock comes before the first read: on MySQL/MariaDB that read would fix the
    # transaction's snapshot, and a process waiting for the lock would then still see the
    # version another one has just written (and migrate a second time).
    _lock(conn, prefix)
    try:
        current = _current(conn, prefix)
        if current == HEAD:
            return
        cfg = _config(conn, prefix)
        if current is None and t.tweets.name in inspect(conn).get_table_names():
            recorded = conn.execute(
                select(t.meta.c.schema_version).where(t.meta.c.component == "store")
            ).scalar()
            if recorded != 1:
                raise BackendError(
                    f"the tables under prefix {prefix!r} have no migration history and "
                    f"record store schema version {recorded!r}: not a socialfeed 0.1 store"
                )
            command.stamp(cfg, BASELINE)  # a 0.1 database: upgrade it from there
        try:
            command.upgrade(cfg, "head")
        except CommandError as exc:
            raise BackendError(
                f"the database's socialfeed store schema (revision {current!r}, table "
                f"{version_table(prefix)}) is newer than this socialfeed knows (head {HEAD}): "
                f"upgrade socialfeed ({exc})"
            ) from exc
    finally:
        _unlock(conn, prefix)
