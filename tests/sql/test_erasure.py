"""Erasure of a big account through the facade: ``delete_user`` is bounded work (the rest goes
through the queue), and after ``drain()`` the store's tables hold no row of the user's.

The account (100,000 followers, 10,000 tweets, blocks and mutes both ways, muted words, an
idempotency key, a tombstone, media) is bulk-loaded with the store's import helpers; the end
state is checked with plain SQL on the tables themselves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, or_, select
from sqlhelpers import require_server

import socialfeed
from socialfeed.backends.sql import SQLStore
from socialfeed.ids import id_floor_for, id_time
from socialfeed.models import Media, Tweet
from socialfeed.testing.servers import temp_database

U = 7  # the user being erased
FOLLOWERS = 100_000
TWEETS = 10_000
FOLLOWEES = list(range(100, 150))  # users U follows: their follower counts go down
FAN_BASE = 10_000_000  # followers of U are FAN_BASE + 1 .. FAN_BASE + FOLLOWERS
ONLY_MINE = Media("e" * 64, "image/png", 10)
SHARED = Media("f" * 64, "image/png", 11)
OTHER = 8  # another user, whose rows stay


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'erase.db'}"
        return
    with temp_database(require_server(request.param)) as url:
        yield url


def _load(url: str) -> list[int]:
    """The account and its neighbourhood; the ids of U's tweets."""
    store = SQLStore(url)
    try:
        start = id_floor_for(datetime.now(UTC) - timedelta(days=1))
        ids = [start + 4096 * i for i in range(TWEETS)]  # one per millisecond
        store.import_tweets(Tweet(i, U, f"tweet {n}", id_time(i)) for n, i in enumerate(ids))
        fans = ((FAN_BASE + n, U) for n in range(1, FOLLOWERS + 1))
        store.import_follows(fans, batch_size=20_000)
        store.import_follows([(U, e) for e in FOLLOWEES] + [(OTHER, e) for e in FOLLOWEES])
        store.import_follows([(OTHER, 200), (201, OTHER)])
        base = ids[-1] + 4096
        with_media = Tweet(base, U, "pictures", id_time(base), (ONLY_MINE, SHARED))
        store.write_tweet(with_media, 0, None)
        store.write_tweet(Tweet(base + 1, U, "keyed", id_time(base + 1)), 0, "retry-key")
        store.write_tweet(Tweet(base + 2, U, "gone", id_time(base + 2)), 0, None)
        store.write_delete(base + 2, 0)  # a tombstone of U's
        store.write_tweet(Tweet(base + 3, OTHER, "kept", id_time(base + 3), (SHARED,)), 0, None)
        for kind, a, b in [("block", U, 300), ("mute", U, 301), ("block", 302, U)]:
            store.set_relation(kind, a, b, True)  # type: ignore[arg-type]
        store.set_relation("mute", 303, U, True)
        store.set_relation("block", OTHER, 300, True)
        store.put_muted_word(U, "spoilers", True, None)
        store.put_muted_word(U, "politics", False, 1)
        return [*ids, base, base + 1]
    finally:
        store.close()


def test_erasing_a_big_account_is_bounded_then_complete(store_url: str) -> None:
    mine = _load(store_url)
    sf = socialfeed.connect(store=store_url, queue="thread")
    try:
        started = time.perf_counter()
        sf.delete_user(U)
        took = time.perf_counter() - started
        print(f"delete_user of {FOLLOWERS} followers, {TWEETS} tweets: {took * 1000:.1f} ms")
        assert took < 0.5
        sf.drain(timeout=600)
    finally:
        sf.close()
    assert_erased(store_url, mine)


def assert_erased(url: str, mine: list[int]) -> None:
    """No row of U's is left (plain SQL on the tables); the others' rows and counts are right."""
    store = SQLStore(url)
    t = store.tables
    try:
        with store.db.primary.connect() as conn:

            def count(table: object, *where: object) -> int:
                stmt = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
                return int(conn.execute(stmt).scalar_one())

            assert count(t.tweets, t.tweets.c.author_id == U) == 0
            assert count(t.tweet_media, t.tweet_media.c.tweet_id.in_(mine[-2:])) == 0
            assert (
                count(t.follows, or_(t.follows.c.follower_id == U, t.follows.c.followee_id == U))
                == 0
            )
            rel = t.relations.c
            assert count(t.relations, or_(rel.user_id == U, rel.target_id == U)) == 0
            assert count(t.muted_words, t.muted_words.c.user_id == U) == 0
            assert count(t.erasures) == 0
            assert count(t.deleted, t.deleted.c.author_id == U) == 0
            assert count(t.keys, t.keys.c.author_id == U) == 0
            refs = dict(conn.execute(select(t.media_refs.c.media_id, t.media_refs.c.refs)).all())
            assert refs.get(ONLY_MINE.id, 0) == 0 and refs[SHARED.id] == 1
            counts = t.user_counts.c
            mine_counts = conn.execute(
                select(counts.followers, counts.following).where(counts.user_id == U)
            ).all()
            assert mine_counts in ([], [(0, 0)])
            fans_following = select(func.coalesce(func.sum(counts.following), 0)).where(
                counts.user_id > FAN_BASE
            )
            assert conn.execute(fans_following).scalar_one() == 0
            # the others' rows stay
            assert count(t.tweets, t.tweets.c.author_id == OTHER) == 1
            assert count(t.follows, t.follows.c.follower_id == OTHER) == len(FOLLOWEES) + 1
            assert count(t.relations, rel.user_id == OTHER) == 1
        assert [store.follower_count(e) for e in FOLLOWEES] == [1] * len(FOLLOWEES)  # was 2
        assert store.following_count(OTHER) == len(FOLLOWEES) + 1
        assert store.follower_count(OTHER) == 1
    finally:
        store.close()
