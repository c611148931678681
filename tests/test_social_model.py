"""The social reference model alone (no library): hand-written histories and what they must give."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.models import MutedWord
from socialfeed.testing.social_model import SocialModel, normalise, phrase_matches
from socialfeed.testing.social_oracle import PHRASES, WORDS, _text_of, social_histories

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class World:
    """A model with an id source, so histories read like the facade's."""

    def __init__(self, max_muted_words: int = 200, max_muted_phrase_length: int = 100) -> None:
        self.m = SocialModel(max_muted_words, max_muted_phrase_length, lambda: self.now)
        self.now = NOW
        self._ids = itertools.count(100)

    def post(self, user: int, text: str = "hello", reply_to: int | None = None) -> int:
        self.m.check_post(user, text, reply_to)
        return self.m.post(next(self._ids), user, text, reply_to).id

    def repost(self, user: int, tweet_id: int) -> int:
        return self.m.repost(next(self._ids), user, tweet_id).id


def test_home_is_own_and_followed_newest_first() -> None:
    w = World()
    w.m.follow(1, 2)
    a = w.post(2)
    b = w.post(1)
    w.post(3)
    assert w.m.home(1) == [b, a]
    w.m.follow(1, 2)  # idempotent
    w.m.unfollow(1, 2)
    w.m.unfollow(1, 2)
    assert w.m.home(1) == [b]
    with pytest.raises(ValidationError):
        w.m.follow(1, 1)
    with pytest.raises(ValidationError):
        w.m.follow(True, 2)


def test_reposts() -> None:
    w = World()
    t = w.post(2, "original")
    r = w.repost(3, t)
    assert w.m.items[r].repost_of == t and w.m.items[r].text == ""
    assert w.repost(4, r) != r and w.m.items[w.repost(4, r)].repost_of == t  # of a repost
    assert w.m.check_repost(3, t).existing == r
    assert w.repost(3, t) == r  # twice: the same repost
    own = w.repost(2, t)  # your own tweet: allowed
    w.m.follow(1, 3)
    assert w.m.home(1) == [r]  # 1 sees 3's repost
    w.m.follow(1, 2)
    assert w.m.home(1) == [t]  # the original is the earliest: one item per original
    w.m.delete_tweet(r, 3)
    assert w.m.check_repost(3, t).existing is None
    r2 = w.repost(3, t)
    assert r2 > own
    with pytest.raises(PermissionDenied):
        w.m.delete_tweet(r2, 2)  # a repost's author is the reposter
    w.m.delete_tweet(t, 2)  # kills every repost
    assert w.m.home(1) == [] and not w.m.is_live(r2)
    for bad in (t, r2, 999):
        with pytest.raises(NotFound):
            w.m.check_repost(5, bad)
        with pytest.raises(NotFound):
            w.m.get_tweet(bad)
        with pytest.raises(NotFound):
            w.m.delete_tweet(bad, 2)


def test_a_later_repost_never_moves_a_tweet_up() -> None:
    w = World()
    w.m.follow(1, 3)
    t = w.post(2, "old")
    s = w.post(3, "newer")
    r = w.repost(3, t)
    assert w.m.home(1) == [r, s]  # 1 does not follow 2: the repost is the earliest candidate
    w.m.follow(1, 2)
    assert w.m.home(1) == [s, t]


def test_replies() -> None:
    w = World()
    t = w.post(2, "question")
    a = w.post(3, "answer", reply_to=t)
    assert (w.m.items[a].reply_to, w.m.items[a].reply_to_author) == (t, 2)
    self_thread = w.post(3, "more", reply_to=a)
    r = w.repost(4, t)
    b = w.post(5, "via the repost", reply_to=r)
    assert (w.m.items[b].reply_to, w.m.items[b].reply_to_author) == (t, 2)
    assert w.m.replies(t) == [a, b] == w.m.replies(r)  # oldest first
    assert w.m.replies(a) == [self_thread]
    w.m.follow(1, 3)
    assert w.m.home(1) == [self_thread]  # 1 follows 3 but not 2: only the self-thread
    w.m.follow(1, 2)
    assert w.m.home(1) == [self_thread, a, t]
    w.m.delete_tweet(t, 2)
    with pytest.raises(NotFound):
        w.m.replies(t)
    with pytest.raises(NotFound):
        w.m.check_post(3, "late", t)
    assert w.m.items[a].reply_to_author == 2  # fixed at creation
    assert w.m.home(1) == [self_thread, a]  # the reply lives on


