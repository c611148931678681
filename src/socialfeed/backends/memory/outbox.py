"""MemoryOutbox: events kept in process memory until their fan-out is applied."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from socialfeed.interfaces import Event

__all__ = ["MemoryOutbox"]


class MemoryOutbox:
    """The :class:`~socialfeed.interfaces.Outbox` of the memory store (and of any store without
    one of its own): it outlives a queue outage, not the process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._outbox_lock = threading.Lock()
        self._events: dict[int, Event] = {}
        self._claimed: dict[int, float] = {}
        self._clock = clock

    def record(self, event: Event) -> None:
        """Keep ``event`` until :meth:`events_done`."""
        with self._outbox_lock:
            self._events[event.id] = event

    def claim_events(self, before: int, limit: int, claim_for: float) -> list[Event]:
        """Events below ``before`` whose claim expired, oldest first, claimed anew."""
        now = self._clock()
        with self._outbox_lock:
            claimed = self._claimed
            found = sorted(i for i in self._events if i < before and claimed.get(i, 0.0) <= now)[
                :limit
            ]
            for i in found:
                claimed[i] = now + claim_for
            return [self._events[i] for i in found]

    def pending_events(self, limit: int) -> list[Event]:
        """Every event, oldest first."""
        with self._outbox_lock:
            return [self._events[i] for i in sorted(self._events)[:limit]]

    def events_published(self, event_ids: Sequence[int]) -> None:
        """Kept until done: the workers of a memory store run in this process."""

    def events_done(self, event_ids: Sequence[int]) -> None:
        """Forget these events."""
        with self._outbox_lock:
            for i in event_ids:
                self._events.pop(i, None)
                self._claimed.pop(i, None)
