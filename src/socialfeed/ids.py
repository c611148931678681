"""Snowflake tweet ids: 41 bits of milliseconds since :data:`EPOCH`, 10 bits of worker id, 12 bits
of sequence. A larger id is a newer tweet.

The generator is thread-safe and monotonic: if the wall clock steps back, it keeps counting from the
last millisecond it issued (borrowing sequence numbers from it, then from the next millisecond)
instead of ever issuing a smaller or repeated id.

Ids are unique across a deployment because no two live processes mint with the same worker id:
:class:`IdSource` leases one from a shared backend
(:class:`~socialfeed.interfaces.WorkerIdLeaseSupport`), renews the lease while it runs, refuses to
mint once it can no longer prove it holds it, starts after the last millisecond the previous
holder minted, and releases it on :meth:`IdSource.close`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from socialfeed.errors import BackendError

if TYPE_CHECKING:
    from socialfeed.interfaces import WorkerIdLeaseSupport

__all__ = ["EPOCH", "MAX_ID", "IdSource", "SnowflakeGenerator", "id_floor_for", "id_time"]

log = logging.getLogger(__name__)

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
"""Time zero of the id layout."""
_EPOCH_MS = int(EPOCH.timestamp() * 1000)
WORKER_BITS = 10
SEQUENCE_BITS = 12
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
MAX_ID = 2**63 - 1
"""The largest id (ids and user ids are positive signed 64-bit integers)."""


def id_time(tweet_id: int) -> datetime:
    """The UTC creation time encoded in a tweet id (millisecond precision)."""
    ms = tweet_id >> (WORKER_BITS + SEQUENCE_BITS)
    return EPOCH + timedelta(milliseconds=ms)


def id_floor_for(when: datetime) -> int:
    """The smallest id that a tweet created at ``when`` (or later) can have."""
    ms = max(0, int(when.timestamp() * 1000) - _EPOCH_MS)
    return ms << (WORKER_BITS + SEQUENCE_BITS)


class SnowflakeGenerator:
    """Issues unique, increasing 64-bit ids for one ``worker_id`` (0..1023)."""

    def __init__(
        self, worker_id: int = 0, clock: Callable[[], float] = time.time, after_ms: int = -1
    ) -> None:
        """``after_ms``: the last millisecond anyone minted under this worker id; every id
        issued here is in a later millisecond."""
        if not 0 <= worker_id < (1 << WORKER_BITS):
            raise ValueError(f"worker_id must be in 0..{(1 << WORKER_BITS) - 1}")
        self._worker = worker_id
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = after_ms
        self._sequence = _SEQUENCE_MASK  # the next id in _last_ms would roll over to after it

    @property
    def worker_id(self) -> int:
        """The worker id in every id issued."""
        return self._worker

    @property
    def last_ms(self) -> int:
        """The millisecond (since :data:`EPOCH`) of the last id issued, or of ``after_ms``."""
        return self._last_ms

    def next_id(self) -> int:
        """A new id, larger than every id this generator issued before."""
        with self._lock:
            ms = int(self._clock() * 1000) - _EPOCH_MS
            if ms > self._last_ms:
                self._last_ms, self._sequence = ms, 0
            else:  # same millisecond, or the clock stepped back: keep counting forward
                self._sequence = (self._sequence + 1) & _SEQUENCE_MASK
                if self._sequence == 0:
                    self._last_ms += 1
            return (
                (self._last_ms << (WORKER_BITS + SEQUENCE_BITS))
                | (self._worker << SEQUENCE_BITS)
                | self._sequence
            )


class IdSource:
    """The tweet ids of one process: a :class:`SnowflakeGenerator` on a leased worker id.

    With a ``lessor`` (a shared backend with worker-id leases), the worker id is leased for
    ``ttl`` seconds and renewed every ``ttl / 3`` by a daemon thread; ``pinned`` asks for that id
    (held by another live process: :class:`~socialfeed.errors.BackendError`). If the lease cannot
    be renewed for ``ttl / 2`` seconds, or was lost, minting stops with ``BackendError`` until a
    lease is held again: two processes never mint with one worker id. Without a lessor (everything
    in this process) the worker id is ``pinned`` or 0.
    """

    def __init__(
        self, lessor: WorkerIdLeaseSupport | None, pinned: int | None, ttl: float = 30.0
    ) -> None:
        self._lessor = lessor
        self._pinned = pinned
        self._ttl = ttl
        self._holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._valid_until = float("inf")
        self._thread: threading.Thread | None = None
        if lessor is None:
            self._gen = SnowflakeGenerator(pinned or 0)
            return
        self._gen = self._acquire()
        self._thread = threading.Thread(target=self._renew, name="socialfeed-lease", daemon=True)
        self._thread.start()

    @property
    def worker_id(self) -> int:
        """The worker id this process mints with."""
        return self._gen.worker_id

    def _acquire(self) -> SnowflakeGenerator:
        assert self._lessor is not None
        worker, last_ms = self._lessor.acquire_worker_id(self._holder, self._ttl, self._pinned)
        self._valid_until = time.monotonic() + self._ttl / 2
        return SnowflakeGenerator(worker, after_ms=last_ms)

    def _renew_once(self) -> None:
        assert self._lessor is not None
        gen = self._gen
        if self._lessor.renew_worker_id(gen.worker_id, self._holder, self._ttl, gen.last_ms):
            self._valid_until = time.monotonic() + self._ttl / 2
            return
        log.error("the lease of worker id %d was lost; leasing another", gen.worker_id)
        self._valid_until = 0.0
        self._gen = self._acquire()

    def _renew(self) -> None:
        while not self._stop.wait(self._ttl / 3):
            try:
                with self._lock:
                    self._renew_once()
            except BackendError as exc:
                log.warning("could not renew the worker id lease: %s", exc)

    def next_id(self) -> int:
        """A new unique id; :class:`~socialfeed.errors.BackendError` while the lease is not
        known to be held."""
        if time.monotonic() >= self._valid_until:
            with self._lock:
                if time.monotonic() >= self._valid_until:
                    self._renew_once()
        return self._gen.next_id()

    def close(self) -> None:
        """Stop renewing and release the lease (recording the last millisecond minted)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            assert self._lessor is not None
            try:
                self._lessor.release_worker_id(self._gen.worker_id, self._holder, self._gen.last_ms)
            except BackendError as exc:  # it expires by itself
                log.warning("could not release worker id %d: %s", self._gen.worker_id, exc)
