"""Live feeds: what ``subscribe()`` does, on both facades.

A :class:`FeedWatch` holds one subscriber's position in a home feed (a ``prev_cursor``) and
listens for feed notices (:mod:`socialfeed.notices`) on the user's own channel and on everyone
the user follows. Each wake-up re-reads the feed forward from the position: the page is
exactly what ``get_feed(user, limit, cursor=position)`` returns, so a stream resumed from the
last page's ``prev_cursor`` misses nothing and repeats nothing, and a notice that arrives for
nothing only costs a read. A notice on the user's own channel (a follow, an unfollow) also
renews the channels.

A page only holds *settled* items: ids below the oldest write whose fan-out is not applied yet
(as the outboxes know it), less :data:`SETTLE` seconds for writes between minting their id and
committing. So a tweet whose fan-out lags is never overtaken by a newer one (an author's own,
which shows at once, say): the newer one waits, and a short timer reads again. An event left
behind by a write that failed half way (the queue was away) holds the stream until it is
relayed: the watch sweeps the outboxes itself (``Relay.sweep``: events older than 30 s), as the
workers' relays do. While a backend
fails, the watch retries its read with a growing pause
(notices may be lost meanwhile) instead of ending the stream. :func:`pages` is the blocking
loop of ``SocialFeed.subscribe``; the asyncio facade runs the same watch with an
``asyncio.Event``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from socialfeed.cursors import decode_page_cursor, encode_cursor
from socialfeed.errors import BackendError, ValidationError
from socialfeed.ids import id_floor_for, id_time
from socialfeed.models import FeedPage
from socialfeed.notices import Listening, Wake

__all__ = ["FeedWatch", "Watches", "pages"]

log = logging.getLogger(__name__)

_MAX_RETRY_PAUSE = 2.0  # seconds between reads while a backend fails, at most
_STUCK = timedelta(seconds=5)  # an event this old was left behind: sweep the outboxes
SETTLE = 0.2
"""Seconds a write may take from minting its id to committing it (and its event): items newer
than that wait before a live page shows them."""


class FeedWatch:
    """One subscription to ``user_id``'s home feed, ``limit`` items a page at most."""

    def __init__(
        self,
        user_id: int,
        cursor: str | None,
        limit: int,
        *,
        read: Callable[[int, str | None], FeedPage],
        following: Callable[[], Sequence[int]],
        listen: Callable[[Sequence[int], Wake], Listening],
        oldest_pending: Callable[[], int | None],
        sweep: Callable[[], object] = lambda: None,
    ) -> None:
        """``read(limit, cursor)`` is ``get_feed``; ``following()`` the user's followees;
        ``listen`` the cache's; ``oldest_pending()`` the id of the oldest event not applied
        yet; ``sweep()`` relays the events left behind (a write that failed half way).
        ``cursor`` must be a ``prev_cursor`` (``None``: the present)."""
        position, towards_start = decode_page_cursor("tweets", cursor)
        if position is not None and not towards_start:
            raise ValidationError("cursor", "must be a prev_cursor (subscribe pages forward)")
        self.user_id = user_id
        self.limit = limit
        self.stopped = False
        self._cursor = cursor
        self._read = read
        self._following = following
        self._listen = listen
        self._oldest_pending = oldest_pending
        self._sweep = sweep
        self._swept = 0.0
        self._renew = True
        self._listening: Listening | None = None
        self._wake: Callable[[], None] = lambda: None
        self.retry_in: float | None = None
        """Seconds to wait before reading again although no notice came (a backend failed)."""

    def open(self, wake: Callable[[], None]) -> None:
        """Start listening (``wake()`` is called, from any thread, when the feed may have
        gained items), then fix the position if there was none: the present."""
        self._wake = wake
        self._listening = self._listen([self.user_id], self._noticed)
        self._renew = True
        if self._cursor is None:
            self._cursor = self._read(1, None).prev_cursor

    def _noticed(self, channel: int) -> None:
        if channel == self.user_id:
            self._renew = True
        self._wake()

    def poll(self) -> FeedPage | None:
        """The items newer than the position (then the position moves past them), if any."""
        try:
            if self._renew and self._listening is not None:
                self._listening.update({self.user_id, *self._following()})
                self._renew = False
            page = self._read(self.limit, self._cursor)
            settled = self._settled_below() if page.items else 0
        except BackendError as exc:
            self.retry_in = min(2 * (self.retry_in or 0.05), _MAX_RETRY_PAUSE)
            log.warning(
                "feed of user %d: %s; reading again in %.2fs", self.user_id, exc, self.retry_in
            )
            return None
        self.retry_in = None
        shown = tuple(t for t in page.items if t.id < settled)
        if len(shown) < len(page.items):
            self.retry_in = SETTLE  # read again once the newest have settled
        if not shown:
            return None
        self._cursor = encode_cursor("tweets", shown[0].id, towards_start=True)
        return FeedPage(shown, page.next_cursor, self._cursor)

    def _settled_below(self) -> int:
        now = datetime.now(UTC)  # the clock tweet ids are minted by
        oldest = self._oldest_pending()
        if oldest is not None:
            held = id_time(oldest)
            if now - held > _STUCK and time.monotonic() - self._swept > _STUCK.total_seconds():
                self._swept = time.monotonic()  # a write failed half way: finish it
                self._sweep()
            now = min(now, held)
        return id_floor_for(now - timedelta(seconds=SETTLE))

    def should_wait(self, page: FeedPage | None) -> bool:
        """After a poll: whether to wait for a notice (or ``retry_in``) before the next one. A
        full page means more may be waiting already: read again at once."""
        return not self.stopped and (page is None or len(page.items) < self.limit)

    def stop(self) -> None:
        """End the subscription: its loop returns at its next wake-up (woken now)."""
        self.stopped = True
        self._wake()

    def close(self) -> None:
        """Stop listening."""
        if self._listening is not None:
            self._listening.close()
            self._listening = None


class Watches:
    """The open watches of one facade, stopped together when it closes."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[FeedWatch] = weakref.WeakSet()
        self._lock = threading.Lock()

    def add(self, watch: FeedWatch) -> FeedWatch:
        """Track ``watch``; return it."""
        with self._lock:
            self._open.add(watch)
        return watch

    def stop_all(self) -> None:
        """Stop every open watch."""
        with self._lock:
            watches = list(self._open)
        for watch in watches:
            watch.stop()


def pages(watch: FeedWatch) -> Iterator[FeedPage]:
    """The blocking loop: a page each time the feed gains items, until the watch stops."""
    woken = threading.Event()
    watch.open(woken.set)
    try:
        while not watch.stopped:
            woken.clear()
            page = watch.poll()
            if page is not None:
                yield page
            if watch.should_wait(page):
                woken.wait(watch.retry_in)
    finally:
        watch.close()
