"""Whatever the facade is given, it works or raises a SocialFeedError; state stays sane."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socialfeed
from socialfeed.testing.oracle import page_all

pytestmark = pytest.mark.memory

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(1, 5),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.binary(max_size=20),
    st.lists(st.integers(1, 5) | st.text(max_size=3), max_size=6),
)
CALLS = [
    lambda sf, a, b: sf.create_tweet(a, b),
    lambda sf, a, b: sf.create_tweet(1, "x", media=a),
    lambda sf, a, b: sf.follow(a, b),
    lambda sf, a, b: sf.unfollow(a, b),
    lambda sf, a, b: sf.get_feed(a, limit=b),
    lambda sf, a, b: sf.get_feed(1, cursor=a),
    lambda sf, a, b: sf.user_timeline(a, cursor=b),
    lambda sf, a, b: sf.followers(a, limit=b),
    lambda sf, a, b: sf.following(1, cursor=a),
    lambda sf, a, b: sf.get_tweet(a),
    lambda sf, a, b: sf.delete_tweet(a, user_id=b),
    lambda sf, a, b: sf.upload_media(a, b),
    lambda sf, a, b: sf.media_url(a, b),
]


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, len(CALLS) - 1), junk, junk), max_size=25))
def test_hostile_calls(calls: list[tuple[int, Any, Any]]) -> None:
    with socialfeed.connect() as sf:
        sf.follow(1, 2)
        keep = sf.create_tweet(2, "keep me")
        for index, a, b in calls:
            with contextlib.suppress(socialfeed.SocialFeedError):
                CALLS[index](sf, a, b)
        sf.drain()
        for u in range(1, 6):
            assert sf.follower_count(u) == len(sf.followers(u, limit=1000).ids)
            assert sf.following_count(u) == len(sf.following(u, limit=1000).ids)
            feed = page_all(sf, u, lambda: 50)
            assert feed == sorted(set(feed), reverse=True)
        if sf.following_count(1) and 2 in sf.following(1).ids:
            assert sf.get_tweet(keep.id) == keep
