"""The SQL schema (SQLAlchemy Core tables).

:func:`store_tables` and :func:`cache_tables` build the tables under a name prefix (default
``"socialfeed_"``), so several stores can share a database. The store's schema is migrated by the
Alembic revisions of :mod:`socialfeed.backends.sql.migrate`; the feed cache's (a cache: it can
always be dropped) is versioned in a ``<prefix>meta`` table by :func:`ensure_schema`, which
creates it on first use and refuses a database whose schema is newer than this code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    delete,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.dialects import mysql

from socialfeed.errors import BackendError

__all__ = [
    "CACHE_SCHEMA_VERSION",
    "DEFAULT_PREFIX",
    "LONGTEXT",
    "MYSQL_TABLE",
    "STORE_SCHEMA_VERSION",
    "CacheTables",
    "StoreTables",
    "UTCDateTime",
    "cache_tables",
    "drop_component",
    "ensure_schema",
    "store_tables",
]

DEFAULT_PREFIX = "socialfeed_"
STORE_SCHEMA_VERSION = 3
"""The version of the store tables this code reads and writes (its Alembic head revision)."""
CACHE_SCHEMA_VERSION = 1
"""The version of the feed-cache tables this code reads and writes."""

MYSQL_TABLE: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_engine": "InnoDB",
}
"""Table options on MySQL/MariaDB: utf8mb4 with a binary collation, InnoDB."""
LONGTEXT = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
"""Text of any length (``LONGTEXT`` on MySQL/MariaDB)."""


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime: ``timestamptz`` on PostgreSQL, naive UTC elsewhere
    (``DATETIME(6)`` on MySQL/MariaDB, so microseconds survive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        """``DATETIME(6)`` on MySQL/MariaDB."""
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """To UTC; naive (meaning UTC) except on PostgreSQL."""
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Back to an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _meta_table(md: MetaData, prefix: str) -> Table:
    return Table(
        f"{prefix}meta",
        md,
        Column("component", String(32), primary_key=True),
        Column("schema_version", Integer, nullable=False),
        **MYSQL_TABLE,
    )


@attrs.frozen
class StoreTables:
    """The store's tables: tweets, their media, follow edges and per-user counts (0.1), and what
    a safe deployment needs (0.2): the outbox of events, tombstones of deleted tweets,
    idempotency keys, worker-id leases, the deployment's settings and media references; and the
    social rows ([0.2-S]): blocks and mutes, muted words, erasures under way."""

    metadata: MetaData
    meta: Table
    tweets: Table
    tweet_media: Table
    follows: Table
    user_counts: Table
    events: Table
    deleted: Table
    keys: Table
    leases: Table
    settings: Table
    media_refs: Table
    relations: Table
    muted_words: Table
    erasures: Table

    @property
    def all(self) -> list[Table]:
        """Every store table (the ``meta`` table, shared with the cache, aside)."""
        return [
            self.tweets, self.tweet_media, self.follows, self.user_counts, self.events,
            self.deleted, self.keys, self.leases, self.settings, self.media_refs,
            self.relations, self.muted_words, self.erasures,
        ]  # fmt: skip


def store_tables(prefix: str = DEFAULT_PREFIX) -> StoreTables:
    """The store tables under ``prefix``.

    Deleted tweets are removed (with their media rows), so every index holds live tweets only.
    A reply keeps ``reply_to`` and ``reply_to_author_id``, a repost the id of its original in
    ``repost_of`` (its text is ``""``, it has no media).
    """
    md = MetaData()
    tweets = Table(
        f"{prefix}tweets",
        md,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("author_id", BigInteger, nullable=False),
        Column("text", LONGTEXT, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("reply_to", BigInteger, nullable=True),
        Column("reply_to_author_id", BigInteger, nullable=True),
        Column("repost_of", BigInteger, nullable=True),
        **MYSQL_TABLE,
    )
    Index(f"{prefix}tweets_author_id", tweets.c.author_id, tweets.c.id.desc())
    Index(f"{prefix}tweets_repost_of", tweets.c.repost_of, tweets.c.author_id)
    Index(f"{prefix}tweets_reply_to", tweets.c.reply_to, tweets.c.id)
    media = Table(
        f"{prefix}tweet_media",
        md,
        Column("tweet_id", BigInteger, nullable=False),
        Column("position", SmallInteger, nullable=False),
        Column("media_id", String(255), nullable=False),
        Column("content_type", String(255), nullable=False),
        Column("size", BigInteger, nullable=False),
        PrimaryKeyConstraint("tweet_id", "position"),
        **MYSQL_TABLE,
    )
    Index(f"{prefix}tweet_media_media", media.c.media_id)
    follows = Table(
        f"{prefix}follows",
        md,
        Column("follower_id", BigInteger, nullable=False),
        Column("followee_id", BigInteger, nullable=False),
        PrimaryKeyConstraint("follower_id", "followee_id"),
        **MYSQL_TABLE,
    )
    Index(f"{prefix}follows_reverse", follows.c.followee_id, follows.c.follower_id, unique=True)
    counts = Table(
        f"{prefix}user_counts",
        md,
        Column("user_id", BigInteger, primary_key=True, autoincrement=False),
        Column("followers", BigInteger, nullable=False, server_default="0"),
        Column("following", BigInteger, nullable=False, server_default="0"),
        **MYSQL_TABLE,
    )
    Index(f"{prefix}user_counts_followers", counts.c.followers)  # hybrid: who is a celebrity
    return StoreTables(
        md,
        _meta_table(md, prefix),
        tweets,
        media,
        follows,
        counts,
        *_deployment_tables(md, prefix),
        *_social_tables(md, prefix),
    )


def _deployment_tables(md: MetaData, prefix: str) -> tuple[Table, ...]:
    """The tables of schema revision 0002 (deployment safety)."""
    events = Table(
        f"{prefix}events",
        md,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("kind", SmallInteger, nullable=False),
        Column("actor", BigInteger, nullable=False),
        Column("target", BigInteger, nullable=False),
        Column("count", BigInteger, nullable=True),
        Column("claimed_until", BigInteger, nullable=False, server_default="0"),  # ms, epoch
        **MYSQL_TABLE,
    )
    deleted = Table(
        f"{prefix}deleted_tweets",
        md,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("author_id", BigInteger, nullable=False),
        Column("deleted_at", UTCDateTime, nullable=False),
        **MYSQL_TABLE,
    )
    Index(f"{prefix}deleted_tweets_author", deleted.c.author_id, deleted.c.id)  # 0003: erasure
    keys = Table(
        f"{prefix}idempotency_keys",
        md,
        Column("author_id", BigInteger, nullable=False),
        Column("idem_key", String(255), nullable=False),
        Column("tweet_id", BigInteger, nullable=False),
        PrimaryKeyConstraint("author_id", "idem_key"),
        **MYSQL_TABLE,
    )
    Index(f"{prefix}idempotency_keys_tweet", keys.c.tweet_id)
    leases = Table(
        f"{prefix}worker_leases",
        md,
        Column("worker_id", Integer, primary_key=True, autoincrement=False),
        Column("holder", String(255), nullable=True),
        Column("expires_ms", BigInteger, nullable=False),
        Column("last_ms", BigInteger, nullable=False),
        **MYSQL_TABLE,
    )
    settings = Table(
        f"{prefix}settings",
        md,
        Column("name", String(64), primary_key=True),
        Column("value", String(255), nullable=False),
        **MYSQL_TABLE,
    )
    media_refs = Table(
        f"{prefix}media_refs",
        md,
        Column("media_id", String(255), primary_key=True),
        Column("refs", BigInteger, nullable=False),
        Column("claimed_until", BigInteger, nullable=False, server_default="0"),  # ms, epoch
        **MYSQL_TABLE,
    )
    return events, deleted, keys, leases, settings, media_refs


def _social_tables(md: MetaData, prefix: str) -> tuple[Table, ...]:
    """The tables of schema revision 0003 (social semantics).

    ``relations``: ``kind`` 1 is a block, 2 a mute, of ``target_id`` by ``user_id`` (the reverse
    index answers "who blocks me"). ``muted_words``: phrases (normalised by the caller, at most a
    few hundred characters: ``VARCHAR(400)``, 1,600 bytes in utf8mb4, fits InnoDB's 3,072-byte
    key limit, so the key holds the phrase itself), ``expires_at_ms`` in milliseconds since the
    epoch. ``erasures``: the users being erased, with their watermark (a tweet id).
    """
    relations = Table(
        f"{prefix}relations",
        md,
        Column("kind", SmallInteger, nullable=False),
        Column("user_id", BigInteger, nullable=False),
        Column("target_id", BigInteger, nullable=False),
        PrimaryKeyConstraint("kind", "user_id", "target_id"),
        **MYSQL_TABLE,
    )
    Index(
        f"{prefix}relations_reverse",
        relations.c.kind,
        relations.c.target_id,
        relations.c.user_id,
        unique=True,
    )
    words = Table(
        f"{prefix}muted_words",
        md,
        Column("user_id", BigInteger, nullable=False),
        Column("phrase", String(400), nullable=False),
        Column("whole_word", Boolean, nullable=False),
        Column("expires_at_ms", BigInteger, nullable=True),
        PrimaryKeyConstraint("user_id", "phrase"),
        **MYSQL_TABLE,
    )
    erasures = Table(
        f"{prefix}erasures",
        md,
        Column("user_id", BigInteger, primary_key=True, autoincrement=False),
        Column("watermark", BigInteger, nullable=False),
        **MYSQL_TABLE,
    )
    return relations, words, erasures


@attrs.frozen
class CacheTables:
    """The feed cache's tables: id lists with a floor, their entries, last-seen, hot tweets."""

    metadata: MetaData
    meta: Table
    lists: Table
    entries: Table
    seen: Table
    hot: Table


