"""W7 (pull on PostgreSQL vs the hand-written LATERAL query) and W8 (PostgreSQL store + Redis
cache, hybrid, sustained posting with workers draining)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import socialfeed
from socialfeed.backends.sql import ShardedSQLStore, SQLStore
from socialfeed.bench.harness import BenchContext, Row, median_of, p50_over
from socialfeed.testing.data import TEXT, zipf_graph

__all__ = ["WORKLOADS", "RawPull", "load_zipf", "raw_pull", "redis_cache", "w7", "w8"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def load_zipf(
    ctx: BenchContext,
    store: SQLStore | ShardedSQLStore,
    users: int,
    tweets_per_user: int,
    label: str,
) -> list[tuple[int, int]]:
    """Bulk-import the zipf graph of ``users`` and ``tweets_per_user`` tweets each (ids increase
    round by round, so every author has tweets spread over time), then ``VACUUM ANALYZE`` every
    shard's primary on PostgreSQL."""
    edges = zipf_graph(users)
    ctx.progress(f"{label}: importing {len(edges):,} follows")
    store.import_follows(edges, batch_size=20_000)
    total = users * tweets_per_user
    if total:
        ctx.progress(f"{label}: importing {total:,} tweets")
        rows = ((n + 1, n % users + 1, TEXT, T0 + timedelta(milliseconds=n)) for n in range(total))
        store.import_tweets(rows, batch_size=20_000)
    tables = (store.tables.tweets, store.tables.follows, store.tables.user_counts)
    for engine, *_replicas in store.engines():
        if engine.dialect.name == "postgresql":  # what an operator does after a bulk load
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in tables:
                    conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
    return edges


class RawPull(Protocol):
    """A raw read: the 20 newest home tweets of ``u`` (below the id ``before``, when given)."""

    def __call__(self, u: int, before: int | None = None) -> object:
        """Run the query; the rows."""
        ...


def raw_pull(url: str, prefix: str) -> tuple[RawPull, Callable[[], None]]:
    """The raw baseline: psycopg, one hand-written LATERAL query returning the 20 tweets (below
    a cursor id: an ``id < before`` predicate in the LATERAL); the read and a close."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    conn = psycopg.connect(dsn, autocommit=True)

    def sql(below: str) -> str:  # ids from the index alone, then the 20 rows
        return (
            f"SELECT t.id, t.author_id, t.text, t.created_at FROM {prefix}tweets t WHERE t.id IN ("
            f"SELECT l.id FROM {prefix}follows f CROSS JOIN LATERAL (SELECT id FROM {prefix}tweets "
            f"WHERE author_id = f.followee_id{below} ORDER BY id DESC LIMIT 20) l "
            "WHERE f.follower_id = %s ORDER BY l.id DESC LIMIT 20) ORDER BY t.id DESC"
        )

    first, deeper = sql(""), sql(" AND id < %s")

    def read(u: int, before: int | None = None) -> object:
        if before is None:
            return conn.execute(first, (u,)).fetchall()
        return conn.execute(deeper, (before, u)).fetchall()

    return read, conn.close


def w7(ctx: BenchContext) -> list[Row]:
    """Pull get_feed p50 on PostgreSQL (1M tweets; quick: 20k) vs the raw LATERAL query."""
    users, per_user, reads = (1_000, 20, 500) if ctx.quick else (10_000, 100, 3_000)
    prefix = f"bench_w7_{users}_"
    store = SQLStore(ctx.postgres(), prefix=prefix)
    store.drop_schema()
    try:
        load_zipf(ctx, store, users, per_user, "W7")
        sf = socialfeed.connect(store=store, strategy="pull")
        rng = random.Random(7)
        sample = [rng.randint(1, users) for _ in range(reads)]
        raw, close_raw = raw_pull(ctx.postgres(), prefix)
        for u in sample[:300]:  # warm up both (plans, prepared statements, hot tweets)
            sf.get_feed(u, limit=20)
            raw(u)

        ctx.progress("W7: reading")
        value = median_of(ctx, p50_over(sample, lambda u: sf.get_feed(u, limit=20)))
        baseline = median_of(ctx, p50_over(sample, raw))
        close_raw()
        sf.close()  # workers, relay and worker-id lease (the store is dropped below)
    finally:
        store.drop_schema()
        store.close()
    size = f"{users * per_user:,} tweets"
    return [
        Row(
            "W7", f"get_feed p50 us (PostgreSQL pull, {size})", value, baseline,
            "<= 1.05x raw SQL pull", value <= 1.05 * baseline,
        )
    ]  # fmt: skip


def redis_cache(ctx: BenchContext, label: str, key_prefix: str | None = None) -> tuple[Any, str]:
    """A Redis feed cache on the bench's Redis (or the memory cache, when Redis is missing or
    down) and the note that says which; ``label`` names the workload in the progress line,
    ``key_prefix`` (default the cache's own) the keys it writes."""
    try:
        from socialfeed.backends.redis import RedisFeedCache

        url = ctx.redis() if key_prefix is None else _with_option(ctx.redis(), "prefix", key_prefix)
        cache = RedisFeedCache.from_url(url, socialfeed.Settings())
        cache.touch(1, T0)  # reachable?
        return cache, "redis cache"
    except Exception as exc:  # the redis backend is missing or down: say so in the row
        ctx.progress(f"{label}: redis cache unavailable ({exc}); using the memory cache")
        from socialfeed.backends.memory import MemoryFeedCache

        return MemoryFeedCache(), f"MEMORY cache (redis unavailable: {type(exc).__name__})"


POSTERS = 4
"""W8: application threads posting at once (a web server's request threads)."""
WORKER_PROCESSES = 2
"""W8: ``socialfeed worker`` processes applying the fan-out (0: consumer threads in-process)."""
WORKER_THREADS = 2
"""W8: consumer threads per worker process (or in-process, when there are no processes)."""


def _with_option(url: str, key: str, value: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}{key}={value}"


def _queue_url(redis_url: str, stream: str) -> str:
    return _with_option(redis_url, "stream", stream)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_workers(
    store_url: str, cache_url: str, queue_url: str, processes: int, threads: int
) -> list[subprocess.Popen[bytes]]:
    """``socialfeed worker`` processes; returns once each one logged that it is consuming."""
    cmd = [
        sys.executable, "-m", "socialfeed", "worker", "--queue", queue_url,
        "--cache", cache_url, "--store", store_url, "--workers", str(threads),
        "--strategy", "hybrid", "--log-every", "3600",
    ]  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    ready: list[threading.Event] = []

    def watch(proc: subprocess.Popen[bytes], started: threading.Event) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:  # read to the end, so the worker never blocks on its log
            if b"consuming" in line:
                started.set()

    for _ in range(processes):
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent
        )
        started = threading.Event()
        threading.Thread(target=watch, args=(proc, started), daemon=True).start()
        procs.append(proc)
        ready.append(started)
    deadline = time.monotonic() + 60
    while not all(e.is_set() for e in ready):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            _stop_workers(procs)
            raise RuntimeError("W8: the worker processes did not start")
        time.sleep(0.05)
    return procs


