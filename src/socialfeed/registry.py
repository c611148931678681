"""URL scheme -> backend: how ``connect(store=, cache=, media=, queue=)`` finds a backend.

Built-in backends are lazy ``"module:Class"`` strings, so ``import socialfeed`` imports neither
redis nor SQLAlchemy. Plugins register through the entry-point group ``socialfeed.backends``
with names of the form ``<role>.<scheme>``, e.g.
``store.cassandra = "my_pkg.store:CassandraStore"``. A backend class is built with
``Class.from_url(url, settings)`` (the :class:`~socialfeed.interfaces.FromURL` hook).

:func:`build` is what ``connect()`` calls for each argument: a URL is resolved; a raw fsspec
filesystem given as ``media=`` is adapted to a media store; any other object is a ready backend.
"""

from __future__ import annotations

import importlib
import warnings
from importlib.metadata import entry_points
from typing import Any, Literal

from socialfeed.errors import ValidationError, missing_driver, show
from socialfeed.interfaces import (
    FanoutQueue,
    FeedCache,
    FollowGraph,
    FromURL,
    MediaStore,
    TweetStore,
    missing_methods,
)
from socialfeed.settings import Settings

__all__ = [
    "BUILTIN",
    "Role",
    "build",
    "known_schemes",
    "register",
    "require",
    "resolve",
    "scheme_of",
]

Role = Literal["store", "cache", "media", "queue"]

_SQL_STORE = "socialfeed.backends.sql:SQLStore"
_SQL_CACHE = "socialfeed.backends.sql:SQLFeedCache"
_REDIS_CACHE = "socialfeed.backends.redis:RedisFeedCache"
_FSSPEC = "socialfeed.backends.fsspec:FsspecMediaStore"

# role -> scheme -> (import string, extra that provides it)
BUILTIN: dict[str, dict[str, tuple[str, str | None]]] = {
    "store": {
        "memory": ("socialfeed.backends.memory:MemoryStore", None),
        "sqlite": (_SQL_STORE, "sql"),
        "postgresql": (_SQL_STORE, "postgres"),
        "mysql": (_SQL_STORE, "mysql"),
        "mariadb": (_SQL_STORE, "mysql"),
    },
    "cache": {
        "memory": ("socialfeed.backends.memory:MemoryFeedCache", None),
        "redis": (_REDIS_CACHE, "redis"),
        "rediss": (_REDIS_CACHE, "redis"),
        "redis+cluster": (_REDIS_CACHE, "redis"),
        "sqlite": (_SQL_CACHE, "sql"),
        "postgresql": (_SQL_CACHE, "postgres"),
        "mysql": (_SQL_CACHE, "mysql"),
        "mariadb": (_SQL_CACHE, "mysql"),
    },
    "media": {
        "memory": (_FSSPEC, None),
        "file": (_FSSPEC, None),
        "s3": (_FSSPEC, "s3"),
    },
    "queue": {
        "inline": ("socialfeed.backends.memory:InlineQueue", None),
        "thread": ("socialfeed.backends.memory:ThreadQueue", None),
        "redis": ("socialfeed.backends.redis:RedisStreamsQueue", "redis"),
        "rediss": ("socialfeed.backends.redis:RedisStreamsQueue", "redis"),
    },
}

# schemes people write that name no backend -> the URL they mean
_ALIASES = {"postgres": "postgresql+psycopg://", "psql": "postgresql+psycopg://"}

_registered: dict[str, dict[str, Any]] = {role: {} for role in BUILTIN}


def register(role: Role, scheme: str, factory: FromURL | str) -> None:
    """Register a backend class (or ``"module:Class"`` string) for ``scheme`` URLs of ``role``."""
    _registered[role][scheme] = factory


def scheme_of(url: str) -> str:
    """The scheme of a backend URL: ``"postgresql"`` for ``postgresql+psycopg://...``, ``"thread"``
    for ``thread``; ``redis+cluster`` is kept whole."""
    scheme = url.split("://", 1)[0] if "://" in url else url
    return scheme if scheme == "redis+cluster" else scheme.split("+", 1)[0].lower()


