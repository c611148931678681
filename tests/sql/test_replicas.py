"""Read replicas against a real PostgreSQL streaming replica started for this module: routing,
read-your-writes, a stopped replica, and (0.2-R) jobs and hydration that never trust a replica
that lags."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pg_rig
import pytest
from sqlalchemy import create_engine, insert, text
from sqlhelpers import new_prefix

import socialfeed
from services import require
from socialfeed.backends.sql import SQLStore
from socialfeed.errors import NotFound
from socialfeed.models import Tweet
from socialfeed.testing.servers import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def rig() -> Iterator[pg_rig.ReplicaRig]:
    why = pg_rig.available()
    require("postgres", why is None, f"PostgreSQL replica rig: {why}")
    r = pg_rig.start_replica_rig()
    yield r
    r.stop()


@pytest.fixture
def store(rig: pg_rig.ReplicaRig) -> Iterator[SQLStore]:
    s = SQLStore(
        rig.primary.url, replicas=[rig.replica.url], prefix=new_prefix(),
        read_your_writes=timedelta(seconds=1),
    )  # fmt: skip
    s.create_schema()
    rig.wait_caught_up()
    yield s
    if rig.replica.proc.poll() is None:
        rig.resume()
    s.drop_schema()
    s.close()


def read_on(store: SQLStore, users: list[int]) -> bool:
    """pg_is_in_recovery() on the connection a read for ``users`` gets."""
    db = store.db
    return bool(
        db.read(lambda tx: tx.execute(text("SELECT pg_is_in_recovery()")).scalar(), users=users)
    )


def test_reads_are_served_by_the_replica(rig: pg_rig.ReplicaRig, store: SQLStore) -> None:
    assert read_on(store, [42]) is True
    store.put_tweet(Tweet(1, 7, "old", NOW))
    rig.wait_caught_up()
    rig.pause()
    # a write that does not go through this store's router: the replica does not see it
    primary = create_engine(rig.primary.url)
    with primary.begin() as conn:
        conn.execute(
            insert(store.tables.tweets).values(id=2, author_id=8, text="fresh", created_at=NOW)
        )
    primary.dispose()
    assert store.get_tweets([2]) == {}  # served by the paused replica
    assert store.author_tweet_ids(8, None, 5) == []
    # the writer's own reads go to the primary inside the window
    store.put_tweet(Tweet(3, 9, "mine", NOW))
    assert read_on(store, [9]) is False
    assert store.get_tweets([3])[3].text == "mine"
    assert store.author_tweet_ids(9, None, 5) == [3]
    assert store.add_follow(10, 8) == 1
    assert store.following(10, None, 5) == [8]  # follower's own read: primary
    assert store.home_tweet_ids(10, None, 5) == [2]
    rig.resume()
    rig.wait_caught_up()
    assert store.get_tweets([2])[2].text == "fresh"


def test_read_your_writes_window_expires(rig: pg_rig.ReplicaRig, store: SQLStore) -> None:
    rig.pause()
    store.put_tweet(Tweet(5, 11, "x", NOW))
    assert store.author_tweet_ids(11, None, 5) == [5]  # primary, inside the window
    time.sleep(1.1)
    assert read_on(store, [11]) is True
    assert store.author_tweet_ids(11, None, 5) == []  # replica again: it is paused
    rig.resume()


def test_fanout_reads_replica_but_rechecks_edges_on_primary(
    rig: pg_rig.ReplicaRig, store: SQLStore
) -> None:
    for f in (21, 22, 23):
        store.add_follow(f, 20)
    rig.wait_caught_up()
    time.sleep(1.1)  # past the read-your-writes window
    rig.pause()
    other = SQLStore(rig.primary.url, prefix=store.prefix)  # another process's unfollow
    other.remove_follow(22, 20)
    other.close()
    assert store.followers_many([(20, None), (21, None)], 10) == [[21, 22, 23], []]  # replica
    assert store.edges_among([(21, 20), (22, 20), (23, 20)]) == {(21, 20), (23, 20)}  # primary
    rig.resume()


def _process(rig: pg_rig.ReplicaRig, prefix: str, redis_url: str, workers: int) -> Any:
    """A facade as one process of a deployment opens it: its own store object (so its
    read-your-writes knows nothing of another process's writes), sharing Redis."""
    store = SQLStore(rig.primary.url, replicas=[rig.replica.url], prefix=prefix)
    ns = f"{prefix}r"
    return socialfeed.connect(
        store=store,
        cache=f"{redis_url}?prefix={ns}:",
        queue=f"{redis_url}?stream={ns}:fanout&claim_idle=0.5",
        workers=workers,
        strategy="push",
    )


def test_jobs_decide_on_the_primary_while_the_replica_lags(
    rig: pg_rig.ReplicaRig, store: SQLStore, redis_server: RedisServer
) -> None:
    app = _process(rig, store.prefix, redis_server.url, workers=0)
    worker = _process(rig, store.prefix, redis_server.url, workers=1)
    try:
        old = [app.create_tweet(31, f"before the follow {n}").id for n in range(3)]
        app.drain()
        rig.wait_caught_up()
        rig.pause()  # from here the replica sees neither the follow nor the unfollow
        app.follow(30, 31)
        app.drain()  # the worker's SyncFollow backfills what the primary says
        assert [t.id for t in page_items(worker, 30)] == old[::-1]
        app.unfollow(30, 31)
        app.drain()
        assert page_items(worker, 30) == []
    finally:
        rig.resume()
        app.close()
        worker.close()


def test_a_deleted_tweet_stays_hidden_while_the_replica_lags(
    rig: pg_rig.ReplicaRig, store: SQLStore, redis_server: RedisServer
) -> None:
    a = _process(rig, store.prefix, redis_server.url, workers=1)
    b = _process(rig, store.prefix, redis_server.url, workers=0)
    try:
        a.follow(40, 41)
        tweet = a.create_tweet(41, "soon gone")
        a.drain()
        rig.wait_caught_up()
        rig.pause()
        a.delete_tweet(tweet.id, user_id=41)
        assert b.store.get_tweets([tweet.id])  # b's replica still has it...
        with pytest.raises(NotFound):
            b.get_tweet(tweet.id)  # ...but the tombstone in the cache is honoured
        assert page_items(b, 40) == []
        assert b.user_timeline(41).items == ()
    finally:
        rig.resume()
        a.close()
        b.close()


def page_items(sf: Any, user_id: int) -> list[Tweet]:
    return list(sf.get_feed(user_id, limit=50).items)


# last in the module: it stops the replica
def test_stopped_replica_is_skipped(rig: pg_rig.ReplicaRig, store: SQLStore) -> None:
    store.put_tweet(Tweet(6, 12, "y", NOW))
    rig.wait_caught_up()
    rig.replica.stop()
    started = time.monotonic()
    for _ in range(20):
        assert store.get_tweets([6])[6].text == "y"  # primary answers
    assert time.monotonic() - started < 5
    assert read_on(store, [99]) is False
    router = store.db.router
    assert router.read_candidates([99]) == [router.primary_reads or router.primary]  # marked down
