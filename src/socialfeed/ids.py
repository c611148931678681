"""Snowflake tweet ids: 41 bits of milliseconds since :data:`EPOCH`, 10 bits of worker id, 12 bits
of sequence. A larger id is a newer tweet.

The generator is thread-safe and monotonic: if the wall clock steps back, it keeps counting from the
last millisecond it issued (borrowing sequence numbers from it, then from the next millisecond)
instead of ever issuing a smaller or repeated id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["EPOCH", "MAX_ID", "SnowflakeGenerator", "id_floor_for", "id_time"]

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

    def __init__(self, worker_id: int = 0, clock: Callable[[], float] = time.time) -> None:
        if not 0 <= worker_id < (1 << WORKER_BITS):
            raise ValueError(f"worker_id must be in 0..{(1 << WORKER_BITS) - 1}")
        self._worker = worker_id
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

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
