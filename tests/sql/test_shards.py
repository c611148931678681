"""Sharding by user id over 4 PostgreSQL databases (created on the main server, dropped after)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlhelpers import PG_URL, admin_engine, new_prefix, require_server, wipe

import socialfeed
from socialfeed.backends.memory import MemoryFeedCache
from socialfeed.backends.sql import ShardedSQLStore, jump_hash
from socialfeed.models import Tweet
from socialfeed.testing import FeedContract, StoreContract

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def test_jump_hash_is_balanced_and_moves_little() -> None:
    keys = range(1, 20_001)
    for n in (1, 2, 4, 7):
        counts = Counter(jump_hash(k, n) for k in keys)
        assert set(counts) == set(range(n))
        assert max(counts.values()) < 1.1 * len(keys) / n
    for n in (4, 10):
        moved = [k for k in keys if jump_hash(k, n) != jump_hash(k, n + 1)]
        assert all(jump_hash(k, n + 1) == n for k in moved)  # only onto the new shard
        assert abs(len(moved) / len(keys) - 1 / (n + 1)) < 0.02
    assert [jump_hash(k, 4) for k in (1, 2, 3, 2**63 - 1)] == [
        jump_hash(k, 4) for k in (1, 2, 3, 2**63 - 1)
    ]
    with pytest.raises(ValueError):
        jump_hash(1, 0)


@pytest.fixture(scope="module")
def shard_urls() -> Iterator[list[str]]:
    require_server("postgres")  # skips (or fails) when PostgreSQL is down
    admin = admin_engine()
    names = [f"sf_shard_{uuid.uuid4().hex[:8]}_{i}" for i in range(4)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield [PG_URL.rsplit("/", 1)[0] + f"/{name}" for name in names]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def sharded(shard_urls: list[str]) -> Iterator[ShardedSQLStore]:
    store = ShardedSQLStore(shard_urls, prefix=new_prefix())
    store.create_schema()
    yield store
    store.close()


def wipe_all(store: ShardedSQLStore) -> None:
    for engines in store.engines():
        wipe(engines[0], store.tables)


pytestmark = pytest.mark.postgres


class TestShardedStore(StoreContract):
    @pytest.fixture
    def store(self, sharded: ShardedSQLStore) -> ShardedSQLStore:
        wipe_all(sharded)
        return sharded


class TestShardedFeed(FeedContract):
    oracle_examples = 20

    @pytest.fixture
    def make_feed(self, sharded: ShardedSQLStore) -> Callable[[str, socialfeed.Settings], Any]:
        def make(strategy: str, settings: socialfeed.Settings) -> socialfeed.SocialFeed:
            wipe_all(sharded)
            return socialfeed.connect(
                store=sharded, cache=MemoryFeedCache(), strategy=strategy, settings=settings
            )

        return make


def _rows(engine: Engine, table: Any, *cols: Any) -> set[tuple[int, ...]]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(*cols))}


def test_rows_live_where_placement_says(sharded: ShardedSQLStore) -> None:
    wipe_all(sharded)
    users = range(1, 41)
    for u in users:
        sharded.put_tweet(Tweet(1000 + u, u, f"by {u}", NOW))
    edges = {(f, e) for f in users for e in users if f != e and (f * 7 + e) % 9 == 0}
    for f, e in edges:
        assert sharded.add_follow(f, e) is not None
    t = sharded.tables
    engines = [e[0] for e in sharded.engines()]
    for i, engine in enumerate(engines):
        authors = _rows(engine, t.tweets, t.tweets.c.author_id)
        assert authors == {(u,) for u in users if jump_hash(u, 4) == i}
        follows = _rows(engine, t.follows, t.follows.c.follower_id, t.follows.c.followee_id)
        assert follows == {(f, e) for f, e in edges if i in (jump_hash(f, 4), jump_hash(e, 4))}
        counted = _rows(engine, t.user_counts, t.user_counts.c.user_id)
        assert all(jump_hash(u, 4) == i for (u,) in counted)
    for u in users:
        assert sharded.follower_count(u) == sum(1 for _, e in edges if e == u)
        assert sharded.following_count(u) == sum(1 for f, _ in edges if f == u)
        expected = sorted((1000 + a for a in {u} | {e for f, e in edges if f == u}), reverse=True)
        assert sharded.home_tweet_ids(u, None, 100) == expected
    assert sum(len(_rows(e, t.tweets, t.tweets.c.id)) for e in engines) == 40
    assert sharded.mark_deleted(1005) is not None
    assert sharded.get_tweets([1005, 1006]).keys() == {1006}


def test_cross_shard_follows_are_exact_under_concurrency(sharded: ShardedSQLStore) -> None:
    wipe_all(sharded)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(30):
                f, e = (n + i) % 8 + 1, (n * 3 + i) % 8 + 1
                if f != e:
                    if i % 3 == 2:
                        sharded.remove_follow(f, e)
                    else:
                        sharded.add_follow(f, e)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    tables = sharded.tables
    for u in range(1, 9):
        followers = sharded.followers(u, None, 100)
        following = sharded.following(u, None, 100)
        assert sharded.follower_count(u) == len(followers)
        assert sharded.following_count(u) == len(following)
        for e in following:  # both copies of every edge agree
            assert u in sharded.followers(e, None, 100)
    with sharded.engines()[0][0].connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.follows)).scalar() is not None


def test_import_into_shards(sharded: ShardedSQLStore) -> None:
    wipe_all(sharded)
    pairs = [(f, e) for f in range(1, 25) for e in range(1, 25) if f != e and (f + e) % 4 == 0]
    assert sharded.import_follows(pairs, batch_size=17) == len(pairs)
    assert sharded.import_follows(pairs, batch_size=50) == 0
    for u in range(1, 25):
        assert sharded.follower_count(u) == sum(1 for _, e in pairs if e == u)
        assert sharded.following_count(u) == sum(1 for f, _ in pairs if f == u)
        assert sharded.following(u, None, 100) == sorted(e for f, e in pairs if f == u)
    rows = [(i, i % 24 + 1, f"t{i}", NOW) for i in range(1, 200)]
    assert sharded.import_tweets(rows, batch_size=33) == 199
    assert len(sharded.get_tweets(list(range(1, 200)))) == 199


def test_fanout_graph_reads_across_shards(sharded: ShardedSQLStore) -> None:
    wipe_all(sharded)
    pairs = [(f, e) for f in range(1, 41) for e in range(1, 41) if f != e and (f + 2 * e) % 5 == 0]
    sharded.import_follows(pairs)
    pages = [(u, a) for u in range(1, 43) for a in (None, 3, 20)]
    assert sharded.followers_many(pages, 4) == [sharded.followers(u, a, 4) for u, a in pages]
    asked = [(f, e) for f in range(1, 42) for e in range(1, 42) if f != e]
    assert sharded.edges_among(asked) == set(pairs)
    f, e = next(p for p in pairs if jump_hash(p[0], 4) != jump_hash(p[1], 4))
    sharded.remove_follow(f, e)
    assert sharded.edges_among([(f, e)]) == set()
