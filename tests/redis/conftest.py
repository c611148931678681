"""Fixtures for the Redis backend tests (helpers live in ``redis_rig``): DB numbers of the
session's own redis-server (see tests/conftest.py), a private redis-server per test, and a
3-master Redis Cluster for the session. Every server here was started by the test run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis_rig
from redis_rig import DB, Server

from services import require
from socialfeed.testing.servers import RedisServer, ServerUnavailable, redis_cluster


def _db(server: RedisServer, name: str) -> Iterator[str]:
    url = server.db_url(DB[name])
    redis.Redis.from_url(url).flushdb()  # our own server
    yield url


@pytest.fixture
def cache_url(redis_server: RedisServer) -> Iterator[str]:
    yield from _db(redis_server, "cache")


@pytest.fixture
def queue_url(redis_server: RedisServer) -> Iterator[str]:
    yield from _db(redis_server, "queue")


@pytest.fixture
def feed_url(redis_server: RedisServer) -> Iterator[str]:
    yield from _db(redis_server, "feed")


@pytest.fixture
def private_server() -> Iterator[Server]:
    """An empty redis-server of our own on a free port."""
    yield from redis_rig.private_server()


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A real 3-master Redis Cluster of our own, for the whole session."""
    try:
        with redis_cluster() as url:
            yield url
    except ServerUnavailable as exc:
        require("redis", False, str(exc))
