"""W10 and W12 (docs/performance.md): how the Redis feed path scales with the accounts a reader
follows and with the followers of one tweet, each beside a same-run baseline.

The helpers (a flushed database, active followers, the raw ``ZADD`` pipeline, the landed check)
are those of :mod:`socialfeed.bench.redis`; the follow graph lives in a
:class:`~socialfeed.backends.memory.MemoryStore`, so the figures measure the cache and the
fan-out path.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from socialfeed.backends.memory import MemoryStore
from socialfeed.backends.redis import RedisFeedCache
from socialfeed.bench.harness import BenchContext, Row, median_of, p50_over
from socialfeed.bench.redis import (
    activate,
    check_landed,
    connect,
    flushed_client,
    push_fanout_rates,
    raw_fanout,
)
from socialfeed.ids import SnowflakeGenerator
from socialfeed.testing.data import TEXT

__all__ = ["WORKLOADS", "w10", "w12"]

CELEBRITY_THRESHOLD = 50
"""W10's ``celebrity_threshold``: its celebrities get that many synthetic followers."""

TWEETS_PER_ACCOUNT = 2
"""W10: every followed account has posted this many tweets (so every feed has entries)."""


def _read_ratio(ctx: BenchContext, wide: int, celebrities: int) -> Row:
    """W10's read half: ``get_feed(u, limit=20)`` p50 of a reader following ``wide`` accounts
    (``celebrities`` of them celebrities) against one following 100 (celebrities in the same
    proportion, at least one)."""
    client = flushed_client(ctx)
    store = MemoryStore()
    celebs, ordinary = range(1, celebrities + 1), range(celebrities + 1, wide + 1)
    filler = 10 * wide  # synthetic followers that make the celebrities celebrities
    for c in celebs:
        for f in range(filler, filler + CELEBRITY_THRESHOLD):
            store.add_follow(f, c)
    reader_wide, reader_narrow = wide + 1, wide + 2
    few = max(1, round(100 * celebrities / wide))
    for a in (*celebs, *ordinary):
        store.add_follow(reader_wide, a)
    for a in (*celebs[:few], *ordinary[: 100 - few]):
        store.add_follow(reader_narrow, a)
    activate(client, [reader_wide, reader_narrow, *celebs, *ordinary])
    sf = connect(ctx, store, "hybrid", celebrity_threshold=CELEBRITY_THRESHOLD)
    ctx.progress(f"W10: {wide:,} accounts post {TWEETS_PER_ACCOUNT} tweets each")
    for _ in range(TWEETS_PER_ACCOUNT):
        for a in (*celebs, *ordinary):
            sf.create_tweet(a, TEXT)
    sf.drain(timeout=ctx.drain_timeout)
    check_landed(client, [reader_wide, reader_narrow])
    for u in (reader_wide, reader_narrow):
        if len(sf.get_feed(u, limit=20).items) != 20:
            raise RuntimeError(f"W10: the feed of {u} is not a full page")
    n = 300 if ctx.quick else 2_000

    def p50(u: int) -> Callable[[], float]:
        return p50_over([u] * n, lambda u: sf.get_feed(u, limit=20))

    ctx.progress("W10: reading")
    value, baseline = median_of(ctx, p50(reader_wide)), median_of(ctx, p50(reader_narrow))
    sf.close()
    client.flushdb()
    return Row(
        "W10",
        f"get_feed p50 us, following {wide:,} ({celebrities} celebrities) vs 100",
        value,
        baseline,
        "<= 2x",
        value <= 2 * baseline,
    )


def _readers(
    store: MemoryStore, client: redis.Redis, author: int, first: int, count: int, follows: int
) -> list[int]:
    """``count`` readers (ids from ``first``) following ``author`` and ``follows - 1`` other
    accounts (the same ones for all), active, their feeds holding what those accounts posted:
    ``TWEETS_PER_ACCOUNT`` older tweets each, up to ``max_feed_length`` (800)."""
    readers = list(range(first, first + count))
    others = range(author + 1, author + follows)
    for r in readers:
        store.add_follow(r, author)
        for a in others:
            store.add_follow(r, a)
    activate(client, readers)
    ids = SnowflakeGenerator(10)
    entries = sorted((ids.next_id() for _ in range(TWEETS_PER_ACCOUNT * follows)), reverse=True)
    cache = RedisFeedCache(client)
    for r in readers:
        cache.merge("feed", r, entries[:800], 0, 800)
    return readers