def cache_tables(prefix: str = DEFAULT_PREFIX) -> CacheTables:
    """The feed-cache tables under ``prefix``.

    A list's floor is ``NULL`` while it is being rebuilt (``BUILDING`` = 2**63 does not fit a
    BIGINT); ``size`` is its number of entries, kept exact so trimming needs no counting.
    """
    md = MetaData()
    lists = Table(
        f"{prefix}cache_lists",
        md,
        Column("kind", SmallInteger, nullable=False),
        Column("list_key", BigInteger, nullable=False),
        Column("floor", BigInteger, nullable=True),
        Column("size", Integer, nullable=False),
        PrimaryKeyConstraint("kind", "list_key"),
        **MYSQL_TABLE,
    )
    entries = Table(
        f"{prefix}cache_entries",
        md,
        Column("kind", SmallInteger, nullable=False),
        Column("list_key", BigInteger, nullable=False),
        Column("tweet_id", BigInteger, nullable=False),
        PrimaryKeyConstraint("kind", "list_key", "tweet_id"),
        **MYSQL_TABLE,
    )
    seen = Table(
        f"{prefix}cache_seen",
        md,
        Column("user_id", BigInteger, primary_key=True, autoincrement=False),
        Column("seen_at", UTCDateTime, nullable=False),
        **MYSQL_TABLE,
    )
    hot = Table(
        f"{prefix}cache_tweets",
        md,
        Column("tweet_id", BigInteger, primary_key=True, autoincrement=False),
        Column("tombstone", Boolean, nullable=False),
        Column("body", LONGTEXT, nullable=True),
        **MYSQL_TABLE,
    )
    return CacheTables(md, _meta_table(md, prefix), lists, entries, seen, hot)


