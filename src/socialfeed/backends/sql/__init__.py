"""SQL backends on SQLAlchemy Core: :class:`SQLStore` (tweets, follows, home timelines on one
database, with read replicas), :class:`ShardedSQLStore` (the same over several databases, users
placed by :func:`jump_hash`) and :class:`SQLFeedCache` (the feed cache in SQL tables).

Works with SQLite, PostgreSQL (``postgresql+psycopg://``) and MySQL/MariaDB
(``mysql+pymysql://``). See ``docs/backends/sql.md``.
"""

from socialfeed.backends.sql.cache import SQLFeedCache
from socialfeed.backends.sql.routing import ReplicaRouter
from socialfeed.backends.sql.schema import CACHE_SCHEMA_VERSION, STORE_SCHEMA_VERSION
from socialfeed.backends.sql.sharded import ShardedSQLStore, jump_hash
from socialfeed.backends.sql.store import SQLStore

__all__ = [
    "CACHE_SCHEMA_VERSION",
    "STORE_SCHEMA_VERSION",
    "ReplicaRouter",
    "SQLFeedCache",
    "SQLStore",
    "ShardedSQLStore",
    "jump_hash",
]
