"""W1-W6 and W3F (docs/performance.md) on the Redis feed cache, each beside its raw redis-py
baseline.

Every workload flushes ``ctx.redis()`` (DB 13 by default) before and after it. The follow graph
lives in a :class:`~socialfeed.backends.memory.MemoryStore`, so the figures measure the cache and
the fan-out path; followers are made active (a last-seen time and an empty, complete feed) in bulk
before a workload, as they would be after their first visit.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

import socialfeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.backends.redis import RedisFeedCache
from socialfeed.backends.redis.codec import Keys, to_us
from socialfeed.bench.harness import BenchContext, Row, median_of, percentile, timed
from socialfeed.ids import SnowflakeGenerator
from socialfeed.testing.data import TEXT, zipf_graph

__all__ = [
    "MUTED_WORDS",
    "WORKLOADS",
    "activate",
    "check_landed",
    "connect",
    "flushed_client",
    "push_fanout_rates",
    "raw_fanout",
    "w1",
    "w2",
    "w3",
    "w3f",
    "w4",
    "w5",
    "w6",
]

_FEED_EMPTY = bytes(8)  # floor 0, no entries: a complete, empty feed


def check_landed(client: redis.Redis, users: list[int]) -> None:
    """Fail unless each of ``users`` has a cached feed with entries: the fan-out measured must
    have written to the feeds, not skipped them."""
    found = RedisFeedCache(client).read_many("feed", users, None, 1)
    if not all(f is not None and f.ids for f in found):
        raise RuntimeError(f"fan-out did not land in every feed of {users}: {found}")


def flushed_client(ctx: BenchContext) -> redis.Redis:
    """A client of ``ctx.redis()``, its database flushed."""
    client = redis.Redis.from_url(ctx.redis())
    client.flushdb()
    return client


def activate(client: redis.Redis, users: Iterable[int], prefix: str = "sf") -> None:
    """Give ``users`` a last-seen time of now and an empty, complete feed."""
    keys = Keys(prefix)
    now = to_us(socialfeed.feed._utcnow())
    pipe = client.pipeline(transaction=False)
    for n, u in enumerate(users, 1):
        pipe.set(keys.seen(u), now)
        pipe.set(keys.list_key("feed", u), _FEED_EMPTY)
        if n % 2000 == 0:
            pipe.execute()
    pipe.execute()


def connect(
    ctx: BenchContext,
    store: MemoryStore,
    strategy: str,
    queue: str = "inline",
    workers: int = 0,
    **settings: Any,
) -> Any:
    """``socialfeed.connect`` on ``store`` with ``ctx.redis()`` as the cache."""
    return socialfeed.connect(
        store=store,
        cache=ctx.redis(),
        queue=queue,
        workers=workers,
        strategy=strategy,
        settings=socialfeed.Settings(**settings),
    )


def raw_fanout(client: redis.Redis, targets: Iterable[tuple[int, int]]) -> float:
    """Seconds for the raw baseline: ZADD feed:<follower> <ms> <id>, pipelined per 1,000."""
    start = time.perf_counter()
    pipe = client.pipeline(transaction=False)
    for n, (follower, tweet_id) in enumerate(targets, 1):
        pipe.zadd(f"raw:feed:{follower}", {str(tweet_id): tweet_id >> 22})
        if n % 1000 == 0:
            pipe.execute()
    pipe.execute()
    return time.perf_counter() - start


def push_fanout_rates(
    ctx: BenchContext, n: int, ids: SnowflakeGenerator, repeats: int | None = None
) -> tuple[float, float]:
    """Feed inserts/s of one tweet by an author with ``n`` active followers (push, inline
    fan-out, drained; the author's own feed counts), and of the raw ZADD pipeline to the same
    followers: the medians of ``repeats`` runs (default ``ctx.repeats``). The data is built on a
    flushed database and flushed after; the inserts are checked on a sample of the feeds."""
    client = flushed_client(ctx)
    store = MemoryStore()
    for f in range(2, n + 2):
        store.add_follow(f, 1)
    activate(client, range(1, n + 2))
    sf = connect(ctx, store, "push")
    ctx.progress(f"fan-out to {n:,} followers")

    def ours() -> float:
        start = time.perf_counter()
        sf.create_tweet(1, TEXT)
        sf.drain(timeout=ctx.drain_timeout)
        return (n + 1) / (time.perf_counter() - start)

    def raw() -> float:
        tweet_id = ids.next_id()
        return n / raw_fanout(client, ((f, tweet_id) for f in range(2, n + 2)))

    runs = ctx.repeats if repeats is None else repeats
    value = statistics.median(ours() for _ in range(runs))
    baseline = statistics.median(raw() for _ in range(runs))
    check_landed(client, [*range(2, n + 1, max(1, n // 100)), n + 1])
    sf.close()
    client.flushdb()
    return value, baseline


def w1(ctx: BenchContext) -> list[Row]:
    """One tweet by an author with 10,000, then 100,000 active followers; push; inline fan-out."""
    rows = []
    ids = SnowflakeGenerator(1)
    for n in (2_000, 10_000) if ctx.quick else (10_000, 100_000):
        value, baseline = push_fanout_rates(ctx, n, ids)
        rows.append(
            Row(
                "W1",
                f"feed inserts/s ({n:,} followers)",
                value,
                baseline,
                ">= 1.5x raw",
                value >= 1.5 * baseline,
            )
        )
    return rows


def _zipf_feed(ctx: BenchContext) -> tuple[Any, redis.Redis, list[tuple[int, int]], int]:
    users = 1_000 if ctx.quick else 10_000
    ctx.progress(f"W2: zipf graph of {users:,} users")
    edges = zipf_graph(users)
    store = MemoryStore()
    for follower, followee in edges:
        store.add_follow(follower, followee)
    client = flushed_client(ctx)
    activate(client, range(1, users + 1))
    # jobs go on the Redis Streams queue; w2 starts its workers once the tweets are posted
    queue = f"{ctx.redis()}?stream=bench:fanout&batch=64"
    return connect(ctx, store, "push", queue=queue, workers=0), client, edges, users


_W2_STATE: dict[str, Any] = {}


def w2(ctx: BenchContext) -> list[Row]:
    """Zipf graph, every user posts once, push, fan-out on the Redis Streams queue, drained.

    The clock runs from the first post until every fan-out is applied. The two workers (one per
    core here) start once the tweets are posted, as separate worker processes would find a
    backlog: in-process workers running beside the posting thread measure the GIL instead (each
    XADD waits out a worker's 5 ms switch interval), not the cache.
    """
    sf, client, edges, users = _zipf_feed(ctx)
    followers: dict[int, list[int]] = {}
    for follower, followee in edges:
        followers.setdefault(followee, []).append(follower)
    inserts = len(edges) + users  # every follower, plus the author's own feed
    ctx.progress(f"W2: {users:,} tweets, {inserts:,} feed inserts")
    start = time.perf_counter()
    for u in range(1, users + 1):
        sf.create_tweet(u, TEXT)
    sf.queue.start(sf.job_handler, 2)
    sf.drain(timeout=ctx.drain_timeout)
    seconds = time.perf_counter() - start
    check_landed(client, list(range(1, users + 1, 97)))
    ids = SnowflakeGenerator(2)
    raw = raw_fanout(
        client,
        (
            (f, tid)
            for u in range(1, users + 1)
            for tid in [ids.next_id()]
            for f in [u, *followers.get(u, ())]
        ),
    )
    _W2_STATE.update(sf=sf, client=client, users=users, followers=followers)
    return [
        Row(
            "W2",
            "tweets/s (push, drained)",
            users / seconds,
            users / raw,
            ">= 1.5x raw",
            seconds * 1.5 <= raw,
        ),
        Row(
            "W2",
            "feed inserts/s",
            inserts / seconds,
            inserts / raw,
            ">= 1.5x raw",
            seconds * 1.5 <= raw,
        ),
    ]


def _reads(
    ctx: BenchContext, wid: str, reads: int
) -> tuple[Any, list[int], Callable[[int], object], Callable[[Callable[[int], object]], Any]]:
    """After W2 (run again if needed): the feed, the sampled readers (feeds warm, tweets hot),
    the raw read (ZREVRANGE + MGET on W2's sorted sets, bodies by id), and ``measure(fn)``:
    the median over ``ctx.repeats`` runs of ``fn`` over the sample, as ``(p50, p99)`` in us."""
    if not _W2_STATE:
        w2(ctx)
    sf, client, users = _W2_STATE["sf"], _W2_STATE["client"], _W2_STATE["users"]
    rng = random.Random(3)
    sample = [rng.randint(1, users) for _ in range(reads)]
    ctx.progress(f"{wid}: warming up (tweets become hot)")
    pipe = client.pipeline(transaction=False)
    for u in set(sample):
        for t in sf.get_feed(u, limit=20).items:
            pipe.set(f"raw:tweet:{t.id}", t.text)
    pipe.execute()

    def raw_read(u: int) -> object:
        ids = client.zrevrange(f"raw:feed:{u}", 0, 19)
        return client.mget([f"raw:tweet:{int(i)}" for i in ids])

    def measure(fn: Callable[[int], object]) -> tuple[float, float]:
        def once() -> list[float]:
            it = iter(sample)
            return timed(lambda: fn(next(it)), len(sample))

        runs = [once() for _ in range(ctx.repeats)]
        p50 = statistics.median(percentile(s, 50) for s in runs)
        return p50, statistics.median(percentile(s, 99) for s in runs)

    return sf, sample, raw_read, measure


def _finish() -> None:
    sf, client = _W2_STATE.pop("sf"), _W2_STATE.pop("client")
    sf.close()
    client.flushdb()
    _W2_STATE.clear()


def w3(ctx: BenchContext) -> list[Row]:
    """After W2: random get_feed(u, limit=20), hydrated, against ZREVRANGE + MGET."""
    sf, _, raw_read, measure = _reads(ctx, "W3", 2_000 if ctx.quick else 10_000)
    ctx.progress("W3: reading")
    p50, p99 = measure(lambda u: sf.get_feed(u, limit=20))
    r50, r99 = measure(raw_read)
    _finish()
    return [
        Row("W3", "get_feed p50 us", p50, r50, "<= 0.8x raw", p50 <= 0.8 * r50),
        Row("W3", "get_feed p99 us", p99, r99, "<= 1.0x raw", p99 <= r99),
    ]


MUTED_WORDS = tuple(f"spoiler{n}" for n in range(10))
"""W3F's muted words: none occurs in the bench's tweets, so they cost their match, not refills."""


def w3f(ctx: BenchContext) -> list[Row]:
    """W3 for readers who each block 50 users they do not follow, mute 50 random users (some
    they follow: those tweets are hidden and pages refill) and mute 10 words, against the raw
    unfiltered read and the same readers' unfiltered get_feed."""
    sf, sample, raw_read, measure = _reads(ctx, "W3F", 300 if ctx.quick else 10_000)
    users = _W2_STATE["users"]
    ctx.progress("W3F: reading before the filters")
    plain50, _ = measure(lambda u: sf.get_feed(u, limit=20))
    rng = random.Random(5)
    readers = sorted(set(sample))
    ctx.progress(f"W3F: {len(readers):,} readers block 50, mute 50 and mute 10 words")
    for u in readers:
        following = set(sf.following(u, limit=1000).ids)
        others = [v for v in rng.sample(range(1, users + 1), 120) if v != u]
        for v in [v for v in others if v not in following][:50]:
            sf.block(u, v)
        for v in others[-50:]:
            sf.mute(u, v)
        for word in MUTED_WORDS:
            sf.mute_word(u, word)
    sf.drain(timeout=ctx.drain_timeout)
    for u in readers:  # the pages the filters refill warm their tweets too
        sf.get_feed(u, limit=20)
    ctx.progress("W3F: reading")
    p50, p99 = measure(lambda u: sf.get_feed(u, limit=20))
    r50, r99 = measure(raw_read)
    _finish()
    return [
        Row("W3F", "filtered get_feed p50 us", p50, r50, "<= 1.0x raw", p50 <= r50),
        Row("W3F", "filtered get_feed p99 us", p99, r99, "<= 1.2x raw", p99 <= 1.2 * r99),
        Row("W3F", "filtered vs unfiltered p50 us", p50, plain50, "-", None),
    ]


def w4(ctx: BenchContext) -> list[Row]:
    """1,000 feeds of 800 entries: bytes per entry by MEMORY USAGE, beside sorted sets."""
    feeds = 100 if ctx.quick else 1_000
    client = flushed_client(ctx)
    cache = RedisFeedCache(client)
    ids = SnowflakeGenerator(4)
    entries = [ids.next_id() for _ in range(800)]
    ctx.progress(f"W4: {feeds:,} feeds of 800 entries")
    for u in range(1, feeds + 1):
        cache.merge("feed", u, entries, 0, 800)
    zset = {str(i): i >> 22 for i in entries}
    pipe = client.pipeline(transaction=False)
    for u in range(1, feeds + 1):
        pipe.zadd(f"raw:feed:{u}", zset)
    pipe.execute()
    keys = Keys("sf")
    ours = sum(
        int(client.memory_usage(keys.list_key("feed", u), samples=0) or 0)
        for u in range(1, feeds + 1)
    )
    raw = sum(
        int(client.memory_usage(f"raw:feed:{u}", samples=0) or 0) for u in range(1, feeds + 1)
    )
    client.flushdb()
    value, baseline = ours / (feeds * 800), raw / (feeds * 800)
    return [Row("W4", "bytes per feed entry", value, baseline, "<= 6 B", value <= 6)]


def w5(ctx: BenchContext) -> list[Row]:
    """Hybrid create_tweet latency: an author with 1,000,000 followers vs one with 10."""
    big = 50_000 if ctx.quick else 1_000_000
    client = flushed_client(ctx)
    store = MemoryStore()
    ctx.progress(f"W5: {big:,} followers")
    for f in range(100, big + 100):
        store.add_follow(f, 1)
    for f in range(100, 110):
        store.add_follow(f, 2)
    activate(client, range(100, 100 + min(big, 100_000)))
    sf = connect(ctx, store, "hybrid")
    n = 200 if ctx.quick else 1_000

    def p50(author: int) -> Callable[[], float]:
        return lambda: percentile(timed(lambda: sf.create_tweet(author, TEXT), n), 50)

    celeb, small = median_of(ctx, p50(1)), median_of(ctx, p50(2))
    sf.close()
    client.flushdb()
    ratio = celeb / small
    return [Row("W5", "create_tweet p50 us, celebrity", celeb, small, "<= 1.5x", ratio <= 1.5)]


def w6(ctx: BenchContext) -> list[Row]:
    """Hybrid get_feed p50: following 10 celebrities + 90 others vs following 100 others."""
    threshold = 100 if ctx.quick else 1_000
    client = flushed_client(ctx)
    store = MemoryStore()
    celebs, others = range(1, 11), range(11, 201)
    filler = 10_000
    for c in celebs:
        for f in range(filler, filler + threshold):
            store.add_follow(f, c)
    reader_a, reader_b = 1_000, 1_001
    for c in celebs:
        store.add_follow(reader_a, c)
    for o in others[:90]:
        store.add_follow(reader_a, o)
    for o in others[:100]:
        store.add_follow(reader_b, o)
    activate(client, [reader_a, reader_b, *others])
    sf = connect(ctx, store, "hybrid", celebrity_threshold=threshold)
    ctx.progress("W6: posting")
    for _ in range(5):
        for author in (*celebs, *others):
            sf.create_tweet(author, TEXT)
    sf.drain(timeout=ctx.drain_timeout)
    n = 500 if ctx.quick else 3_000
    for u in (reader_a, reader_b):
        sf.get_feed(u)

    def p50(u: int) -> Callable[[], float]:
        return lambda: percentile(timed(lambda: sf.get_feed(u, limit=20), n), 50)

    with_celebs, without = median_of(ctx, p50(reader_a)), median_of(ctx, p50(reader_b))
    sf.close()
    client.flushdb()
    return [
        Row(
            "W6",
            "get_feed p50 us, 10 celebrities",
            with_celebs,
            without,
            "<= 1.2x",
            with_celebs <= 1.2 * without,
        )
    ]


WORKLOADS: dict[str, Callable[[BenchContext], list[Row]]] = {
    "W1": w1,
    "W2": w2,
    "W3": w3,
    "W3F": w3f,
    "W4": w4,
    "W5": w5,
    "W6": w6,
}