def test_blocks() -> None:
    w = World()
    w.m.follow(1, 2)
    w.m.follow(2, 1)
    t = w.post(2, "hi")
    mine = w.post(1, "mine")
    c = w.post(3, "reply to 2", reply_to=t)
    r3 = w.repost(3, t)
    w.m.follow(1, 3)
    assert w.m.home(1) == [c, mine, t]  # 3's repost of t is later than t
    w.m.block(1, 2)
    w.m.block(1, 2)
    assert w.m.follows == {(1, 3)}
    assert w.m.home(1) == [mine]  # 2 is hidden, and 3's reply involves 2
    assert w.m.blocks(1) == [2] and w.m.blocks(2) == []
    assert w.m.hidden(2) == {1}
    for call in (
        lambda: w.m.follow(1, 2),
        lambda: w.m.follow(2, 1),
        lambda: w.m.check_post(1, "x", t),
        lambda: w.m.check_repost(1, t),
        lambda: w.m.check_repost(2, mine),
        lambda: w.m.check_repost(1, r3),  # the original's author counts
        lambda: w.m.user_timeline(2, viewer=1),
        lambda: w.m.user_timeline(1, viewer=2),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert w.m.user_timeline(2) == [t]  # without a viewer, nothing is filtered
    with pytest.raises(ValidationError):
        w.m.block(1, 1)
    w.m.unblock(1, 2)
    w.m.unblock(1, 2)
    assert w.m.follows == {(1, 3)}  # unblocking restores no follow
    # 1 no longer follows 2: t shows as 3's repost, and 3's reply to 2 fails rule 3
    assert w.m.home(1) == [r3, mine]


def test_mutes_keep_follows() -> None:
    w = World()
    w.m.follow(1, 2)
    t = w.post(2)
    w.m.mute(1, 2)
    assert w.m.follows == {(1, 2)} and w.m.home(1) == [] and w.m.mutes(1) == [2]
    assert w.m.hidden(2) == set()  # being muted hides nothing from you
    assert w.m.user_timeline(2, viewer=1) == []  # rule 4 for the viewer
    w.m.unmute(1, 2)
    assert w.m.home(1) == [t]
    with pytest.raises(ValidationError):
        w.m.mute(3, 3)


@pytest.mark.parametrize(
    ("phrase", "whole_word", "text", "hit"),
    [
        ("cat", True, "a CAT here", True),
        ("cat", True, "\uff23\uff21\uff34!", True),
        ("cat", True, "cats", False),
        ("cat", False, "cats", True),
        ("dog", True, "hotdog", False),
        ("dog", False, "hotdog", True),
        ("caf\u00e9", True, "cafe\u0301 time", True),
        ("strasse", True, "STRA\u00dfE", True),
        ("caf\u00e9", True, "caf\u00e9s", False),
        ("hot dog", True, "a hot dog!", True),
    ],
)
def test_phrase_matching(phrase: str, whole_word: bool, text: str, hit: bool) -> None:
    assert phrase_matches(normalise(phrase), whole_word, text) is hit


def test_muted_words() -> None:
    w = World(max_muted_words=2, max_muted_phrase_length=6)
    w.m.follow(1, 2)
    cat = w.post(2, "my CAT")
    cats = w.post(2, "cats")
    mine = w.post(1, "cat")
    w.m.mute_word(1, "  \uff23at ")
    assert w.m.muted_words(1) == (MutedWord("cat", True, None),)
    assert w.m.home(1) == [mine, cats]  # own tweets are never hidden by words
    w.m.mute_word(1, "CAT", whole_word=False)  # the same phrase: replaced
    assert w.m.muted_words(1) == (MutedWord("cat", False, None),)
    assert w.m.home(1) == [mine]
    r = w.repost(1, cat)  # your own repost of a muted tweet is hidden too (rule 5)
    assert w.m.home(1) == [mine] and not w.m.passes_read_rules(1, r)
    w.m.mute_word(1, "dog", expires_at=NOW + timedelta(seconds=1))
    assert [m.phrase for m in w.m.muted_words(1)] == ["cat", "dog"]  # sorted
    for bad in ("   ", "x" * 7, "\u00df" * 4, "bird"):  # blank, long, long normalised, a 3rd
        with pytest.raises(ValidationError):
            w.m.mute_word(1, bad)
    with pytest.raises(ValidationError):
        w.m.mute_word(1, "cat", expires_at=datetime(2030, 1, 1))  # naive
    w.m.mute_word(1, "dog", whole_word=False)  # replacing is fine at the limit
    w.now = NOW + timedelta(seconds=2)
    w.m.mute_word(1, "CAT", expires_at=NOW + timedelta(seconds=1))  # already expired
    assert w.m.muted_words(1) == (MutedWord("dog", False, None),)
    assert w.m.home(1) == [mine, cats, cat]  # r is the same original as cat, later
    w.m.unmute_word(1, "DOG")
    w.m.unmute_word(1, "DOG")
    assert w.m.muted_words(1) == ()


def test_delete_user() -> None:
    w = World()
    w.m.follow(1, 2)
    w.m.follow(2, 1)
    w.m.block(3, 2)
    w.m.mute(2, 4)
    w.m.mute_word(2, "cat")
    t = w.post(2, "gone")
    kept = w.post(1, "kept")
    r = w.repost(2, kept)
    reply = w.post(1, "a reply", reply_to=t)
    w.m.delete_user(2)
    assert not w.m.is_live(t) and not w.m.is_live(r) and w.m.is_live(reply)
    assert (w.m.follows, w.m.blocked, w.m.muted, w.m.muted_words(2)) == (set(), set(), set(), ())
    assert w.m.user_timeline(2) == []
    after = w.post(2, "back again")
    w.m.follow(1, 2)
    assert w.m.home(1)[0] == after
    assert w.m.check_repost(2, kept).existing is None  # the old repost died with the account
    assert w.repost(2, kept) > after


def test_timeline_with_a_viewer_is_one_item_per_original() -> None:
    w = World()
    t = w.post(1, "mine")
    r = w.repost(1, t)
    assert w.m.user_timeline(1) == [r, t]
    assert w.m.user_timeline(1, viewer=1) == [t] == w.m.user_timeline(1, viewer=5)


def test_replies_with_a_viewer() -> None:
    w = World()
    t = w.post(1, "q")
    a = w.post(2, "a dog", reply_to=t)
    b = w.post(3, "b", reply_to=t)
    w.m.mute(5, 3)
    w.m.mute_word(5, "dog")
    assert w.m.replies(t, viewer=5) == []
    assert w.m.replies(t, viewer=2) == [a, b]
    w.m.block(6, 1)  # involved: the parent's author
    assert w.m.replies(t, viewer=6) == [] and w.m.replies(t) == [a, b]


def test_the_oracle_vocabulary() -> None:
    assert len(WORDS) < 16
    assert {normalise(w) for w in WORDS[:3]} == {"cat"}
    assert normalise(WORDS[5]) == normalise(WORDS[6])
    assert normalise(WORDS[7]) == normalise(WORDS[8])
    assert _text_of(1 + 2 * 16) == "cat CAT"
    long = [p for p in PHRASES if len(normalise(p).strip()) > 12]
    assert len(long) == 2
    assert social_histories(10) is not None
