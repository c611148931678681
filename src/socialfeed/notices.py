"""Feed notices: the wake-ups behind ``subscribe()``.

A *notice* on channel ``u`` says "user ``u`` wrote something, or a job about ``u`` was applied":
the home feeds of ``u`` and of ``u``'s followers may have gained items. A subscriber of ``u``'s
feed listens on ``u`` and on everyone ``u`` follows, and re-reads its feed when woken. A notice
carries no data, so a lost or an extra one costs a wake-up, never an item: what a subscriber
shows always comes from the feed itself.

:class:`Hub` delivers notices to the listeners of one process; a cache that spans processes
(Redis pub/sub) feeds its hub from the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from socialfeed.errors import BackendError

__all__ = ["Hub", "Listening", "Wake", "send"]

log = logging.getLogger(__name__)

Wake = Callable[[int], None]
"""What a listener is called with when a notice arrives: the channel (a user id). It runs in the
notifying thread (or the cache's listener thread), so it must only hand the wake-up on."""


def send(notify: Callable[[Sequence[int]], None], channels: Sequence[int]) -> None:
    """``notify(channels)``, logging a backend failure instead of raising it: the write a
    notice follows is already done, and a subscriber that misses the notice catches up at the
    next one."""
    try:
        notify(channels)
    except BackendError as exc:
        log.warning("feed notices on %s were not sent: %s", list(channels)[:10], exc)


class Listening:
    """One listener's registration with a :class:`Hub`: its channels can change, and
    :meth:`close` ends it."""

    def __init__(self, hub: Hub, wake: Wake) -> None:
        self._hub = hub
        self.wake = wake
        self.channels: frozenset[int] = frozenset()

    def update(self, channels: Iterable[int]) -> None:
        """Listen on exactly ``channels`` from now on (returns once they are live)."""
        self._hub.move(self, frozenset(channels))

    def close(self) -> None:
        """Stop listening."""
        self._hub.move(self, frozenset())


class Hub:
    """The listeners of one process by channel. Thread-safe. ``on_change(added, removed)`` is
    told which channels gained their first listener or lost their last one (a cross-process
    cache subscribes to those on its server), and returns once ``added`` are live."""

    def __init__(self, on_change: Callable[[set[int], set[int]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[int, set[Listening]] = {}
        self._on_change = on_change

    def listen(self, channels: Iterable[int], wake: Wake) -> Listening:
        """Register ``wake`` for ``channels``; live when this returns."""
        listening = Listening(self, wake)
        listening.update(channels)
        return listening

    def move(self, listening: Listening, channels: frozenset[int]) -> None:
        """Make ``listening`` listen on exactly ``channels``."""
        with self._lock:
            added = channels - listening.channels
            removed = listening.channels - channels
            first = {c for c in added if not self._by_channel.get(c)}
            for c in added:
                self._by_channel.setdefault(c, set()).add(listening)
            last: set[int] = set()
            for c in removed:
                left = self._by_channel.get(c, set())
                left.discard(listening)
                if not left:
                    self._by_channel.pop(c, None)
                    last.add(c)
            listening.channels = channels
        if self._on_change is not None and (first or last):
            self._on_change(first, last)

    def channels(self) -> set[int]:
        """Every channel someone listens on."""
        with self._lock:
            return set(self._by_channel)

    def deliver(self, channels: Iterable[int]) -> None:
        """Wake the listeners of ``channels``."""
        with self._lock:
            woken = [(w, c) for c in channels for w in self._by_channel.get(c, ())]
        for listening, channel in woken:
            listening.wake(channel)

    def deliver_all(self) -> None:
        """Wake every listener (after notices may have been lost, e.g. a reconnect)."""
        with self._lock:
            woken = [(w, c) for c, ws in self._by_channel.items() for w in ws]
        for listening, channel in woken:
            listening.wake(channel)
