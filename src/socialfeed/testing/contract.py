"""The contract suites, one class per interface (the end-to-end suite is in
:mod:`socialfeed.testing.end_to_end`).

Subclass a suite in a test module and provide its fixture; pytest collects the inherited tests.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialfeed.abilities import complete_cache, complete_graph, complete_store
from socialfeed.backends.memory import MemoryFeedCache
from socialfeed.errors import NotFound, ValidationError
from socialfeed.ids import MAX_ID
from socialfeed.interfaces import BUILDING, CachedSlice
from socialfeed.jobs import FanOut, Job, JobFunctions, SyncFollow
from socialfeed.media import upload
from socialfeed.models import Media, Tweet
from socialfeed.testing.data import png_bytes
from socialfeed.testing.deployment import DeploymentStoreTests
from socialfeed.testing.social_store import SocialStoreTests
from socialfeed.testing.store_edges import StoreEdgeTests

__all__ = [
    "FeedCacheContract",
    "MediaStoreContract",
    "QueueContract",
    "StoreContract",
    "png_bytes",
]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ABSENT_MEDIA = "0" * 64  # a well-formed media id that nobody uploaded
MEDIA = Media("m-1", "image/png", 10)


def _tweet(tweet_id: int, author: int, text: str = "hi", media: tuple[Media, ...] = ()) -> Tweet:
    return Tweet(tweet_id, author, text, T0 + timedelta(milliseconds=tweet_id % 10_000), media)


class StoreContract(DeploymentStoreTests, SocialStoreTests, StoreEdgeTests):
    """A TweetStore + FollowGraph (fixture ``store``, empty; optionally ``broken_store``: a
    store whose backend fails, see :mod:`socialfeed.testing.store_edges`)."""

    def test_tweets_round_trip(self, store: Any) -> None:
        t = _tweet(10, 1, "héllo 👩‍👩‍👧 עברית e\u0301", (MEDIA, Media("m-0", "video/mp4", 99)))
        store.put_tweet(t)
        assert store.get_tweets([10, 11]) == {10: t}
        assert store.get_tweets([10])[10].created_at.tzinfo is not None

    def test_extreme_ids_round_trip(self, store: Any) -> None:
        t = _tweet(MAX_ID, MAX_ID, "x" * 280)
        store.put_tweet(t)
        assert store.get_tweets([MAX_ID]) == {MAX_ID: t}
        assert store.author_tweet_ids(MAX_ID, None, 5) == [MAX_ID]
        assert store.add_follow(1, MAX_ID) == 1
        assert store.followers(MAX_ID, None, 5) == [1]

    def test_author_tweet_ids_newest_first_and_bounded(self, store: Any) -> None:
        for i in (5, 1, 9, 3, 7):
            store.put_tweet(_tweet(i, 1))
        store.put_tweet(_tweet(8, 2))
        assert store.author_tweet_ids(1, None, 10) == [9, 7, 5, 3, 1]
        assert store.author_tweet_ids(1, 7, 2) == [5, 3]
        assert store.author_tweet_ids(1, 1, 10) == []
        assert store.author_tweet_ids(3, None, 10) == []

    def test_deleted_tweets_disappear(self, store: Any) -> None:
        store.put_tweet(_tweet(1, 1, media=(MEDIA,)))
        store.put_tweet(_tweet(2, 1))
        assert store.media_in_use(["m-1", "m-2"]) == {"m-1"}
        assert store.mark_deleted(1) == _tweet(1, 1, media=(MEDIA,))
        assert store.mark_deleted(1) is None
        assert store.get_tweets([1, 2]) == {2: _tweet(2, 1)}
        assert store.author_tweet_ids(1, None, 10) == [2]
        assert store.media_in_use(["m-1"]) == set()

    def test_follow_counts_are_exact(self, store: Any) -> None:
        assert store.add_follow(1, 2) == 1
        assert store.add_follow(1, 2) is None
        assert store.add_follow(3, 2) == 2
        assert store.add_follow(1, 3) == 1
        assert (store.follower_count(2), store.following_count(1)) == (2, 2)
        assert store.remove_follow(1, 2) == 1
        assert store.remove_follow(1, 2) is None
        assert store.remove_follow(9, 9) is None
        assert (store.follower_count(2), store.following_count(1)) == (1, 1)
        assert store.follower_count(77) == 0

    def test_follow_lists_page_in_id_order(self, store: Any) -> None:
        for f in (9, 3, 7, 5):
            store.add_follow(f, 1)
            store.add_follow(1, f + 100)
        assert store.followers(1, None, 10) == [3, 5, 7, 9]
        assert store.followers(1, 5, 1) == [7]
        assert store.following(1, None, 2) == [103, 105]
        assert store.following(1, 107, 10) == [109]
        assert store.followers_among(1, [3, 4, 9]) == {3, 9}
        assert store.followers_among(42, [3]) == set()

    def test_following_with_min_followers(self, store: Any) -> None:
        for f in range(10, 15):
            store.add_follow(f, 2)
        store.add_follow(10, 3)
        store.add_follow(1, 2)
        store.add_follow(1, 3)
        assert store.following_with_min_followers(1, 3) == [2]
        assert sorted(store.following_with_min_followers(1, 1)) == [2, 3]
        counts = complete_graph(store)  # the store's own ability, or the default
        assert counts.with_min_followers([2, 3, 4, 2], 3) == {2}
        assert counts.with_min_followers([2, 3, 4], 2) == {2, 3}
        assert counts.with_min_followers([], 1) == set()

    def test_fanout_graph_reads(self, store: Any) -> None:
        graph = complete_graph(store)
        for f in (3, 5, 7, 9):
            store.add_follow(f, 1)
        store.add_follow(4, 2)
        pages = [(1, None), (2, None), (1, 5), (8, None), (1, 9)]
        assert graph.followers_many(pages, 2) == [[3, 5], [4], [7, 9], [], []]
        pairs = [(3, 1), (4, 1), (4, 2), (1, 3), (9, 1)]
        assert graph.edges_among(pairs) == {(3, 1), (4, 2), (9, 1)}
        assert graph.edges_among([]) == set()

    def test_home_tweet_ids(self, store: Any) -> None:
        home = complete_store(store, store)
        store.add_follow(1, 2)
        store.add_follow(1, 3)
        for tweet_id, author in [(1, 1), (2, 2), (3, 4), (4, 3), (5, 2), (6, 1), (7, 4)]:
            store.put_tweet(_tweet(tweet_id, author))
        store.mark_deleted(5)
        assert home.home_tweet_ids(1, None, 10) == [6, 4, 2, 1]
        assert home.home_tweet_ids(1, 6, 2) == [4, 2]
        assert home.home_tweet_ids(4, None, 10) == [7, 3]
        assert home.home_tweet_ids(99, None, 10) == []


_KINDS = st.sampled_from(["feed", "celebrity"])
_KEYS = st.integers(1, 4)
_IDS = st.lists(st.integers(1, 60), max_size=6)
_CACHE_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("reset"), _KINDS, _KEYS),
        st.tuples(st.just("merge"), _KINDS, _KEYS, _IDS, st.integers(0, 3)),
        st.tuples(st.just("insert"), _KINDS, st.lists(_KEYS, max_size=4), _IDS),
        st.tuples(st.just("remove"), _KINDS, st.lists(_KEYS, max_size=4), _IDS),
        st.tuples(
            st.just("read"), _KINDS, _KEYS, st.none() | st.integers(1, 61), st.integers(1, 9)
        ),
    ),
    max_size=30,
)


class FeedCacheContract:
    """A FeedCache (fixture ``cache``, empty)."""

    def test_lists_start_absent(self, cache: Any) -> None:
        assert cache.read("feed", 1, None, 10) is None
        cache.insert("feed", [1], [5], 10)  # inserts never create a list
        assert cache.read("feed", 1, None, 10) is None

    def test_building_lists_read_as_absent_and_take_every_insert(self, cache: Any) -> None:
        cache.reset("feed", 1)
        assert cache.read("feed", 1, None, 10) is None
        cache.insert("feed", [1], [3, 9], 10)
        cache.merge("feed", 1, [8, 2], 2, 10)
        assert cache.read("feed", 1, None, 10) == CachedSlice((9, 8, 3, 2), 2)

    def test_floor_trim_and_bounds(self, cache: Any) -> None:
        cache.merge("feed", 1, [10, 20, 30, 40], 10, 3)
        assert cache.read("feed", 1, None, 10) == CachedSlice((40, 30, 20), 20)
        cache.insert("feed", [1], [5, 25], 3)  # 5 is below the floor: dropped
        assert cache.read("feed", 1, None, 10) == CachedSlice((40, 30, 25), 25)
        assert cache.read("feed", 1, 40, 1) == CachedSlice((30,), 25)
        assert cache.read("feed", 1, 25, 5) == CachedSlice((), 25)
        cache.remove("feed", [1, 2], [30, 99])
        assert cache.read("feed", 1, None, 10) == CachedSlice((40, 25), 25)

    def test_complete_lists_have_floor_zero(self, cache: Any) -> None:
        cache.merge("feed", 7, [], 0, 5)
        assert cache.read("feed", 7, None, 10) == CachedSlice((), 0)
        cache.insert("feed", [7, 8], [3, 4, 4], 5)
        assert cache.read("feed", 7, None, 10) == CachedSlice((4, 3), 0)
        assert cache.read("feed", 8, None, 10) is None

    def test_kinds_are_separate(self, cache: Any) -> None:
        cache.merge("feed", 1, [1], 0, 5)
        cache.merge("celebrity", 1, [2], 0, 5)
        assert cache.read("feed", 1, None, 5) == CachedSlice((1,), 0)
        assert cache.read("celebrity", 1, None, 5) == CachedSlice((2,), 0)

    def test_last_seen(self, cache: Any) -> None:
        assert cache.touch(1, T0) is None
        assert cache.touch(1, T0 + timedelta(seconds=5)) == T0
        cache.touch(2, T0)
        assert cache.active_among([3, 2, 1], T0) == [1]
        assert cache.active_among([1, 2], T0 - timedelta(seconds=1)) == [1, 2]

    def test_batched_reads_and_inserts(self, cache: Any) -> None:
        batched = complete_cache(cache)  # the cache's own abilities, or the defaults
        cache.merge("feed", 1, [10, 20], 0, 5)
        cache.merge("celebrity", 2, [15], 0, 5)
        assert batched.touch_and_read(1, T0, 1) == (None, CachedSlice((20,), 0))
        assert batched.touch_and_read(1, T0 + timedelta(seconds=1), 5)[0] == T0
        batched.insert_many("feed", [([1, 3], [30]), ([], [1]), ([1], [25])], 5)
        assert batched.read_many("feed", [1, 3], None, 9) == [
            CachedSlice((30, 25, 20, 10), 0),
            None,
        ]
        assert batched.read_many("celebrity", [2, 1], 16, 9) == [CachedSlice((15,), 0), None]
        assert batched.read_many("feed", [], None, 9) == []

    def test_hot_tweets_and_tombstones(self, cache: Any) -> None:
        t1, t2 = _tweet(1, 1, "one", (MEDIA,)), _tweet(2, 1, "two")
        cache.put_hot_tweets([t1, t2])
        assert cache.get_hot_tweets([1, 2, 3]) == {1: t1, 2: t2}
        cache.forget_hot_tweet(1)
        cache.put_hot_tweets([t1])  # a racing reader must not revive it
        assert cache.get_hot_tweets([1, 2, 3]) == {1: None, 2: t2}  # None: known deleted
        cache.forget_hot_tweet(4)  # a tombstone for a tweet that was never cached
        assert cache.get_hot_tweets([4]) == {4: None}

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(ops=_CACHE_OPS)
    def test_behaves_like_the_reference(self, cache: Any, ops: list[tuple[Any, ...]]) -> None:
        # Each example starts from lists of its own: keys are offset per example.
        offset = int.from_bytes(os.urandom(5), "big") * 10 + 10
        ref: Any = MemoryFeedCache()
        for op, kind, *args in ops:
            if op == "reset":
                for c in (cache, ref):
                    c.reset(kind, args[0] + offset)
            elif op == "merge":
                key, ids, max_len = args[0] + offset, args[1], 3 + args[2]
                floor = 0 if not ids else min(ids)
                for c in (cache, ref):
                    c.merge(kind, key, ids, floor, max_len)
            elif op == "insert":
                for c in (cache, ref):
                    c.insert(kind, [k + offset for k in args[0]], args[1], 5)
            elif op == "remove":
                for c in (cache, ref):
                    c.remove(kind, [k + offset for k in args[0]], args[1])
            else:
                key, before, limit = args[0] + offset, args[1], args[2]
                assert cache.read(kind, key, before, limit) == ref.read(kind, key, before, limit)
        for kind in ("feed", "celebrity"):
            for key in range(1, 5):
                assert cache.read(kind, key + offset, None, 99) == ref.read(
                    kind, key + offset, None, 99
                )

    def test_building_floor_constant(self) -> None:
        assert BUILDING == 2**63


class MediaStoreContract:
    """A MediaStore (fixture ``media_store``, empty)."""

    limits = {"max_image_bytes": 1 << 20, "max_video_bytes": 1 << 22}

    def test_round_trip_and_content_address(self, media_store: Any) -> None:
        data = png_bytes(1)
        m = upload(media_store, data, None, **self.limits)
        assert (m.content_type, m.size) == ("image/png", len(data))
        assert upload(media_store, data, "image/png", **self.limits) == m
        assert upload(media_store, png_bytes(2), None, **self.limits).id != m.id
        assert media_store.get([m.id, ABSENT_MEDIA]) == {m.id: m}
        with media_store.open(m.id) as f:
            assert f.read() == data
        assert isinstance(media_store.url(m.id), str)

    def test_a_writer_commits_or_aborts(self, media_store: Any) -> None:
        data = png_bytes(9)
        media = Media(hashlib.sha256(data).hexdigest(), "image/png", len(data))
        writer = media_store.open_writer()
        writer.write(data[:10])
        writer.write(data[10:])
        assert media_store.get([media.id]) == {}  # not before the commit
        writer.commit(media)
        assert media_store.get([media.id]) == {media.id: media}
        with media_store.open(media.id) as f:
            assert f.read() == data
        again = media_store.open_writer()  # the same media twice: one copy, still readable
        again.write(data)
        again.commit(media)
        assert media_store.get([media.id]) == {media.id: media}
        gone = Media("f" * 64, "image/png", 3)
        dropped = media_store.open_writer()
        dropped.write(b"abc")
        dropped.abort()
        dropped.abort()
        assert media_store.get([gone.id]) == {}
        with pytest.raises(NotFound):
            media_store.open(gone.id)

    def test_listing_and_deleting(self, media_store: Any) -> None:
        m = upload(media_store, png_bytes(3), None, **self.limits)
        assert m.id in set(media_store.list_media(datetime.now(UTC) + timedelta(minutes=1)))
        assert m.id not in set(media_store.list_media(datetime.now(UTC) - timedelta(hours=1)))
        media_store.delete(m.id)
        media_store.delete(m.id)
        assert media_store.get([m.id]) == {}

    def test_bad_uploads_write_nothing(self, media_store: Any) -> None:
        before = set(media_store.list_media(datetime.now(UTC) + timedelta(minutes=1)))
        with pytest.raises(ValidationError):
            upload(media_store, png_bytes(4), "image/jpeg", **self.limits)
        with pytest.raises(ValidationError):
            upload(media_store, b"", None, **self.limits)
        with pytest.raises(ValidationError):
            upload(media_store, b"just some text", None, **self.limits)
        with pytest.raises(ValidationError):
            upload(
                media_store, png_bytes(5, width=4000), None, max_image_bytes=64, max_video_bytes=9
            )
        after = set(media_store.list_media(datetime.now(UTC) + timedelta(minutes=1)))
        assert after == before


class QueueContract:
    """A FanoutQueue (fixture ``queue``, not started). ``asynchronous``: jobs run on workers."""

    asynchronous = True
    workers = 2

    def test_every_job_is_applied_before_drain_returns(self, queue: Any) -> None:
        seen: list[Job] = []
        lock = threading.Lock()

        def handler(jobs: Sequence[Job]) -> None:
            with lock:
                seen.extend(jobs)

        queue.start(JobFunctions(handler), self.workers)
        try:
            jobs = [FanOut(1, (i,)) for i in range(1, 51)] + [SyncFollow(2, 3)]
            for job in jobs:
                queue.submit(job)
            queue.drain(timeout=30)
            assert set(seen) == set(jobs)
        finally:
            queue.close()

    def test_drain_times_out(self, queue: Any) -> None:
        if not self.asynchronous:
            pytest.skip("jobs are applied as they are submitted")
        release = threading.Event()
        queue.start(JobFunctions(lambda jobs: release.wait(10)), self.workers)
        try:
            queue.submit(FanOut(1, (1,)))
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                queue.drain(timeout=0.3)
            assert time.monotonic() - start < 5
        finally:
            release.set()
            queue.drain(timeout=30)
            queue.close()
