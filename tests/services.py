"""Reachability of the servers the test suites use, and the skip-or-fail rule.

A test that needs a server skips with a clear reason when the server is unreachable, except under
``SOCIALFEED_REQUIRE_SERVICES=1`` (what CI sets), where it fails instead.
"""

from __future__ import annotations

import functools
import os
import socket

import pytest

__all__ = ["ADDRESSES", "reachable", "require"]

ADDRESSES = {  # the machine's SQL servers (Redis tests start redis-servers of their own)
    "postgres": ("127.0.0.1", 5432),
    "mariadb": ("127.0.0.1", 3306),
}


@functools.cache
def reachable(name: str) -> bool:
    """Whether the named server accepts TCP connections on its standard loopback port."""
    host, port = ADDRESSES[name]
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(name: str, available: bool | None = None, reason: str = "") -> None:
    """Skip the calling test when ``name`` is down (fail under SOCIALFEED_REQUIRE_SERVICES=1).

    ``available`` defaults to a TCP check of the standard port of ``name``.
    """
    if available is None:
        available = reachable(name)
    if available:
        return
    why = reason or f"{name} is not reachable at {ADDRESSES.get(name, ('?', '?'))}"
    if os.environ.get("SOCIALFEED_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{why} (SOCIALFEED_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(why)
