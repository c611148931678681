from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from socialfeed.ids import EPOCH, SnowflakeGenerator, id_floor_for, id_time


def test_ids_encode_time_and_worker() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    gen = SnowflakeGenerator(worker_id=1023, clock=lambda: now.timestamp())
    first = gen.next_id()
    assert id_time(first) == now
    assert (first >> 12) & 1023 == 1023
    assert id_floor_for(now) <= first < id_floor_for(now + timedelta(milliseconds=1))
    assert id_time(0) == EPOCH
    assert first < 2**63


def test_ids_stay_monotonic_when_the_clock_steps_back() -> None:
    times = iter([100.0, 100.0, 99.5, 99.0] + [99.0] * 5000 + [100.2])
    gen = SnowflakeGenerator(clock=lambda: next(times) + 1.6e9)
    ids = [gen.next_id() for _ in range(5005)]
    assert ids == sorted(set(ids))  # strictly increasing although time went back


def test_ids_are_unique_across_threads() -> None:
    gen = SnowflakeGenerator(worker_id=3)
    out: list[list[int]] = [[] for _ in range(8)]

    def work(bucket: list[int]) -> None:
        bucket.extend(gen.next_id() for _ in range(5000))

    threads = [threading.Thread(target=work, args=(b,)) for b in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for b in out for i in b]
    assert len(set(every)) == len(every)
    assert all(b == sorted(b) for b in out)


def test_worker_id_is_checked() -> None:
    with pytest.raises(ValueError, match="worker_id"):
        SnowflakeGenerator(worker_id=1024)