def ensure_schema(
    conn: Connection, metadata: MetaData, meta: Table, component: str, version: int
) -> None:
    """Create ``metadata``'s tables if absent and record ``version`` for ``component``; refuse a
    database whose recorded version is newer (:class:`BackendError` naming both versions)."""
    meta.create(conn, checkfirst=True)
    found = conn.execute(
        select(meta.c.schema_version).where(meta.c.component == component)
    ).scalar()
    if found is not None and found > version:
        raise BackendError(
            f"the database holds socialfeed {component} schema version {found} "
            f"(table {meta.name}); this socialfeed supports version {version} at most: "
            "upgrade socialfeed (the schema is never altered automatically)"
        )
    metadata.create_all(conn, checkfirst=True)
    if found is None:
        conn.execute(insert(meta).values(component=component, schema_version=version))


def drop_component(conn: Connection, tables: Sequence[Table], meta: Table, component: str) -> None:
    """Drop a component's ``tables`` and its ``meta`` row; drop ``meta`` too once it is empty."""
    for table in tables:
        table.drop(conn, checkfirst=True)
    if meta.name in inspect(conn).get_table_names():
        conn.execute(delete(meta).where(meta.c.component == component))
        if not conn.execute(select(func.count()).select_from(meta)).scalar():
            meta.drop(conn)
