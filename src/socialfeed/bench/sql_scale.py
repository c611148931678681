"""W11 (PostgreSQL + Redis, hybrid: the page at depth 1,000, past the cache, vs the first page)
and W13 (sharded PostgreSQL: pull reads on 1, 4 and 16 shard databases of one server)."""

from __future__ import annotations

import contextlib
import functools
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import socialfeed
from socialfeed.backends.sql import ShardedSQLStore, SQLStore
from socialfeed.bench.harness import DEFAULT_POSTGRES, BenchContext, Row, median_of, p50_over
from socialfeed.bench.sql import load_zipf, raw_pull, redis_cache
from socialfeed.validation import MAX_PAGE

__all__ = ["DEPTH", "WORKLOADS", "statements_per_shard", "w11", "w13"]

DEPTH = 1_000
"""W11: how many home items lie above the deep page (the feed cache holds 800)."""
W11_TWEETS_PER_USER = 12
"""W11: tweets per user; a reader's home (their own and 100 followees' tweets) holds ~1,212."""
W13_TWEETS_PER_USER = 20
"""W13: tweets per user (a pull page needs the newest 20 of each followee)."""
PROFILED = 30
"""W13: reads whose statements are counted, per shard count (warm, then with a fresh cache)."""


def _walk(sf: socialfeed.SocialFeed, user_id: int, depth: int) -> tuple[str, int]:
    """Follow ``next_cursor`` from the first page down ``depth`` items (pages of
    :data:`~socialfeed.validation.MAX_PAGE`): the cursor there and the id it points below."""
    page, seen = sf.get_feed(user_id, limit=min(depth, MAX_PAGE)), 0
    while True:
        seen += len(page.items)
        if page.next_cursor is None or not page.items:
            raise RuntimeError(f"W11: user {user_id}'s home holds only {seen} items")
        if seen >= depth:
            return page.next_cursor, page.items[-1].id
        page = sf.get_feed(user_id, limit=min(depth - seen, MAX_PAGE), cursor=page.next_cursor)


def _drop_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for batch in _chunks(list(client.scan_iter(match=f"{prefix}*", count=1_000)), 1_000):
            client.delete(*batch)
    finally:
        client.close()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for n in range(0, len(items), size):
        yield items[n : n + size]


def w11(ctx: BenchContext) -> list[Row]:
    """PostgreSQL store + Redis cache, hybrid, active readers with warm feeds: ``get_feed`` p50 of
    the page at depth :data:`DEPTH` (past the 800-entry cache, so from the store) and of the first
    page, each next to the raw LATERAL query at the same depth; the target row is their ratio."""
    users, readers = (1_000, 50) if ctx.quick else (10_000, 300)
    prefix = f"bench_w11_{users}_"
    key_prefix = f"sf:bench:w11:{uuid.uuid4().hex[:8]}"
    store = SQLStore(ctx.postgres(), prefix=prefix)
    store.drop_schema()
    cache, note = redis_cache(ctx, "W11", key_prefix)
    try:
        load_zipf(ctx, store, users, W11_TWEETS_PER_USER, "W11")
        sf = socialfeed.connect(store=store, cache=cache, strategy="hybrid")
        sample = random.Random(11).sample(range(1, users + 1), readers)
        ctx.progress(f"W11: {readers} readers: first pages (feeds rebuilt), walks to {DEPTH:,}")
        deep: dict[int, tuple[str, int]] = {u: _walk(sf, u, DEPTH) for u in sample}
        raw, close_raw = raw_pull(ctx.postgres(), prefix)
        for u in sample:  # warm up every path (plans, hot tweets)
            sf.get_feed(u, limit=20)
            sf.get_feed(u, limit=20, cursor=deep[u][0])
            raw(u)
            raw(u, deep[u][1])
        ctx.progress("W11: reading")
        first = median_of(ctx, p50_over(sample, lambda u: sf.get_feed(u, limit=20)))
        deeper = median_of(
            ctx, p50_over(sample, lambda u: sf.get_feed(u, limit=20, cursor=deep[u][0]))
        )
        raw_first = median_of(ctx, p50_over(sample, raw))
        raw_deep = median_of(ctx, p50_over(sample, lambda u: raw(u, deep[u][1])))
        close_raw()
        sf.close()
    finally:
        store.drop_schema()
        store.close()
        cache.close()
        if "MEMORY" not in note:
            _drop_keys(ctx.redis(), key_prefix)
    size = f"{users * W11_TWEETS_PER_USER:,} tweets"
    note = f"{readers} readers, {size}; baseline: raw LATERAL pull; {note}"
    return [
        Row("W11", "first page get_feed p50 us (PostgreSQL + Redis, hybrid)", first, raw_first,
            "-", None, note),
        Row("W11", f"depth {DEPTH:,} get_feed p50 us (past the cache)", deeper, raw_deep,
            "-", None, note),
        Row("W11", f"depth {DEPTH:,} vs first page get_feed p50 us", deeper, first,
            "<= 3x the first page", deeper <= 3 * first),
    ]  # fmt: skip


