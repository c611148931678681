"""The end-to-end suite :class:`FeedContract`: the whole API on a backend combination, with the
oracle property test of :mod:`socialfeed.testing.oracle`."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.feed import SocialFeed
from socialfeed.interfaces import DurableTweetSupport, supports
from socialfeed.settings import Settings
from socialfeed.testing import paging
from socialfeed.testing.data import png_bytes
from socialfeed.testing.live_contract import LiveFeedContract
from socialfeed.testing.oracle import check_history, histories, page_all
from socialfeed.testing.social_contract import SocialFeedContract

__all__ = ["FeedContract"]


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


class FeedContract(SocialFeedContract, LiveFeedContract):
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
        listing = paging.pages(
            lambda n, c: sf.get_feed(1, limit=n, cursor=c), lambda: 4, what="feed of 1", most=23
        )
        assert paging.flat(listing) == ids[::-1]
        assert all(len(p) == 4 for _, p, _ in listing[:-1])

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
        if supports(sf.store, DurableTweetSupport):
            with pytest.raises(PermissionDenied):
                sf.delete_tweet(gone.id, user_id=1)
            sf.delete_tweet(gone.id, user_id=2)  # a retry finishes the cache work and returns
        else:  # no tombstones: the store cannot tell a retry from a stranger's id
            with pytest.raises(NotFound):
                sf.delete_tweet(gone.id, user_id=2)
        assert [t.id for t in sf.get_feed(1).items] == [keep.id]

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
