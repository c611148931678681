"""The Redis Streams :class:`~socialfeed.interfaces.FanoutQueue`.

One stream holds the jobs (JSON of :func:`socialfeed.jobs.encode_job`); one consumer group
shares them among worker threads in any number of processes. A worker reads up to ``batch``
entries with one XREADGROUP and applies them by the rule of :func:`socialfeed.jobs.apply_batch`
(one handler call for the batch, so a strategy can fan out many jobs together; one by one, each
with quick retries, if that call fails).
Delivery is at least once: jobs are acknowledged *and deleted* from the stream in one transaction
after they were applied, so the stream holds exactly the jobs not yet applied and ``drain()``
waits for it to be empty, across processes. A worker that dies leaves its jobs pending; after
``claim_idle`` seconds without a heartbeat another worker takes them over with XAUTOCLAIM, however
often that happens: a crash or an outage is never held against a job. Only a job that fails by
itself (after its quick retries) is parked in the dead-letter stream ``<stream>:dead`` with its
error, once the feeds it would have touched were invalidated; :meth:`replay_dead` (``socialfeed
worker --replay-dead``) queues the parked jobs again."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import attrs
import redis
from redis.exceptions import RedisError, ResponseError

from socialfeed.backends.redis._client import backend_errors, make_client, split_options
from socialfeed.backends.redis.lease import RedisWorkerLeases
from socialfeed.errors import ValidationError
from socialfeed.jobs import Job, JobHandler, apply_batch, decode_job, describe_error, encode_job
from socialfeed.settings import Settings

__all__ = ["RedisStreamsQueue"]

log = logging.getLogger(__name__)

_OPTIONS: dict[str, Callable[[str], Any]] = {
    "stream": str,
    "group": str,
    "claim_idle": float,
    "batch": int,
    "block": float,
}

Handler = JobHandler
Entry = tuple[bytes, dict[bytes, bytes]]  # stream entry id, fields


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@attrs.define(init=False)
class RedisStreamsQueue(RedisWorkerLeases):
    """Fan-out jobs on a Redis stream with a consumer group (at-least-once, crash-safe).

    ``start(handler, workers)`` runs ``workers`` consumer threads in this process (0: submit
    only, the jobs are applied by ``socialfeed worker`` processes); ``close()`` lets each finish
    its in-flight batch, then stops it. The client must not decode responses, and its socket
    timeout must exceed ``block`` (:meth:`from_url` takes care of both).
    """

    client: redis.Redis
    stream: str
    group: str
    claim_idle: float
    batch: int
    block: float
    _owns_client: bool
    _stop: threading.Event
    _threads: list[threading.Thread]
    _inflight: dict[str, set[bytes]]
    _inflight_lock: threading.Lock
    _processed: int
    _token: str
    _client_ids: dict[str, int]

    def __init__(
        self,
        client: redis.Redis,
        *,
        stream: str = "sf:fanout",
        group: str = "socialfeed",
        claim_idle: float = 30.0,
        batch: int = 64,
        block: float = 0.1,
        owns_client: bool = False,
    ) -> None:
        """``claim_idle``: seconds a job may go without a heartbeat before another worker takes
        it over; ``batch``: jobs
        read and handed to the handler at once; ``block``: seconds a read waits for new jobs
        (bounds ``close()``)."""
        if claim_idle <= 0 or batch < 1 or block <= 0:
            raise ValidationError("queue", "claim_idle and block must be > 0, batch >= 1")
        self.client = client
        self.stream = stream
        self.group = group
        self.claim_idle = claim_idle
        self.batch = batch
        self.block = block
        self._owns_client = owns_client
        self._stop = threading.Event()
        self._threads = []
        self._inflight = {}
        self._inflight_lock = threading.Lock()
        self._processed = 0
        self._client_ids = {}
        self._token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def _lease_prefix(self) -> str:
        return self.stream

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> RedisStreamsQueue:
        """``redis://host:port/db`` or ``rediss://...``; query options ``stream``, ``group``,
        ``claim_idle`` (s), ``batch``, ``block`` (s), plus redis-py
        options."""
        rest, kwargs = split_options(url, _OPTIONS, "queue")
        client = make_client(rest, extra_socket_timeout=kwargs.get("block", 0.1))
        if not isinstance(
            client, redis.Redis
        ):  # pragma: no cover - cluster URLs are not routed here
            raise ValidationError("queue", "the Redis Streams queue needs a standalone server")
        return cls(client, owns_client=True, **kwargs)

    @property
    def dead_stream(self) -> str:
        """The dead-letter stream."""
        return f"{self.stream}:dead"

    @property
    def _counter(self) -> str:
        return f"{self.stream}:processed"

    def _ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # FanoutQueue
    def start(self, handler: Handler, workers: int) -> None:
        """Start ``workers`` consumer threads (and a heartbeat thread) in this process."""
        with backend_errors("queue start"):
            self._ensure_group()
        if workers <= 0:
            return
        for n in range(workers):
            name = f"{self._token}-{n}"
            self._inflight[name] = set()
            t = threading.Thread(
                target=self._consume,
                args=(handler, name),
                name=f"socialfeed-redis-{n}",
                daemon=True,
            )
            self._threads.append(t)
        beat = threading.Thread(target=self._heartbeat, name="socialfeed-redis-beat", daemon=True)
        self._threads.append(beat)
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> None:
        """XADD the job."""
        data = encode_job(job)
        with backend_errors("queue submit"):
            self.client.xadd(self.stream, {"job": data})

    def drain(self, timeout: float | None = None) -> None:
        """Wait until the stream is empty and nothing is pending, in any process."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.002
        while True:
            with backend_errors("queue drain"):
                left, pending = self._backlog()
            if not left and not pending:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{left} fan-out jobs in {self.stream!r} ({pending} being applied) "
                    f"after {timeout}s"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _backlog(self) -> tuple[int, int]:
        pipe = self.client.pipeline(transaction=False)
        pipe.xlen(self.stream)
        pipe.xpending(self.stream, self.group)
        left, pending = pipe.execute(raise_on_error=False)
        if isinstance(left, Exception):
            raise left
        if isinstance(pending, Exception):
            if "NOGROUP" not in str(pending):
                raise pending
            return int(left), 0
        return int(left), int(pending["pending"])

    def close(self) -> None:
        """Let each consumer finish its in-flight batch, stop it, release the connections."""
        self._stop.set()
        for client_id in list(self._client_ids.values()):
            with contextlib.suppress(RedisError):  # else it sees the flag within one block time
                self.client.client_unblock(client_id)
        for t in self._threads:
            t.join()
        self._threads.clear()
        try:
            for name, inflight in self._inflight.items():
                if not inflight:
                    self.client.xgroup_delconsumer(self.stream, self.group, name)
        except RedisError:
            log.warning("could not remove the consumers of %s", self.stream, exc_info=True)
        self._inflight.clear()
        if self._owns_client:
            self.client.close()

    def stats(self) -> dict[str, Any]:
        """Counters for logging: jobs waiting and pending in the group, dead letters, jobs
        processed (by every process, and by this one)."""
        with backend_errors("queue stats"):
            pipe = self.client.pipeline(transaction=False)
            pipe.xlen(self.stream)
            pipe.xinfo_groups(self.stream)
            pipe.xlen(self.dead_stream)
            pipe.get(self._counter)
            length, groups, dead, processed = pipe.execute(raise_on_error=False)
        group: dict[str, Any] = {}
        if not isinstance(groups, Exception):
            group = next((g for g in groups if _text(g["name"]) == self.group), {})
        return {
            "stream": self.stream,
            "waiting": 0 if isinstance(length, Exception) else int(length),
            "pending": int(group.get("pending", 0)),
            "lag": group.get("lag"),
            "consumers": int(group.get("consumers", 0)),
            "dead_letters": 0 if isinstance(dead, Exception) else int(dead),
            "processed": int(processed) if isinstance(processed, bytes | int) else 0,
            "processed_here": self._processed,
            "workers": sum(1 for t in self._threads if t.name != "socialfeed-redis-beat"),
        }

    # consumers
    def _own_client(self) -> redis.Redis:
        # a connection of its own, so close() can interrupt its blocking read (CLIENT UNBLOCK)
        pool = self.client.connection_pool
        return redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=pool.connection_class,
                max_connections=1,
                **pool.connection_kwargs,
            )
        )

    def _consume(self, handler: Handler, name: str) -> None:
        reader = self._own_client()
        try:
            self._consume_with(reader, handler, name)
        finally:
            self._client_ids.pop(name, None)
            reader.close()
            reader.connection_pool.disconnect()

    def _consume_with(self, reader: redis.Redis, handler: Handler, name: str) -> None:
        next_claim = 0.0
        cursor = "0-0"
        while not self._stop.is_set():
            try:
                if name not in self._client_ids:
                    self._client_ids[name] = int(reader.client_id())
                entries: list[Entry] = []
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + self.claim_idle / 2
                    cursor, entries = self._reclaim(name, cursor)
                if not entries:
                    entries = self._read(reader, name, self.batch, int(self.block * 1000))
                if entries:
                    with self._inflight_lock:
                        self._inflight[name].update(e[0] for e in entries)
                    self._process(handler, entries)
                    with self._inflight_lock:
                        self._inflight[name].clear()
            except RedisError as exc:
                if "NOGROUP" in str(exc):  # the stream was flushed: make the group again
                    try:
                        self._ensure_group()
                        continue
                    except RedisError:
                        pass
                self._client_ids.pop(name, None)  # a new connection has a new id
                log.warning("fan-out consumer %s: %s; retrying", name, exc)
                with self._inflight_lock:
                    self._inflight[name].clear()
                self._stop.wait(0.5)

    def _read(self, reader: redis.Redis, name: str, count: int, block: int | None) -> list[Entry]:
        resp: Any = reader.xreadgroup(self.group, name, {self.stream: ">"}, count, block)
        return [(mid, f) for _stream, messages in resp or () for mid, f in messages if f]

    def _reclaim(self, name: str, cursor: str) -> tuple[str, list[Entry]]:
        """Take over jobs idle for ``claim_idle`` (their worker died or was cut off)."""
        resp = self.client.xautoclaim(
            self.stream, self.group, name, int(self.claim_idle * 1000), cursor, count=self.batch
        )
        return _text(resp[0]), [
            (mid, fields) for mid, fields in (e for e in resp[1] if e) if fields
        ]

    def _process(self, handler: Handler, entries: list[Entry]) -> None:
        """Apply a batch of entries by the rule of :func:`~socialfeed.jobs.apply_batch`:
        acknowledge what was applied and park what failed by itself, in one transaction; leave
        what met a backend failure pending (reclaimed after ``claim_idle``)."""
        batch: list[tuple[bytes, Job]] = []
        parked: list[tuple[bytes, bytes, str]] = []
        for entry_id, fields in entries:
            try:
                batch.append((entry_id, decode_job(fields[b"job"])))
            except (KeyError, ValueError) as exc:  # a malformed entry can never succeed
                parked.append((entry_id, fields.get(b"job", b""), f"undecodable job: {exc!r}"))
        outcome = apply_batch(handler, [job for _, job in batch], stopping=self._stop.is_set)
        for n, failure in outcome.parked:
            entry_id, job = batch[n]
            parked.append((entry_id, encode_job(job).encode(), describe_error(failure)))
        if outcome.retry:
            log.warning(
                "%d fan-out jobs met a backend failure (%s); left pending, to be reclaimed after "
                "%.0f s",
                len(outcome.retry),
                describe_error(outcome.retry[0][1]),
                self.claim_idle,
            )
        done = [batch[n][0] for n in outcome.done]
        if not done and not parked:
            return
        pipe = self.client.pipeline(transaction=True)
        for entry_id, data, error in parked:
            log.error("fan-out job %s failed by itself; parked: %s", entry_id, error)
            pipe.xadd(self.dead_stream, {"job": data, "id": entry_id, "error": error[:4000]})
        finished = [*done, *(p[0] for p in parked)]
        pipe.xack(self.stream, self.group, *finished)
        pipe.xdel(self.stream, *finished)
        if done:
            pipe.incrby(self._counter, len(done))
        pipe.execute()
        self._processed += len(done)

    # DeadLetterSupport
    def dead_letters(self) -> list[tuple[Job, str]]:
        """The parked jobs with their errors, oldest first (undecodable ones left out)."""
        with backend_errors("queue dead letters"):
            entries: Any = self.client.xrange(self.dead_stream)
        out: list[tuple[Job, str]] = []
        for _, fields in entries:
            with contextlib.suppress(KeyError, ValueError):
                out.append((decode_job(fields[b"job"]), _text(fields.get(b"error", b""))))
        return out

    def replay_dead(self) -> int:
        """Queue every parked job again (and remove it from the dead letters); return how many."""
        replayed = 0
        with backend_errors("queue replay"):
            while entries := cast(Any, self.client.xrange(self.dead_stream, count=500)):
                pipe = self.client.pipeline(transaction=True)
                for entry_id, fields in entries:
                    if fields.get(b"job"):
                        pipe.xadd(self.stream, {"job": fields[b"job"]})
                        replayed += 1
                    pipe.xdel(self.dead_stream, entry_id)
                pipe.execute()
        return replayed

    def _heartbeat(self) -> None:
        """Reset the idle time of in-flight jobs so slow jobs are not taken over."""
        interval = self.claim_idle / 3
        while not self._stop.wait(interval):
            with self._inflight_lock:
                snapshot: dict[str, list[Any]] = {
                    n: list(ids) for n, ids in self._inflight.items() if ids
                }
            for name, ids in snapshot.items():
                try:
                    self.client.xclaim(self.stream, self.group, name, 0, list(ids), justid=True)
                except RedisError as exc:
                    log.warning("fan-out heartbeat for %s failed: %s", name, exc)
