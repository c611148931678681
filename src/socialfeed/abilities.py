"""The optional abilities of :mod:`socialfeed.interfaces`, each with its default in one place.

A backend only has to implement the core methods of its Protocol. The strategies always call the
batched methods of the *complete* Protocols (:class:`~socialfeed.interfaces.CompleteStore` and its
siblings); for a backend that lacks
some of them, :func:`complete_store` and its siblings wrap it in an adapter whose missing methods
are the defaults below, built on the core methods (as cachelib's ``BaseCache.get_many`` loops
``get``). A backend that has every ability, as every built-in one does, is used unwrapped.

The adapter binds the backend's own methods onto itself, so a call through it costs what a
direct call costs; any other attribute is looked up on the backend.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from socialfeed.backends.memory.outbox import MemoryOutbox
from socialfeed.backends.memory.social import MemorySocial
from socialfeed.interfaces import (
    CachedSlice,
    CompleteCache,
    CompleteGraph,
    CompleteMedia,
    CompleteQueue,
    CompleteStore,
    DeadLetterSupport,
    DurableFollowSupport,
    DurableTweetSupport,
    Event,
    FanoutBatchSupport,
    FanoutGraphSupport,
    FanoutQueue,
    FeedCache,
    FeedNoticeSupport,
    FeedReadSupport,
    FollowerCountSupport,
    FollowGraph,
    HomeTimelineSupport,
    ListKind,
    MediaClaimSupport,
    MediaStore,
    PrimarySupport,
    QueueStatsSupport,
    SettingsRecordSupport,
    SocialStore,
    TweetStore,
    UploadSweepSupport,
    all_following,
    supports,
)
from socialfeed.jobs import Job
from socialfeed.models import Tweet
from socialfeed.notices import Hub, Listening, Wake

__all__ = [
    "all_following",
    "complete_cache",
    "complete_graph",
    "complete_media",
    "complete_queue",
    "complete_store",
]

_STORE_ABILITIES = [
    DurableTweetSupport,
    MediaClaimSupport,
    SettingsRecordSupport,
    PrimarySupport,
    SocialStore,
]
_GRAPH_ABILITIES = [FollowerCountSupport, FanoutGraphSupport, DurableFollowSupport, PrimarySupport]


def _methods(protocol: type) -> list[str]:
    """The public methods a Protocol (with its Protocol bases) declares."""
    names: dict[str, None] = {}
    for cls in protocol.__mro__:
        if cls is object or not getattr(cls, "_is_protocol", False):
            continue
        names.update((n, None) for n, v in vars(cls).items() if callable(v) and n[0] != "_")
    return list(names)


class _Adapter:
    """A backend with the defaults of the abilities it lacks (see the module docs)."""

    def __init__(self, inner: Any, core: type, abilities: Iterable[type]) -> None:
        self.inner = inner
        own = [core, *(a for a in abilities if supports(inner, a))]
        for name in dict.fromkeys(n for p in own for n in _methods(p)):
            setattr(self, name, getattr(inner, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.inner!r}>"


class _StoreDefaults(_Adapter, MemoryOutbox, MemorySocial):
    """Without :class:`~socialfeed.interfaces.DurableTweetSupport`, events and idempotency keys
    are kept in this process: they outlive a queue outage, not a crash. Without
    :class:`~socialfeed.interfaces.SocialStore`, so are blocks, mutes, muted words, erasure
    records and the repost and reply indexes (of the tweets written through this process)."""

    def __init__(self, inner: TweetStore, graph: FollowGraph, use_own_home: bool) -> None:
        MemoryOutbox.__init__(self)
        MemorySocial.__init__(self, self.record)
        home = [HomeTimelineSupport] if use_own_home else []
        super().__init__(inner, TweetStore, [*home, *_STORE_ABILITIES])
        self.graph = graph
        self._keys: dict[tuple[int, str], Tweet] = {}
        self._keys_lock = threading.Lock()
        if not supports(inner, SocialStore):
            self._index_writes(self.write_tweet, self.write_delete)

    def _index_writes(self, write_tweet: Any, write_delete: Any) -> None:
        """Feed the in-process repost and reply indexes from the tweet writes."""

        def indexed_write(tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
            stored: Tweet = write_tweet(tweet, event, idempotency_key)
            self.index(stored)
            return stored

        def indexed_delete(tweet_id: int, event: int) -> Tweet | None:
            tweet: Tweet | None = write_delete(tweet_id, event)
            if tweet is not None:
                self.unindex(tweet)
            return tweet

        self.write_tweet = indexed_write  # type: ignore[method-assign]
        self.write_delete = indexed_delete  # type: ignore[method-assign]

    def drop_edges(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """The erased user's edges, removed one by one through the graph (holding the erasure
        records' lock, so the erasure cannot end half way)."""
        with self._social_lock:
            if user_id not in self.erasures():
                return []
            graph = self.graph
            edges = [(f, user_id) for f in graph.followers(user_id, None, limit)]
            edges += [(user_id, e) for e in graph.following(user_id, None, limit - len(edges))]
            return [(f, e, graph.remove_follow(f, e) or 0) for f, e in edges]

    def drop_tweets(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """The erased user's tweets, deleted (a core store keeps no way to remove a row)."""
        store: TweetStore = self.inner
        with self._social_lock:
            watermark = self.erasures().get(user_id, 0)
            for tweet in store.get_tweets([i for i in tweet_ids if i < watermark]).values():
                if tweet.author_id == user_id and store.mark_deleted(tweet.id) is not None:
                    self.unindex(tweet)

    def end_erasure(self, user_id: int, watermark: int) -> None:
        """Forget the erasure record, if it has ``watermark``."""
        self.end_social_erasure(user_id, watermark)

    def write_tweet(self, tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
        """``put_tweet``, the event in this process, the key in this process."""
        store: TweetStore = self.inner
        with self._keys_lock:
            if idempotency_key is not None and (
                earlier := self._keys.get((tweet.author_id, idempotency_key))
            ):
                return earlier
            new = not store.get_tweets([tweet.id])
            store.put_tweet(tweet)
            if new and idempotency_key is not None:
                self._keys[tweet.author_id, idempotency_key] = tweet
        if new and event:
            self.record(Event(event, "tweet", tweet.author_id, tweet.id))
        return tweet

    def write_delete(self, tweet_id: int, event: int) -> Tweet | None:
        """``mark_deleted`` and the event in this process."""
        store: TweetStore = self.inner
        tweet = store.mark_deleted(tweet_id)
        if tweet is not None and event:
            self.record(Event(event, "delete", tweet.author_id, tweet_id))
        return tweet

    def deleted_authors(self, tweet_ids: Sequence[int]) -> dict[int, int]:
        """Unknown: the store keeps no tombstones (a retried delete is ``NotFound``)."""
        return {}

    def events_published(self, event_ids: Sequence[int]) -> None:
        """Forget them: a worker in another process cannot tell this one they were applied."""
        self.events_done(event_ids)

    def claim_unused_media(self, media_ids: Sequence[str], claim_for: float) -> list[str]:
        """The unreferenced media, unlocked: a post attaching one at once may race the GC."""
        store: TweetStore = self.inner
        used = store.media_in_use(media_ids)
        return [m for m in dict.fromkeys(media_ids) if m not in used]

    def release_media_claims(self, media_ids: Sequence[str]) -> None:
        """No claims to release."""

    def record_settings(self, values: dict[str, str]) -> dict[str, str]:
        """Nothing is recorded: every process uses its own settings."""
        return dict(values)

    def on_primary(self) -> CompleteStore:
        """Itself: the store has no replicas (or no way to say so)."""
        return cast(CompleteStore, self)

    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """``home(user_id)`` merged over the user and everyone they follow."""
        store: TweetStore = self.inner
        authors = [user_id, *all_following(self.graph, user_id)]
        streams = [store.author_tweet_ids(a, before, limit) for a in authors]
        return list(itertools.islice(heapq.merge(*streams, key=lambda i: -i), limit))


class _GraphDefaults(_Adapter, MemoryOutbox):
    """Without :class:`~socialfeed.interfaces.DurableFollowSupport`, edge events are kept in this
    process: they outlive a queue outage, not a crash."""

    def __init__(self, inner: FollowGraph) -> None:
        MemoryOutbox.__init__(self)
        super().__init__(inner, FollowGraph, _GRAPH_ABILITIES)

    def write_follow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``add_follow`` and the event in this process."""
        graph: FollowGraph = self.inner
        count = graph.add_follow(follower_id, followee_id)
        if count is not None and event:
            self.record(Event(event, "follow", follower_id, followee_id, count))
        return count

    def write_unfollow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``remove_follow`` and the event in this process."""
        graph: FollowGraph = self.inner
        count = graph.remove_follow(follower_id, followee_id)
        if count is not None and event:
            self.record(Event(event, "unfollow", follower_id, followee_id, count))
        return count

    def events_published(self, event_ids: Sequence[int]) -> None:
        """Forget them: a worker in another process cannot tell this one they were applied."""
        self.events_done(event_ids)

    def on_primary(self) -> CompleteGraph:
        """Itself: the graph has no replicas (or no way to say so)."""
        return cast(CompleteGraph, self)

    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """One ``follower_count`` per user."""
        graph: FollowGraph = self.inner
        return {u for u in set(user_ids) if graph.follower_count(u) >= min_followers}

    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """One ``followers`` call per page."""
        graph: FollowGraph = self.inner
        return [graph.followers(user_id, after, limit) for user_id, after in pages]

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """One ``followers_among`` call per followee."""
        graph: FollowGraph = self.inner
        by_followee: dict[int, list[int]] = {}
        for follower, followee in pairs:
            by_followee.setdefault(followee, []).append(follower)
        return {
            (f, followee)
            for followee, followers in by_followee.items()
            for f in graph.followers_among(followee, followers)
        }


class _CacheDefaults(_Adapter):
    def __init__(self, inner: FeedCache) -> None:
        super().__init__(inner, FeedCache, [FeedReadSupport, FanoutBatchSupport, FeedNoticeSupport])

    def notify(self, channels: Sequence[int]) -> None:
        """Notices reach this process's listeners on the same cache object only."""
        _hub_of(self.inner).deliver(channels)

    def listen(self, channels: Sequence[int], wake: Wake) -> Listening:
        """A listener of this process's notices on the same cache object."""
        return _hub_of(self.inner).listen(channels, wake)

    def touch_and_read(
        self, user_id: int, now: datetime, limit: int
    ) -> tuple[datetime | None, CachedSlice | None]:
        """``touch``, then ``read`` of the user's feed."""
        cache: FeedCache = self.inner
        return cache.touch(user_id, now), cache.read("feed", user_id, None, limit)

    def read_many(
        self, kind: ListKind, keys: Sequence[int], before: int | None, limit: int
    ) -> list[CachedSlice | None]:
        """One ``read`` per key."""
        cache: FeedCache = self.inner
        return [cache.read(kind, key, before, limit) for key in keys]

    def insert_many(
        self,
        kind: ListKind,
        batches: Sequence[tuple[Sequence[int], Sequence[int]]],
        max_length: int,
    ) -> None:
        """One ``insert`` per batch."""
        cache: FeedCache = self.inner
        for keys, ids in batches:
            if keys:
                cache.insert(kind, keys, ids, max_length)


_HUBS: weakref.WeakKeyDictionary[object, Hub] = weakref.WeakKeyDictionary()
_HUBS_LOCK = threading.Lock()


def _hub_of(cache: object) -> Hub:
    """The in-process notice hub of one cache object (shared by every facade on it)."""
    with _HUBS_LOCK:
        hub = _HUBS.get(cache)
        if hub is None:
            hub = _HUBS[cache] = Hub()
        return hub


class _MediaDefaults(_Adapter):
    def __init__(self, inner: MediaStore) -> None:
        super().__init__(inner, MediaStore, [UploadSweepSupport])

    def sweep_uploads(self, older_than: datetime) -> int:
        """Nothing to sweep: the store leaves no temporary objects behind."""
        return 0


class _QueueDefaults(_Adapter):
    def __init__(self, inner: FanoutQueue) -> None:
        super().__init__(inner, FanoutQueue, [QueueStatsSupport, DeadLetterSupport])

    def stats(self) -> dict[str, Any]:
        """No counters."""
        return {}

    def dead_letters(self) -> list[tuple[Job, str]]:
        """None kept."""
        return []

    def replay_dead(self) -> int:
        """Nothing to replay."""
        return 0


def complete_store(store: TweetStore, graph: FollowGraph) -> CompleteStore:
    """``store`` with every ability; its own ``home_tweet_ids`` is used only when it is also
    the graph (it answers from its own follows)."""
    own_graph = store is cast(object, graph)
    if own_graph and supports(store, CompleteStore):
        return store
    use_own = own_graph and supports(store, HomeTimelineSupport)
    return cast(CompleteStore, _StoreDefaults(store, graph, use_own))


def complete_graph(graph: FollowGraph) -> CompleteGraph:
    """``graph`` with every ability."""
    if supports(graph, CompleteGraph):
        return graph
    return cast(CompleteGraph, _GraphDefaults(graph))


def complete_cache(cache: FeedCache) -> CompleteCache:
    """``cache`` with every ability."""
    if supports(cache, CompleteCache):
        return cache
    return cast(CompleteCache, _CacheDefaults(cache))


def complete_media(media: MediaStore) -> CompleteMedia:
    """``media`` with every ability."""
    if supports(media, CompleteMedia):
        return media
    return cast(CompleteMedia, _MediaDefaults(media))


def complete_queue(queue: FanoutQueue) -> CompleteQueue:
    """``queue`` with every ability."""
    if supports(queue, CompleteQueue):
        return queue
    return cast(CompleteQueue, _QueueDefaults(queue))
