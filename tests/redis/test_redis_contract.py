"""The shared contract suites on Redis: the cache on a standalone server and on a 3-master
cluster, the Streams queue, and the whole API (with the hypothesis oracle) on both."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis_rig import flush_cluster

import socialfeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.backends.redis import RedisFeedCache, RedisStreamsQueue
from socialfeed.testing import FeedCacheContract, FeedContract, QueueContract

pytestmark = pytest.mark.redis

MakeFeed = Callable[[str, socialfeed.Settings], socialfeed.SocialFeed]


class TestRedisFeedCache(FeedCacheContract):
    @pytest.fixture
    def cache(self, cache_url: str) -> Iterator[RedisFeedCache]:
        c = RedisFeedCache.from_url(cache_url, socialfeed.Settings())
        yield c
        c.close()


@pytest.mark.cluster
class TestRedisClusterFeedCache(FeedCacheContract):
    @pytest.fixture
    def cache(self, cluster_url: str) -> Iterator[RedisFeedCache]:
        flush_cluster(cluster_url)
        c = RedisFeedCache.from_url(cluster_url, socialfeed.Settings())
        yield c
        c.close()


class TestRedisStreamsQueue(QueueContract):
    @pytest.fixture
    def queue(self, queue_url: str) -> RedisStreamsQueue:
        return RedisStreamsQueue.from_url(queue_url + "?claim_idle=2", socialfeed.Settings())


def _feed_factory(cache_url: str, queue_url: str) -> Iterator[MakeFeed]:
    opened: list[socialfeed.SocialFeed] = []

    def make(strategy: str, settings: socialfeed.Settings) -> socialfeed.SocialFeed:
        # every feed gets its own key prefix and stream: a fresh, empty deployment
        tag = uuid.uuid4().hex[:10]
        sep = "&" if "?" in cache_url else "?"
        sf = socialfeed.connect(
            store=MemoryStore(),
            cache=f"{cache_url}{sep}prefix=t{tag}",
            queue=f"{queue_url}?stream=q{tag}&claim_idle=5",
            workers=2,
            strategy=strategy,
            settings=settings,
        )
        opened.append(sf)
        return sf

    yield make
    for sf in opened:
        sf.queue.close()  # idempotent: tests close their feeds too


class TestRedisFeed(FeedContract):
    """Redis cache + Redis Streams queue with two in-process workers; memory store."""

    oracle_examples = 40

    @pytest.fixture
    def make_feed(self, feed_url: str) -> Iterator[MakeFeed]:
        yield from _feed_factory(feed_url, feed_url)


@pytest.mark.cluster
class TestRedisClusterFeed(FeedContract):
    """Redis Cluster cache + Redis Streams queue (standalone) with two workers; memory store."""

    oracle_examples = 20

    @pytest.fixture
    def make_feed(self, cluster_url: str, queue_url: str) -> Iterator[MakeFeed]:
        flush_cluster(cluster_url)
        yield from _feed_factory(cluster_url, queue_url)


def test_registry_builds_the_redis_backends(feed_url: str) -> Any:
    with socialfeed.connect(cache=feed_url, queue=feed_url, workers=1) as sf:
        assert isinstance(sf.cache, RedisFeedCache)
        assert isinstance(sf.queue, RedisStreamsQueue)
        sf.follow(1, 2)
        t = sf.create_tweet(2, "hello")
        sf.drain(timeout=10)
        assert [x.id for x in sf.get_feed(1).items] == [t.id]
