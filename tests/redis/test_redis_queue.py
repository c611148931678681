"""RedisStreamsQueue beyond the contract: batches, a failing batch applied job by job, dead
letters, reclaiming a dead consumer's jobs, heartbeats for slow jobs, close() finishing the
in-flight batch, a flushed stream, stats."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from socialfeed import Settings
from socialfeed.backends.redis import RedisStreamsQueue
from socialfeed.jobs import FanOut, Job, JobFunctions

pytestmark = pytest.mark.redis


@pytest.fixture
def make_queue(queue_url: str) -> Iterator[Any]:
    made: list[RedisStreamsQueue] = []

    def make(**options: Any) -> RedisStreamsQueue:
        query = "&".join(f"{k}={v}" for k, v in options.items())
        q = RedisStreamsQueue.from_url(f"{queue_url}?{query}", Settings())
        made.append(q)
        return q

    yield make
    for q in made:
        q.close()


def _wait_for(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _collect(into: list[Job]) -> Any:
    lock = threading.Lock()

    def handler(jobs: Sequence[Job]) -> None:
        with lock:
            into.extend(jobs)

    return handler


def test_a_worker_takes_a_batch_in_one_handler_call(make_queue: Any) -> None:
    q = make_queue(batch=16)
    calls: list[list[Job]] = []
    submitter = make_queue()
    submitter.start(JobFunctions(lambda jobs: None), 0)
    jobs = [FanOut(1, (i,)) for i in range(1, 41)]
    for job in jobs:  # queued before any worker runs: the worker finds full batches
        submitter.submit(job)
    q.start(JobFunctions(lambda batch: calls.append(list(batch))), 1)
    q.drain(timeout=10)
    assert [len(c) for c in calls] == [16, 16, 8]
    assert [j for c in calls for j in c] == jobs
    assert q.stats()["processed"] == 40


def test_a_failing_batch_is_applied_job_by_job(make_queue: Any) -> None:
    q = make_queue(claim_idle=0.2, batch=10)
    submitter = make_queue()
    submitter.start(JobFunctions(lambda jobs: None), 0)
    calls: list[list[Job]] = []
    applied: list[Job] = []
    poison = FanOut(1, (13,))

    def handler(jobs: Sequence[Job]) -> None:
        calls.append(list(jobs))
        if poison in jobs:
            raise RuntimeError("unlucky job")
        applied.extend(jobs)

    invalidated: list[Job] = []
    for i in range(10, 16):
        submitter.submit(FanOut(1, (i,)))
    q.start(JobFunctions(handler, invalidated.append), 1)
    q.drain(timeout=20)
    assert sorted(applied, key=lambda j: j.tweet_ids) == [  # type: ignore[union-attr]
        FanOut(1, (i,)) for i in (10, 11, 12, 14, 15)
    ]
    assert len(calls[0]) == 6  # the whole batch first, then one by one
    dead = q.client.xrange(q.dead_stream)
    assert len(dead) == 1
    fields = dead[0][1]
    assert b"RuntimeError: unlucky job" in fields[b"error"]
    assert b'"tweet_ids":[13]' in fields[b"job"]
    # parked on its first delivery, after 1 + 2 quick retries alone, its feeds invalidated
    assert sum(c == [poison] for c in calls) == 3
    assert invalidated == [poison]
    assert q.dead_letters() == [(poison, "RuntimeError: unlucky job")]
    stats = q.stats()
    assert (stats["dead_letters"], stats["pending"], stats["waiting"]) == (1, 0, 0)
    assert stats["processed"] == stats["processed_here"] == 5


def test_a_dead_consumers_jobs_are_reclaimed(make_queue: Any) -> None:
    q = make_queue(claim_idle=0.3)
    q.start(JobFunctions(lambda jobs: None), 0)  # creates the group
    q.submit(FanOut(1, (1,)))
    # a consumer takes the job and dies without acknowledging it
    taken = q.client.xreadgroup(q.group, "ghost", {q.stream: ">"}, count=10)
    assert len(taken[0][1]) == 1
    with pytest.raises(TimeoutError):
        q.drain(timeout=0.2)
    applied: list[Job] = []
    worker = make_queue(claim_idle=0.3)
    worker.start(JobFunctions(_collect(applied)), 1)
    q.drain(timeout=10)
    assert applied == [FanOut(1, (1,))]


def test_slow_jobs_keep_their_claim_through_heartbeats(make_queue: Any) -> None:
    applied: list[Job] = []
    lock = threading.Lock()

    def slow(jobs: Sequence[Job]) -> None:
        time.sleep(1.0)
        with lock:
            applied.extend(jobs)

    a, b = make_queue(claim_idle=0.3), make_queue(claim_idle=0.3)
    a.start(JobFunctions(slow), 1)
    b.start(JobFunctions(slow), 1)
    a.submit(FanOut(1, (1,)))
    a.drain(timeout=20)
    assert applied == [FanOut(1, (1,))]  # not taken over while it ran


def test_close_finishes_the_in_flight_batch(make_queue: Any) -> None:
    q = make_queue()
    started, done = threading.Event(), threading.Event()
    sizes: list[int] = []

    def handler(jobs: Sequence[Job]) -> None:
        sizes.append(len(jobs))
        started.set()
        time.sleep(0.3)
        done.set()

    submitter = make_queue()
    submitter.start(JobFunctions(lambda jobs: None), 0)
    for i in range(1, 6):
        submitter.submit(FanOut(1, (i,)))
    q.start(JobFunctions(handler), 1)
    assert started.wait(5)
    t0 = time.monotonic()
    q.close()
    assert done.is_set() and sizes == [5]
    assert time.monotonic() - t0 < 2
    client = q.client
    assert client.xlen(q.stream) == 0
    assert client.xinfo_groups(q.stream)[0]["consumers"] == 0  # it left the group


def test_workers_recover_when_the_stream_is_flushed(make_queue: Any) -> None:
    q = make_queue()
    applied: list[Job] = []
    q.start(JobFunctions(_collect(applied)), 2)
    q.submit(FanOut(1, (1,)))
    q.drain(timeout=10)
    q.client.flushdb()  # stream and group are gone
    time.sleep(0.3)
    q.submit(FanOut(1, (2,)))
    _wait_for(lambda: FanOut(1, (2,)) in applied)
    q.drain(timeout=10)


def test_drain_sees_jobs_of_other_submitters(make_queue: Any) -> None:
    submitter, worker = make_queue(), make_queue()
    applied: list[Job] = []
    release = threading.Event()

    def handler(jobs: Sequence[Job]) -> None:
        release.wait(5)
        applied.extend(jobs)

    worker.start(JobFunctions(handler), 1)
    submitter.start(JobFunctions(lambda jobs: None), 0)
    for i in range(1, 6):
        submitter.submit(FanOut(1, (i,)))
    with pytest.raises(TimeoutError):
        submitter.drain(timeout=0.2)
    release.set()
    submitter.drain(timeout=10)
    assert len(applied) == 5
