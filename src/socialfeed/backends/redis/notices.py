"""Feed notices over Redis pub/sub (:mod:`socialfeed.notices`).

A notice on channel ``u`` is a ``PUBLISH <prefix>:n:<u>``. Each cache keeps one pub/sub
connection and one thread for all its listeners: the thread alone talks to the connection
(redis-py's ``PubSub`` is not thread-safe), subscribes to a channel when it gains its first
listener and unsubscribes when it loses its last, and hands every message to the in-process
:class:`~socialfeed.notices.Hub`. A listener is live once Redis has confirmed its
subscriptions. When the connection drops, redis-py resubscribes on reconnecting; the
confirmations that arrive then wake those channels' listeners, which re-read their feeds, so a
notice lost meanwhile costs nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from redis.cluster import RedisCluster

from socialfeed.backends.redis._client import AnyRedis, backend_errors
from socialfeed.errors import BackendError
from socialfeed.notices import Hub, Listening, Wake

__all__ = ["RedisNotices"]

log = logging.getLogger(__name__)

_CONFIRM_TIMEOUT = 10.0  # seconds a new listener waits for Redis to confirm its channels
_POLL = 0.05  # seconds the thread waits for a message before it looks for new subscriptions


class RedisNotices:
    """Notices on ``<prefix>:n:<user id>`` channels of one Redis (or Redis Cluster) client."""

    def __init__(self, client: AnyRedis, prefix: str) -> None:
        self._client = client
        self._cluster = isinstance(client, RedisCluster)
        self._prefix = f"{prefix}:n:".encode()
        self._hub = Hub(self._changed)
        self._lock = threading.Lock()
        self._requests: list[tuple[set[int], threading.Event]] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def _name(self, channel: int) -> bytes:
        return self._prefix + str(channel).encode()

    def notify(self, channels: Sequence[int]) -> None:
        """One ``PUBLISH`` per channel, in one round trip (one each on a cluster, which
        refuses pipelined publishes and broadcasts every message to all its nodes)."""
        with backend_errors("notify"):
            if self._cluster:
                for channel in channels:
                    self._client.publish(self._name(channel), b"")
                return
            pipe = self._client.pipeline(transaction=False)
            for channel in channels:
                pipe.publish(self._name(channel), b"")
            pipe.execute()

    def listen(self, channels: Sequence[int], wake: Wake) -> Listening:
        """A listener, live once Redis confirmed its channels."""
        return self._hub.listen(channels, wake)

    def close(self) -> None:
        """Stop the thread (its connection closes with it)."""
        self._stopping.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    # the thread
    def _changed(self, added: set[int], removed: set[int]) -> None:
        done = threading.Event()
        with self._lock:
            if self._stopping.is_set():
                if added:
                    raise BackendError("the feed cache is closed")
                return  # its subscriptions ended with it
            self._requests.append((added, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="socialfeed-notices", daemon=True
                )
                self._thread.start()
        if added and not done.wait(_CONFIRM_TIMEOUT):
            raise BackendError("redis did not confirm the feed-notice subscriptions in time")

    def _run(self) -> None:
        client: Any = self._client  # redis-py < 8.2 leaves pubsub() untyped
        pubsub = client.pubsub()
        subscribed: set[int] = set()  # what was asked of Redis
        confirmed: set[int] = set()  # what Redis confirmed
        unconfirmed: list[tuple[set[int], threading.Event]] = []
        try:
            while not self._stopping.is_set():
                try:
                    self._reconcile(pubsub, subscribed, confirmed, unconfirmed)
                    message = pubsub.get_message(timeout=_POLL) if pubsub.subscribed else None
                    if message is None and not pubsub.subscribed:
                        time.sleep(_POLL)
                    while message is not None:
                        self._handle(message, confirmed, unconfirmed)
                        message = pubsub.get_message(timeout=0)
                except Exception as exc:  # the connection dropped: redis-py reconnects
                    log.warning("feed notices: %s: %s; reconnecting", type(exc).__name__, exc)
                    time.sleep(0.5)
        finally:
            pubsub.close()

    def _reconcile(
        self,
        pubsub: Any,
        subscribed: set[int],
        confirmed: set[int],
        unconfirmed: list[tuple[set[int], threading.Event]],
    ) -> None:
        """Subscribe to exactly the channels the hub listens on (whatever order the requests
        came in); each request waits for the confirmation of its new channels. A request that
        fails here stays queued for the next round."""
        with self._lock:
            requests, self._requests = self._requests, []
        if not requests:
            return
        try:
            wanted = self._hub.channels()
            drop, add = subscribed - wanted, wanted - subscribed
            if drop:
                pubsub.unsubscribe(*(self._name(c) for c in drop))
                subscribed -= drop
                confirmed -= drop
            if add:
                pubsub.subscribe(*(self._name(c) for c in add))
                subscribed |= add
        except BaseException:
            with self._lock:
                self._requests[:0] = requests
            raise
        for added, done in requests:
            waiting = (added & wanted) - confirmed
            if waiting:
                unconfirmed.append((waiting, done))
            else:
                done.set()

    def _handle(
        self,
        message: dict[str, Any],
        confirmed: set[int],
        unconfirmed: list[tuple[set[int], threading.Event]],
    ) -> None:
        name: bytes = message["channel"]
        channel = int(name[len(self._prefix) :])
        if message["type"] == "message":
            self._hub.deliver([channel])
        elif message["type"] == "subscribe":
            confirmed.add(channel)
            waiting = [(left, done) for left, done in unconfirmed if channel in left]
            if not waiting:  # a resubscription after a reconnect: notices may have been lost
                self._hub.deliver([channel])
            for left, done in waiting:
                left.discard(channel)
                if not left:
                    done.set()
            unconfirmed[:] = [(left, done) for left, done in unconfirmed if left]
