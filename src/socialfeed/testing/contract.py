"""The contract suites: one class per interface plus the end-to-end :class:`FeedContract`.

Subclass a suite in a test module and provide its fixture; pytest collects the inherited tests.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialfeed.abilities import complete_cache, complete_graph, complete_store
from socialfeed.backends.memory import MemoryFeedCache
from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.feed import SocialFeed
from socialfeed.ids import MAX_ID
from socialfeed.interfaces import BUILDING, CachedSlice
from socialfeed.jobs import FanOut, Job, SyncFollow
from socialfeed.models import Media, Tweet
from socialfeed.settings import Settings
from socialfeed.testing.data import png_bytes
from socialfeed.testing.oracle import check_history, histories, page_all

__all__ = [
    "FeedCacheContract",
    "FeedContract",
    "MediaStoreContract",
    "QueueContract",
    "StoreContract",
    "png_bytes",
]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MEDIA = Media("m-1", "image/png", 10)


def _tweet(tweet_id: int, author: int, text: str = "hi", media: tuple[Media, ...] = ()) -> Tweet:
    return Tweet(tweet_id, author, text, T0 + timedelta(milliseconds=tweet_id % 10_000), media)


class StoreContract:
    """A TweetStore + FollowGraph (fixture ``store``, empty)."""

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
        assert cache.get_hot_tweets([1, 2]) == {2: t2}

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
        m = media_store.put(data, None, **self.limits)
        assert (m.content_type, m.size) == ("image/png", len(data))
        assert media_store.put(data, "image/png", **self.limits) == m
        assert media_store.put(png_bytes(2), None, **self.limits).id != m.id
        assert media_store.get([m.id, "nope"]) == {m.id: m}
        with media_store.open(m.id) as f:
            assert f.read() == data
        assert isinstance(media_store.url(m.id), str)

    def test_listing_and_deleting(self, media_store: Any) -> None:
        m = media_store.put(png_bytes(3), None, **self.limits)
        assert m.id in set(media_store.list_media(datetime.now(UTC) + timedelta(minutes=1)))
        assert m.id not in set(media_store.list_media(datetime.now(UTC) - timedelta(hours=1)))
        media_store.delete(m.id)
        media_store.delete(m.id)
        assert media_store.get([m.id]) == {}

    def test_bad_uploads_write_nothing(self, media_store: Any) -> None:
        before = set(media_store.list_media(datetime.now(UTC) + timedelta(minutes=1)))
        with pytest.raises(ValidationError):
            media_store.put(png_bytes(4), "image/jpeg", **self.limits)
        with pytest.raises(ValidationError):
            media_store.put(b"", None, **self.limits)
        with pytest.raises(ValidationError):
            media_store.put(b"just some text", None, **self.limits)
        with pytest.raises(ValidationError):
            media_store.put(png_bytes(5, width=4000), None, max_image_bytes=64, max_video_bytes=64)
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

        queue.start(handler, self.workers)
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
        queue.start(lambda jobs: release.wait(10), self.workers)
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


@attrs.frozen
class _Snapshot:
    feeds: tuple[tuple[int, ...], ...]
    counts: tuple[tuple[int, int], ...]
    timelines: tuple[tuple[int, ...], ...]


def _snapshot(sf: SocialFeed, users: range) -> _Snapshot:
    sf.drain(timeout=60)
    return _Snapshot(
        tuple(tuple(page_all(sf, u, lambda: 200)) for u in users),
        tuple((sf.follower_count(u), sf.following_count(u)) for u in users),
        tuple(tuple(t.id for t in sf.user_timeline(u, limit=200).items) for u in users),
    )


class FeedContract:
    """The whole API end to end (fixture ``make_feed(strategy, settings)``)."""

    strategies = ("push", "pull", "hybrid")
    oracle_examples = 25
    tiny = Settings(max_feed_length=5, celebrity_threshold=3, fanout_batch_size=2)

    @pytest.fixture(params=["push", "pull", "hybrid"])
    def strategy(self, request: pytest.FixtureRequest) -> str:
        if request.param not in self.strategies:
            pytest.skip(f"{request.param} is not run for this backend")
        return str(request.param)

    @pytest.fixture
    def sf(self, make_feed: Callable[[str, Settings], SocialFeed], strategy: str) -> Any:
        feed = make_feed(strategy, self.tiny)
        yield feed
        feed.close()

    def test_home_feed_basics(self, sf: SocialFeed) -> None:
        sf.follow(1, 2)
        t1 = sf.create_tweet(2, "first")
        t2 = sf.create_tweet(1, "mine")
        t3 = sf.create_tweet(3, "stranger")
        sf.drain(timeout=30)
        assert [t.id for t in sf.get_feed(1).items] == [t2.id, t1.id]
        assert sf.get_tweet(t3.id) == t3
        assert t1.created_at.tzinfo is not None and t1.id < t2.id < t3.id

    def test_paging_deep_past_the_cache(self, sf: SocialFeed) -> None:
        sf.follow(1, 2)
        ids = [sf.create_tweet(1 + i % 2, f"t{i}").id for i in range(23)]
        sf.drain(timeout=30)
        pages = []
        cursor = None
        while True:
            page = sf.get_feed(1, limit=4, cursor=cursor)
            pages.append([t.id for t in page.items])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert [i for p in pages for i in p] == ids[::-1]
        assert all(len(p) == 4 for p in pages[:-1])

    def test_new_tweets_do_not_shift_pages(self, sf: SocialFeed) -> None:
        old = [sf.create_tweet(1, f"t{i}").id for i in range(6)]
        page1 = sf.get_feed(1, limit=3)
        sf.create_tweet(1, "newer")
        sf.drain(timeout=30)
        assert page1.next_cursor is not None
        page2 = sf.get_feed(1, limit=3, cursor=page1.next_cursor)
        assert [t.id for t in page1.items + page2.items] == old[::-1]

    def test_backfill_and_unfollow(self, sf: SocialFeed) -> None:
        earlier = [sf.create_tweet(2, f"t{i}").id for i in range(3)]
        sf.get_feed(1)
        sf.follow(1, 2)
        sf.drain(timeout=30)
        assert [t.id for t in sf.get_feed(1).items] == earlier[::-1]
        sf.unfollow(1, 2)
        sf.drain(timeout=30)
        assert sf.get_feed(1).items == ()

    def test_celebrities_are_merged(self, sf: SocialFeed) -> None:
        for f in range(10, 14):
            sf.follow(f, 1)
        sf.follow(20, 21)
        for f in range(10, 14):
            sf.get_feed(f)
        tweets = [sf.create_tweet(1, f"celeb {i}").id for i in range(8)]
        sf.drain(timeout=30)
        for f in range(10, 14):
            assert page_all(sf, f, lambda: 3) == tweets[::-1]
        sf.unfollow(13, 1)
        sf.unfollow(12, 1)  # 1 falls below the threshold: demoted
        sf.drain(timeout=30)
        assert page_all(sf, 10, lambda: 2) == tweets[::-1]

    def test_deleted_tweets_vanish_at_once(self, sf: SocialFeed) -> None:
        sf.follow(1, 2)
        keep = sf.create_tweet(2, "keep")
        gone = sf.create_tweet(2, "gone")
        sf.drain(timeout=30)
        assert [t.id for t in sf.get_feed(1).items] == [gone.id, keep.id]
        sf.delete_tweet(gone.id, user_id=2)
        assert [t.id for t in sf.get_feed(1).items] == [keep.id]
        with pytest.raises(NotFound):
            sf.get_tweet(gone.id)
        with pytest.raises(NotFound):
            sf.delete_tweet(gone.id, user_id=2)

    def test_follower_lists(self, sf: SocialFeed) -> None:
        for f in range(2, 9):
            sf.follow(f, 1)
        sf.follow(1, 2)
        sf.follow(1, 2)
        page = sf.followers(1, limit=3)
        rest = sf.followers(1, limit=10, cursor=page.next_cursor)
        assert (page.ids, rest.ids, rest.next_cursor) == ((2, 3, 4), (5, 6, 7, 8), None)
        assert sf.following(1).ids == (2,)
        assert (sf.follower_count(1), sf.following_count(1), sf.follower_count(2)) == (7, 1, 1)
        sf.unfollow(1, 2)
        sf.unfollow(1, 2)
        assert (sf.following_count(1), sf.follower_count(2)) == (0, 0)

    def test_user_timeline(self, sf: SocialFeed) -> None:
        sf.follow(1, 2)
        mine = [sf.create_tweet(1, f"t{i}").id for i in range(5)]
        sf.create_tweet(2, "not mine")
        page = sf.user_timeline(1, limit=3)
        rest = sf.user_timeline(1, limit=3, cursor=page.next_cursor)
        assert [t.id for t in page.items + rest.items] == mine[::-1]
        assert rest.next_cursor is None

    @pytest.mark.parametrize(
        ("call", "error"),
        [
            (lambda sf: sf.create_tweet(0, "x"), ValidationError),
            (lambda sf: sf.create_tweet(2**63, "x"), ValidationError),
            (lambda sf: sf.create_tweet(True, "x"), ValidationError),
            (lambda sf: sf.create_tweet(1, "x" * 281), ValidationError),
            (lambda sf: sf.create_tweet(1, "   "), ValidationError),
            (lambda sf: sf.create_tweet(1, "a\x00b"), ValidationError),
            (lambda sf: sf.create_tweet(1, "\ud800"), ValidationError),
            (lambda sf: sf.create_tweet(1, b"bytes"), ValidationError),
            (lambda sf: sf.create_tweet(1, "x", media=["nope"]), ValidationError),
            (lambda sf: sf.create_tweet(1, "x", media="abc"), ValidationError),
            (lambda sf: sf.create_tweet(1, "x", media=["a"] * 5), ValidationError),
            (lambda sf: sf.follow(1, 1), ValidationError),
            (lambda sf: sf.follow(1, -5), ValidationError),
            (lambda sf: sf.unfollow("1", 2), ValidationError),
            (lambda sf: sf.get_feed(1, limit=0), ValidationError),
            (lambda sf: sf.get_feed(1, limit=201), ValidationError),
            (lambda sf: sf.get_feed(1, cursor="garbage"), ValidationError),
            (lambda sf: sf.followers(1, limit=0), ValidationError),
            (lambda sf: sf.get_tweet(12345), NotFound),
            (lambda sf: sf.delete_tweet(12345, user_id=1), NotFound),
            (lambda sf: sf.upload_media(b"not an image"), ValidationError),
            (lambda sf: sf.upload_media(png_bytes(1), "video/mp4"), ValidationError),
        ],
    )
    def test_bad_input_writes_nothing(
        self, sf: SocialFeed, call: Callable[[SocialFeed], Any], error: type[Exception]
    ) -> None:
        sf.follow(1, 2)
        sf.create_tweet(2, "before")
        before = _snapshot(sf, range(1, 4))
        with pytest.raises(error) as info:
            call(sf)
        if isinstance(info.value, ValidationError):
            assert info.value.field and str(info.value).startswith(info.value.field)
        assert _snapshot(sf, range(1, 4)) == before

    def test_only_the_author_may_delete(self, sf: SocialFeed) -> None:
        t = sf.create_tweet(1, "mine")
        with pytest.raises(PermissionDenied):
            sf.delete_tweet(t.id, user_id=2)
        assert sf.get_tweet(t.id) == t

    def test_tampered_cursors_are_rejected(self, sf: SocialFeed) -> None:
        for i in range(4):
            sf.create_tweet(1, f"t{i}")
        cursor = sf.get_feed(1, limit=2).next_cursor
        assert cursor is not None
        flipped = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
        for bad in (flipped, cursor + "x", cursor[1:], "", "!!!!", "é" * 10):
            with pytest.raises(ValidationError):
                sf.get_feed(1, cursor=bad)
        users_cursor = sf.followers(1, limit=1).next_cursor
        assert users_cursor is None
        with pytest.raises(ValidationError):  # a feed cursor is not a followers cursor
            sf.followers(1, cursor=cursor)

    def test_media_come_back_in_order(self, sf: SocialFeed) -> None:
        a, b = sf.upload_media(png_bytes(7)), sf.upload_media(png_bytes(8))
        sf.follow(1, 2)
        t = sf.create_tweet(2, "pics", media=[b, a.id])
        sf.drain(timeout=30)
        assert t.media == (b, a)
        assert sf.get_tweet(t.id).media == (b, a)
        assert sf.get_feed(1).items[0].media == (b, a)
        assert sf.user_timeline(2).items[0].media == (b, a)

    def test_inactive_users_are_rebuilt_on_read(
        self, make_feed: Callable[[str, Settings], SocialFeed], strategy: str
    ) -> None:
        sf = make_feed(strategy, attrs.evolve(self.tiny, active_window=timedelta(0)))
        try:
            sf.follow(1, 2)
            ids = [sf.create_tweet(2, f"t{i}").id for i in range(7)]
            sf.drain(timeout=30)
            assert page_all(sf, 1, lambda: 3) == ids[::-1]
        finally:
            sf.close()

    def test_oracle(self, make_feed: Callable[[str, Settings], SocialFeed], strategy: str) -> None:
        examples = self.oracle_examples

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            history=histories(),
            seed=st.integers(0, 2**32),
            window=st.sampled_from([timedelta(days=30), timedelta(0)]),
        )
        def run(history: list[tuple[str, int, int]], seed: int, window: timedelta) -> None:
            sf = make_feed(strategy, attrs.evolve(self.tiny, active_window=window))
            try:
                check_history(sf, history, random.Random(seed))
            finally:
                sf.close()

        run()
