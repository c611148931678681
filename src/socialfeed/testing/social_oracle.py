"""A hypothesis-driven check of the social semantics ([0.2-S]) against
:class:`~socialfeed.testing.social_model.SocialModel`.

:func:`social_histories` draws random histories of follows, posts, replies, reposts, deletes,
blocks, mutes, muted words, erasures, reads and drains among a handful of users;
:func:`check_social_history` replays one on a real :class:`~socialfeed.SocialFeed` and on the
model. Every call the model rejects must fail on the library with exactly the same exception
type; every call that succeeds must return what the model says. Right after each call that must
hide items at once (block, mute, mute_word, delete_tweet, delete_user), and on every read, no item
of the first page may be one that rules 2, 4 and 5 hide. After ``drain()`` every user's feed,
every live tweet's replies and every user's timeline, paged with random sizes, equal the model.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import strategies as st

from socialfeed.errors import PermissionDenied, SocialFeedError
from socialfeed.feed import SocialFeed
from socialfeed.models import FeedPage, Tweet, UserPage
from socialfeed.testing import paging
from socialfeed.testing.social_model import RepostPlan, SocialModel

__all__ = [
    "PHRASES",
    "SOCIAL_USERS",
    "WORDS",
    "Step",
    "check_social_history",
    "expect_same",
    "page_items",
    "page_users",
    "social_histories",
]

T = TypeVar("T")

SOCIAL_USERS = 8
"""Users of a random history: few, so follows, blocks and replies collide."""

WORDS = (
    "cat",
    "CAT",
    "\uff23\uff21\uff34",  # fullwidth CAT
    "Cat!",
    "cats",
    "caf\u00e9",  # precomposed
    "cafe\u0301",  # decomposed
    "stra\u00dfe",
    "STRASSE",
    "dog",
    "hotdog",
    "the",
    "news",
)
"""The vocabulary of tweet texts: case and Unicode-normalisation variants of a few words."""

PHRASES = (
    "cat",
    "CAT",
    "\uff43\uff41\uff54",  # fullwidth cat
    "caf\u00e9",
    "cafe\u0301",
    "stra\u00dfe",
    "STRASSE",
    "  dog  ",
    "dog",
    "hotdog",
    "cats",
    "   ",  # blank: ValidationError
    "a very long phrase",  # 18 characters: past max_muted_phrase_length=12
    "\u00df" * 7,  # 7 characters, 14 once normalised ("ss" * 7): too long
)
"""The phrases a random history mutes."""

FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)

Step = tuple[str, int, int, int]
"""One step of a history: an operation and three integers whose meaning depends on it."""

_user = st.integers(1, 3) | st.integers(1, SOCIAL_USERS)
_index = st.integers(0, 10_000)
_text = st.lists(st.integers(0, len(WORDS) - 1), min_size=1, max_size=3).map(
    lambda ws: sum((1 + w) * 16**k for k, w in enumerate(ws))
)
_post = st.tuples(st.just("post"), _user, _text, st.just(-1))
_reply = st.tuples(st.just("post"), _user, _text, _index)
_repost = st.tuples(st.just("repost"), _user, _index, st.just(0))
_follow = st.tuples(st.just("follow"), _user, _user, st.just(0))
_step = st.one_of(
    _post,  # posts, replies, reposts and follows are the most common steps: feeds grow
    _post,
    _post,
    _post,
    _reply,
    _reply,
    _repost,
    _repost,
    _follow,
    _follow,
    _follow,
    st.tuples(st.just("unfollow"), _index, st.just(0), st.just(0)),
    st.tuples(st.just("delete"), _index, st.just(0) | _user, st.just(0)),
    st.tuples(st.just("block"), _user, _user, st.just(0)),
    st.tuples(st.just("unblock"), _user, _user, st.just(0)),
    st.tuples(st.just("mute"), _user, _user, st.just(0)),
    st.tuples(st.just("unmute"), _user, _user, st.just(0)),
    st.tuples(st.just("mute_word"), _user, st.integers(0, len(PHRASES) - 1), st.integers(0, 3)),
    st.tuples(st.just("unmute_word"), _user, st.integers(0, len(PHRASES) - 1), st.just(0)),
    st.tuples(st.just("delete_user"), _user, st.just(0), st.just(0)),
    st.tuples(st.just("read"), _user, st.integers(1, 7), st.just(0)),
    st.tuples(st.just("drain"), st.just(0), st.just(0), st.just(0)),
)


def social_histories(max_size: int = 100) -> Any:
    """A hypothesis strategy of random social histories (lists of :data:`Step`)."""
    return st.lists(_step, min_size=min(30, max_size), max_size=max_size)


def _text_of(code: int) -> str:
    words = []
    while code:
        words.append(WORDS[code % 16 - 1])
        code //= 16
    return " ".join(words)


def expect_same(
    model_call: Callable[[], object], library_call: Callable[[], T], what: str
) -> T | None:
    """Run ``model_call``; if it raises, ``library_call`` must raise exactly the same exception
    type (and ``None`` is returned); else ``library_call``'s result is returned."""
    try:
        model_call()
    except SocialFeedError as exc:
        expected = type(exc)
        try:
            result = library_call()
        except SocialFeedError as got:
            assert type(got) is expected, (
                f"{what}: expected {expected.__name__}, the library raised "
                f"{type(got).__name__}: {got}"
            )
            return None
        raise AssertionError(
            f"{what}: expected {expected.__name__} ({exc}), the library returned {result!r}"
        ) from None
    return library_call()


