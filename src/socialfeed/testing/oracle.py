"""The reference model of ``home(u)`` (docs/feeds.md), and a hypothesis-driven check against it.

``home(u)`` = every tweet that is not deleted, whose author is ``u`` or someone ``u`` follows now,
sorted by tweet id, newest first. :func:`check_history` replays a random history of follows,
unfollows, posts, deletes and reads on a real :class:`~socialfeed.SocialFeed`, then, after
``drain()``, pages every user's feed with random page sizes and compares with the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import strategies as st

from socialfeed.feed import SocialFeed
from socialfeed.testing import paging

__all__ = ["Model", "check_history", "histories", "page_all"]

USERS = 30


@attrs.define
class Model:
    """What the feeds must show: follows, live tweets and their authors."""

    follows: set[tuple[int, int]] = attrs.field(factory=set)
    tweets: dict[int, int] = attrs.field(factory=dict)  # tweet id -> author

    def home(self, user_id: int) -> list[int]:
        """``home(user_id)`` as tweet ids, newest first."""
        return sorted(
            (t for t, a in self.tweets.items() if a == user_id or (user_id, a) in self.follows),
            reverse=True,
        )


def page_all(
    sf: SocialFeed, user_id: int, sizes: Callable[[], int], *, most: int = 10_000
) -> list[int]:
    """Every id of ``user_id``'s feed, paging with ``next_cursor`` and page sizes from ``sizes``
    (``most``: how many items the feed can hold at most; :func:`~socialfeed.testing.paging.pages`
    bounds the loop)."""
    return paging.flat(
        paging.pages(
            lambda n, c: sf.get_feed(user_id, limit=n, cursor=c),
            sizes,
            what=f"feed of user {user_id}",
            most=most,
        )
    )


# Half the draws come from a handful of users, so follows, posts and reads meet often.
_user = st.integers(1, 6) | st.integers(1, USERS)
_index = st.integers(0, 10_000)
_post = st.tuples(st.just("post"), _user | st.integers(1, 3), _user)
_step = st.one_of(
    _post,
    _post,
    _post,  # posts are the most common step, so feeds grow past max_feed_length
    st.tuples(st.just("follow"), _user, _user),
    st.tuples(st.just("follow"), _user, st.integers(1, 3)),  # a few popular accounts
    st.tuples(st.just("unfollow"), _index, _user),  # an existing edge, picked by index
    st.tuples(st.just("delete"), _index, _user),  # a live tweet, picked by index
    st.tuples(st.just("read"), _user, st.integers(1, 7)),
    st.tuples(st.just("read"), _user, st.integers(1, 7)),
    st.tuples(st.just("drain"), _user, _user),
)


def histories(max_size: int = 100) -> Any:
    """A hypothesis strategy of random histories."""
    return st.lists(_step, min_size=min(30, max_size), max_size=max_size)


def check_history(
    sf: SocialFeed,
    history: list[tuple[str, int, int]],
    sizes: Any,
    before_step: Callable[[int], object] | None = None,
) -> None:
    """Replay ``history`` on ``sf`` and on the model; after ``drain()``, every user's feed, paged
    with sizes drawn by ``sizes`` (a ``Random``-like ``randint`` source), equals the model.
    ``before_step(n)`` runs before step ``n`` (e.g. to flush a cache in the middle)."""
    model = Model()
    for step, (op, a, b) in enumerate(history):
        if before_step is not None:
            before_step(step)
        if op == "follow" and a != b:
            sf.follow(a, b)
            model.follows.add((a, b))
        elif op == "unfollow" and model.follows:
            edge = sorted(model.follows)[a % len(model.follows)]
            sf.unfollow(*edge)
            model.follows.discard(edge)
        elif op == "post":
            tweet = sf.create_tweet(a, f"tweet by {a}")
            model.tweets[tweet.id] = a
        elif op == "delete" and model.tweets:
            live = sorted(model.tweets)
            tweet_id = live[a % len(live)]
            sf.delete_tweet(tweet_id, user_id=model.tweets.pop(tweet_id))
            feed_ids = [t.id for t in sf.get_feed(b, limit=200).items]
            assert tweet_id not in feed_ids, "a deleted tweet showed after delete_tweet returned"
        elif op == "read":
            sf.get_feed(a, limit=b)
        elif op == "drain":
            sf.drain(timeout=60)
    sf.drain(timeout=60)
    for user in range(1, USERS + 1):
        got = page_all(sf, user, lambda: sizes.randint(1, 7), most=len(model.tweets))
        assert got == model.home(user), f"feed of user {user} differs from home(u)"
