"""The deployment-safety part of :class:`~socialfeed.testing.StoreContract`: duplicate ids, the
outbox of events, idempotency keys, tombstones, the settings record and media claims.

Each test runs through :mod:`socialfeed.abilities`, so a store without an ability is held to what
its default promises; the tests of what only a durable store can do skip for the others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialfeed.abilities import complete_graph, complete_store
from socialfeed.errors import DuplicateId, ValidationError
from socialfeed.interfaces import (
    DurableTweetSupport,
    Event,
    MediaClaimSupport,
    SettingsRecordSupport,
    supports,
)
from socialfeed.models import Media, Tweet

__all__ = ["DeploymentStoreTests"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PHOTO = Media("a" * 64, "image/png", 10)
CLIP = Media("b" * 64, "video/mp4", 20)


def _tweet(tweet_id: int, author: int, text: str = "hi", media: tuple[Media, ...] = ()) -> Tweet:
    return Tweet(tweet_id, author, text, T0 + timedelta(milliseconds=tweet_id % 10_000), media)


def _needs(store: Any, ability: type) -> None:
    if not supports(store, ability):
        pytest.skip(f"the store has no {ability.__name__}")


class DeploymentStoreTests:
    """Mixed into StoreContract (fixture ``store``, empty)."""

    def test_a_different_tweet_under_a_held_id_is_refused(self, store: Any) -> None:
        mine = _tweet(7, 1, "mine")
        store.put_tweet(mine)
        store.put_tweet(mine)  # the same tweet again: a no-op
        with pytest.raises(DuplicateId):
            store.put_tweet(_tweet(7, 2, "theirs"))
        with pytest.raises(DuplicateId):
            store.put_tweet(_tweet(7, 1, "edited"))
        assert store.get_tweets([7]) == {7: mine}
        assert store.author_tweet_ids(2, None, 5) == []

    def test_writes_record_their_events(self, store: Any) -> None:
        s, g = complete_store(store, store), complete_graph(store)
        assert s.write_tweet(_tweet(10, 1), 100, None) == _tweet(10, 1)
        assert s.write_tweet(_tweet(10, 1), 101, None) == _tweet(10, 1)  # nothing new stored
        assert g.write_follow(2, 1, 102) == 1
        assert g.write_follow(2, 1, 103) is None
        assert g.write_follow(3, 1, 0) == 2  # event 0: none recorded
        assert g.write_unfollow(2, 1, 104) == 1
        assert s.write_delete(10, 105) == _tweet(10, 1)
        assert s.write_delete(10, 106) is None
        events = [*s.pending_events(50), *g.pending_events(50)]
        assert sorted(set(events), key=lambda e: e.id) == [
            Event(100, "tweet", 1, 10),
            Event(102, "follow", 2, 1, 1),
            Event(104, "unfollow", 2, 1, 1),
            Event(105, "delete", 1, 10),
        ]

    def test_events_are_claimed_and_done(self, store: Any) -> None:
        s = complete_store(store, store)
        for n in range(1, 6):
            s.write_tweet(_tweet(n, 1), 100 + n, None)
        assert [e.id for e in s.claim_events(104, 2, 60)] == [101, 102]
        assert [e.id for e in s.claim_events(104, 10, 60)] == [103]  # the others are claimed
        assert s.claim_events(104, 10, 60) == []
        assert [e.id for e in s.pending_events(10)] == [101, 102, 103, 104, 105]
        s.events_done([101, 103, 999])
        s.events_done([101])
        assert [e.id for e in s.pending_events(10)] == [102, 104, 105]
        assert [e.id for e in s.claim_events(2**63 - 1, 10, 0.0)] == [104, 105]
        assert [e.id for e in s.claim_events(2**63 - 1, 10, 60)] == [104, 105]  # claim ran out

    def test_idempotency_keys(self, store: Any) -> None:
        s = complete_store(store, store)
        first = _tweet(20, 1, "once")
        assert s.write_tweet(first, 120, "key-1") == first
        assert s.write_tweet(_tweet(21, 1, "once"), 121, "key-1") == first
        assert store.get_tweets([21]) == {}
        assert s.write_tweet(_tweet(22, 2, "other author"), 122, "key-1").id == 22
        assert s.write_tweet(_tweet(23, 1, "other key"), 123, "key-2").id == 23
        assert [e.id for e in s.pending_events(10)] == [120, 122, 123]

    def test_deleted_tweets_keep_their_author(self, store: Any) -> None:
        _needs(store, DurableTweetSupport)
        store.write_tweet(_tweet(30, 4), 0, None)
        store.write_delete(30, 0)
        assert store.deleted_authors([30, 31]) == {30: 4}
        assert store.get_tweets([30]) == {}

    def test_settings_are_recorded_once(self, store: Any) -> None:
        _needs(store, SettingsRecordSupport)
        assert store.record_settings({"a": "1"}) == {"a": "1"}
        assert store.record_settings({"a": "2", "b": "3"}) == {"a": "1", "b": "3"}
        assert store.record_settings({}) == {"a": "1", "b": "3"}

    def test_media_claims(self, store: Any) -> None:
        s, claims_are_locked = complete_store(store, store), supports(store, MediaClaimSupport)
        store.put_tweet(_tweet(40, 1, media=(PHOTO,)))
        assert s.claim_unused_media([PHOTO.id, CLIP.id, CLIP.id], 60) == [CLIP.id]
        if claims_are_locked:
            with pytest.raises(ValidationError):  # a claimed media can't be attached
                store.put_tweet(_tweet(41, 1, media=(CLIP,)))
            assert store.get_tweets([41]) == {}
        s.release_media_claims([CLIP.id])
        store.put_tweet(_tweet(41, 1, media=(CLIP,)))
        assert s.claim_unused_media([CLIP.id, PHOTO.id], 60) == []

    def test_the_primary_view_sees_every_write(self, store: Any) -> None:
        s = complete_store(store, store)
        primary = s.on_primary()
        store.put_tweet(_tweet(50, 1))
        store.add_follow(2, 1)
        assert primary.get_tweets([50]) == {50: _tweet(50, 1)}
        assert primary.followers_among(1, [2, 3]) == {2}
        assert s.on_primary() is primary  # one view, so store and graph stay one object
