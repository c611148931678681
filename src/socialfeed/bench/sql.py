"""W7 (pull on PostgreSQL vs the hand-written LATERAL query) and W8 (PostgreSQL store + Redis
cache, hybrid, sustained posting with workers draining)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import socialfeed
from socialfeed.backends.sql import SQLStore
from socialfeed.bench.data import TEXT, zipf_graph
from socialfeed.bench.harness import BenchContext, Row, median_of, percentile, timed

__all__ = ["WORKLOADS", "load_zipf", "w7", "w8"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def load_zipf(
    ctx: BenchContext, store: SQLStore, users: int, tweets_per_user: int, label: str
) -> list[tuple[int, int]]:
    """Bulk-import the zipf graph of ``users`` and ``tweets_per_user`` tweets each (ids increase
    round by round, so every author has tweets spread over time)."""
    edges = zipf_graph(users)
    ctx.progress(f"{label}: importing {len(edges):,} follows")
    store.import_follows(edges, batch_size=20_000)
    total = users * tweets_per_user
    if total:
        ctx.progress(f"{label}: importing {total:,} tweets")
        rows = ((n + 1, n % users + 1, TEXT, T0 + timedelta(milliseconds=n)) for n in range(total))
        store.import_tweets(rows, batch_size=20_000)
    engine = store.engines()[0][0]
    if engine.dialect.name == "postgresql":  # what an operator does after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (store.tables.tweets, store.tables.follows, store.tables.user_counts):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
    return edges


def _raw_pull(url: str, prefix: str) -> tuple[Callable[[int], object], Callable[[], None]]:
    """The raw baseline: psycopg, one hand-written LATERAL query returning the 20 tweets."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    conn = psycopg.connect(dsn, autocommit=True)
    sql = (  # ids from the index alone, then the 20 rows
        f"SELECT t.id, t.author_id, t.text, t.created_at FROM {prefix}tweets t WHERE t.id IN ("
        f"SELECT l.id FROM {prefix}follows f CROSS JOIN LATERAL (SELECT id FROM {prefix}tweets "
        "WHERE author_id = f.followee_id ORDER BY id DESC LIMIT 20) l "
        "WHERE f.follower_id = %s ORDER BY l.id DESC LIMIT 20) ORDER BY t.id DESC"
    )

    def read(u: int) -> object:
        return conn.execute(sql, (u,)).fetchall()

    return read, conn.close


def w7(ctx: BenchContext) -> list[Row]:
    """Pull get_feed p50 on PostgreSQL (1M tweets; quick: 20k) vs the raw LATERAL query."""
    users, per_user, reads = (1_000, 20, 500) if ctx.quick else (10_000, 100, 3_000)
    prefix = f"bench_w7_{users}_"
    store = SQLStore(ctx.postgres_url, prefix=prefix)
    store.drop_schema()
    try:
        load_zipf(ctx, store, users, per_user, "W7")
        sf = socialfeed.connect(store=store, strategy="pull")
        rng = random.Random(7)
        sample = [rng.randint(1, users) for _ in range(reads)]
        raw, close_raw = _raw_pull(ctx.postgres_url, prefix)
        for u in sample[:300]:  # warm up both (plans, prepared statements, hot tweets)
            sf.get_feed(u, limit=20)
            raw(u)

        def measure(fn: Callable[[int], object]) -> Callable[[], float]:
            def once() -> float:
                it = iter(sample)
                return percentile(timed(lambda: fn(next(it)), len(sample)), 50)

            return once

        ctx.progress("W7: reading")
        value = median_of(ctx, measure(lambda u: sf.get_feed(u, limit=20)))
        baseline = median_of(ctx, measure(raw))
        close_raw()
        sf.close()
    finally:
        store.drop_schema()
        store.close()
    size = f"{users * per_user:,} tweets"
    return [
        Row(
            "W7", f"get_feed p50 us (PostgreSQL pull, {size})", value, baseline,
            "<= 1.2x raw SQL pull", value <= 1.2 * baseline,
        )
    ]  # fmt: skip


def _redis_cache(ctx: BenchContext) -> tuple[Any, str]:
    try:
        from socialfeed.backends.redis import RedisFeedCache

        cache = RedisFeedCache.from_url(ctx.redis_url, socialfeed.Settings())
        cache.touch(1, T0)  # reachable?
        return cache, "redis cache"
    except Exception as exc:  # the redis backend is missing or down: say so in the row
        ctx.progress(f"W8: redis cache unavailable ({exc}); using the memory cache")
        from socialfeed.backends.memory import MemoryFeedCache

        return MemoryFeedCache(), f"MEMORY cache (redis unavailable: {type(exc).__name__})"


def w8(ctx: BenchContext) -> list[Row]:
    """PostgreSQL store + Redis cache, hybrid: every user posts once while 4 in-process workers
    fan out; sustained tweets/s from the first post until drain() returns."""
    users = 1_000 if ctx.quick else 10_000
    prefix = f"bench_w8_{users}_"
    store = SQLStore(ctx.postgres_url, prefix=prefix, engine_options={"pool_size": 10})
    store.drop_schema()
    cache, note = _redis_cache(ctx)
    try:
        load_zipf(ctx, store, users, 0, "W8")
        now = datetime.now(UTC)
        for u in range(1, users + 1):  # everyone active: fan-out reaches every follower
            cache.touch(u, now)

        def once() -> float:
            sf = socialfeed.connect(store=store, cache=cache, queue="thread", workers=4)
            order = list(range(1, users + 1))
            random.Random(8).shuffle(order)
            start = time.perf_counter()
            for u in order:
                sf.create_tweet(u, TEXT)
            sf.drain(timeout=600)
            elapsed = time.perf_counter() - start
            sf.queue.close()
            return users / elapsed

        ctx.progress(f"W8: {users:,} users posting, workers draining")
        value = median_of(ctx, once)
    finally:
        store.drop_schema()
        store.close()
        cache.close()
    return [
        Row(
            "W8", "sustained tweets/s (PostgreSQL + cache, hybrid, drained)", value, None,
            ">= 2,000/s", value >= 2_000, note,
        )
    ]  # fmt: skip


WORKLOADS = {"W7": w7, "W8": w8}
