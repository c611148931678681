"""Helpers for the Redis backend tests, on servers of the test run's own
(:mod:`socialfeed.testing.servers`)."""

from __future__ import annotations

from collections.abc import Iterator

from redis.cluster import RedisCluster

from services import require
from socialfeed.testing.servers import RedisServer, ServerUnavailable, die_with_parent

__all__ = ["DB", "Server", "die_with_parent", "flush_cluster", "private_server"]

Server = RedisServer
DB = {"cache": 9, "queue": 10, "feed": 11, "misc": 12}
"""DB numbers of the session's server, one per fixture."""


def flush_cluster(url: str) -> None:
    """Empty every master of the test cluster (ours)."""
    client = RedisCluster.from_url(url.replace("redis+cluster://", "redis://"))
    try:
        client.flushall(target_nodes=RedisCluster.PRIMARIES)
    finally:
        client.close()


def private_server() -> Iterator[RedisServer]:
    """An empty redis-server of our own on a free port, for one test."""
    try:
        server = RedisServer().start()
    except ServerUnavailable as exc:
        require("redis", False, str(exc))
        raise
    try:
        yield server
    finally:
        server.close()
