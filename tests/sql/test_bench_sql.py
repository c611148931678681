"""The PostgreSQL workloads in quick mode (1,000 users): W8 (in-process consumers), W11 (the page
at depth 1,000 vs the first) and W13 (1 and 4 shards): they run and report rows with values."""

from __future__ import annotations

import io

import pytest
import redis
from sqlhelpers import PG_URL, require_server

from socialfeed.bench.harness import BenchContext
from socialfeed.bench.sql import w8
from socialfeed.bench.sql_scale import w11, w13
from socialfeed.testing.servers import RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_w8_quick(redis_server: RedisServer) -> None:
    require_server("postgres")
    out = io.StringIO()
    ctx = BenchContext(
        quick=True, repeats=1, redis_url=redis_server.db_url(14), postgres_url=PG_URL, out=out
    )
    [row] = w8(ctx)
    ctx.close()
    assert row.id == "W8" and row.value is not None and row.value > 0
    assert "4 posting threads" in row.note and "redis cache" in row.note
    assert "posting from 4 threads" in out.getvalue()
    assert "created a database of the bench's own" in out.getvalue()


def test_w11_quick(redis_server: RedisServer) -> None:
    require_server("postgres")
    out = io.StringIO()
    redis_url = redis_server.db_url(13)
    ctx = BenchContext(quick=True, repeats=1, redis_url=redis_url, postgres_url=PG_URL, out=out)
    rows = w11(ctx)
    ctx.close()
    assert [r.id for r in rows] == ["W11"] * 3
    first, deep, ratio = rows
    for row in rows:
        assert row.value is not None and row.value > 0
        assert row.baseline is not None and row.baseline > 0
    assert "depth 1,000" in deep.figure and "redis cache" in deep.note
    assert ratio.value == deep.value and ratio.baseline == first.value
    assert isinstance(ratio.meets, bool)
    client = redis.Redis.from_url(redis_url)
    assert not list(client.scan_iter(match="sf:bench:w11:*"))  # its cache keys are gone
    client.close()


def test_w13_quick() -> None:
    require_server("postgres")
    out = io.StringIO()
    ctx = BenchContext(quick=True, repeats=1, postgres_url=PG_URL, out=out)
    rows = w13(ctx)
    ctx.close()
    one, four, ratio = rows
    assert "1 shard (" in one.figure and "4 shards (" in four.figure
    assert all(r.value is not None and r.value > 0 for r in rows)
    assert one.baseline is None and four.baseline == one.value == ratio.baseline
    assert isinstance(ratio.meets, bool) and ratio.target == "<= 1.3x the 1-shard p50"
    assert "of 4 shards" in ratio.note and "reader's shard" in ratio.note
    assert "created 4 shard databases" in out.getvalue()
