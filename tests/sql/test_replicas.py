"""Read replicas against a real PostgreSQL streaming replica started for this module."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pg_rig
import pytest
from sqlalchemy import create_engine, insert, text
from sqlhelpers import new_prefix

from services import require
from socialfeed.backends.sql import SQLStore
from socialfeed.models import Tweet

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