def _stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drop_stream(redis_url: str, stream: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        suffixes = ("", ":dead", ":errors", ":processed")
        client.delete(*(stream + s for s in suffixes))
    finally:
        client.close()


def w8(ctx: BenchContext) -> list[Row]:
    """PostgreSQL store + Redis cache + Redis Streams queue, hybrid: every zipf user posts once,
    from :data:`POSTERS` threads, while :data:`WORKER_PROCESSES` ``socialfeed worker`` processes
    (quick: in-process consumer threads) fan out; tweets/s from the first post until ``drain()``
    returns."""
    users = 1_000 if ctx.quick else 10_000
    processes = 0 if ctx.quick else WORKER_PROCESSES
    prefix = f"bench_w8_{users}_"
    stream = f"sf:bench:w8:{uuid.uuid4().hex[:8]}"
    queue_url = _queue_url(ctx.redis(), stream)
    pool = {"pool_size": POSTERS + WORKER_THREADS + 2}
    store = SQLStore(ctx.postgres(), prefix=prefix, engine_options=pool)
    store.drop_schema()
    cache, note = redis_cache(ctx, "W8")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        load_zipf(ctx, store, users, 0, "W8")
        now = datetime.now(UTC)
        for u in range(1, users + 1):  # everyone active: fan-out reaches every follower
            cache.touch(u, now)
        if processes:
            store_url = _with_option(ctx.postgres(), "socialfeed_prefix", prefix)
            procs = _start_workers(store_url, ctx.redis(), queue_url, processes, WORKER_THREADS)
        in_process = 0 if processes else WORKER_THREADS
        sf = socialfeed.connect(store=store, cache=cache, queue=queue_url, workers=in_process)

        def once() -> float:
            order = list(range(1, users + 1))
            random.Random(8).shuffle(order)
            errors: list[BaseException] = []

            def post(share: list[int]) -> None:
                try:
                    for u in share:
                        sf.create_tweet(u, TEXT)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=post, args=(order[n::POSTERS],)) for n in range(POSTERS)
            ]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            sf.drain(timeout=600)
            elapsed = time.perf_counter() - start
            if errors:
                raise errors[0]
            return users / elapsed

        workers = (
            f"{processes} worker processes x {WORKER_THREADS} threads"
            if processes
            else f"{WORKER_THREADS} in-process consumer threads"
        )
        ctx.progress(f"W8: {users:,} users posting from {POSTERS} threads, {workers} draining")
        value = median_of(ctx, once)
        sf.close()  # workers, relay and worker-id lease (the store is dropped below)
    finally:
        _stop_workers(procs)
        _drop_stream(ctx.redis(), stream)
        store.drop_schema()
        store.close()
        cache.close()
    note = f"{POSTERS} posting threads, Redis Streams queue, {workers}; {note}"
    return [
        Row(
            "W8", "sustained tweets/s (PostgreSQL + Redis, hybrid, drained)", value, None,
            ">= 2,000/s", value >= 2_000, note,
        )
    ]  # fmt: skip


WORKLOADS = {"W7": w7, "W8": w8}