def _plugins(role: str) -> dict[str, Any]:
    """The plugins' entry points for ``role``, by scheme; one that a built-in shadows is left
    out, with a warning (the built-in wins)."""
    found: dict[str, Any] = {}
    for ep in entry_points(group="socialfeed.backends"):
        ep_role, _, scheme = ep.name.partition(".")
        if ep_role != role:
            continue
        if scheme in BUILTIN[role]:
            warnings.warn(
                f"the plugin entry point {ep.name} = {ep.value!r} (group socialfeed.backends) is "
                f"shadowed: the built-in {role} backend for {scheme!r} URLs wins (override it "
                "with socialfeed.registry.register)",
                UserWarning,
                stacklevel=3,
            )
            continue
        found[scheme] = ep
    return found


def _fsspec_knows(scheme: str) -> bool:
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec is a core dependency
        return False
    return scheme in fsspec.available_protocols()


def known_schemes(role: Role) -> list[str]:
    """Every scheme ``role`` URLs may use: built-in, registered and from plugins."""
    return sorted({*BUILTIN[role], *_registered[role], *_plugins(role)})


def _load(target: Any) -> Any:
    if isinstance(target, str):
        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)
    if hasattr(target, "load"):  # an entry point
        return target.load()
    return target


def resolve(role: Role, url: str, settings: Settings) -> Any:
    """Build the backend for ``url``; a clear :class:`ValidationError` if none is known."""
    scheme = scheme_of(url)
    extra: str | None = None
    plugins = _plugins(role)  # looked at first: a plugin that a built-in shadows is warned of
    if scheme in _registered[role]:
        target: Any = _registered[role][scheme]
    elif scheme in BUILTIN[role]:
        target, extra = BUILTIN[role][scheme]
    elif scheme in plugins:
        target = plugins[scheme]
    elif role == "media" and _fsspec_knows(scheme):
        target = _FSSPEC
    else:
        known = ", ".join(
            f"{name} (socialfeed[{BUILTIN[role][name][1]}])"
            if name in BUILTIN[role] and BUILTIN[role][name][1]
            else name
            for name in known_schemes(role)
        )
        alias = _ALIASES.get(scheme)
        meant = f"did you mean {alias}...? " if alias else ""
        raise ValidationError(
            role,
            f"unknown scheme {show(scheme)} in {show(url)}; {meant}known schemes: {known} "
            "(plugins add more through the 'socialfeed.backends' entry-point group)",
        )
    try:
        cls: FromURL = _load(target)
    except ImportError as exc:
        raise missing_driver(role, f"the backend for {show(scheme)} URLs", exc, extra) from exc
    return cls.from_url(url, settings)


_REQUIRED: dict[str, type] = {
    "store": TweetStore,
    "graph": FollowGraph,
    "cache": FeedCache,
    "media": MediaStore,
    "queue": FanoutQueue,
}


def require(role: Role | Literal["graph"], backend: Any) -> Any:
    """``backend`` itself, if it has every method of ``role``'s Protocol; else a
    :class:`ValidationError` naming ``role`` and listing the missing methods."""
    protocol = _REQUIRED[role]
    if missing := missing_methods(backend, protocol):
        raise ValidationError(
            role,
            f"{type(backend).__name__} is not a {protocol.__name__}: it lacks {', '.join(missing)}",
        )
    return backend


def build(role: Role | Literal["graph"], value: Any, settings: Settings) -> Any:
    """The backend for a ``connect()`` argument: :func:`resolve` for a URL (a ``graph`` URL is a
    store URL: stores hold follows); for ``media``, a raw fsspec filesystem becomes a media store
    on it; any other object is used as it is. The result is checked by :func:`require`."""
    if isinstance(value, str):
        return require(role, resolve("store" if role == "graph" else role, value, settings))
    if role == "media":
        import fsspec

        if isinstance(value, fsspec.AbstractFileSystem):
            store_class = _load(_FSSPEC)
            return require(role, store_class.from_filesystem(value))
    return require(role, value)