def page_items(
    fetch: Callable[[int, str | None], FeedPage],
    sizes: Callable[[], int],
    what: str,
    most: int = 10_000,
) -> list[tuple[int, list[int], str | None]]:
    """Every page of a tweet listing, following ``next_cursor`` with page sizes from ``sizes``:
    ``(limit, ids, next_cursor)`` per page (bounded by :func:`~socialfeed.testing.paging.pages`;
    ``most``: how many items the listing can hold)."""
    return paging.pages(fetch, sizes, what=what, most=most)


def page_users(
    fetch: Callable[[int, str | None], UserPage],
    sizes: Callable[[], int],
    what: str,
    most: int = 10_000,
) -> list[int]:
    """Every id of a user listing, following ``next_cursor`` (bounded, as :func:`page_items`)."""
    return paging.flat(paging.pages(fetch, sizes, what=what, most=most))


def _assert_pages(
    pages: list[tuple[int, list[int], str | None]], expected: list[int], what: str
) -> None:
    got = [i for _, ids, _ in pages for i in ids]
    assert got == expected, f"{what}: got {got}, expected {expected}"
    seen = 0
    for limit, ids, cursor in pages:
        seen += len(ids)
        remaining = len(expected) - seen
        want = min(limit, len(expected) - seen + len(ids))
        assert len(ids) == want, f"{what}: a page of limit {limit} held {len(ids)}, not {want}"
        assert (cursor is None) == (remaining == 0), (
            f"{what}: next_cursor is {cursor!r} with {remaining} items still to come"
        )


def _check_tweet(model: SocialModel, tweet: Tweet, what: str) -> None:
    item = model.items[tweet.id]
    assert tweet.author_id == item.author, f"{what}: author {tweet.author_id} != {item.author}"
    assert tweet.text == item.text, f"{what}: text {tweet.text!r} != {item.text!r}"
    assert (tweet.reply_to, tweet.reply_to_author_id) == (item.reply_to, item.reply_to_author), (
        f"{what}: reply_to/reply_to_author_id {(tweet.reply_to, tweet.reply_to_author_id)} "
        f"!= {(item.reply_to, item.reply_to_author)}"
    )
    orig = None if tweet.repost_of is None else tweet.repost_of.id
    assert orig == item.repost_of, f"{what}: repost_of {orig} != {item.repost_of}"
    if tweet.repost_of is not None and item.repost_of is not None:
        source = model.items[item.repost_of]
        hydrated = (tweet.repost_of.author_id, tweet.repost_of.text)
        assert hydrated == (source.author, source.text), f"{what}: repost_of is not hydrated"


