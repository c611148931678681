"""Engines, transactions, retries, error translation and the table prefix and URL rules shared by
the SQL store and cache."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.base import Executable

from socialfeed.backends.sql.routing import ReplicaRouter
from socialfeed.backends.sql.schema import DEFAULT_PREFIX
from socialfeed.errors import BackendError, ValidationError, missing_driver, show

__all__ = [
    "Database",
    "EngineLike",
    "Tx",
    "check_prefix",
    "chunks",
    "engine_of",
    "make_engine",
    "open_database",
    "parse_url",
]

T = TypeVar("T")
EngineLike = str | URL | Engine
"""A database: a SQLAlchemy URL (string or :class:`~sqlalchemy.engine.URL`) or a ready Engine."""

_SQLITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_SQLITE_LOCKS_GUARD = threading.Lock()
_TRANSIENT_PG = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
_TRANSIENT_MYSQL = {1205, 1213}  # lock wait timeout, deadlock


def _is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL, **options: Any) -> Engine:
    """An engine configured for socialfeed: SQLite with real transactions (in-memory databases
    shared by every thread), MySQL/MariaDB in utf8mb4."""
    u = make_url(url)
    backend = u.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if _is_memory_sqlite(u):
            kwargs["poolclass"] = StaticPool
    elif backend in ("mysql", "mariadb"):
        if "charset" not in u.query:
            u = u.update_query_dict({"charset": "utf8mb4"})
        kwargs["pool_recycle"] = 3600
    kwargs.update(options)
    try:
        engine = create_engine(u, **kwargs)
    except ImportError as exc:
        raise missing_driver("url", show(u.render_as_string()), exc) from exc
    if backend == "sqlite":
        configure_sqlite(engine, wal=not _is_memory_sqlite(u))
    return engine


def engine_of(value: EngineLike, owned: list[Engine], options: Mapping[str, Any]) -> Engine:
    """``value`` if it is an Engine; otherwise a new engine (:func:`make_engine` with
    ``options``), appended to ``owned`` so that its owner disposes of it."""
    if isinstance(value, Engine):
        return value
    engine = make_engine(value, **options)
    owned.append(engine)
    return engine


def _is_postgres(value: EngineLike) -> bool:
    return not isinstance(value, Engine) and make_url(value).get_backend_name() == "postgresql"


def _reads(value: EngineLike, options: Mapping[str, Any]) -> Mapping[str, Any]:
    """Reads are single statements: on PostgreSQL an autocommit pool saves BEGIN and ROLLBACK
    round trips (a pool of its own, so connections never switch modes)."""
    if _is_postgres(value) and "isolation_level" not in options:
        return {**options, "isolation_level": "AUTOCOMMIT"}
    return options


def _read_engine(
    value: EngineLike, owned: list[Engine], options: Mapping[str, Any]
) -> Engine | None:
    if not _is_postgres(value) or "isolation_level" in options:
        return None  # a ready Engine (or SQLite/MySQL): reads share the primary's pool
    return engine_of(value, owned, _reads(value, options))


def open_database(
    primary: EngineLike,
    replicas: Sequence[EngineLike],
    *,
    read_your_writes: timedelta,
    replica_down_for: float,
    engine_options: Mapping[str, Any] | None,
    schema: Callable[[Tx], None],
) -> Database:
    """A :class:`Database` on ``primary`` with read ``replicas``; the engines it creates from
    URLs are disposed by :meth:`Database.dispose`. On PostgreSQL, reads (on a replica or the
    primary) and one-statement writes use autocommit pools of their own."""
    options = dict(engine_options or {})
    owned: list[Engine] = []
    router = ReplicaRouter(
        engine_of(primary, owned, options),
        [engine_of(r, owned, _reads(r, options)) for r in replicas],
        read_your_writes,
        replica_down_for,
        primary_reads=_read_engine(primary, owned, options),
    )
    return Database(router, owned, schema)


def check_prefix(prefix: Any) -> str:
    """A table prefix: letters, digits and ``_``."""
    if not isinstance(prefix, str) or not prefix.replace("_", "").isalnum():
        raise ValidationError("prefix", f"must be letters, digits and '_', got {prefix!r}")
    return prefix


def parse_url(url: str) -> tuple[URL, str, list[str]]:
    """Take socialfeed's query parameters out of a SQLAlchemy URL: the URL for the driver, the
    table prefix (``socialfeed_prefix``, default ``socialfeed_``) and the read replicas'
    URLs (``socialfeed_replica``, repeatable)."""
    u = make_url(url)
    query = dict(u.query)
    prefix = query.pop("socialfeed_prefix", DEFAULT_PREFIX)
    replicas = query.pop("socialfeed_replica", ())
    if isinstance(prefix, tuple):
        prefix = prefix[-1]
    if isinstance(replicas, str):
        replicas = (replicas,)
    return u.set(query=query), prefix, list(replicas)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size`` (one statement each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def configure_sqlite(engine: Engine, *, wal: bool) -> None:
    """Let SQLAlchemy (not pysqlite) issue BEGIN, so reads and writes share one transaction."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None
        if wal:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("socialfeed_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_lock(engine: Engine) -> threading.RLock:
    with _SQLITE_LOCKS_GUARD:
        lock = _SQLITE_LOCKS.get(engine)
        if lock is None:
            lock = _SQLITE_LOCKS[engine] = threading.RLock()
        return lock


class Tx:
    """One transaction on one connection; counts the statements that succeeded (a statement
    that never ran cannot have changed anything, so such a failure is safe to retry)."""

    __slots__ = ("conn", "dialect", "executed")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.executed = 0

    def execute(
        self, stmt: Executable, params: Mapping[str, Any] | list[dict[str, Any]] | None = None
    ) -> Any:
        """Execute ``stmt`` (a list of ``params`` runs it as executemany); the CursorResult."""
        result = self.conn.execute(stmt, params)
        self.executed += 1
        return result


def _transient(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None)
    if code in _TRANSIENT_PG:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _TRANSIENT_MYSQL:
        return True
    return "database is locked" in str(orig)


class Database:
    """One logical database: a primary (for writes), optional replicas (for reads), a router.

    :meth:`read` and :meth:`write` run a function in a transaction, retrying deadlocks and
    serialization failures, and a lost connection once when that is safe; every other driver
    error becomes a :class:`BackendError` with the original as ``__cause__``. With ``schema``
    (a function creating or checking a component's tables), the first transaction runs it first
    (see :meth:`ensure_schema`).
    """

    def __init__(
        self,
        router: ReplicaRouter,
        owned: Iterable[Engine] = (),
        schema: Callable[[Tx], None] | None = None,
    ) -> None:
        self.router = router
        self.primary = router.primary
        self.dialect = self.primary.dialect.name
        self._owned = list(owned)
        self._sqlite = self.dialect == "sqlite"
        self._schema = schema
        self._ready = schema is None
        self._schema_lock = threading.Lock()

    def ensure_schema(self) -> None:
        """Create (or check) the tables unless that already happened: once, even with several
        threads racing."""
        if self._ready:
            return
        with self._schema_lock:
            if self._ready or self._schema is None:
                return
            try:
                self._run(self.primary, self._schema, idempotent=True, write=True)
            except BackendError as exc:
                if "schema version" in str(exc):
                    raise
                # a concurrent creator won the race: check again
                self._run(self.primary, self._schema, idempotent=True, write=True)
            self._ready = True

    def drop_schema(self, drop: Callable[[Tx], None]) -> None:
        """Run ``drop`` on the primary (without creating the tables first); the next
        transaction creates them again."""
        self._run(self.primary, drop, idempotent=True, write=True)
        self._ready = self._schema is None

    def write(
        self,
        fn: Callable[[Tx], T],
        *,
        idempotent: bool = True,
        users: Iterable[int] = (),
        tweets: Iterable[int] = (),
    ) -> T:
        """Run ``fn`` in a transaction on the primary; note the write for read-your-writes."""
        self.ensure_schema()
        result = self._run(self.primary, fn, idempotent=idempotent, write=True)
        if users or tweets:
            self.router.wrote(users, tweets)
        return result

    def write_one(
        self,
        stmt: Executable,
        params: Mapping[str, Any],
        *,
        users: Iterable[int] = (),
        tweets: Iterable[int] = (),
    ) -> Any:
        """Run one idempotent statement as its own transaction on the primary; the CursorResult.

        Where the primary has an autocommit pool (PostgreSQL), that is one round trip: the
        statement commits when it ends (as durably as ``COMMIT``: ``synchronous_commit`` applies
        the same), with no ``BEGIN`` and ``COMMIT`` round trips around it."""
        self.ensure_schema()
        engine = self.router.primary_reads or self.primary
        result = self._run(engine, lambda tx: tx.execute(stmt, params), idempotent=True, write=True)
        if users or tweets:
            self.router.wrote(users, tweets)
        return result

    def read(
        self,
        fn: Callable[[Tx], T],
        *,
        users: Iterable[int] = (),
        tweets: Iterable[int] = (),
        primary: bool = False,
    ) -> T:
        """Run ``fn`` on a replica (skipping ones that are down) or on the primary; only on the
        primary with ``primary=True`` (a read that must see the latest writes)."""
        self.ensure_schema()
        if primary:
            engine = self.router.primary_reads or self.primary
            return self._run(engine, fn, idempotent=True, write=False)
        candidates = self.router.read_candidates(users, tweets)
        for engine in candidates[:-1]:
            try:
                return self._run(engine, fn, idempotent=True, write=False, raw=True)
            except DBAPIError:
                self.router.mark_down(engine)  # down, lagging badly or broken: skip it a while
            except SQLAlchemyError:
                self.router.mark_down(engine)
        return self._run(candidates[-1], fn, idempotent=True, write=False)

    def _run(
        self,
        engine: Engine,
        fn: Callable[[Tx], T],
        *,
        idempotent: bool,
        write: bool,
        raw: bool = False,
    ) -> T:
        reconnected = False
        attempt = 0
        while True:
            attempt += 1
            holder: list[Tx] = []
            try:
                if self._sqlite:
                    with _sqlite_lock(engine):
                        return self._once(engine, fn, write, holder.append)
                return self._once(engine, fn, write, holder.append)
            except DBAPIError as exc:
                if _transient(exc) and attempt < 6:
                    time.sleep(0.005 * attempt)
                    continue
                tx = holder[0] if holder else None
                safe = idempotent or tx is None or tx.executed == 0
                if exc.connection_invalidated and safe and not reconnected:
                    reconnected = True
                    continue
                if raw:
                    raise
                raise BackendError(f"{self.dialect} error: {exc.orig!r}") from exc
            except SQLAlchemyError as exc:
                if raw:
                    raise
                raise BackendError(f"{self.dialect} error: {exc!r}") from exc
            except OverflowError as exc:  # a driver refusing a value (e.g. SQLite, > 64 bits)
                raise BackendError(f"{self.dialect} refused a value: {exc}") from exc

    @staticmethod
    def _once(engine: Engine, fn: Callable[[Tx], T], write: bool, keep: Callable[[Tx], None]) -> T:
        conn = engine.connect()
        try:
            if write:
                conn = conn.execution_options(socialfeed_write=True)
            with conn.begin():
                tx = Tx(conn)
                keep(tx)
                return fn(tx)
        finally:
            conn.close()

    def dispose(self) -> None:
        """Release the connections of the engines this database created."""
        for engine in self._owned:
            engine.dispose()
