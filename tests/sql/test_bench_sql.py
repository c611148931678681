"""The W8 workload in quick mode (1,000 users, in-process consumers): it runs and reports a row."""

from __future__ import annotations

import io

import pytest
from sqlhelpers import PG_URL, require_server

from socialfeed.bench.harness import BenchContext
from socialfeed.bench.sql import w8
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
