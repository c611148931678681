"""Reproductions of the deployment-safety findings on a real Redis (each failed on 0.1): worker-id
leases, reclaiming after a crash (no delivery counts compared as byte strings), crashes and
outages that are not poison, writes half done while Redis was away and back with its data, and
tombstones honoured while a replica lags."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pytest
import redis
from redis_rig import Server, private_server

import socialfeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.backends.redis import RedisStreamsQueue
from socialfeed.bench.harness import BenchContext
from socialfeed.errors import BackendError, NotFound
from socialfeed.interfaces import Backends
from socialfeed.jobs import FanOut, Job, JobFunctions, encode_job
from socialfeed.models import Tweet
from socialfeed.strategies import PushStrategy
from socialfeed.testing.oracle import page_all
from socialfeed.testing.servers import RedisServer

pytestmark = pytest.mark.redis


@pytest.fixture
def server() -> Iterator[Server]:
    yield from private_server()


def _queue(url: str, **options: Any) -> RedisStreamsQueue:
    query = "&".join(f"{k}={v}" for k, v in {"claim_idle": 0.3, **options}.items())
    return RedisStreamsQueue.from_url(f"{url}?{query}", socialfeed.Settings())


def test_processes_lease_distinct_worker_ids(server: Server) -> None:
    feeds = [socialfeed.connect(queue=server.url) for _ in range(3)]
    try:
        assert len({sf.worker_id for sf in feeds}) == 3
        ids = [sf.create_tweet(1, f"from {n}").id for n, sf in enumerate(feeds)]
        assert len(set(ids)) == 3
        pinned = feeds[0].worker_id
        with pytest.raises(BackendError, match=f"worker id {pinned} is held"):
            socialfeed.connect(queue=server.url, settings=socialfeed.Settings(worker_id=pinned))
    finally:
        for sf in feeds:
            sf.close()
    again = socialfeed.connect(queue=server.url, settings=socialfeed.Settings(worker_id=pinned))
    try:  # released on close, and the new holder mints after the last one's milliseconds
        assert again.worker_id == pinned and again.create_tweet(1, "later").id > max(ids)
    finally:
        again.close()


def test_eleven_jobs_of_one_millisecond_survive_a_crash(server: Server) -> None:
    q = _queue(server.url)
    q.start(JobFunctions(lambda jobs: None), 0)  # the group
    ms = int(time.time() * 1000)
    jobs = [FanOut(1, (n,)) for n in range(11)]
    client: Any = redis.Redis.from_url(server.url)
    for n, job in enumerate(jobs):  # ids ...-0 to ...-10: "-10" < "-9" as byte strings
        client.xadd(q.stream, {"job": encode_job(job)}, id=f"{ms}-{n}")
    assert len(client.xreadgroup(q.group, "crashed", {q.stream: ">"}, count=11)[0][1]) == 11
    applied: list[Job] = []
    worker = _queue(server.url)
    worker.start(JobFunctions(applied.extend), 1)
    try:
        q.drain(timeout=20)
        assert sorted(applied, key=str) == sorted(jobs, key=str)
        assert client.xlen(q.dead_stream) == 0
    finally:
        worker.close()


def test_a_job_whose_workers_keep_crashing_is_not_parked(server: Server) -> None:
    q = _queue(server.url)
    q.start(JobFunctions(lambda jobs: None), 0)
    q.submit(FanOut(1, (7,)))
    client: Any = redis.Redis.from_url(server.url)
    [(entry, _)] = client.xreadgroup(q.group, "crash-0", {q.stream: ">"})[0][1]
    for n in range(1, 8):  # seven more deliveries, each to a worker that died
        client.xclaim(q.stream, q.group, f"crash-{n}", 0, [entry])
    applied: list[Job] = []
    worker = _queue(server.url)
    worker.start(JobFunctions(applied.extend), 1)
    try:
        q.drain(timeout=20)
        assert applied == [FanOut(1, (7,))] and client.xlen(q.dead_stream) == 0
    finally:
        worker.close()


def test_an_outage_longer_than_claim_idle_parks_nothing(server: Server) -> None:
    down_until = time.monotonic() + 2.0  # a store down for ~7 x claim_idle
    applied: list[Job] = []

    def apply(jobs: Sequence[Job]) -> None:
        if time.monotonic() < down_until:
            raise BackendError("the store is down")
        applied.extend(jobs)

    q = _queue(server.url)
    q.start(JobFunctions(apply), 2)
    try:
        for n in range(20):
            q.submit(FanOut(1, (n,)))
        q.drain(timeout=30)
        assert len(applied) >= 20 and set(applied) == {FanOut(1, (n,)) for n in range(20)}
        assert q.dead_letters() == []
    finally:
        q.close()


BROKEN = threading.Event()


@attrs.define
class FlakyPush(PushStrategy):
    """Push with a bug in its fan-out while ``BROKEN`` is set."""

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        if BROKEN.is_set() and any(isinstance(j, FanOut) for j in jobs):
            raise RuntimeError("a bug")
        super().apply(b, jobs)


def test_a_job_that_fails_by_itself_is_parked_invalidated_and_replayed(server: Server) -> None:
    store = MemoryStore()
    sf = socialfeed.connect(
        store=store, cache=server.url, queue=server.url, workers=1, strategy=FlakyPush()
    )
    try:
        sf.follow(2, 1)
        sf.get_feed(2)
        BROKEN.set()
        tweet = sf.create_tweet(1, "parked")
        sf.drain(timeout=20)
        [(job, error)] = sf.queue.dead_letters()  # type: ignore[attr-defined]
        assert job == FanOut(1, (tweet.id,), event=job.event) and "RuntimeError: a bug" in error
        assert [t.id for t in sf.get_feed(2).items] == [tweet.id]  # rebuilt from the store
        BROKEN.clear()
        assert sf.queue.replay_dead() == 1  # type: ignore[attr-defined]
        sf.drain(timeout=20)
        assert sf.queue.dead_letters() == []  # type: ignore[attr-defined]
        assert page_all(sf, 2, lambda: 5) == [tweet.id]
    finally:
        sf.close()


def test_writes_half_done_while_redis_was_away_are_finished(tmp_path: Any) -> None:
    server = RedisServer(persistent=True).start()  # comes back with its data (AOF)
    store = MemoryStore()
    sf = socialfeed.connect(store=store, cache=server.url, queue=server.url, workers=1)
    try:
        sf.follow(2, 1)
        sf.follow(3, 4)
        for u in (1, 2, 3):
            sf.get_feed(u)
        old = sf.create_tweet(1, "old")
        sf.create_tweet(4, "by four")
        sf.drain(timeout=20)
        assert sf.get_tweet(old.id) == old  # now hot in Redis

        server.stop()
        with pytest.raises(BackendError):
            sf.delete_tweet(old.id, user_id=1)  # the store deleted it; the cache did not hear
        new = sf.create_tweet(1, "while away", idempotency_key="k")  # stored, event kept
        sf.follow(3, 1)  # stored, event kept
        sf.unfollow(3, 4)
        server.start()
        assert sf.get_tweet(old.id) == old  # the hot copy came back with Redis's data...
        sf.delete_tweet(old.id, user_id=1)  # ...and the retry finishes the delete
        with pytest.raises(NotFound):
            sf.get_tweet(old.id)
        assert sf.create_tweet(1, "while away", idempotency_key="k") == new  # not posted twice
        sf.drain(timeout=30)
        for u in (1, 2, 3):
            assert page_all(sf, u, lambda: 2) == store.home_tweet_ids(u, None, 50), u
        assert page_all(sf, 3, lambda: 5) == [new.id]  # backfilled; four's tweet is gone
    finally:
        sf.close()
        server.close()


class _Remembering(MemoryStore):
    stale: dict[int, Tweet]

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        tweet = super().mark_deleted(tweet_id)
        if tweet is not None:
            self.stale[tweet_id] = tweet  # what a lagging replica still holds
        return tweet


class LaggingStore(_Remembering):
    """Reads served by a replica that has not seen the deletes yet (the primary view, which
    writes and jobs use, sees the truth)."""

    def __init__(self) -> None:
        super().__init__()
        self.stale = {}
        self.truth = _Primary(self)

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        found = super().get_tweets(tweet_ids)
        found.update({i: self.stale[i] for i in tweet_ids if i in self.stale})
        return found

    def on_primary(self) -> Any:
        return self.truth


class _Primary(_Remembering):
    """The primary's view of a LaggingStore: the same state (shared), read fresh."""

    def __init__(self, store: LaggingStore) -> None:
        self.__dict__ = store.__dict__

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        return MemoryStore.get_tweets(self, tweet_ids)

    def on_primary(self) -> Any:
        return self


def test_a_deleted_tweet_stays_hidden_in_every_process_while_a_replica_lags(
    server: Server,
) -> None:
    store = LaggingStore()  # shared by two "processes" with one Redis cache
    a = socialfeed.connect(store=store, cache=server.url)
    b = socialfeed.connect(store=store, cache=server.url)
    try:
        tweet = a.create_tweet(1, "soon gone")
        a.delete_tweet(tweet.id, user_id=1)
        assert store.get_tweets([tweet.id])  # the replica still has it...
        with pytest.raises(NotFound):
            b.get_tweet(tweet.id)  # ...but the tombstone in Redis is honoured
        assert tweet.id not in [t.id for t in b.get_feed(1).items]
    finally:
        a.close()
        b.close()


def test_the_bench_uses_a_redis_server_of_its_own() -> None:
    ctx = BenchContext(out=io.StringIO())
    url = ctx.redis()
    client = redis.Redis.from_url(url)
    assert url != "redis://127.0.0.1:6379/13" and client.ping()
    ctx.close()  # the bench's server is gone with it
    with pytest.raises(redis.ConnectionError):
        client.ping()