def _fanout_rows(ctx: BenchContext, wide: int, readers: int) -> list[Row]:
    """W10's fan-out half: feed inserts/s of one tweet into ``readers`` readers who each follow
    ``wide`` accounts, against the same number following 100, and against raw ZADD."""
    client = flushed_client(ctx)
    store = MemoryStore()
    ctx.progress(f"W10: {readers:,} readers following {wide:,}, {readers:,} following 100")
    wide_author, narrow_author = 1, 2 * wide
    groups = {
        wide_author: _readers(store, client, wide_author, 10 * wide, readers, wide),
        narrow_author: _readers(store, client, narrow_author, 20 * wide, readers, 100),
    }
    activate(client, groups)
    # hybrid, and neither author a celebrity: their tweets are fanned out
    sf = connect(ctx, store, "hybrid", celebrity_threshold=10 * readers)
    tweet_ids = SnowflakeGenerator(11)

    def rate(author: int) -> Callable[[], float]:
        def once() -> float:
            start = time.perf_counter()
            sf.create_tweet(author, TEXT)
            sf.drain(timeout=ctx.drain_timeout)
            return (readers + 1) / (time.perf_counter() - start)

        return once

    def raw() -> float:
        tid = tweet_ids.next_id()
        return readers / raw_fanout(client, ((r, tid) for r in groups[wide_author]))

    value, narrow = median_of(ctx, rate(wide_author)), median_of(ctx, rate(narrow_author))
    baseline = median_of(ctx, raw)
    for group in groups.values():
        check_landed(client, group[:: max(1, readers // 50)])
    sf.close()
    client.flushdb()
    figure = f"fan-out inserts/s into readers following {wide:,}"
    return [
        Row(
            "W10",
            f"{figure} vs 100",
            value,
            narrow,
            ">= 0.8x (W1's rate holds)",
            value >= 0.8 * narrow,
        ),
        Row(
            "W10",
            f"{figure} vs raw ZADD",
            value,
            baseline,
            ">= 1.5x raw (W1)",
            value >= 1.5 * baseline,
        ),
    ]


def w10(ctx: BenchContext) -> list[Row]:
    """Hybrid, Redis: a reader following 5,000 accounts (100 celebrities) against one following
    100, and the fan-out into such readers against readers following 100."""
    wide, celebrities = (500, 10) if ctx.quick else (5_000, 100)
    readers = 200 if ctx.quick else 2_000
    return [_read_ratio(ctx, wide, celebrities), *_fanout_rows(ctx, wide, readers)]


def w12(ctx: BenchContext) -> list[Row]:
    """Push, Redis: one tweet to 1,000 / 10,000 / 100,000 / 1,000,000 active followers, feed
    inserts/s at each size against the raw ZADD pipeline; then the spread of the rates from
    10,000 up (cost linear in followers)."""
    sizes = (1_000, 10_000) if ctx.quick else (1_000, 10_000, 100_000, 1_000_000)
    ids = SnowflakeGenerator(12)
    rows, rates = [], []
    for n in sizes:
        value, baseline = push_fanout_rates(ctx, n, ids)
        if n >= 10_000:
            rates.append(value)
        rows.append(Row("W12", f"inserts/s at {n:,} followers", value, baseline, "-", None))
    spread = max(rates) / min(rates)
    rows.append(
        Row(
            "W12",
            "max/min inserts/s from 10,000 up",
            spread,
            None,
            "<= 1.2",
            spread <= 1.2,
        )
    )
    return rows


WORKLOADS: dict[str, Callable[[BenchContext], list[Row]]] = {"W10": w10, "W12": w12}
