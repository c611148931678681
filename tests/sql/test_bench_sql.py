"""The W8 workload in quick mode (1,000 users, in-process consumers): it runs and reports a row."""

from __future__ import annotations

import io
import socket

import pytest
from sqlhelpers import PG_URL, backend_url

from services import require
from socialfeed.bench.harness import BenchContext
from socialfeed.bench.sql import w8

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
REDIS_URL = "redis://127.0.0.1:6379/14"  # this file's own DB, flushed afterwards


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_w8_quick() -> None:
    backend_url("postgres", None)
    require("redis", _redis_up(), "Redis on 127.0.0.1:6379")
    out = io.StringIO()
    ctx = BenchContext(quick=True, repeats=1, redis_url=REDIS_URL, postgres_url=PG_URL, out=out)
    try:
        [row] = w8(ctx)
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
        client.close()
    assert row.id == "W8" and row.value is not None and row.value > 0
    assert "4 posting threads" in row.note and "redis cache" in row.note
    assert "posting from 4 threads" in out.getvalue()
