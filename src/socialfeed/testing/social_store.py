# ruff: noqa: D102  (test methods: their names say it, as in contract.py)
"""The social part of :class:`~socialfeed.testing.StoreContract`: the rows of
:class:`~socialfeed.interfaces.SocialStore` (blocks, mutes, muted words, the repost and reply
indexes, erasures) and the new tweet fields.

Each test runs through :func:`socialfeed.abilities.complete_store`, so a store without the
ability is held to what its default promises; the tests of what only the store itself can keep
(the new fields of its rows, its tombstones) skip for the others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

import pytest

from socialfeed.abilities import complete_graph, complete_store
from socialfeed.interfaces import Event, SocialStore, reference, supports
from socialfeed.models import Media, Tweet
from socialfeed.testing.paging import repeat

__all__ = ["SocialStoreTests"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PHOTO = Media("c" * 64, "image/png", 10)
SHARED = Media("d" * 64, "image/png", 11)


def _tweet(tweet_id: int, author: int, text: str = "hi", **fields: Any) -> Tweet:
    at = T0 + timedelta(milliseconds=tweet_id % 10_000)
    return Tweet(tweet_id, author, text, at, **fields)


def _repost(tweet_id: int, author: int, original: int) -> Tweet:
    return _tweet(tweet_id, author, "", repost_of=reference(original))


def _reply(tweet_id: int, author: int, parent: int, parent_author: int) -> Tweet:
    return _tweet(tweet_id, author, "re", reply_to=parent, reply_to_author_id=parent_author)


def _own(store: Any) -> None:
    if not supports(store, SocialStore):
        pytest.skip("the store has no SocialStore of its own")


class SocialStoreTests:
    """Mixed into StoreContract (fixture ``store``, empty: a TweetStore and FollowGraph)."""

    def test_new_tweet_fields_round_trip(self, store: Any) -> None:
        _own(store)
        tweets = [
            _tweet(10, 1, "original", media=(PHOTO,)),
            _repost(11, 2, 10),
            _reply(12, 3, 10, 1),
            _reply(13, 1, 12, 3),
        ]
        for t in tweets:
            store.put_tweet(t)
        assert store.get_tweets([10, 11, 12, 13]) == {t.id: t for t in tweets}
        assert store.get_tweets([11])[11].repost_of == reference(10)
        store.put_tweet(tweets[1])  # the same repost again: a no-op
        assert store.mark_deleted(11) == tweets[1]  # deleting a repost
        assert store.get_tweets([10, 11]) == {10: tweets[0]}

    def test_relations_both_kinds_and_directions(self, store: Any) -> None:
        s = complete_store(store, store)
        assert s.set_relation("block", 1, 3, True) is True
        assert s.set_relation("block", 1, 3, True) is False
        assert s.set_relation("block", 1, 2, True) is True
        assert s.set_relation("block", 5, 1, True) is True
        assert s.set_relation("mute", 1, 4, True) is True
        assert s.set_relation("mute", 1, 3, True) is True
        assert s.relations("block", 1, None, 10) == [2, 3]
        assert s.relations("block", 1, 2, 10) == [3]
        assert s.relations("block", 1, None, 1) == [2]
        assert s.relations("mute", 1, None, 10) == [3, 4]
        assert s.relations("block", 5, None, 10) == [1]
        assert s.relations("block", 3, None, 10) == []  # a block is stored one way
        assert s.set_relation("mute", 1, 4, False) is True
        assert s.set_relation("mute", 1, 4, False) is False
        assert s.relations("mute", 1, None, 10) == [3]

    def test_relations_among(self, store: Any) -> None:
        s = complete_store(store, store)
        s.set_relation("block", 1, 2, True)
        s.set_relation("block", 3, 1, True)
        s.set_relation("mute", 1, 4, True)
        s.set_relation("mute", 5, 1, True)  # 5 mutes 1: nothing 1 sees
        s.set_relation("block", 2, 1, True)  # both ways
        assert s.relations_among(1, [2, 3, 4, 5, 6]) == {
            ("block", 2),
            ("blocked_by", 2),
            ("blocked_by", 3),
            ("mute", 4),
        }
        assert s.relations_among(1, [6]) == set()
        assert s.relations_among(1, []) == set()
        assert s.relations_among(4, [1]) == set()
        assert s.relations_among(2, [1]) == {("block", 1), ("blocked_by", 1)}

    def test_muted_words_replace_delete_sorted(self, store: Any) -> None:
        s = complete_store(store, store)
        s.put_muted_word(1, "zebra", True, None)
        s.put_muted_word(1, "apple pie", False, 1_900_000_000_000)
        s.put_muted_word(1, "émoji 👩", True, 5)
        s.put_muted_word(2, "apple pie", True, None)
        s.put_muted_word(1, "zebra", False, 7)  # replaces
        assert s.muted_word_rows(1) == sorted(
            [("apple pie", False, 1_900_000_000_000), ("zebra", False, 7), ("émoji 👩", True, 5)]
        )
        s.delete_muted_word(1, "zebra")
        s.delete_muted_word(1, "zebra")  # idempotent
        s.delete_muted_word(3, "nothing")
        assert s.muted_word_rows(1) == [
            ("apple pie", False, 1_900_000_000_000),
            ("émoji 👩", True, 5),
        ]
        assert s.muted_word_rows(2) == [("apple pie", True, None)]
        assert s.muted_word_rows(3) == []

    def test_reposts_by_only_live(self, store: Any) -> None:
        s = complete_store(store, store)
        for t in [_tweet(10, 1), _tweet(20, 1), _repost(11, 2, 10), _repost(12, 3, 10)]:
            s.write_tweet(t, 0, None)
        s.write_tweet(_repost(21, 2, 20), 0, None)
        assert sorted(s.reposts_by([10, 20, 30], [2, 3, 4])) == [
            (11, 2, 10),
            (12, 3, 10),
            (21, 2, 20),
        ]
        assert s.reposts_by([10], [3]) == [(12, 3, 10)]
        assert s.reposts_by([10], []) == [] and s.reposts_by([], [2]) == []
        assert s.write_delete(11, 0) is not None
        assert sorted(s.reposts_by([10, 20], [2, 3])) == [(12, 3, 10), (21, 2, 20)]

    def test_reply_ids_oldest_first_and_only_live(self, store: Any) -> None:
        s = complete_store(store, store)
        s.write_tweet(_tweet(10, 1), 0, None)
        for i, author in [(14, 2), (11, 3), (13, 1), (12, 4)]:
            s.write_tweet(_reply(i, author, 10, 1), 0, None)
        s.write_tweet(_reply(15, 2, 11, 3), 0, None)  # a reply to a reply: not direct
        assert s.reply_ids(10, None, 10) == [11, 12, 13, 14]
        assert s.reply_ids(10, 11, 2) == [12, 13]
        assert s.reply_ids(10, 14, 10) == []
        assert s.reply_ids(11, None, 10) == [15]
        assert s.write_delete(12, 0) is not None
        assert s.reply_ids(10, None, 10) == [11, 13, 14]
        assert s.reply_ids(99, None, 10) == []

    def test_begin_erasure_keeps_the_higher_watermark(self, store: Any) -> None:
        s = complete_store(store, store)
        assert s.erasures() == {}
        s.begin_erasure(1, 500, 9001)
        s.begin_erasure(1, 400, 0)
        s.begin_erasure(2, 300, 9002)
        assert s.erasures() == {1: 500, 2: 300}
        s.begin_erasure(1, 600, 0)
        assert s.erasures() == {1: 600, 2: 300}
        events = [e for e in s.pending_events(50) if e.kind == "erase"]
        assert sorted(events, key=lambda e: e.id) == [
            Event(9001, "erase", 1, 500),
            Event(9002, "erase", 2, 300),
        ]

    def test_drop_steps_do_nothing_without_an_erasure(self, store: Any) -> None:
        s, g = complete_store(store, store), complete_graph(store)
        g.add_follow(1, 2)
        g.add_follow(3, 1)
        s.write_tweet(_tweet(10, 1), 0, None)
        s.set_relation("block", 1, 4, True)
        s.put_muted_word(1, "x", True, None)
        assert s.drop_edges(1, 10) == []
        assert s.drop_relations(1, 10) == 0
        s.drop_tweets(1, [10])
        s.end_erasure(1, 1000)
        assert g.followers(1, None, 10) == [3] and g.following(1, None, 10) == [2]
        assert s.get_tweets([10]) == {10: _tweet(10, 1)}
        assert s.relations("block", 1, None, 10) == [4]
        assert s.muted_word_rows(1) == [("x", True, None)]
        s.begin_erasure(2, 100, 0)  # someone else's erasure does not count
        assert s.drop_edges(1, 10) == [] and s.drop_relations(1, 10) == 0

    def test_drop_edges_both_directions_with_exact_counts(self, store: Any) -> None:
        s, g = complete_store(store, store), complete_graph(store)
        for f in (2, 3, 4):
            g.add_follow(f, 1)  # followers of 1
        for e in (5, 6):
            g.add_follow(1, e)  # followees of 1
        g.add_follow(7, 5)
        g.add_follow(2, 6)
        s.begin_erasure(1, 1000, 0)
        batches = repeat(
            lambda: s.drop_edges(1, 2), until=lambda b: not b, most=5, what="drop_edges"
        )
        assert all(len(batch) <= 2 for batch in batches), batches
        dropped = [edge for batch in batches for edge in batch]
        assert sorted((f, e) for f, e, _ in dropped) == [(1, 5), (1, 6), (2, 1), (3, 1), (4, 1)]
        assert {(f, e, n) for f, e, n in dropped if e != 1} == {(1, 5, 1), (1, 6, 1)}
        assert sorted(n for _, e, n in dropped if e == 1) == [0, 1, 2]  # as if one by one
        assert g.followers(1, None, 10) == [] and g.following(1, None, 10) == []
        assert (g.follower_count(1), g.following_count(1)) == (0, 0)
        assert (g.follower_count(5), g.follower_count(6)) == (1, 1)
        assert [g.following_count(u) for u in (2, 3, 4, 7)] == [1, 0, 0, 1]
        assert g.followers(6, None, 10) == [2] and g.followers(5, None, 10) == [7]
        assert s.drop_edges(1, 10) == []

    def test_drop_relations_both_sides_and_muted_words(self, store: Any) -> None:
        s = complete_store(store, store)
        s.set_relation("block", 1, 2, True)
        s.set_relation("mute", 1, 3, True)
        s.set_relation("block", 4, 1, True)
        s.set_relation("mute", 5, 1, True)
        s.set_relation("block", 4, 2, True)  # not 1's
        for word in ("a", "b", "c"):
            s.put_muted_word(1, word, True, None)
        s.put_muted_word(2, "a", True, None)
        s.begin_erasure(1, 1000, 0)
        counts = repeat(
            lambda: s.drop_relations(1, 2), until=lambda n: not n, most=7, what="drop_relations"
        )
        assert sum(counts) == 7, counts
        assert all(n <= 2 or t == 7 for n, t in zip(counts, accumulate(counts), strict=True))
        assert s.relations("block", 1, None, 10) == [] and s.relations("mute", 1, None, 10) == []
        assert s.relations("block", 4, None, 10) == [2]
        assert s.relations("mute", 5, None, 10) == []
        assert s.relations_among(1, [2, 3, 4, 5]) == set()
        assert s.muted_word_rows(1) == [] and s.muted_word_rows(2) == [("a", True, None)]

    def test_drop_tweets_and_end_erasure(self, store: Any) -> None:
        s = complete_store(store, store)
        mine = [_tweet(10, 1, media=(PHOTO, SHARED)), _repost(11, 1, 30), _tweet(12, 1)]
        for t in mine:
            s.write_tweet(t, 0, None)
        s.write_tweet(_tweet(13, 1), 0, "key-13")
        s.write_tweet(_tweet(30, 2, media=(SHARED,)), 0, None)
        s.write_tweet(_tweet(2000, 1), 0, None)  # after the watermark: kept
        s.write_delete(12, 0)  # a tombstone below the watermark
        s.begin_erasure(1, 1000, 0)
        s.drop_tweets(1, [10, 11, 13, 30, 2000, 999])  # 30 is not 1's, 2000 is above
        assert s.get_tweets([10, 11, 13, 30, 2000]) == {
            30: _tweet(30, 2, media=(SHARED,)),
            2000: _tweet(2000, 1),
        }
        assert s.media_in_use([PHOTO.id, SHARED.id]) == {SHARED.id}
        assert s.reposts_by([30], [1]) == []
        assert s.author_tweet_ids(1, None, 10) == [2000]
        s.end_erasure(1, 999)  # not this erasure's watermark: a stale job ends nothing
        assert s.erasures() == {1: 1000}
        s.end_erasure(1, 1000)
        assert s.erasures() == {}
        s.drop_tweets(1, [2000])  # the erasure is over
        assert s.get_tweets([2000]) == {2000: _tweet(2000, 1)}
        if supports(store, SocialStore):
            assert s.deleted_authors([12]) == {}  # the tombstones below the watermark went
            assert s.write_tweet(_tweet(14, 1), 0, "key-13") == _tweet(14, 1)  # the key went
