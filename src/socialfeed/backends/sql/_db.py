"""Engines, transactions, retries and error translation shared by the SQL store and cache."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.base import Executable

from socialfeed.backends.sql.routing import ReplicaRouter
from socialfeed.errors import BackendError

__all__ = ["Database", "Tx", "make_engine"]

T = TypeVar("T")

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
    engine = create_engine(u, **kwargs)
    if backend == "sqlite":
        configure_sqlite(engine, wal=not _is_memory_sqlite(u))
    return engine


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

    :meth:`run` runs a function in a transaction, retrying deadlocks and serialization failures,
    and a lost connection once when that is safe; every other driver error becomes a
    :class:`BackendError` with the original as ``__cause__``.
    """

    def __init__(self, router: ReplicaRouter, owned: Iterable[Engine] = ()) -> None:
        self.router = router
        self.primary = router.primary
        self.dialect = self.primary.dialect.name
        self._owned = list(owned)
        self._sqlite = self.dialect == "sqlite"

    def write(
        self,
        fn: Callable[[Tx], T],
        *,
        idempotent: bool = True,
        users: Iterable[int] = (),
        tweets: Iterable[int] = (),
    ) -> T:
        """Run ``fn`` in a transaction on the primary; note the write for read-your-writes."""
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


class SchemaOnce:
    """Creates (or checks) a component's tables the first time they are needed, once, even with
    several threads racing; :meth:`forget` after dropping them."""

    def __init__(self, db: Database, create: Callable[[Tx], None]) -> None:
        self._db = db
        self._create = create
        self._ready = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        """Run the creation unless it already ran."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            try:
                self._db.write(self._create)
            except BackendError as exc:
                if "schema version" in str(exc):
                    raise
                self._db.write(self._create)  # a concurrent creator won the race: check again
            self._ready = True

    def forget(self) -> None:
        """The tables were dropped: create them again on next use."""
        self._ready = False