_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+?)\"?(?:\s|$|\()", re.IGNORECASE)


def statements_per_shard(store: ShardedSQLStore, read: Callable[[], object]) -> list[Counter[str]]:
    """Run ``read`` once; per shard, the statements it sent (by the first table each names,
    without the store's prefix), counted with SQLAlchemy's ``before_cursor_execute`` event on
    every engine (a shard is known by its database's name: every engine of it, the autocommit
    one of its reads included, names the same)."""
    from sqlalchemy import Engine, event

    shard_of = {engines[0].url.database: n for n, engines in enumerate(store.engines())}
    counts: list[Counter[str]] = [Counter() for _ in shard_of]

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        n = shard_of.get(conn.engine.url.database)
        if n is not None:
            found = _TABLE.search(statement)
            name = found.group(1) if found else statement.split(None, 1)[0]
            counts[n][name.removeprefix(store.prefix)] += 1

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        read()
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    return counts


def _profile(store: ShardedSQLStore, sf: socialfeed.SocialFeed, sample: Sequence[int]) -> str:
    """What one read sends, averaged over ``sample``: statements, shards touched, statements on
    the reader's shard and on each other shard, by table."""
    home: Counter[str] = Counter()
    other: Counter[str] = Counter()
    touched = others = 0
    for u in sample:
        per = statements_per_shard(store, functools.partial(sf.get_feed, u, limit=20))
        touched += sum(1 for c in per if c)
        for n, c in enumerate(per):
            if n == store.shard_index(u):
                home.update(c)
            else:
                other.update(c)
                others += bool(c)

    def listed(c: Counter[str], n: int) -> str:
        return ", ".join(f"{t} {k / n:.1f}" for t, k in c.most_common()) or "none"

    n = len(sample)
    total = sum(home.values()) + sum(other.values())
    out = (
        f"a read: {total / n:.1f} statements on {touched / n:.1f} of {store.shard_count} "
        f"shards; reader's shard {sum(home.values()) / n:.1f} ({listed(home, n)})"
    )
    if others:
        each = sum(other.values()) / others
        out += f"; each other shard touched {each:.1f} ({listed(other, others)})"
    return out


def _shard_p50(ctx: BenchContext, shards: int, users: int, sample: list[int]) -> tuple[float, str]:
    """p50 of pull reads on a store over ``shards`` new databases, and the profile of a read."""
    server = ctx.postgres_url or DEFAULT_POSTGRES
    from socialfeed.testing.servers import temp_database

    with contextlib.ExitStack() as databases:
        urls = [databases.enter_context(temp_database(server)) for _ in range(shards)]
        ctx.progress(f"W13: created {shards} shard databases of the bench's own")
        store = ShardedSQLStore(urls, prefix="bench_w13_")
        try:
            load_zipf(ctx, store, users, W13_TWEETS_PER_USER, f"W13 ({shards} shards)")
            sf = socialfeed.connect(store=store, strategy="pull")
            for u in sample:  # warm up (plans, pools, the hot-tweet cache)
                sf.get_feed(u, limit=20)
            ctx.progress(f"W13: reading on {shards} shards")
            value = median_of(ctx, p50_over(sample, lambda u: sf.get_feed(u, limit=20)))
            profile = _profile(store, sf, sample[:PROFILED])
            ctx.progress(f"W13 ({shards} shards): {profile}")
            cold = socialfeed.connect(store=store, strategy="pull")  # an empty hot-tweet cache
            fresh = _profile(store, cold, sample[PROFILED : 2 * PROFILED])
            ctx.progress(f"W13 ({shards} shards), fresh hot-tweet cache: {fresh}")
            cold.close()
            sf.close()
        finally:
            store.close()  # the databases are dropped on leaving the stack
    return value, profile


def w13(ctx: BenchContext) -> list[Row]:
    """Pull ``get_feed`` p50 on a :class:`ShardedSQLStore` of 1, 4 and 16 databases (quick: 1 and
    4) on one PostgreSQL server, zipf graph; the 4- and 16-shard p50 against the 1-shard one."""
    users, reads = (1_000, 200) if ctx.quick else (10_000, 1_000)
    counts = (1, 4) if ctx.quick else (1, 4, 16)
    rng = random.Random(13)
    sample = [rng.randint(1, users) for _ in range(reads)]
    found = {n: _shard_p50(ctx, n, users, sample) for n in counts}
    one = found[1][0]
    size = f"{users:,} users, {users * W13_TWEETS_PER_USER:,} tweets"
    rows = [
        Row("W13", f"get_feed p50 us, pull, {n} shard{'s' if n > 1 else ''} ({size})", value,
            one if n > 1 else None, "-", None, profile)
        for n, (value, profile) in found.items()
    ]  # fmt: skip
    rows += [
        Row("W13", f"get_feed p50 {n} shards vs 1", value, one, "<= 1.3x the 1-shard p50",
            value <= 1.3 * one, profile)
        for n, (value, profile) in found.items() if n > 1
    ]  # fmt: skip
    return rows


WORKLOADS = {"W11": w11, "W13": w13}
