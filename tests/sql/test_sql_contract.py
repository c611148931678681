"""The shared contract suites on SQL: SQLite, PostgreSQL and MariaDB; the feed suite (with the
oracle) for every strategy, with the SQL feed cache and with the memory one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlhelpers import new_prefix, wipe

import socialfeed
from socialfeed.backends.memory import MemoryFeedCache
from socialfeed.backends.sql import SQLFeedCache, SQLStore
from socialfeed.testing import FeedCacheContract, FeedContract, StoreContract


class TestSQLStore(StoreContract):
    @pytest.fixture
    def store(self, sql_store: SQLStore) -> SQLStore:
        return sql_store

    @pytest.fixture
    def broken_store(self, prepared: tuple[Engine, str]) -> Iterator[SQLStore]:
        """A store whose tables were dropped behind its back: every statement fails."""
        engine, _ = prepared
        store = SQLStore(engine, prefix=new_prefix())
        store.follower_count(1)  # creates the tables
        store.tables.metadata.drop_all(engine)
        yield store
        store.drop_schema()


class TestSQLFeedCache(FeedCacheContract):
    @pytest.fixture
    def cache(self, sql_cache: SQLFeedCache) -> SQLFeedCache:
        return sql_cache


class TestSQLFeed(FeedContract):
    oracle_examples = 25

    @pytest.fixture(params=["sql-cache", "memory-cache"])
    def make_feed(
        self, request: pytest.FixtureRequest, prepared: tuple[Engine, str]
    ) -> Callable[[str, socialfeed.Settings], socialfeed.SocialFeed]:
        engine, prefix = prepared
        store = SQLStore(engine, prefix=prefix)
        sql_cache = SQLFeedCache(engine, prefix=prefix) if request.param == "sql-cache" else None

        def make(strategy: str, settings: socialfeed.Settings) -> socialfeed.SocialFeed:
            wipe(engine, store.tables)
            cache: Any = MemoryFeedCache()
            if sql_cache is not None:
                wipe(engine, sql_cache.tables)
                cache = sql_cache
            return socialfeed.connect(
                store=store, cache=cache, strategy=strategy, settings=settings
            )

        return make
