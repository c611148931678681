from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from services import require
from socialfeed.testing.servers import RedisServer, ServerUnavailable

settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test run's own, on a free port, for the whole session."""
    try:
        server = RedisServer().start()
    except ServerUnavailable as exc:
        require("redis", False, str(exc))
        raise
    try:
        yield server
    finally:
        server.close()
