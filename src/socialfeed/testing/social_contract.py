"""The social end-to-end suite ([0.2-S]): :class:`SocialFeedContract`, a mixin of pytest tests
that :class:`~socialfeed.testing.end_to_end.FeedContract` inherits. It uses the same fixtures:
``sf`` (a :class:`~socialfeed.SocialFeed` with the suite's ``tiny`` settings),
``make_feed(strategy, settings)`` and ``strategy``.

It holds the property test of :mod:`socialfeed.testing.social_oracle` (random social histories
against :class:`~socialfeed.testing.social_model.SocialModel`) and focused examples of each rule:
reposts, replies, blocks, mutes, muted words, full pages under heavy filtering, what must be
hidden at once, ``delete_user``, and bad input that writes nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.feed import SocialFeed
from socialfeed.models import FeedPage, MutedWord
from socialfeed.settings import Settings
from socialfeed.testing import paging
from socialfeed.testing.social_oracle import Step, check_social_history, social_histories

__all__ = ["ORACLE_SETTINGS", "SocialFeedContract"]

ORACLE_SETTINGS = Settings(
    max_feed_length=5,
    celebrity_threshold=3,
    fanout_batch_size=2,
    max_muted_words=4,
    max_muted_phrase_length=12,
)
"""The settings of every feed the social oracle drives: tiny, so caches overflow, celebrities
appear and the muted-word limits are reached."""

MakeFeed = Callable[[str, Settings], SocialFeed]


def _ids(page: FeedPage) -> list[int]:
    return [t.id for t in page.items]


def _feed(sf: SocialFeed, user: int) -> list[int]:
    """The first page (200 items) of a home feed: what a user sees right now."""
    return _ids(sf.get_feed(user, limit=200))


def _pages(fetch: Callable[[int, str | None], FeedPage], limit: int) -> list[list[int]]:
    """Every page of a listing, following ``next_cursor`` (bounded by :func:`pages`)."""
    return [ids for _, ids, _ in paging.pages(fetch, lambda: limit, what="the listing", most=200)]


def _assert_full_pages(pages: list[list[int]], limit: int, expected: list[int]) -> None:
    """The pages are ``expected`` in order, each full but the last, which ends exactly."""
    assert [i for p in pages for i in p] == expected
    assert all(len(p) == limit for p in pages[:-1]), [len(p) for p in pages]
    assert 0 < len(pages[-1]) <= limit or expected == []


@attrs.frozen
class _SocialSnapshot:
    feeds: tuple[tuple[int, ...], ...]
    relations: tuple[tuple[tuple[int, ...], ...], ...]
    words: tuple[tuple[MutedWord, ...], ...]


def _social_snapshot(sf: SocialFeed, users: range) -> _SocialSnapshot:
    sf.drain(timeout=60)
    return _SocialSnapshot(
        tuple(tuple(_feed(sf, u)) for u in users),
        tuple(
            (
                sf.followers(u).ids,
                sf.following(u).ids,
                sf.blocks(u).ids,
                sf.mutes(u).ids,
            )
            for u in users
        ),
        tuple(sf.muted_words(u) for u in users),
    )


class SocialFeedContract:
    """The social semantics end to end (fixtures ``sf``, ``make_feed``, ``strategy``)."""

    oracle_examples = 25
    tiny = Settings(max_feed_length=5, celebrity_threshold=3, fanout_batch_size=2)

    # ------------------------------------------------------------------ the oracle
    def test_social_oracle(self, make_feed: MakeFeed, strategy: str) -> None:
        """Random social histories replay on the library exactly as on the model."""
        examples = self.oracle_examples

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(history=social_histories(), seed=st.integers(0, 2**32))
        def run(history: list[Step], seed: int) -> None:
            sf = make_feed(strategy, ORACLE_SETTINGS)
            try:
                check_social_history(sf, history, random.Random(seed))
            finally:
                sf.close()

        run()

    # ------------------------------------------------------------------ reposts
    def test_reposts(self, sf: SocialFeed) -> None:
        """A repost hydrates its original; a repost of a repost reposts the original; reposting
        twice returns the live repost; reposting your own tweet is allowed."""
        t = sf.create_tweet(2, "original")
        r = sf.repost(3, t.id)
        assert (r.author_id, r.text, r.repost_of) == (3, "", t)
        rr = sf.repost(4, r.id)
        assert rr.repost_of is not None and rr.repost_of.id == t.id
        assert sf.repost(3, t.id).id == r.id
        assert sf.repost(3, r.id).id == r.id
        own = sf.repost(2, t.id)
        assert own.repost_of is not None and own.repost_of.id == t.id
        got = sf.get_tweet(r.id)
        assert got.repost_of is not None and got.repost_of.id == t.id
        sf.follow(1, 3)
        sf.drain(timeout=30)
        page = sf.get_feed(1).items
        assert [i.id for i in page] == [r.id] and page[0].repost_of == t

    def test_deleting_a_repost_unreposts(self, sf: SocialFeed) -> None:
        """Deleting a repost un-reposts (only the reposter may); a later repost is a new item."""
        sf.follow(1, 3)
        t = sf.create_tweet(2, "original")
        r = sf.repost(3, t.id)
        with pytest.raises(PermissionDenied):
            sf.delete_tweet(r.id, user_id=2)  # a repost's author is the reposter
        sf.delete_tweet(r.id, user_id=3)
        assert _feed(sf, 1) == []
        with pytest.raises(NotFound):
            sf.get_tweet(r.id)
        assert sf.get_tweet(t.id) == t
        again = sf.repost(3, t.id)
        assert again.id != r.id
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [again.id]

    def test_deleting_an_original_hides_its_reposts_at_once(self, sf: SocialFeed) -> None:
        """Once the original is deleted, none of its reposts shows, before any drain."""
        for reader, reposter in ((1, 3), (5, 4)):
            sf.follow(reader, reposter)
        keep = sf.create_tweet(3, "keep")
        t = sf.create_tweet(2, "doomed")
        r3, r4 = sf.repost(3, t.id), sf.repost(4, t.id)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [r3.id, keep.id] and _feed(sf, 5) == [r4.id]
        sf.delete_tweet(t.id, user_id=2)
        assert _feed(sf, 1) == [keep.id] and _feed(sf, 5) == []
        for gone in (t, r3, r4):
            with pytest.raises(NotFound):
                sf.get_tweet(gone.id)
        with pytest.raises(NotFound):
            sf.repost(6, r3.id)
        assert _ids(sf.user_timeline(3, limit=10)) == [keep.id]

    def test_a_later_repost_never_moves_a_tweet_up(self, sf: SocialFeed) -> None:
        """One item per original, the earliest: a repost does not bring a tweet back up."""
        for f in (2, 3, 4):
            sf.follow(1, f)
        sf.follow(6, 3)
        sf.follow(6, 4)  # 6 does not follow the original's author
        t = sf.create_tweet(2, "old")
        r3 = sf.repost(3, t.id)
        s = sf.create_tweet(4, "newer")
        sf.repost(4, t.id)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [s.id, t.id]  # the original itself is the earliest
        assert _feed(sf, 6) == [s.id, r3.id]  # the earliest repost, not the latest
        pages = _pages(lambda n, c: sf.get_feed(6, limit=n, cursor=c), 1)
        _assert_full_pages(pages, 1, [s.id, r3.id])  # never the same tweet twice

    # ------------------------------------------------------------------ replies
    def test_replies(self, sf: SocialFeed) -> None:
        """A reply shows only to followers of both sides (self-threads show); ``replies`` is
        oldest first; a reply to a repost answers the original."""
        t = sf.create_tweet(2, "question")
        a = sf.create_tweet(3, "answer", reply_to=t.id)
        assert (a.reply_to, a.reply_to_author_id) == (t.id, 2)
        thread = sf.create_tweet(3, "and more", reply_to=a.id)
        r = sf.repost(4, t.id)
        b = sf.create_tweet(5, "via a repost", reply_to=r.id)
        assert (b.reply_to, b.reply_to_author_id) == (t.id, 2)
        mine = sf.create_tweet(2, "self", reply_to=t.id)
        sf.follow(1, 3)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [thread.id]  # 1 follows 3 but not 2
        sf.follow(1, 2)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [mine.id, thread.id, a.id, t.id]
        pages = _pages(lambda n, c: sf.replies(t.id, limit=n, cursor=c), 2)
        _assert_full_pages(pages, 2, [a.id, b.id, mine.id])
        assert _ids(sf.replies(r.id)) == [a.id, b.id, mine.id]
        assert _ids(sf.replies(a.id)) == [thread.id]
        sf.delete_tweet(b.id, user_id=5)
        assert _ids(sf.replies(t.id)) == [a.id, mine.id]
        with pytest.raises(NotFound):
            sf.create_tweet(5, "late", reply_to=b.id)
        with pytest.raises(NotFound):
            sf.replies(b.id)

    def test_replies_and_timelines_for_a_viewer(self, sf: SocialFeed) -> None:
        """With a viewer, replies and timelines apply rules 2, 4 and 5; a timeline across a
        block is PermissionDenied; without a viewer nothing is filtered."""
        t = sf.create_tweet(1, "question")
        a = sf.create_tweet(2, "about the dog", reply_to=t.id)
        b = sf.create_tweet(3, "plain", reply_to=t.id)
        sf.mute(5, 3)
        sf.mute_word(5, "dog")
        assert _ids(sf.replies(t.id, viewer_id=5)) == []
        assert _ids(sf.replies(t.id, viewer_id=4)) == [a.id, b.id] == _ids(sf.replies(t.id))
        assert _ids(sf.user_timeline(3, viewer_id=5)) == []
        assert _ids(sf.user_timeline(3)) == [b.id]
        sf.block(6, 2)
        with pytest.raises(PermissionDenied):
            sf.user_timeline(2, viewer_id=6)
        with pytest.raises(PermissionDenied):
            sf.user_timeline(6, viewer_id=2)
        assert _ids(sf.replies(t.id, viewer_id=6)) == [b.id]
        r = sf.repost(1, t.id)  # one item per original, for a viewer
        assert _ids(sf.user_timeline(1)) == [r.id, t.id]
        assert _ids(sf.user_timeline(1, viewer_id=4)) == [t.id]

    # ------------------------------------------------------------------ blocks and mutes
    def test_blocks(self, sf: SocialFeed) -> None:
        """A block hides both ways and removes the follows both ways; follows, replies and
        reposts across it are PermissionDenied; unblocking restores no follow."""
        sf.follow(1, 2)
        sf.follow(2, 1)
        t1 = sf.create_tweet(1, "by one")
        t2 = sf.create_tweet(2, "by two")
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [t2.id, t1.id] and _feed(sf, 2) == [t2.id, t1.id]
        sf.block(1, 2)
        sf.block(1, 2)
        assert _feed(sf, 1) == [t1.id] and _feed(sf, 2) == [t2.id]
        assert sf.following(1).ids == () and sf.followers(1).ids == ()
        assert sf.blocks(1).ids == (2,) and sf.blocks(2).ids == ()
        for call in (
            lambda: sf.follow(1, 2),
            lambda: sf.follow(2, 1),
            lambda: sf.create_tweet(2, "reply", reply_to=t1.id),
            lambda: sf.create_tweet(1, "reply", reply_to=t2.id),
            lambda: sf.repost(2, t1.id),
            lambda: sf.repost(1, t2.id),
        ):
            with pytest.raises(PermissionDenied):
                call()
        with pytest.raises(ValidationError):
            sf.block(1, 1)
        sf.unblock(1, 2)
        sf.unblock(1, 2)
        sf.drain(timeout=30)
        assert sf.following(1).ids == () and sf.blocks(1).ids == ()
        assert _feed(sf, 1) == [t1.id]
        sf.follow(1, 2)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [t2.id, t1.id]

    def test_blocks_hide_what_involves_the_blocked(self, sf: SocialFeed) -> None:
        """A repost of a blocked user's tweet and a reply to them are hidden too (rule 4)."""
        sf.follow(1, 3)
        sf.follow(1, 2)
        t = sf.create_tweet(2, "theirs")
        r = sf.repost(3, t.id)
        reply = sf.create_tweet(3, "answer", reply_to=t.id)
        own = sf.create_tweet(3, "plain")
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [own.id, reply.id, t.id]
        sf.block(2, 1)  # blocked by 2: the same hiding
        assert _feed(sf, 1) == [own.id]
        assert r.id not in _ids(sf.user_timeline(3, viewer_id=1))

    def test_mutes_keep_follows(self, sf: SocialFeed) -> None:
        """A mute hides the muted user's items from the muter only, and keeps the follows."""
        sf.follow(1, 2)
        sf.follow(2, 1)
        t = sf.create_tweet(2, "muted")
        sf.drain(timeout=30)
        sf.mute(1, 2)
        sf.mute(1, 2)
        assert _feed(sf, 1) == []
        assert sf.following(1).ids == (2,) and sf.following(2).ids == (1,)
        assert sf.mutes(1).ids == (2,) and sf.mutes(2).ids == ()
        mine = sf.create_tweet(1, "still seen by 2")
        sf.drain(timeout=30)
        assert _feed(sf, 2) == [mine.id, t.id]
        with pytest.raises(ValidationError):
            sf.mute(1, 1)
        sf.unmute(1, 2)
        sf.unmute(1, 2)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [mine.id, t.id] and sf.mutes(1).ids == ()

    def test_blocks_and_mutes_are_paged(self, sf: SocialFeed) -> None:
        """``blocks`` and ``mutes`` list ascending ids, paged."""
        for t in (9, 4, 7, 5):
            sf.block(1, t)
            sf.mute(2, t)
        for listing, user in ((sf.blocks, 1), (sf.mutes, 2)):
            first = listing(user, limit=3)
            rest = listing(user, limit=3, cursor=first.next_cursor)
            assert (first.ids, rest.ids, rest.next_cursor) == ((4, 5, 7), (9,), None)

    # ------------------------------------------------------------------ muted words
    def test_muted_words_match_normalised(self, sf: SocialFeed) -> None:
        """NFKC and casefolding on both sides: fullwidth, case, composed and decomposed forms,
        and the sharp s all match."""
        sf.follow(1, 2)
        texts = ["a CAT", "\uff23\uff21\uff34!", "caf\u00e9 au lait", "cafe\u0301", "STRASSE 1"]
        tweets = [sf.create_tweet(2, text).id for text in texts]
        clean = sf.create_tweet(2, "nothing here")
        sf.drain(timeout=30)
        sf.mute_word(1, "  Cat ")
        sf.mute_word(1, "CAFE\u0301")
        sf.mute_word(1, "stra\u00dfe")
        assert _feed(sf, 1) == [clean.id]
        assert [w.phrase for w in sf.muted_words(1)] == ["caf\u00e9", "cat", "strasse"]
        sf.mute_word(1, "\uff43\uff41\uff54", whole_word=False)  # the same phrase: replaced
        assert sf.muted_words(1)[1] == MutedWord("cat", False, None)
        sf.unmute_word(1, "CAT")
        sf.unmute_word(1, "CAT")
        sf.unmute_word(1, "STRASSE")
        sf.unmute_word(1, "caf\u00e9")
        assert sf.muted_words(1) == ()
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [clean.id, *tweets[::-1]]

    def test_whole_word_and_substring(self, sf: SocialFeed) -> None:
        """``whole_word`` matches only where no word character touches the phrase; without it a
        substring matches. Your own tweets are never hidden by your words."""
        sf.follow(1, 2)
        cat, cats, hotdog, dog = (
            sf.create_tweet(2, text).id for text in ("cat!", "cats", "hotdog", "the dog")
        )
        mine = sf.create_tweet(1, "my cat and dog")
        sf.drain(timeout=30)
        sf.mute_word(1, "cat")
        sf.mute_word(1, "dog", whole_word=False)
        assert _feed(sf, 1) == [mine.id, cats]  # not cat, hotdog, dog
        sf.mute_word(1, "dog", whole_word=True)
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [mine.id, hotdog, cats]
        assert not {cat, dog} & set(_feed(sf, 1))

    def test_muted_word_expiry(self, sf: SocialFeed) -> None:
        """A muted word stops hiding once its ``expires_at`` passes."""
        sf.follow(1, 2)
        t = sf.create_tweet(2, "spoiler ahead")
        sf.drain(timeout=30)
        sf.mute_word(1, "spoiler", expires_at=datetime.now(UTC) + timedelta(seconds=0.8))
        assert _feed(sf, 1) == []
        assert [w.phrase for w in sf.muted_words(1)] == ["spoiler"]
        time.sleep(1.0)
        sf.drain(timeout=30)
        assert sf.muted_words(1) == ()
        assert _feed(sf, 1) == [t.id]

    # ------------------------------------------------------------------ full pages
    def test_full_pages_when_most_followees_are_muted(self, sf: SocialFeed) -> None:
        """Following 10 users and muting 9: pages are still full and end exactly."""
        for f in range(2, 12):
            sf.follow(1, f)
        ids = [sf.create_tweet(2 + i % 10, f"t{i}").id for i in range(60)]
        sf.drain(timeout=30)
        for f in range(3, 12):
            sf.mute(1, f)
        expected = [i for n, i in enumerate(ids) if n % 10 == 0][::-1]
        for limit in (1, 2, 4):
            pages = _pages(lambda n, c: sf.get_feed(1, limit=n, cursor=c), limit)
            _assert_full_pages(pages, limit, expected)
        sf.drain(timeout=30)
        pages = _pages(lambda n, c: sf.get_feed(1, limit=n, cursor=c), 3)
        _assert_full_pages(pages, 3, expected)

    def test_full_pages_when_a_word_hides_most(self, sf: SocialFeed) -> None:
        """A muted word in 90% of the feed: pages are still full and end exactly."""
        sf.follow(1, 2)
        ids = [sf.create_tweet(2, "kept" if i % 10 == 3 else f"noise {i}").id for i in range(70)]
        sf.drain(timeout=30)
        sf.mute_word(1, "noise")
        expected = [i for n, i in enumerate(ids) if n % 10 == 3][::-1]
        for limit in (1, 2, 3, 7):
            pages = _pages(lambda n, c: sf.get_feed(1, limit=n, cursor=c), limit)
            _assert_full_pages(pages, limit, expected)

    # ------------------------------------------------------------------ at once
    def test_social_writes_hide_at_once(self, sf: SocialFeed) -> None:
        """block, mute, mute_word, delete of an original and delete_user hide their items in
        the very next read, before any drain."""
        for f in range(2, 7):
            sf.follow(1, f)
        keep = sf.create_tweet(2, "keep")
        blocked = sf.create_tweet(3, "blocked")
        muted = sf.create_tweet(4, "muted")
        word = sf.create_tweet(2, "badword here")
        original = sf.create_tweet(5, "original")
        repost = sf.repost(2, original.id)
        erased = sf.create_tweet(6, "erased")
        unfollowed = sf.create_tweet(7, "seen through a repost")
        erased_repost = sf.repost(2, unfollowed.id)
        sf.drain(timeout=30)
        shown = {keep.id, blocked.id, muted.id, word.id, original.id, erased.id}
        assert set(_feed(sf, 1)) == shown | {erased_repost.id}
        sf.block(1, 3)
        assert blocked.id not in _feed(sf, 1)
        sf.mute(1, 4)
        assert muted.id not in _feed(sf, 1)
        sf.mute_word(1, "badword")
        assert word.id not in _feed(sf, 1)
        sf.delete_tweet(original.id, user_id=5)
        assert not {original.id, repost.id} & set(_feed(sf, 1))
        sf.unfollow(1, 5)
        sf.drain(timeout=30)  # only the original's deletion hides the repost now
        assert repost.id not in _feed(sf, 1)
        sf.delete_user(6)
        assert erased.id not in _feed(sf, 1)
        sf.delete_user(7)
        assert erased_repost.id not in _feed(sf, 1)
        assert _feed(sf, 1) == [keep.id]

    # ------------------------------------------------------------------ delete_user
    def test_delete_user(self, sf: SocialFeed) -> None:
        """After delete_user: the user's items are gone everywhere, their relations too; the
        user is a fresh user and their new posts show normally."""
        sf.follow(1, 2)
        sf.follow(2, 1)
        sf.follow(2, 3)
        sf.block(2, 4)
        sf.mute(5, 2)
        sf.mute_word(2, "cat")
        t = sf.create_tweet(2, "bye")
        other = sf.create_tweet(3, "stays")
        r = sf.repost(2, other.id)
        reply = sf.create_tweet(1, "answer", reply_to=t.id)
        sf.drain(timeout=30)
        sf.delete_user(2)
        for gone in (t, r):
            with pytest.raises(NotFound):
                sf.get_tweet(gone.id)
        with pytest.raises(NotFound):
            sf.replies(t.id)
        assert sf.get_tweet(other.id) == other and sf.get_tweet(reply.id) == reply
        assert _feed(sf, 1) == []  # rule 3: 1 no longer follows the author 1's reply answers
        assert _ids(sf.user_timeline(1)) == [reply.id]
        assert _ids(sf.user_timeline(2)) == []
        assert _ids(sf.user_timeline(3)) == [other.id]
        assert (sf.followers(2).ids, sf.following(2).ids) == ((), ())
        assert (sf.blocks(2).ids, sf.mutes(5).ids, sf.muted_words(2)) == ((), (), ())
        sf.drain(timeout=30)
        assert (sf.follower_count(2), sf.following_count(2), sf.following_count(1)) == (0, 0, 0)
        back = sf.create_tweet(2, "hello again, cat")
        again = sf.repost(2, other.id)
        assert again.id != r.id
        sf.follow(1, 2)
        sf.follow(2, 4)  # the old block is gone
        sf.drain(timeout=30)
        assert _feed(sf, 1) == [again.id, back.id, reply.id]
        assert _ids(sf.user_timeline(2)) == [again.id, back.id]

    # ------------------------------------------------------------------ bad input
    @pytest.mark.parametrize(
        ("call", "error"),
        [
            (lambda sf: sf.mute_word(1, "x" * 13), ValidationError),
            (lambda sf: sf.mute_word(1, "\u00df" * 7), ValidationError),  # 14 once normalised
            (lambda sf: sf.mute_word(1, "   "), ValidationError),
            (lambda sf: sf.mute_word(1, ""), ValidationError),
            (lambda sf: sf.mute_word(1, "fourth"), ValidationError),  # past max_muted_words
            (lambda sf: sf.mute_word(1, "x", expires_at=datetime(2100, 1, 1)), ValidationError),
            (lambda sf: sf.mute_word("1", "x"), ValidationError),
            (lambda sf: sf.block(1, 1), ValidationError),
            (lambda sf: sf.mute(2, 2), ValidationError),
            (lambda sf: sf.block(1, "2"), ValidationError),
            (lambda sf: sf.block(0, 2), ValidationError),
            (lambda sf: sf.mute(1, 2**63), ValidationError),
            (lambda sf: sf.unblock(True, 2), ValidationError),
            (lambda sf: sf.repost(1.0, 5), ValidationError),
            (lambda sf: sf.delete_user(-1), ValidationError),
            (lambda sf: sf.replies("x"), ValidationError),
            (lambda sf: sf.user_timeline(1, viewer_id=0), ValidationError),
            (lambda sf: sf.create_tweet(1, "x", reply_to="5"), ValidationError),
            (lambda sf: sf.create_tweet(1, "x", reply_to=12345), NotFound),
            (lambda sf: sf.repost(1, 12345), NotFound),
            (lambda sf: sf.replies(12345), NotFound),
        ],
    )
    def test_bad_social_input_writes_nothing(
        self,
        make_feed: MakeFeed,
        strategy: str,
        call: Callable[[SocialFeed], Any],
        error: type[Exception],
    ) -> None:
        """A rejected social call raises the right error and changes nothing."""
        sf = make_feed(
            strategy, attrs.evolve(self.tiny, max_muted_words=3, max_muted_phrase_length=12)
        )
        try:
            sf.follow(1, 2)
            sf.create_tweet(2, "before")
            sf.mute(1, 3)
            sf.block(2, 4)
            for phrase in ("one", "two", "three"):
                sf.mute_word(1, phrase)
            before = _social_snapshot(sf, range(1, 6))
            with pytest.raises(error) as info:
                call(sf)
            if isinstance(info.value, ValidationError):
                assert info.value.field and str(info.value).startswith(info.value.field)
            assert _social_snapshot(sf, range(1, 6)) == before
        finally:
            sf.close()
