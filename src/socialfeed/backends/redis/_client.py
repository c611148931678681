"""Connections, error translation and the Lua script loader shared by the cache and the queue."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, RedisError
from redis.retry import Retry

from socialfeed.errors import BackendError, ValidationError

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_SOCKET_TIMEOUT",
    "AnyRedis",
    "Script",
    "backend_errors",
    "make_client",
    "split_options",
]

AnyRedis = redis.Redis | RedisCluster
"""A standalone client or a cluster client."""

DEFAULT_SOCKET_TIMEOUT = 1.0
"""Seconds a command may take before it fails (the queue adds its block time to this)."""
DEFAULT_CONNECT_TIMEOUT = 0.5
"""Seconds a connection attempt may take."""

_DRIVER_ERRORS = (RedisError, RedisClusterException)


@contextmanager
def backend_errors(what: str) -> Iterator[None]:
    """Translate redis-py exceptions raised inside the block into :class:`BackendError`."""
    try:
        yield
    except _DRIVER_ERRORS as exc:
        raise BackendError(f"redis {what} failed: {type(exc).__name__}: {exc}") from exc


def split_options(
    url: str, ours: Mapping[str, Callable[[str], Any]], role: str
) -> tuple[str, dict[str, Any]]:
    """Take the query parameters named in ``ours`` out of ``url``, each converted by its
    function (e.g. ``float``); return the rest of the URL and those options. A value that does
    not convert is a :class:`ValidationError` of ``role``."""
    parts = urlsplit(url)
    mine: dict[str, Any] = {}
    rest: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in ours:
            rest.append((name, value))
            continue
        try:
            mine[name] = ours[name](value)
        except ValueError as exc:
            raise ValidationError(role, f"bad option {name}={value!r} in {url!r}: {exc}") from exc
    return urlunsplit(parts._replace(query=urlencode(rest))), mine


def _fast_retry() -> Retry:
    # one quick retry for a dropped connection; a server that is down fails in milliseconds
    return Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1)


_MAX_DATABASE = 2**31 - 1  # redis.conf's "databases" is an int; 16 unless configured


def _check_database(url: str, part: str, text: str) -> None:
    """A database number in ``url`` (``part`` says where) is a whole number in range, or absent:
    redis-py would quietly use database 0 for ``redis://host/abc``."""
    if text and not (text.isdigit() and int(text) <= _MAX_DATABASE):
        raise ValidationError(
            "url",
            f"the database number ({part}) in {url!r} must be a whole number in "
            f"0..{_MAX_DATABASE}, got {text!r}",
        )


def make_client(url: str, *, extra_socket_timeout: float = 0.0) -> AnyRedis:
    """A client for ``redis://``, ``rediss://`` or ``redis+cluster://`` (``rediss+cluster://``)
    with short timeouts unless the URL sets ``socket_timeout``/``socket_connect_timeout``."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.scheme.lower() != "unix":  # a unix:// path is the socket's
        _check_database(url, "the path after the host", parts.path.strip("/"))
    _check_database(url, "the db= query parameter", query.get("db", ""))
    kwargs: dict[str, Any] = {"retry": _fast_retry()}
    if "socket_timeout" not in query:
        kwargs["socket_timeout"] = DEFAULT_SOCKET_TIMEOUT + extra_socket_timeout
    elif extra_socket_timeout:
        kwargs["socket_timeout"] = float(query.pop("socket_timeout")) + extra_socket_timeout
        url = urlunsplit(parts._replace(query=urlencode(query)))
    if "socket_connect_timeout" not in query:
        kwargs["socket_connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
    scheme = parts.scheme.lower()
    with backend_errors("connect"):
        if scheme in ("redis+cluster", "rediss+cluster"):
            plain = url.replace(scheme, "rediss" if scheme.startswith("rediss") else "redis", 1)
            return RedisCluster.from_url(plain, **kwargs)
        if scheme not in ("redis", "rediss", "unix"):
            raise ValidationError("url", f"not a Redis URL: {url!r}")
        return redis.Redis.from_url(url, **kwargs)


class Script:
    """A Lua script shipped as package data, run with EVALSHA and loaded again on NOSCRIPT (after
    a server restart or SCRIPT FLUSH)."""

    def __init__(self, name: str) -> None:
        source = resources.files("socialfeed.backends.redis").joinpath("scripts", name)
        self.source = source.read_text(encoding="utf-8")
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()
        self._loaded: set[int] = set()
        self._lock = threading.Lock()

    def load(self, client: AnyRedis) -> None:
        """SCRIPT LOAD on the server (on every primary of a cluster)."""
        with self._lock:
            sha = client.script_load(self.source)
            if sha != self.sha:  # pragma: no cover - would mean a broken server
                raise BackendError(f"SCRIPT LOAD returned {sha!r}, expected {self.sha!r}")
            self._loaded.add(id(client))

    def ensure(self, client: AnyRedis) -> None:
        """Load the script the first time this client uses it."""
        if id(client) not in self._loaded:
            self.load(client)

    def call(self, client: AnyRedis, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """EVALSHA once; on NOSCRIPT load the script and run it again."""
        self.ensure(client)
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            self.load(client)
            return client.evalsha(self.sha, len(keys), *keys, *args)

    def call_many(
        self, client: AnyRedis, calls: Sequence[tuple[Sequence[Any], Sequence[Any]]]
    ) -> list[Any]:
        """Run several EVALSHAs in one non-transactional pipeline (a cluster pipeline sends each
        to its slot's node); on NOSCRIPT load the script and run them all again (the operations
        are idempotent)."""
        if len(calls) == 1:
            keys, args = calls[0]
            return [self.call(client, keys, args)]
        self.ensure(client)
        for attempt in (0, 1):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
            try:
                return list(pipe.execute())
            except NoScriptError:
                if attempt:
                    raise
                self.load(client)
            except RedisError as exc:
                if attempt or "NOSCRIPT" not in str(exc):
                    raise
                self.load(client)
        raise AssertionError("unreachable")  # pragma: no cover