@attrs.define
class _Replay:
    """One history's replay: the library, the model, the random source for viewers and sizes."""

    sf: SocialFeed
    model: SocialModel
    rng: random.Random
    users: range = range(1, SOCIAL_USERS + 1)

    def size(self) -> int:
        return self.rng.randint(1, 7)

    def at_once(self, viewer: int, why: str, limit: int = 200) -> None:
        """The first page of ``viewer``'s feed shows nothing rules 2, 4 and 5 hide."""
        model = self.model
        shown = [t.id for t in self.sf.get_feed(viewer, limit=limit).items]
        bad = [i for i in shown if i not in model.items or not model.passes_read_rules(viewer, i)]
        assert not bad, (
            f"after {why}, the feed of user {viewer} shows {bad}, which rules 2, 4 and 5 hide "
            f"(page: {shown})"
        )

    def step(self, op: str, a: int, b: int, c: int, what: str) -> None:
        sf, model = self.sf, self.model
        everything = sorted(model.items)
        if op == "follow":
            expect_same(lambda: model.follow(a, b), lambda: sf.follow(a, b), what)
        elif op == "unfollow" and model.follows:
            f, g = sorted(model.follows)[a % len(model.follows)]
            model.unfollow(f, g)
            sf.unfollow(f, g)
        elif op == "post":
            self.post(
                a,
                _text_of(b),
                None if c < 0 or not everything else everything[c % len(everything)],
                what,
            )
        elif op == "repost" and everything:
            self.repost(a, everything[b % len(everything)], what)
        elif op == "delete":
            live = model.live_items()
            if live:
                target = live[a % len(live)]
                user = b or model.items[target].author
                expect_same(
                    lambda: model.delete_tweet(target, user),
                    lambda: sf.delete_tweet(target, user_id=user),
                    what,
                )
                self.at_once(self.rng.choice(self.users), what)
        elif op == "block":
            expect_same(lambda: model.block(a, b), lambda: sf.block(a, b), what)
            self.at_once(a, what)
        elif op == "mute":
            expect_same(lambda: model.mute(a, b), lambda: sf.mute(a, b), what)
            self.at_once(a, what)
        elif op == "unblock":
            expect_same(lambda: model.unblock(a, b), lambda: sf.unblock(a, b), what)
        elif op == "unmute":
            expect_same(lambda: model.unmute(a, b), lambda: sf.unmute(a, b), what)
        elif op == "mute_word":
            phrase, whole, until = PHRASES[b], bool(c & 1), FAR_FUTURE if c & 2 else None
            expect_same(
                lambda: model.mute_word(a, phrase, whole, until),
                lambda: sf.mute_word(a, phrase, whole_word=whole, expires_at=until),
                what,
            )
            self.at_once(a, what)
        elif op == "unmute_word":
            phrase = PHRASES[b]
            expect_same(
                lambda: model.unmute_word(a, phrase), lambda: sf.unmute_word(a, phrase), what
            )
        elif op == "delete_user":
            expect_same(lambda: model.delete_user(a), lambda: sf.delete_user(a), what)
            self.at_once(self.rng.choice(self.users), what)
            self.at_once(a, what)
        elif op == "read":
            self.at_once(a, what, b)
        elif op == "drain":
            sf.drain(timeout=60)

    def post(self, user: int, text: str, parent: int | None, what: str) -> None:
        model = self.model
        tweet = expect_same(
            lambda: model.check_post(user, text, parent),
            lambda: self.sf.create_tweet(user, text, reply_to=parent),
            what,
        )
        if tweet is not None:
            assert tweet.id not in model.items, f"{what}: the library reused id {tweet.id}"
            model.post(tweet.id, user, text, parent)
            _check_tweet(model, tweet, what)

    def repost(self, user: int, target: int, what: str) -> None:
        model = self.model
        plans: list[RepostPlan] = []
        repost = expect_same(
            lambda: plans.append(model.check_repost(user, target)),
            lambda: self.sf.repost(user, target),
            what,
        )
        if repost is None:
            return
        existing = plans[0].existing
        if existing is not None:
            assert repost.id == existing, (
                f"{what}: a repeated repost returned {repost.id}, not the live repost {existing}"
            )
        else:
            assert repost.id not in model.items, f"{what}: the library reused id {repost.id}"
        model.repost(repost.id, user, target)
        _check_tweet(model, repost, what)

    def final(self) -> None:
        """After ``drain()``: everything the library lists equals the model's."""
        sf, model = self.sf, self.model
        sf.drain(timeout=60)
        for user in self.users:
            self.final_feed(user)
        for item_id in sorted(model.items):
            self.final_item(item_id)
        for user in self.users:
            self.final_user(user)

    def final_feed(self, user: int) -> None:
        sf = self.sf
        pages = page_items(
            lambda n, cur: sf.get_feed(user, limit=n, cursor=cur),
            self.size,
            f"feed of user {user}",
            len(self.model.items),
        )
        got = [i for _, ids, _ in pages for i in ids]
        expected = self.model.home(user)
        assert got == expected, (
            f"feed of user {user} differs from home(u): got {got}, expected {expected}"
        )
        _assert_pages(pages, expected, f"feed of user {user}")
        self.forward_feed(user, pages, expected)

    def forward_feed(
        self, user: int, pages: list[tuple[int, list[int], str | None]], expected: list[int]
    ) -> None:
        """From a random page's ``prev_cursor``, paging forward to the present yields exactly
        the items of ``home(u)`` newer than that page's first item, each page the items
        immediately newer than the last, full until the one that is caught up."""
        sf, start = self.sf, self.rng.randrange(len(pages))
        before = pages[start - 1][2] if start else None
        page = sf.get_feed(user, limit=pages[start][0], cursor=before)
        newer = expected[: expected.index(page.items[0].id)] if page.items else []
        got: list[int] = []
        cursor = page.prev_cursor
        for _ in range(len(expected) + 2):
            limit = self.size()
            step = sf.get_feed(user, limit=limit, cursor=cursor)
            ids = [t.id for t in step.items]
            want = newer[max(0, len(newer) - len(got) - limit) : len(newer) - len(got)]
            assert ids == want, f"feed of user {user} forward: got {ids}, expected {want}"
            last = ids[-1] if ids else got[-1] if got else page.items[0].id if page.items else 0
            older = expected.index(last) + 1 < len(expected) if expected else False
            assert (step.next_cursor is None) == (not older), (
                f"feed of user {user} forward: next_cursor {step.next_cursor!r}"
            )
            got.extend(reversed(ids))
            cursor = step.prev_cursor
            if len(ids) < limit:
                assert got == newer[::-1], f"feed of user {user}: forward paging skipped items"
                return
        raise AssertionError(f"feed of user {user}: forward paging never caught up")

    def final_item(self, item_id: int) -> None:
        sf, model = self.sf, self.model
        if not model.is_live(item_id):
            expect_same(
                lambda: model.get_tweet(item_id), lambda: sf.get_tweet(item_id), f"dead {item_id}"
            )
            expect_same(
                lambda: model.replies(item_id),
                lambda: sf.replies(item_id),
                f"replies of dead {item_id}",
            )
            return
        _check_tweet(model, sf.get_tweet(item_id), f"get_tweet({item_id})")
        viewer = self.rng.choice([None, *self.users])
        what = f"replies({item_id}, viewer_id={viewer})"
        pages = page_items(
            lambda n, cur: sf.replies(item_id, limit=n, cursor=cur, viewer_id=viewer),
            self.size,
            what,
            len(model.items),
        )
        _assert_pages(pages, model.replies(item_id, viewer), what)

    def final_user(self, user: int) -> None:
        sf, model = self.sf, self.model
        viewer = self.rng.choice([None, *self.users])
        what = f"user_timeline({user}, viewer_id={viewer})"
        try:
            expected = model.user_timeline(user, viewer)
        except PermissionDenied:
            with pytest.raises(PermissionDenied):
                sf.user_timeline(user, limit=self.size(), viewer_id=viewer)
        else:
            pages = page_items(
                lambda n, cur: sf.user_timeline(user, limit=n, cursor=cur, viewer_id=viewer),
                self.size,
                what,
                len(model.items),
            )
            _assert_pages(pages, expected, what)
        small = lambda: self.rng.randint(1, 3)  # noqa: E731
        listings: tuple[tuple[str, Callable[..., UserPage], list[int]], ...] = (
            ("blocks", sf.blocks, model.blocks(user)),
            ("mutes", sf.mutes, model.mutes(user)),
            ("followers", sf.followers, model.followers(user)),
            ("following", sf.following, model.following(user)),
        )
        for name, fetch, want in listings:
            got = page_users(partial(_user_page, fetch, user), small, name, SOCIAL_USERS)
            assert got == want, f"{name}({user}): got {got}, expected {want}"
        muted = sf.muted_words(user)
        assert muted == model.muted_words(user), (
            f"muted_words({user}): got {muted}, expected {model.muted_words(user)}"
        )


def _user_page(
    fetch: Callable[..., UserPage], user: int, limit: int, cursor: str | None
) -> UserPage:
    return fetch(user, limit=limit, cursor=cursor)


def check_social_history(sf: SocialFeed, history: list[Step], rng: random.Random) -> None:
    """Replay ``history`` on ``sf`` and on a :class:`SocialModel` with ``sf``'s muted-word
    limits: every error the model predicts, the library raises (the same type); every return is
    what the model says; after block, mute, mute_word, delete_tweet and delete_user, and on every
    read, the first feed page shows nothing rules 2, 4 and 5 hide. Then, after ``drain()``,
    feeds (equal to ``home(u)``), replies, timelines, blocks, mutes, follow lists and muted
    words equal the model's, paged with random sizes drawn from ``rng``."""
    model = SocialModel(
        max_muted_words=sf.settings.max_muted_words,
        max_muted_phrase_length=sf.settings.max_muted_phrase_length,
    )
    replay = _Replay(sf, model, rng)
    for n, (op, a, b, c) in enumerate(history):
        replay.step(op, a, b, c, f"step {n} {(op, a, b, c)}")
    replay.final()
