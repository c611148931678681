"""Where a statement goes: read replicas with read-your-writes.

:class:`ReplicaRouter` sends reads to replicas round-robin and writes to the primary; for
``read_your_writes`` after a user (or tweet) was written through this router, that user's (or
tweet's) reads go to the primary, because replicas lag. A replica that fails to answer is marked
down for ``down_for`` seconds and skipped; with every replica down, reads go to the primary.
(Shard placement, :func:`~socialfeed.backends.sql.sharded.jump_hash`, is in ``sharded.py``.)
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

import attrs
from sqlalchemy import Engine

__all__ = ["ReplicaRouter"]


class _Recent:
    """Keys written recently: key -> monotonic expiry, pruned as it goes (bounded)."""

    def __init__(self, window: float, capacity: int = 100_000) -> None:
        self._window = window
        self._capacity = capacity
        self._items: OrderedDict[int, float] = OrderedDict()

    def add(self, keys: Iterable[int], now: float) -> None:
        items = self._items
        expiry = now + self._window
        for k in keys:
            items[k] = expiry
            items.move_to_end(k)
        while items and (len(items) > self._capacity or next(iter(items.values())) <= now):
            items.popitem(last=False)

    def any_of(self, keys: Iterable[int], now: float) -> bool:
        items = self._items
        return any((e := items.get(k)) is not None and e > now for k in keys)


@attrs.define
class ReplicaRouter:
    """Chooses the engine for each read: a live replica, or the primary (see module docs)."""

    primary: Engine
    replicas: Sequence[Engine] = ()
    read_your_writes: timedelta = timedelta(seconds=5)
    down_for: float = 5.0
    clock: Callable[[], float] = time.monotonic
    primary_reads: Engine | None = None
    """An engine on the primary for reads (e.g. an autocommit pool); default: ``primary``."""
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _next: itertools.count[int] = attrs.field(init=False, factory=itertools.count)
    _down_until: dict[int, float] = attrs.field(init=False, factory=dict)
    _users: _Recent = attrs.field(init=False)
    _tweets: _Recent = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        window = self.read_your_writes.total_seconds()
        self._users = _Recent(window)
        self._tweets = _Recent(window)

    def wrote(self, users: Iterable[int] = (), tweets: Iterable[int] = ()) -> None:
        """Record a write by (or about) ``users`` and ``tweets``: their reads stay on the primary
        for the read-your-writes window."""
        if not self.replicas:
            return
        now = self.clock()
        with self._lock:
            self._users.add(users, now)
            self._tweets.add(tweets, now)

    def read_candidates(
        self, users: Iterable[int] = (), tweets: Iterable[int] = ()
    ) -> list[Engine]:
        """Engines to try for a read, in order: the next live replicas round-robin, then the
        primary. Only the primary when one of ``users``/``tweets`` was written recently."""
        primary = self.primary_reads or self.primary
        if not self.replicas:
            return [primary]
        now = self.clock()
        with self._lock:
            if self._users.any_of(users, now) or self._tweets.any_of(tweets, now):
                return [primary]
            start = next(self._next)
            n = len(self.replicas)
            order = [self.replicas[(start + k) % n] for k in range(n)]
            live = [e for e in order if self._down_until.get(id(e), 0.0) <= now]
        return [*live, primary]

    def mark_down(self, engine: Engine) -> None:
        """A replica failed: skip it for ``down_for`` seconds."""
        if engine is self.primary or engine is self.primary_reads:
            return
        with self._lock:
            self._down_until[id(engine)] = self.clock() + self.down_for

    def engines(self) -> list[Engine]:
        """The primary, then every replica."""
        return [self.primary, *self.replicas]
