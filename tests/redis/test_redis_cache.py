"""RedisFeedCache beyond the contract: 64-bit ids and the optional abilities (``read_many``,
``touch_and_read``, ``insert_many``) against the reference, the packed encoding's size, one
round trip per operation, NOSCRIPT recovery, cluster slots, URL options and fast failures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis_rig import Server, flush_cluster

import socialfeed
from socialfeed import Settings
from socialfeed.backends.memory import MemoryFeedCache
from socialfeed.backends.redis import RedisFeedCache
from socialfeed.backends.redis.codec import Keys
from socialfeed.errors import BackendError
from socialfeed.ids import MAX_ID
from socialfeed.interfaces import (
    READ_ALONG,
    CachedSlice,
    FanoutBatchSupport,
    FeedReadSupport,
    ReadAlong,
)
from socialfeed.models import Tweet

pytestmark = pytest.mark.redis

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def cache(cache_url: str) -> Iterator[RedisFeedCache]:
    c = RedisFeedCache.from_url(cache_url, Settings())
    yield c
    c.close()


@pytest.fixture
def cluster_cache(cluster_url: str) -> Iterator[RedisFeedCache]:
    flush_cluster(cluster_url)
    c = RedisFeedCache.from_url(cluster_url, Settings())
    yield c
    c.close()


def _calls(client: Any, command: str) -> int:
    stats = client.info("commandstats").get(f"cmdstat_{command}")
    return int(stats["calls"]) if stats else 0


# ids that differ in the high and in the low 32-bit halves (Lua compares the halves)
_BIG = st.sampled_from([1, 2, 2**32 - 1, 2**32, 2**32 + 1, 2**40, 2**62, MAX_ID - 1, MAX_ID]) | (
    st.integers(1, MAX_ID)
)
_KEYS = st.lists(st.integers(1, 3), max_size=3)
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("reset"), st.integers(1, 3)),
        st.tuples(
            st.just("merge"), st.integers(1, 3), st.lists(_BIG, max_size=12), _BIG | st.just(0)
        ),
        st.tuples(st.just("insert"), _KEYS, st.lists(_BIG, max_size=12)),
        # ids newer than any so far: the usual fan-out insert (the script's fast path)
        st.tuples(st.just("post"), _KEYS, st.integers(0, 4)),
        st.tuples(
            st.just("insert_many"),
            st.lists(st.tuples(_KEYS, st.lists(_BIG, max_size=5) | st.just([])), max_size=4),
        ),
        st.tuples(st.just("remove"), _KEYS, st.lists(_BIG, max_size=4)),
        st.tuples(st.just("read"), st.integers(1, 3), st.none() | _BIG, st.integers(0, 12)),
        st.tuples(st.just("read_many"), _KEYS, st.none() | _BIG, st.integers(0, 12)),
        st.tuples(st.just("touch"), st.integers(1, 3), st.integers(0, 12)),
        st.tuples(st.just("touch_and_read"), st.integers(1, 3), st.integers(0, 12)),
    ),
    max_size=25,
)


def _differential(cache: RedisFeedCache, ops: list[tuple[Any, ...]], max_len: int) -> None:
    ref = MemoryFeedCache()
    base = int(time.time_ns() % 10**9) * 10
    now = T0
    newest = MAX_ID - 10**6  # "post" ids count up from here

    def keys(ks: list[int]) -> list[int]:
        return [base + k for k in ks]

    for op, *args in ops:
        if op == "reset":
            for c in (cache, ref):
                c.reset("feed", base + args[0])
        elif op == "merge":
            ids, floor = args[1], args[2]
            for c in (cache, ref):
                c.merge("feed", base + args[0], ids, floor, max_len)
        elif op in ("insert", "post"):
            ids = args[1] if op == "insert" else list(range(newest + 1, newest + 1 + args[1]))
            newest += args[1] if op == "post" else 0
            for c in (cache, ref):
                c.insert("feed", keys(args[0]), ids, max_len)
        elif op == "insert_many":
            batches = [(keys(ks), ids) for ks, ids in args[0]]
            for c in (cache, ref):
                c.insert_many("feed", batches, max_len)
        elif op == "remove":
            for c in (cache, ref):
                c.remove("feed", keys(args[0]), args[1])
        elif op == "read":
            key, before, limit = base + args[0], args[1], args[2]
            assert cache.read("feed", key, before, limit) == ref.read("feed", key, before, limit)
        elif op == "read_many":
            ks, before, limit = keys(args[0]), args[1], args[2]
            found = cache.read_many("feed", ks, before, limit)
            assert found == ref.read_many("feed", ks, before, limit)
        else:
            key, limit = base + args[0], args[1]
            now += timedelta(seconds=1)
            if op == "touch":
                assert cache.touch(key, now) == ref.touch(key, now)
                assert cache.read("feed", key, None, limit) == ref.read("feed", key, None, limit)
            else:
                assert cache.touch_and_read(key, now, limit) == ref.touch_and_read(key, now, limit)
    for k in (1, 2, 3):
        assert cache.read("feed", base + k, None, 999) == ref.read("feed", base + k, None, 999)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=_OPS, max_len=st.integers(1, 10))
def test_64_bit_ids_and_abilities_behave_like_the_reference(
    cache: RedisFeedCache, ops: Any, max_len: int
) -> None:
    _differential(cache, ops, max_len)


@pytest.mark.cluster
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=_OPS, max_len=st.integers(1, 10))
def test_64_bit_ids_and_abilities_on_the_cluster(
    cluster_cache: RedisFeedCache, ops: Any, max_len: int
) -> None:
    _differential(cluster_cache, ops, max_len)


def test_the_abilities_are_detected() -> None:
    assert issubclass(RedisFeedCache, FeedReadSupport)
    assert issubclass(RedisFeedCache, FanoutBatchSupport)


def test_packed_feeds_cost_under_24_bytes_per_entry(cache: RedisFeedCache) -> None:
    ids = list(range(10**15, 10**15 + 800 * 7919, 7919))
    for user in range(1, 51):
        cache.merge("feed", user, ids, 0, 800)
    client: Any = cache.client
    used = sum(
        client.memory_usage(cache._keys.list_key("feed", u), samples=0) for u in range(1, 51)
    )
    per_entry = used / (50 * 800)
    assert per_entry <= 24, per_entry
    assert cache.read("feed", 1, None, 3) == CachedSlice(tuple(sorted(ids)[::-1][:3]), ids[0])


@pytest.fixture
def private_cache(private_server: Server) -> Iterator[RedisFeedCache]:
    """A cache on a server of our own, where command counts are ours alone."""
    c = RedisFeedCache.from_url(private_server.url, Settings())
    yield c
    c.close()


def test_fan_out_batch_is_one_script_call_and_trims(private_cache: RedisFeedCache) -> None:
    cache = private_cache
    users = list(range(1, 1000))
    for u in users:
        cache.merge("feed", u, [10, 20, 30], 0, 3)
    client: Any = cache.client
    before = _calls(client, "evalsha")
    cache.insert("feed", [*users, 5000], [40], 3)  # 5000 has no list: skipped
    assert _calls(client, "evalsha") - before == 1
    assert cache.read("feed", 999, None, 10) == CachedSlice((40, 30, 20), 20)
    assert cache.read("feed", 5000, None, 10) is None
    cache.remove("feed", users, [30, 99])
    assert cache.read("feed", 7, None, 10) == CachedSlice((40, 20), 20)


def test_scripts_reload_after_script_flush(cache: RedisFeedCache) -> None:
    cache.merge("feed", 1, [1, 2], 0, 10)
    cache.client.script_flush()
    cache.insert("feed", [1], [3], 10)
    cache.client.script_flush()
    cache.insert("feed", [1, 2, 3], [4], 10)  # the multi-key path
    cache.client.script_flush()
    assert cache.touch(1, T0) is None
    cache.client.script_flush()
    cache.insert_many("feed", [([1], [5]), ([2], [6])], 10)
    cache.client.script_flush()
    assert cache.read_many("feed", [1, 2], 6, 10) == [CachedSlice((5, 4, 3, 2, 1), 0), None]
    cache.client.script_flush()
    assert cache.read("feed", 1, 3, 10) == CachedSlice((2, 1), 0)
    assert cache.read("feed", 1, None, 10) == CachedSlice((5, 4, 3, 2, 1), 0)


def _round_trips(client: Any) -> list[str]:
    """Record each command sent alone (its name) and each pipeline sent ("pipeline")."""
    log: list[str] = []
    command, pipeline = client.execute_command, client.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        log.append(str(args[0]))
        return command(*args, **options)

    def make_pipeline(*args: Any, **options: Any) -> Any:
        log.append("pipeline")
        return pipeline(*args, **options)

    client.execute_command, client.pipeline = execute_command, make_pipeline
    return log


def test_each_ability_is_one_round_trip(private_cache: RedisFeedCache) -> None:
    cache = private_cache
    client: Any = cache.client
    for u in (1, 2, 3):
        cache.merge("feed", u, range(1, 31), 0, 800)
    counts = {c: _calls(client, c) for c in ("getrange", "evalsha", "get", "set")}
    sent = _round_trips(client)
    # touch_and_read: one EVALSHA (its script ran one GET, one SET and one GETRANGE)
    assert cache.touch_and_read(1, T0, 21) == (None, CachedSlice(tuple(range(30, 9, -1)), 0))
    assert sent == ["EVALSHA"]
    assert {c: _calls(client, c) for c in counts} == {c: n + 1 for c, n in counts.items()}
    # read_many: one EVALSHA (a first page: its script ran a GETRANGE per list)
    sent.clear()
    first = cache.read_many("feed", [1, 2, 3, 4], None, 2)
    assert first == [CachedSlice((30, 29), 0)] * 3 + [None]
    assert sent == ["EVALSHA"]
    sent.clear()
    deep = CachedSlice((4, 3, 2, 1), 0)
    assert cache.read_many("feed", [1, 4, 2], 5, 9) == [deep, None, deep]
    assert sent == ["EVALSHA"]
    # insert_many: one pipeline of one EVALSHA per batch
    before = _calls(client, "evalsha")
    sent.clear()
    cache.insert_many("feed", [([1, 2], [40]), ([3], [41, 42]), ([], [43])], 800)
    assert sent == ["pipeline"]
    assert _calls(client, "evalsha") - before == 2
    heads = cache.read_many("feed", [1, 2, 3], None, 1)
    assert [h.ids if h else None for h in heads] == [(40,), (40,), (42,)]


def test_a_first_page_reads_its_hot_tweets_in_the_same_round_trip(
    private_cache: RedisFeedCache,
) -> None:
    """On one server a first page is one EVALSHA: the touch, the feed's head and the hot bodies
    of its ids (READ_ALONG); a refill is one more (the read and its bodies; the visit is not
    recorded twice); a tombstone read along still hides its tweet, and a tweet that is not hot
    is loaded from the store and cached again."""
    sf = socialfeed.connect(cache=private_cache, strategy="push")
    sf.follow(1, 2)
    sf.get_feed(1)
    posted = [sf.create_tweet(2, f"tweet {n}").id for n in range(5)]
    first = sf.get_feed(1, limit=3)
    sf.get_feed(1, limit=10)  # every tweet hot
    sent = _round_trips(private_cache.client)
    assert sf.get_feed(1, limit=3) == first
    assert sent == ["EVALSHA"]
    private_cache.forget_hot_tweet(posted[-1])  # as delete_tweet does, before the purge
    sent.clear()
    assert [t.id for t in sf.get_feed(1, limit=3).items] == posted[-2:-5:-1]
    assert sent == ["EVALSHA", "EVALSHA"]  # the first page, then a refill past the hidden item
    private_cache.client.delete(*Keys("sf").tweets(posted[:-1]))
    sent.clear()
    assert [t.id for t in sf.get_feed(1, limit=3).items] == posted[-2:-5:-1]
    assert sent.count("EVALSHA") == 2 and "pipeline" in sent  # loaded, then cached again
    sent.clear()
    assert [t.id for t in sf.get_feed(1, limit=3).items] == posted[-2:-5:-1]
    assert sent == ["EVALSHA", "EVALSHA"]
    # outside a page read, touch_and_read reads no bodies
    counts = _calls(private_cache.client, "mget")
    private_cache.touch_and_read(1, T0, 3)
    assert _calls(private_cache.client, "mget") == counts
    sf.close()


def test_a_hybrid_first_page_reads_the_celebrity_heads_in_the_same_round_trip(
    private_cache: RedisFeedCache,
) -> None:
    """A reader following celebrities: the touch also reads the heads of their lists and the
    hot bodies of the newest ids of the feed and those lists (one EVALSHA per first page); a
    missing celebrity list is rebuilt and a tweet in two lists is shown once."""
    settings = Settings(celebrity_threshold=2)
    sf = socialfeed.connect(cache=private_cache, strategy="hybrid", settings=settings)
    for fan in (1, 5, 6):
        sf.follow(fan, 2)
        sf.follow(fan, 3)
    sf.follow(1, 4)  # an ordinary author, pushed into 1's feed
    sf.get_feed(1)
    posted = [sf.create_tweet(author, f"tweet {n}").id for n in range(4) for author in (2, 3, 4)]
    newest = posted[::-1]
    assert [t.id for t in sf.get_feed(1, limit=10).items] == newest[:10]
    sent = _round_trips(private_cache.client)
    page = sf.get_feed(1, limit=5)
    assert sent == ["EVALSHA"] and [t.id for t in page.items] == newest[:5]
    private_cache.insert("feed", [1], [posted[-2]], 800)  # a celebrity's tweet in the feed too
    private_cache.client.delete(Keys("sf").list_key("celebrity", 2))
    sent.clear()
    assert [t.id for t in sf.get_feed(1, limit=5).items] == newest[:5]
    assert "SET" in sent  # the missing list was rebuilt
    sent.clear()
    assert [t.id for t in sf.get_feed(1, limit=5).items] == newest[:5]
    assert sent == ["EVALSHA"]
    sf.close()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    lists=st.lists(st.lists(_BIG, max_size=12), min_size=1, max_size=5),
    floors=st.lists(_BIG | st.just(0), min_size=5, max_size=5),
    limit=st.integers(0, 8),
)
def test_a_first_page_reads_along_the_newest_bodies_of_the_feed_and_celebrity_lists(
    cache: RedisFeedCache, lists: list[list[int]], floors: list[int], limit: int
) -> None:
    """Whatever the lists hold (64-bit ids, floors, duplicates across lists), the touch reads
    along each celebrity list's head as ``read`` gives it and the hot bodies of exactly the
    newest ``limit`` distinct ids of the heads (the feed's first)."""
    base = (time.monotonic_ns() % 10**9) * 10  # fresh keys per example
    feed, *celebrities = lists
    keys = [base + n for n in range(1, len(celebrities) + 1)]
    cache.merge("feed", base, feed, floors[0], 50)
    for key, ids, floor in zip(keys, celebrities, floors[1:], strict=False):
        cache.merge("celebrity", key, ids, floor, 50)
    every = sorted({i for ids in lists for i in ids})
    cache.put_hot_tweets([Tweet(i, 1, "t", T0) for i in every])
    along = ReadAlong(ahead=keys)
    scope = READ_ALONG.set(along)
    try:
        previous, head = cache.touch_and_read(base, T0, limit)
    finally:
        READ_ALONG.reset(scope)
    assert previous is None and head == cache.read("feed", base, None, limit)
    assert along.heads == {k: cache.read("celebrity", k, None, limit) for k in keys}
    newest = sorted(every, reverse=True)
    heads = {i for ids in lists for i in sorted(set(ids), reverse=True)[:limit]}
    assert set(along.hot) == set([i for i in newest if i in heads][:limit])
    if every:
        cache.client.delete(*Keys("sf").tweets(every))


def test_touch_refreshes_the_feed_ttl_and_keeps_no_state(cache_url: str) -> None:
    c = RedisFeedCache.from_url(cache_url + "?list_ttl=300", Settings())
    client: Any = c.client
    c.merge("feed", 1, [5], 0, 10)
    client.pexpire("sf:{u:1}:f", 1000)
    assert c.touch(1, T0) is None
    assert 299_000 < client.pttl("sf:{u:1}:f") <= 300_000
    c.remove("feed", [1], [5])  # reads see every write at once: nothing is read ahead
    assert c.touch_and_read(1, T0 + timedelta(seconds=1), 10) == (T0, CachedSlice((), 0))
    c.reset("feed", 1)
    assert c.touch_and_read(1, T0, 10)[1] is None  # being rebuilt
    assert c.touch_and_read(2, T0, 10) == (None, None)  # no feed
    c.close()


def test_a_full_feed_takes_the_newest_and_raises_its_floor(cache: RedisFeedCache) -> None:
    cache.merge("feed", 1, range(10, 810), 0, 800)
    cache.insert("feed", [1], [900, 901], 800)  # newer than everything: the fast path
    assert cache.read("feed", 1, None, 3) == CachedSlice((901, 900, 809), 12)
    cache.insert("feed", [1], [5, 11, 950], 800)  # 5 and 11 are below the floor: skipped
    found = cache.read("feed", 1, None, 800)
    assert found is not None and found.floor == 13 and found.ids[:2] == (950, 901)
    assert len(found.ids) == 800 and found.ids[-1] == 13


def test_ttls_and_tombstones(cache_url: str) -> None:
    c = RedisFeedCache.from_url(
        cache_url + "?hot_ttl=100&tombstone_ttl=200&list_ttl=300&seen_ttl=400&prefix=x", Settings()
    )
    client: Any = c.client
    c.put_hot_tweets([Tweet(1, 1, "a", T0), Tweet(2, 1, "b", T0)])
    c.forget_hot_tweet(2)
    c.merge("feed", 1, [1], 0, 10)
    c.touch(1, T0)
    assert 99_000 < client.pttl("x:t:0000000000000001") <= 100_000
    assert 199_000 < client.pttl("x:t:0000000000000002") <= 200_000
    assert 299_000 < client.pttl("x:{u:1}:f") <= 300_000
    assert 399_000 < client.pttl("x:{u:1}:s") <= 400_000
    c.insert("feed", [1], [2], 10)  # an insert keeps the feed's ttl
    assert 299_000 < client.pttl("x:{u:1}:f") <= 300_000
    c.close()


def test_losing_everything_reads_as_absent(cache: RedisFeedCache) -> None:
    cache.merge("feed", 1, [1], 0, 10)
    cache.touch(1, T0)
    cache.put_hot_tweets([Tweet(1, 1, "a", T0)])
    cache.client.flushdb()
    assert cache.read("feed", 1, None, 10) is None
    assert cache.active_among([1], T0 - timedelta(days=1)) == []
    assert cache.get_hot_tweets([1]) == {}
    assert cache.touch(1, T0) is None


def test_an_unreachable_server_fails_fast_with_backend_error() -> None:
    c = RedisFeedCache.from_url("redis://127.0.0.1:6391/0", Settings())  # nothing listens there
    start = time.monotonic()
    with pytest.raises(BackendError) as info:
        c.read("feed", 1, None, 10)
    assert isinstance(info.value.__cause__, redis.RedisError)
    with pytest.raises(BackendError):
        c.insert("feed", [1, 2], [3], 10)
    assert time.monotonic() - start < 2


def test_ready_client_and_key_layout(cache_url: str) -> None:
    client = redis.Redis.from_url(cache_url)
    c = RedisFeedCache(client, prefix="app")
    c.merge("celebrity", 42, [1], 0, 5)
    c.touch(42, T0)
    assert sorted(client.keys("app:*")) == [b"app:{u:42}:c", b"app:{u:42}:s"]
    c.close()  # not ours: left open
    assert client.ping()
    client.close()


@pytest.mark.cluster
def test_cluster_fan_out_spans_slots_and_user_keys_share_one(cluster_url: str) -> None:
    from redis.crc import key_slot

    flush_cluster(cluster_url)
    c = RedisFeedCache.from_url(cluster_url, Settings())
    keys = Keys("sf")
    assert len({key_slot(k.encode()) for k in (keys.list_key("feed", 9), keys.seen(9))}) == 1
    users = list(range(1, 301))
    now = T0
    for u in users:
        c.touch(u, now)
        c.merge("feed", u, [1], 0, 3)
    assert c.active_among([*users, 999], now - timedelta(seconds=1)) == users
    c.insert("feed", users, [5, 4], 3)
    assert {c.read("feed", u, None, 9) for u in users} == {CachedSlice((5, 4, 1), 0)}
    c.insert("feed", users, [6], 3)
    c.client.script_flush()  # every primary
    c.remove("feed", users[::2], [5])
    assert c.read("feed", 1, None, 9) == CachedSlice((6, 4), 4)
    assert c.read("feed", 2, None, 9) == CachedSlice((6, 5, 4), 4)
    tweets = [Tweet(i, 1, f"t{i}", T0) for i in range(1, 50)]
    c.put_hot_tweets(tweets)
    c.forget_hot_tweet(3)
    expected = {t.id: (t if t.id != 3 else None) for t in tweets}
    assert c.get_hot_tweets(list(range(1, 60))) == expected
    c.close()
