"""The deployment oracle: socialfeed run the way the docs say to deploy it, then attacked.

Three app processes with default settings (configured by SOCIALFEED_* variables only) and two
``socialfeed worker`` processes share a PostgreSQL primary with a streaming replica and a Redis
servers of the test's own (the feed cache on one, with an append-only file; the queue on another,
without). The apps follow, unfollow, post, delete and read from many threads, retrying failed
writes as a client would. Meanwhile workers are SIGKILLed at random moments and restarted, both
Redis servers are killed and restarted once (the cache back with its data, the queue back empty:
every queued job lost), and the replica is stopped.
Then, after drain(), every user's feed must equal home(u) computed from what the apps were told
succeeded: the test counts lost, duplicated and extra entries, and all three must be 0.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pg_rig
import pytest

import socialfeed
from services import require
from socialfeed.testing.oracle import page_all
from socialfeed.testing.servers import RedisServer, die_with_parent

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

APPS, THREADS, OPS, USERS, WORKERS = 3, 4, 400, 60, 2
APP = Path(__file__).with_name("deployment_app.py")


def _start(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        env=env,
        stdout=out.open("ab"),
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )


def _worker(env: dict[str, str], tmp: Path, n: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "socialfeed", "worker", "--workers", "2", "--log-every", "1"]
    return _start(args, env, tmp / f"worker-{n}.log")


def _model(log: Path) -> tuple[set[tuple[int, int]], dict[int, int], list[int]]:
    follows: set[tuple[int, int]] = set()
    tweets: dict[int, int] = {}  # live tweet id -> author
    posted: list[int] = []
    for line in log.read_text().splitlines():
        op, *args = json.loads(line)
        if op == "follow":
            follows.add((args[0], args[1]))
        elif op == "unfollow":
            follows.discard((args[0], args[1]))
        elif op == "post":
            tweets[args[1]] = args[0]
            posted.append(args[1])
        elif op == "delete":
            tweets.pop(args[0])
    return follows, tweets, posted


def test_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    why = pg_rig.available()
    require("postgres", why is None, why or "")
    rig = pg_rig.start_replica_rig()
    cache = RedisServer(persistent=True).start()  # comes back from a restart with its data
    queue = RedisServer().start()  # comes back empty: every job on it is lost
    workers: list[subprocess.Popen[bytes]] = []
    apps: list[subprocess.Popen[bytes]] = []
    try:
        store = f"{rig.primary.url}?socialfeed_replica={quote(rig.replica.url, safe='')}"
        env = {
            **os.environ,
            "SOCIALFEED_STORE": store,
            "SOCIALFEED_CACHE": cache.url,
            "SOCIALFEED_QUEUE": f"{queue.url}?claim_idle=2",
        }
        log = tmp_path / "ops.jsonl"
        rng = random.Random(20261202)
        for n in range(APPS):
            args = [sys.executable, str(APP), str(log), str(rng.randrange(2**32)), str(n)]
            args += [str(APPS), str(THREADS), str(OPS), str(USERS)]
            apps.append(_start(args, env, tmp_path / f"app-{n}.log"))
        time.sleep(1.0)  # let the first app create the schema and record the settings
        workers = [_worker(env, tmp_path, n) for n in range(WORKERS)]
        start, kills, redis_restarted, replica_stopped = time.monotonic(), 0, False, False
        total = APPS * THREADS * OPS
        while any(a.poll() is None for a in apps):
            assert time.monotonic() - start < 300, "the apps did not finish"
            time.sleep(rng.uniform(0.2, 0.6))
            n = rng.randrange(WORKERS)
            workers[n].send_signal(signal.SIGKILL)  # a worker dies mid-batch
            workers[n].wait()
            workers[n] = _worker(env, tmp_path, n)
            kills += 1
            done = len(log.read_text().splitlines()) / total if log.exists() else 0.0
            if not redis_restarted and done > 0.8:
                queue.stop()  # killed: the queued jobs are gone, and it stays away a while
                cache.restart()  # killed, back at once with its data (feeds, hot tweets)
                time.sleep(1.5)  # the apps go on writing
                queue.start()  # back, empty
                redis_restarted = True
            if not replica_stopped and done > 0.5:
                rig.replica.stop()
                replica_stopped = True
        assert redis_restarted and replica_stopped, "the apps finished before the attacks"
        assert all(a.returncode == 0 for a in apps), [
            (tmp_path / f"app-{n}.log").read_text()[-3000:] for n in range(APPS)
        ]
        follows, live, posted = _model(log)
        sf = socialfeed.connect(
            store=env["SOCIALFEED_STORE"],
            cache=env["SOCIALFEED_CACHE"],
            queue=env["SOCIALFEED_QUEUE"],
            workers=0,
        )
        try:
            sf.drain(timeout=180)
            lost = duplicated = extra = 0
            misordered: list[int] = []
            for user in range(1, USERS + 1):
                expected = sorted(
                    (t for t, a in live.items() if a == user or (user, a) in follows),
                    reverse=True,
                )
                got = page_all(sf, user, lambda: rng.randint(1, 7))
                counts = Counter(got)
                lost += len(set(expected) - set(got))
                duplicated += sum(c - 1 for c in counts.values())
                extra += len(set(got) - set(expected))
                if set(got) == set(expected) and len(got) == len(expected) and got != expected:
                    misordered.append(user)
        finally:
            sf.close()
        print(
            f"\ndeployment oracle: {len(posted)} posts ({len(live)} live), {len(follows)} edges, "
            f"{kills} worker kills, both Redis servers restarted, replica stopped; "
            f"lost={lost} duplicated={duplicated} extra={extra}"
        )
        assert len(set(posted)) == len(posted), "two posts got the same tweet id"
        assert (lost, duplicated, extra) == (0, 0, 0)
        assert misordered == [], f"feeds out of order: {misordered}"
    finally:
        for p in [*apps, *workers]:
            if p.poll() is None:
                p.kill()
                p.wait()
        cache.close()
        queue.close()
        rig.stop()
