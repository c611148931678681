"""Failures: a worker process killed mid fan-out, Redis going down and coming back empty, and the
cache flushed in the middle of a history. The store is the source of truth throughout."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis_rig import Server, die_with_parent

import socialfeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.backends.redis.codec import Keys, pack_ids, to_us
from socialfeed.errors import BackendError
from socialfeed.testing.oracle import check_history, histories, page_all

pytestmark = pytest.mark.redis

FOLLOWERS = 20_000


def _worker(store: str, url: str, batch: int | None = None) -> subprocess.Popen[bytes]:
    """A ``socialfeed worker`` process; ``batch`` pins ``--fanout-batch-size`` (which must match
    the deployment's recorded value), else the recorded value applies."""
    flags = [] if batch is None else ["--fanout-batch-size", str(batch)]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "socialfeed",
            "worker",
            "--queue",
            f"{url}?claim_idle=1",
            "--cache",
            url,
            "--store",
            store,
            "--workers",
            "1",
            "--strategy",
            "push",
            *flags,
            "--log-every",
            "1",
        ],
        preexec_fn=die_with_parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_fan_out_is_taken_over(private_server: Server, tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from socialfeed.backends.sql import SQLStore

    store_url = f"sqlite:///{tmp_path / 'feed.db'}"
    url = private_server.url
    settings_ = socialfeed.Settings(fanout_batch_size=20)
    store = SQLStore.from_url(store_url, settings_)
    followers = range(2, FOLLOWERS + 2)
    store.import_follows((f, 1) for f in followers)
    store.close()
    # every follower is active and has an (empty, complete) feed
    keys, client = Keys("sf"), redis.Redis.from_url(url)
    now = to_us(socialfeed.feed._utcnow())
    pipe = client.pipeline(transaction=False)
    for f in followers:
        pipe.set(keys.seen(f), now)
        pipe.set(keys.list_key("feed", f), bytes(8))
    pipe.execute()

    sf = socialfeed.connect(
        store=store_url,
        cache=url,
        queue=f"{url}?claim_idle=1",
        workers=0,
        strategy="push",
        settings=settings_,
    )
    first = _worker(store_url, url, 20)
    tweet = sf.create_tweet(1, "to twenty thousand followers")
    feeds = [keys.list_key("feed", f) for f in followers]
    expected = bytes(8) + pack_ids([tweet.id])
    deadline = time.monotonic() + 60
    while client.get(feeds[2000]) != expected:  # a tenth of the way through
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    done = sum(v == expected for v in client.mget(feeds))
    assert done < FOLLOWERS, "the fan-out finished before the kill: slow it down"

    second = _worker(store_url, url)  # the deployment's fanout_batch_size, from the store
    try:
        sf.drain(timeout=90)
        values = client.mget(feeds)
        assert all(v == expected for v in values)  # every feed exactly [tweet], no duplicates
        assert client.xlen("sf:fanout:dead") == 0
        assert int(client.get("sf:fanout:processed") or 0) == 1
    finally:
        second.send_signal(signal.SIGTERM)  # the worker CLI closes the feed and exits cleanly
        assert second.wait(15) == 0, second.stderr.read() if second.stderr else ""
        sf.close()


def test_redis_down_fails_fast_and_work_resumes(private_server: Server) -> None:
    store = MemoryStore()
    settings_ = socialfeed.Settings(max_feed_length=5, celebrity_threshold=3)
    sf = socialfeed.connect(
        store=store,
        cache=private_server.url,
        queue=private_server.url,
        workers=1,
        strategy="hybrid",
        settings=settings_,
    )
    try:
        sf.follow(1, 2)
        sf.create_tweet(2, "before")
        sf.drain(timeout=10)
        sf.get_feed(1)

        private_server.stop()
        calls: list[Callable[[], Any]] = [
            lambda: sf.get_feed(1),
            lambda: sf.drain(timeout=5),
        ]
        for call in calls:
            start = time.monotonic()
            with pytest.raises(BackendError) as info:
                call()
            assert time.monotonic() - start < 2
            assert isinstance(info.value.__cause__, redis.RedisError)
        # writes succeed: stored, with their events kept in the outbox until Redis is back
        start = time.monotonic()
        sf.create_tweet(2, "while down")
        sf.follow(1, 3)
        assert time.monotonic() - start < 2

        private_server.start()  # back, and empty: the cache rebuilds from the store
        sf.create_tweet(3, "after")
        sf.drain(timeout=10)
        for user in (1, 2, 3):
            assert page_all(sf, user, lambda: 2) == store.home_tweet_ids(user, None, 100)
        assert len(page_all(sf, 1, lambda: 3)) == 3
    finally:
        sf.close()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    history=histories(60),
    flush_at=st.sets(st.integers(0, 59), min_size=1, max_size=3),
    strategy=st.sampled_from(["push", "hybrid"]),
    seed=st.integers(0, 2**32),
)
def test_flushing_the_cache_mid_history_loses_nothing(
    feed_url: str, history: Any, flush_at: set[int], strategy: str, seed: int
) -> None:
    """The cache and the queue share a DB: a flush is what a Redis restart does to both."""
    sizes = random.Random(seed)
    client = redis.Redis.from_url(feed_url)
    client.flushdb()
    sf = socialfeed.connect(
        cache=feed_url,
        queue=feed_url,
        workers=2,
        strategy=strategy,
        settings=socialfeed.Settings(max_feed_length=5, celebrity_threshold=3, fanout_batch_size=2),
    )

    def flush(step: int) -> None:
        if step in flush_at:
            client.flushdb()
            client.script_flush()

    try:
        check_history(sf, history, sizes, before_step=flush)
    finally:
        sf.close()
