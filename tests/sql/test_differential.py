"""SQLStore and SQLFeedCache against the reference MemoryStore / MemoryFeedCache: random
operation sequences must give identical results on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlhelpers import wipe

from socialfeed.backends.memory import MemoryFeedCache, MemoryStore
from socialfeed.backends.sql import SQLFeedCache, SQLStore
from socialfeed.errors import DuplicateId
from socialfeed.models import Media, Tweet

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
users = st.integers(1, 6)
tweet_ids = st.integers(1, 40)
bounds = st.none() | st.integers(1, 45)
limits = st.integers(1, 8)
media = st.lists(
    st.builds(
        Media, st.sampled_from(["a", "b", "c", "d"]), st.just("image/png"), st.integers(1, 9)
    ),
    max_size=3,
    unique_by=lambda m: m.id,
)

# What the facade lets through to a store: no NUL, no lone surrogates (validation.check_text).
_text = st.text(
    alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12
)

store_ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), tweet_ids, users, _text, media),
        st.tuples(st.just("delete"), tweet_ids),
        st.tuples(st.just("get"), st.lists(tweet_ids, max_size=6)),
        st.tuples(st.just("author"), users, bounds, limits),
        st.tuples(st.just("follow"), users, users),
        st.tuples(st.just("unfollow"), users, users),
        st.tuples(st.just("followers"), users, st.none() | users, limits),
        st.tuples(st.just("following"), users, st.none() | users, limits),
        st.tuples(st.just("counts"), users),
        st.tuples(st.just("among"), users, st.lists(users, max_size=4)),
        st.tuples(st.just("celebs"), users, st.integers(0, 3)),
        st.tuples(st.just("home"), users, bounds, limits),
        st.tuples(st.just("media"), st.lists(st.sampled_from(["a", "b", "c", "x"]), max_size=3)),
    ),
    max_size=40,
)


def apply_store(s: Any, op: tuple[Any, ...]) -> Any:
    match op:
        case ("put", i, a, text, m):
            try:
                return s.put_tweet(Tweet(i, a, text, T0 + timedelta(microseconds=i), tuple(m)))
            except DuplicateId:  # another tweet under a held id: refused by both
                return "refused"
        case ("delete", i):
            return s.mark_deleted(i)
        case ("get", ids):
            return s.get_tweets(ids)
        case ("author", a, before, n):
            return s.author_tweet_ids(a, before, n)
        case ("follow", f, e):
            return s.add_follow(f, e) if f != e else None
        case ("unfollow", f, e):
            return s.remove_follow(f, e)
        case ("followers", u, after, n):
            return s.followers(u, after, n)
        case ("following", u, after, n):
            return s.following(u, after, n)
        case ("counts", u):
            return (s.follower_count(u), s.following_count(u))
        case ("among", u, c):
            return s.followers_among(u, c)
        case ("celebs", u, n):
            return s.following_with_min_followers(u, n)
        case ("home", u, before, n):
            return s.home_tweet_ids(u, before, n)
        case ("media", ids):
            return s.media_in_use(ids)
    raise AssertionError(op)


@pytest.fixture
def shared_store(sql_store: SQLStore) -> SQLStore:
    sql_store.create_schema()
    return sql_store


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=store_ops)
def test_store_matches_memory(shared_store: SQLStore, ops: list[tuple[Any, ...]]) -> None:
    wipe(shared_store.engines()[0][0], shared_store.tables)
    ref = MemoryStore()
    for op in ops:
        assert apply_store(shared_store, op) == apply_store(ref, op), op


keys = st.integers(1, 4)
kinds = st.sampled_from(["feed", "celebrity"])
id_lists = st.lists(st.integers(1, 30), max_size=6)
cache_ops = st.lists(
    st.one_of(
        st.tuples(st.just("read"), kinds, keys, bounds, limits),
        st.tuples(st.just("reset"), kinds, keys),
        st.tuples(st.just("merge"), kinds, keys, id_lists, st.integers(0, 20), st.integers(1, 5)),
        st.tuples(
            st.just("insert"), kinds, st.lists(keys, max_size=4), id_lists, st.integers(1, 5)
        ),
        st.tuples(st.just("remove"), kinds, st.lists(keys, max_size=4), id_lists),
        st.tuples(st.just("touch"), keys, st.integers(0, 5)),
        st.tuples(st.just("active"), st.lists(keys, max_size=4), st.integers(0, 5)),
        st.tuples(st.just("hot_put"), st.lists(st.integers(1, 8), max_size=3)),
        st.tuples(st.just("hot_forget"), st.integers(1, 8)),
        st.tuples(st.just("hot_get"), st.lists(st.integers(1, 8), max_size=4)),
    ),
    max_size=40,
)


def apply_cache(c: Any, op: tuple[Any, ...]) -> Any:
    match op:
        case ("read", kind, key, before, n):
            return c.read(kind, key, before, n)
        case ("reset", kind, key):
            return c.reset(kind, key)
        case ("merge", kind, key, ids, floor, n):
            return c.merge(kind, key, sorted(set(ids), reverse=True), floor, n)
        case ("insert", kind, ks, ids, n):
            return c.insert(kind, ks, ids, n)
        case ("remove", kind, ks, ids):
            return c.remove(kind, ks, ids)
        case ("touch", u, h):
            return c.touch(u, T0 + timedelta(hours=h))
        case ("active", us, h):
            return c.active_among(us, T0 + timedelta(hours=h))
        case ("hot_put", ids):
            return c.put_hot_tweets(
                [Tweet(i, 1, f"t{i} ✨", T0, (Media("m", "image/png", 1),)) for i in ids]
            )
        case ("hot_forget", i):
            return c.forget_hot_tweet(i)
        case ("hot_get", ids):
            return c.get_hot_tweets(ids)
    raise AssertionError(op)


@pytest.fixture
def shared_cache(sql_cache: SQLFeedCache) -> SQLFeedCache:
    sql_cache.read("feed", 1, None, 1)  # creates the tables
    return sql_cache


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=cache_ops)
def test_cache_matches_memory(shared_cache: SQLFeedCache, ops: list[tuple[Any, ...]]) -> None:
    wipe(shared_cache.db.primary, shared_cache.tables)
    ref = MemoryFeedCache()
    for op in ops:
        assert apply_cache(shared_cache, op) == apply_cache(ref, op), op
