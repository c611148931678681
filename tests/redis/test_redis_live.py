"""[0.2-W] on Redis: own writes before any worker, and subscribe() woken across processes by
Redis pub/sub, through a Redis restart, with nothing lost or repeated."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from redis_rig import Server, private_server

import socialfeed
from socialfeed.backends.redis import RedisFeedCache
from socialfeed.testing.live_contract import collect_pages

pytestmark = pytest.mark.redis

__all__ = ["private_server"]


def test_own_writes_show_before_any_worker(private_server: Server, tmp_path: Path) -> None:
    url = private_server.url
    store = f"sqlite:///{tmp_path / 'feed.db'}"
    with socialfeed.connect(store=store, cache=url, queue=url, workers=0, strategy="push") as sf:
        sf.follow(2, 1)
        sf.get_feed(1), sf.get_feed(2)  # both active: their feeds are cached
        mine = sf.create_tweet(1, "mine")
        assert [t.id for t in sf.get_feed(1).items] == [mine.id]
        assert [t.id for t in sf.user_timeline(1).items] == [mine.id]
        assert sf.get_feed(2).items == ()  # the follower waits for a worker: none has run
        with socialfeed.connect(store=store, cache=url, queue=url, workers=1) as worker:
            worker.drain(timeout=30)
        assert [t.id for t in sf.get_feed(2).items] == [mine.id]


_WRITER = textwrap.dedent(
    """
    import sys, time, socialfeed
    from socialfeed.errors import BackendError
    store, cache, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sf = socialfeed.connect(store=store, cache=cache, queue="inline", strategy="push")
    for n in range(count):
        while True:
            try:
                t = sf.create_tweet(1, f"live {n}", idempotency_key=f"k{n}")
                break
            except BackendError:
                time.sleep(0.05)
        print(t.id, flush=True)
        time.sleep(0.01)
    sf.drain(timeout=60)  # what failed while Redis was away is relayed now
    sf.close()
    """
)


def test_subscribe_across_processes_through_a_restart(
    private_server: Server, tmp_path: Path
) -> None:
    """A writer process posts while this process subscribes; Redis restarts half way (losing
    every feed and subscription). Every tweet arrives once, in order."""
    url, store, count = private_server.url, f"sqlite:///{tmp_path / 'feed.db'}", 120
    with socialfeed.connect(store=store, cache=url, queue="inline", strategy="push") as sf:
        sf.follow(2, 1)
        start = sf.get_feed(2)
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, store, url, str(count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        posted: list[int] = []

        def read_ids() -> None:
            assert writer.stdout is not None
            for line in writer.stdout:
                posted.append(int(line))

        reader = threading.Thread(target=read_ids)
        reader.start()

        got: list[int] = []
        collector = threading.Thread(
            target=lambda: got.extend(
                collect_pages(
                    sf.subscribe(2, cursor=start.prev_cursor, limit=7),
                    lambda ids: len(ids) >= count,
                )
            )
        )
        collector.start()
        deadline = time.monotonic() + 60
        while len(posted) < count // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        private_server.restart()  # from this thread: the server dies with the thread that forks it
        collector.join(timeout=90)
        assert writer.wait(timeout=60) == 0
        reader.join()
    assert len(got) == count and got == posted, (
        f"lost {sorted(set(posted) - set(got))}, repeated {len(got) - len(set(got))}"
    )


def test_subscribe_latency_is_a_notice_not_a_poll(private_server: Server) -> None:
    """The subscriber wakes on the notice: well before any polling period would end."""
    url = private_server.url
    with socialfeed.connect(cache=url, strategy="push") as sf:
        sf.follow(2, 1)
        stream = sf.subscribe(2, cursor=sf.get_feed(2).prev_cursor)
        times: list[float] = []

        def post() -> None:
            time.sleep(0.3)
            for n in range(5):
                times.append(time.perf_counter())
                sf.create_tweet(1, f"t{n}")
                time.sleep(0.05)

        threading.Thread(target=post).start()
        arrivals: list[float] = []
        for page in stream:
            arrivals.extend(time.perf_counter() for _ in page.items)
            if len(arrivals) >= 5:
                break
        worst = max(a - t for a, t in zip(arrivals, times, strict=True))
        assert worst < 0.5, f"a tweet took {worst * 1000:.0f} ms to arrive"


def test_listeners_coming_and_going_on_one_channel(private_server: Server) -> None:
    """Subscriptions follow the listeners whatever order their changes reach the notice thread:
    a listener that stays while others come and go on its channel still hears notices."""
    cache = RedisFeedCache.from_url(private_server.url, socialfeed.Settings())
    heard = threading.Event()

    def churn() -> None:
        for _ in range(20):
            cache.listen([7], lambda channel: None).close()

    churners = [threading.Thread(target=churn) for _ in range(4)]
    for thread in churners:
        thread.start()
    keeper = cache.listen([7], lambda channel: heard.set())
    for thread in churners:
        thread.join()
    cache.notify([7])
    assert heard.wait(5), "the listener that stayed heard nothing"
    keeper.close()
    cache.close()
