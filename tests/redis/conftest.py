"""Fixtures for the Redis backend tests (helpers live in ``redis_rig``): own DB numbers on the
shared server, a private redis-server, and a 3-master Redis Cluster for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import redis_rig
from redis_rig import DB, Server, flushed


def _db(name: str) -> Iterator[str]:
    url = flushed(DB[name])
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def cache_url() -> Iterator[str]:
    yield from _db("cache")


@pytest.fixture
def queue_url() -> Iterator[str]:
    yield from _db("queue")


@pytest.fixture
def feed_url() -> Iterator[str]:
    yield from _db("feed")


@pytest.fixture
def private_server() -> Iterator[Server]:
    """An empty redis-server of our own on port 6390."""
    yield from redis_rig.private_server()


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A real 3-master Redis Cluster on 7000-7002 (bus 17000-17002), for the whole session."""
    with redis_rig.cluster() as url:
        yield url
