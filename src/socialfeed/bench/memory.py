"""W9: ``get_feed`` p50 on the memory backend, zipf-10k, hybrid."""

from __future__ import annotations

import random

import socialfeed
from socialfeed.bench.harness import BenchContext, Row, median_of, p50_over
from socialfeed.testing.data import TEXT, zipf_graph

__all__ = ["WORKLOADS", "w9"]


def w9(ctx: BenchContext) -> list[Row]:
    """Build zipf-10k in memory (hybrid), one tweet per user, then time random feed reads."""
    users = 1_000 if ctx.quick else 10_000
    reads = 2_000 if ctx.quick else 10_000
    ctx.progress(f"W9: zipf graph of {users:,} users")
    edges = zipf_graph(users)
    sf = socialfeed.connect()
    for follower, followee in edges:
        sf.follow(follower, followee)
    for u in range(1, users + 1):
        sf.get_feed(u)  # everyone active, so fan-out reaches them
    ctx.progress("W9: posting")
    for u in range(1, users + 1):
        sf.create_tweet(u, TEXT)
    rng = random.Random(9)
    sample = [rng.randint(1, users) for _ in range(reads)]
    for u in sample[:500]:
        sf.get_feed(u)  # warm up

    # Baseline: a hand-written timeline, a dict of newest-first id lists plus a dict of tweets,
    # read as a slice and hydrated by lookups (no validation, cursor, activity or celebrities).
    pages = {u: sf.get_feed(u).items for u in set(sample)}
    feeds = {u: [t.id for t in items] for u, items in pages.items()}
    tweets = {t.id: t for items in pages.values() for t in items}

    ctx.progress("W9: reading")
    value = median_of(ctx, p50_over(sample, lambda u: sf.get_feed(u, limit=20)))
    baseline = median_of(ctx, p50_over(sample, lambda u: tuple([tweets[i] for i in feeds[u][:20]])))
    sf.close()
    return [Row("W9", "get_feed p50 us (memory, hybrid)", value, baseline, "<= 15 us", value <= 15)]


WORKLOADS = {"W9": w9}
