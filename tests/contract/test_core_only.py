"""A plugin's path: a store and a cache with only the core Protocol methods (no optional ability),
so every default of socialfeed.abilities runs, through the shared suites and the oracle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

import socialfeed
from socialfeed.abilities import complete_cache, complete_store
from socialfeed.backends.memory import MemoryFeedCache, MemoryStore
from socialfeed.interfaces import (
    FanoutBatchSupport,
    FanoutGraphSupport,
    FeedCache,
    FeedReadSupport,
    FollowerCountSupport,
    FollowGraph,
    HomeTimelineSupport,
    TweetStore,
    supports,
)
from socialfeed.testing import FeedCacheContract, FeedContract, StoreContract

pytestmark = pytest.mark.memory


def _methods(*protocols: type) -> set[str]:
    return {n for p in protocols for n, v in vars(p).items() if callable(v) and n[0] != "_"}


class CoreStore:
    """Only the TweetStore and FollowGraph methods of a MemoryStore."""

    def __init__(self) -> None:
        inner = MemoryStore()
        for name in _methods(TweetStore, FollowGraph):
            setattr(self, name, getattr(inner, name))


class CoreCache:
    """Only the FeedCache methods of a MemoryFeedCache."""

    def __init__(self) -> None:
        inner = MemoryFeedCache()
        for name in _methods(FeedCache):
            setattr(self, name, getattr(inner, name))


def test_the_wrappers_have_no_ability() -> None:
    store: Any = CoreStore()
    cache: Any = CoreCache()
    assert isinstance(store, TweetStore) and isinstance(store, FollowGraph)
    assert isinstance(cache, FeedCache)
    abilities: list[type] = [HomeTimelineSupport, FollowerCountSupport, FanoutGraphSupport]
    assert not any(isinstance(store, a) for a in abilities)
    assert not any(isinstance(cache, a) for a in (FeedReadSupport, FanoutBatchSupport))
    # and the facade fills every ability in, around them
    assert complete_store(store, store) is not store
    assert complete_cache(cache) is not cache


def test_a_complete_backend_is_used_unwrapped() -> None:
    store, cache = MemoryStore(), MemoryFeedCache()
    assert complete_store(store, store) is store and complete_cache(cache) is cache
    assert supports(store, HomeTimelineSupport)


def test_a_separate_graph_is_never_bypassed() -> None:
    # the store's own home timeline reads its own follows: with another graph it must not be used
    store, graph = MemoryStore(), MemoryStore()
    graph.add_follow(1, 2)
    store.put_tweet(socialfeed.Tweet(7, 2, "x", datetime(2026, 1, 1, tzinfo=UTC)))
    assert complete_store(store, graph).home_tweet_ids(1, None, 5) == [7]
    assert store.home_tweet_ids(1, None, 5) == []


def test_connect_with_a_graph_of_its_own() -> None:
    graph = MemoryStore()
    with socialfeed.connect(graph=graph, strategy="pull") as sf:
        sf.follow(1, 2)
        tweet = sf.create_tweet(2, "hello")
        assert graph.following(1, None, 5) == [2]
        assert sf.store.following(1, None, 5) == []  # type: ignore[attr-defined]
        assert sf.get_feed(1).items == (tweet,)


class TestCoreStore(StoreContract):
    @pytest.fixture
    def store(self) -> Any:
        return CoreStore()


class TestCoreCache(FeedCacheContract):
    @pytest.fixture
    def cache(self) -> Any:
        return CoreCache()


class TestCoreOnlyFeed(FeedContract):
    oracle_examples = 100

    @pytest.fixture(params=["inline", "thread"])
    def make_feed(
        self, request: pytest.FixtureRequest
    ) -> Callable[[str, socialfeed.Settings], socialfeed.SocialFeed]:
        return lambda strategy, settings: socialfeed.connect(
            store=CoreStore(),
            cache=CoreCache(),
            queue=request.param,
            strategy=strategy,
            settings=settings,
        )


def test_all_following_stops_at_a_short_page() -> None:
    """A reader's followees in one round trip when they fit in a page (a short page ends it)."""
    from socialfeed.interfaces import all_following

    asked: list[int | None] = []

    class Counting(MemoryStore):
        def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
            asked.append(after)
            return super().following(user_id, after, limit)

    graph = Counting()
    graph.add_follow(1, 3)
    graph.add_follow(1, 2)
    assert all_following(graph, 1) == [2, 3]
    assert asked == [None]
    assert all_following(graph, 9) == [] and asked == [None, None]
