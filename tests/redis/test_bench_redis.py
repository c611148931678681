"""Every Redis workload of the bench runs in quick mode and reports a figure and its baseline
(figures are measured by ``socialfeed bench``, never asserted here)."""

from __future__ import annotations

import io

import pytest

from socialfeed.bench import redis as redis_bench
from socialfeed.bench import scale as scale_bench
from socialfeed.bench.harness import BenchContext
from socialfeed.testing.servers import RedisServer

pytestmark = pytest.mark.redis


WORKLOADS = {**redis_bench.WORKLOADS, **scale_bench.WORKLOADS}


@pytest.mark.parametrize("wid", sorted(WORKLOADS))
def test_workload_runs_quick(wid: str, redis_server: RedisServer) -> None:
    ctx = BenchContext(quick=True, repeats=1, redis_url=redis_server.db_url(13), out=io.StringIO())
    try:
        rows = WORKLOADS[wid](ctx)
    finally:
        ctx.close()
    assert rows and all(r.id == wid and r.value is not None and r.value > 0 for r in rows)
    assert all(r.baseline is None or r.baseline > 0 for r in rows)
