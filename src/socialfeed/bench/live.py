"""W14 (docs/performance.md): the asyncio facade against the sync one on W3's reads, on memory
and on Redis, with what a native async driver costs per round trip beside it; and the live
path: a tweet posted to its item delivered by ``subscribe()``, against a raw Redis PUBLISH to
its message.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis
import redis.asyncio

import socialfeed
from socialfeed.aio import AsyncSocialFeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.bench.harness import BenchContext, Row, median_of, p50_over, percentile
from socialfeed.testing.data import TEXT, zipf_graph

__all__ = ["WORKLOADS", "w14"]


def _loaded(ctx: BenchContext, cache: str) -> tuple[socialfeed.SocialFeed, list[int]]:
    """W3's data on ``cache``: a zipf graph, everyone active, one tweet each (push, inline);
    the sampled readers, their feeds warm."""
    users = 1_000 if ctx.quick else 5_000
    sf = socialfeed.connect(store=MemoryStore(), cache=cache, strategy="push")
    for follower, followee in zipf_graph(users):
        sf.follow(follower, followee)
    for u in range(1, users + 1):
        sf.get_feed(u)
    for u in range(1, users + 1):
        sf.create_tweet(u, TEXT)
    rng = random.Random(14)
    sample = [rng.randint(1, users) for _ in range(1_000 if ctx.quick else 5_000)]
    for u in set(sample):
        sf.get_feed(u)
    return sf, sample


def _async_p50(
    loop: asyncio.AbstractEventLoop, sample: Sequence[int], fn: Callable[[int], Awaitable[object]]
) -> Callable[[], float]:
    """:func:`~socialfeed.bench.harness.p50_over` for a coroutine function, awaited one call
    at a time on ``loop``."""

    async def run() -> float:
        clock, out = time.perf_counter, []
        for u in sample:
            start = clock()
            await fn(u)
            out.append((clock() - start) * 1e6)
        return percentile(out, 50)

    return lambda: loop.run_until_complete(run())


def _w14_reads(ctx: BenchContext, where: str, cache: str) -> Row:
    ctx.progress(f"W14: W3's data on {where}")
    sf, sample = _loaded(ctx, cache)
    loop = asyncio.new_event_loop()
    asf = AsyncSocialFeed(sf)
    ctx.progress(f"W14: reading on {where}, sync and awaited")
    sync = median_of(ctx, p50_over(sample, lambda u: sf.get_feed(u, limit=20)))
    awaited = median_of(ctx, _async_p50(loop, sample, lambda u: asf.get_feed(u, limit=20)))
    loop.run_until_complete(asf.close())
    loop.close()
    return Row(
        "W14",
        f"aio get_feed p50 us ({where})",
        awaited,
        sync,
        "<= 1.2x sync",
        awaited <= 1.2 * sync,
    )


def _w14_driver(ctx: BenchContext) -> Row:
    """One GET round trip: redis.asyncio against redis-py's sync client (what a native async
    backend would pay on every call, against the thread hand-off the facade pays once)."""
    url = ctx.redis()
    sync_client = redis.Redis.from_url(url)
    sync_client.set("bench:w14", b"x" * 200)
    sample = list(range(2_000 if ctx.quick else 10_000))
    loop = asyncio.new_event_loop()
    async_client: Any = redis.asyncio.Redis.from_url(url)
    native = median_of(ctx, _async_p50(loop, sample, lambda _: async_client.get("bench:w14")))
    plain = median_of(ctx, p50_over(sample, lambda _: sync_client.get("bench:w14")))
    loop.run_until_complete(async_client.aclose())
    loop.close()
    sync_client.delete("bench:w14")
    sync_client.close()
    return Row("W14", "redis.asyncio GET p50 us (vs sync GET)", native, plain, "-", None)


def _subscribe_latency(ctx: BenchContext, posts: int) -> tuple[float, float]:
    """Ms from ``create_tweet`` called to the item delivered by ``subscribe()`` in another
    facade (another Redis connection and notice thread), p50 and p99."""
    store, url = MemoryStore(), ctx.redis()
    writer = socialfeed.connect(store=store, cache=url, strategy="push")
    reader = socialfeed.connect(store=store, cache=url, strategy="push")
    reader.follow(2, 1)
    posted: dict[int, float] = {}
    arrived: dict[int, float] = {}
    done = threading.Event()

    def listen() -> None:
        for page in reader.subscribe(2, cursor=reader.get_feed(2).prev_cursor):
            now = time.perf_counter()
            arrived.update((t.id, now) for t in page.items)
            if len(arrived) >= posts:
                break
        done.set()

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(0.3)
    for n in range(posts):
        start = time.perf_counter()
        posted[writer.create_tweet(1, f"live {n}").id] = start
        time.sleep(0.02)
    done.wait(30)
    writer.close()
    reader.close()
    ms = [(arrived[i] - posted[i]) * 1000 for i in posted if i in arrived]
    if len(ms) < posts:
        raise RuntimeError(f"subscribe() delivered {len(ms)} of {posts} tweets")
    return percentile(ms, 50), percentile(ms, 99)


def _raw_publish_latency(ctx: BenchContext, posts: int) -> tuple[float, float]:
    """Ms from PUBLISH to the message in a pub/sub thread, p50 and p99."""
    client: Any = redis.Redis.from_url(ctx.redis())  # redis-py < 8.2 leaves pubsub() untyped
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("bench:w14")
    sent: dict[int, float] = {}
    got: dict[int, float] = {}

    def listen() -> None:
        while len(got) < posts:
            message = pubsub.get_message(timeout=1.0)
            if message is not None:
                got[int(message["data"])] = time.perf_counter()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(0.1)
    for n in range(posts):
        sent[n] = time.perf_counter()
        client.publish("bench:w14", n)
        time.sleep(0.02)
    thread.join(10)
    pubsub.close()
    client.close()
    ms = [(got[n] - sent[n]) * 1000 for n in sent if n in got]
    return percentile(ms, 50), percentile(ms, 99)


def w14(ctx: BenchContext) -> list[Row]:
    """The asyncio facade on memory and Redis; subscribe() latency on Redis."""
    rows = [_w14_reads(ctx, "memory", "memory://"), _w14_reads(ctx, "redis", ctx.redis())]
    rows.append(_w14_driver(ctx))
    posts = 50 if ctx.quick else 200
    ctx.progress(f"W14: {posts} tweets to a subscriber")
    live = [_subscribe_latency(ctx, posts) for _ in range(ctx.repeats)]
    raw = [_raw_publish_latency(ctx, posts) for _ in range(ctx.repeats)]
    for n, q in enumerate(("p50", "p99")):
        value = statistics.median(r[n] for r in live)
        baseline = statistics.median(r[n] for r in raw)
        rows.append(Row("W14", f"subscribe latency {q} ms", value, baseline, "-", None))
    return rows


WORKLOADS = {"W14": w14}
