from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import socialfeed
from socialfeed.backends.memory import InlineQueue, MemoryFeedCache, MemoryStore, ThreadQueue
from socialfeed.testing import (
    FeedCacheContract,
    FeedContract,
    MediaStoreContract,
    QueueContract,
    StoreContract,
)

pytestmark = pytest.mark.memory


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestMemoryFeedCache(FeedCacheContract):
    @pytest.fixture
    def cache(self) -> MemoryFeedCache:
        return MemoryFeedCache()


class TestMemoryMedia(MediaStoreContract):
    @pytest.fixture
    def media_store(self) -> Any:
        from socialfeed.backends.fsspec import FsspecMediaStore

        return FsspecMediaStore.from_url("memory://", socialfeed.Settings())


class TestInlineQueue(QueueContract):
    asynchronous = False

    @pytest.fixture
    def queue(self) -> InlineQueue:
        return InlineQueue()


class TestThreadQueue(QueueContract):
    @pytest.fixture
    def queue(self) -> ThreadQueue:
        return ThreadQueue()


class TestInlineFeed(FeedContract):
    oracle_examples = 200

    @pytest.fixture
    def make_feed(self) -> Callable[[str, socialfeed.Settings], socialfeed.SocialFeed]:
        return lambda strategy, settings: socialfeed.connect(strategy=strategy, settings=settings)


class TestThreadFeed(FeedContract):
    oracle_examples = 200

    @pytest.fixture
    def make_feed(self) -> Callable[[str, socialfeed.Settings], socialfeed.SocialFeed]:
        return lambda strategy, settings: socialfeed.connect(
            queue="thread", strategy=strategy, settings=settings
        )
