"""Fixtures for the SQL backend tests: one database per backend; tables created once per session
under a prefix of their own and emptied before each test (or a fresh prefix, via make_store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlhelpers import BACKENDS, new_prefix, require_server, wipe

from socialfeed.backends.sql import SQLFeedCache, SQLStore
from socialfeed.backends.sql._db import make_engine
from socialfeed.testing.servers import temp_database


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of the session's own, dropped at the end."""
    with temp_database(require_server("postgres")) as url:
        yield url


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A MariaDB database of the session's own, dropped at the end."""
    with temp_database(require_server("mariadb")) as url:
        yield url


@pytest.fixture(scope="session")
def url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sql-sqlite')}/sf.db"
    return str(request.getfixturevalue("pg_url" if backend == "postgres" else "mariadb_url"))


@pytest.fixture(scope="session")
def prepared(url: str) -> Iterator[tuple[Engine, str]]:
    """An engine and a prefix whose store and cache tables exist."""
    engine = make_engine(url)
    prefix = new_prefix()
    store, cache = SQLStore(engine, prefix=prefix), SQLFeedCache(engine, prefix=prefix)
    store.create_schema()
    cache.create_schema()
    yield engine, prefix
    cache.drop_schema()
    store.drop_schema()
    engine.dispose()


@pytest.fixture
def sql_store(prepared: tuple[Engine, str]) -> SQLStore:
    engine, prefix = prepared
    store = SQLStore(engine, prefix=prefix)
    wipe(engine, store.tables)
    return store


@pytest.fixture
def sql_cache(prepared: tuple[Engine, str]) -> SQLFeedCache:
    engine, prefix = prepared
    cache = SQLFeedCache(engine, prefix=prefix)
    wipe(engine, cache.tables)
    return cache


@pytest.fixture
def make_store(url: str) -> Iterator[Callable[..., SQLStore]]:
    """SQLStores under fresh prefixes, dropped afterwards."""
    made: list[SQLStore] = []

    def make(**kwargs: Any) -> SQLStore:
        kwargs.setdefault("prefix", new_prefix())
        store = SQLStore(url, **kwargs)
        made.append(store)
        return store

    yield make
    for store in made:
        try:
            store.drop_schema()
        finally:
            store.close()
