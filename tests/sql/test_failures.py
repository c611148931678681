"""Lost connections: pg_terminate_backend on the store's own connections between and during
calls; the next call succeeds through the retry or raises BackendError, and never corrupts."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlhelpers import admin_engine, new_prefix

from socialfeed.backends.sql import SQLFeedCache, SQLStore
from socialfeed.errors import BackendError
from socialfeed.models import Tweet

pytestmark = pytest.mark.postgres
NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def app() -> str:
    return f"sf-kill-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(app: str, pg_url: str) -> Iterator[SQLStore]:
    s = SQLStore(
        pg_url, prefix=new_prefix(),
        engine_options={"connect_args": {"application_name": app}, "pool_size": 3},
    )  # fmt: skip
    s.create_schema()
    yield s
    s.drop_schema()
    s.close()


def kill(app: str) -> int:
    admin = admin_engine()
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :a"
                    ),
                    {"a": app},
                ).all()
            )
    finally:
        admin.dispose()


def test_calls_after_terminate_succeed_via_retry(store: SQLStore, app: str) -> None:
    store.put_tweet(Tweet(1, 1, "before", NOW))
    assert store.add_follow(2, 1) == 1
    assert kill(app) >= 1
    assert store.get_tweets([1])[1].text == "before"  # idempotent read: retried once
    assert kill(app) >= 1
    assert store.add_follow(3, 1) == 2  # the failed statement never ran: safe to retry
    assert kill(app) >= 1
    store.put_tweet(Tweet(2, 1, "after", NOW))
    assert store.home_tweet_ids(2, None, 10) == [2, 1]
    assert store.follower_count(1) == 2


def test_cache_survives_terminate(app: str, pg_url: str) -> None:
    cache = SQLFeedCache(
        pg_url, prefix=new_prefix(), engine_options={"connect_args": {"application_name": app}}
    )
    try:
        cache.merge("feed", 1, [3, 2, 1], 0, 10)
        assert kill(app) >= 1
        cache.insert("feed", [1], [4], 10)
        assert kill(app) >= 1
        assert cache.read("feed", 1, None, 10) is not None
        assert cache.read("feed", 1, None, 10).ids == (4, 3, 2, 1)  # type: ignore[union-attr]
    finally:
        cache.drop_schema()
        cache.close()


def test_terminate_during_a_storm_never_corrupts(store: SQLStore, app: str) -> None:
    stop = threading.Event()
    outcomes: list[str] = []

    def writer(n: int) -> None:
        i = 0
        while not stop.is_set() and i < 200:
            i += 1
            f, e = 10 + (n * 7 + i) % 12, 30 + i % 5
            try:
                if i % 4 == 3:
                    store.remove_follow(f, e)
                else:
                    store.add_follow(f, e)
                store.put_tweet(Tweet(n * 10_000 + i, e, "x", NOW))
                outcomes.append("ok")
            except BackendError as exc:
                assert exc.__cause__ is not None
                outcomes.append("error")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for _ in range(5):
        kill(app)
        stop.wait(0.05)
    stop.set()
    for t in threads:
        t.join(60)
    assert "ok" in outcomes
    for e in range(30, 35):  # counts still equal the edges, on both sides
        followers = store.followers(e, None, 1000)
        assert store.follower_count(e) == len(followers)
    for f in range(10, 22):
        assert store.following_count(f) == len(store.following(f, None, 1000))
