"""One app process of the deployment oracle (``test_deployment_oracle.py``): ``connect()`` with
the configuration from the environment, then threads that follow, unfollow, post, delete and read
at random, each retrying a failed write until it succeeds (as a client would, with an
idempotency key for posts). Every completed write is appended to a JSON-lines log.

Each thread owns some users: only it writes their edges and their tweets, so the final state the
model computes from the logs does not depend on how threads interleave.

    python deployment_app.py LOG SEED APP APPS THREADS OPS USERS
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import threading
import time
from typing import Any

import socialfeed
from socialfeed.errors import BackendError

SETTINGS = socialfeed.Settings(max_feed_length=100, celebrity_threshold=12, fanout_batch_size=5)


def _retry(call: Any, *args: Any, **kwargs: Any) -> Any:
    for _ in range(2_000):
        try:
            return call(*args, **kwargs)
        except BackendError:
            time.sleep(0.05)
    raise RuntimeError("a write kept failing for 100 s")


def _thread(sf: socialfeed.SocialFeed, log: Any, lock: threading.Lock, rng: random.Random,
            mine: list[int], users: int, ops: int, tag: str) -> None:  # fmt: skip
    follows: set[tuple[int, int]] = set()
    tweets: list[tuple[int, int]] = []  # (tweet id, author)
    for n in range(ops):
        roll = rng.random()
        me = rng.choice(mine)
        if roll < 0.3:
            other = rng.randint(1, users)
            if other != me:
                _retry(sf.follow, me, other)
                follows.add((me, other))
                entry: list[Any] = ["follow", me, other]
            else:
                continue
        elif roll < 0.4 and follows:
            edge = rng.choice(sorted(follows))
            _retry(sf.unfollow, *edge)
            follows.discard(edge)
            entry = ["unfollow", *edge]
        elif roll < 0.85:
            key = f"{tag}-{n}"
            tweet = _retry(sf.create_tweet, me, f"by {me}", idempotency_key=key)
            tweets.append((tweet.id, me))
            entry = ["post", me, tweet.id]
        elif roll < 0.92 and tweets:
            tweet_id, author = tweets.pop(rng.randrange(len(tweets)))
            _retry(sf.delete_tweet, tweet_id, user_id=author)
            entry = ["delete", tweet_id]
        else:
            with contextlib.suppress(BackendError):
                sf.get_feed(me, limit=rng.randint(1, 6))
            continue
        with lock:
            log.write(json.dumps(entry) + "\n")
            log.flush()


def main(argv: list[str]) -> None:
    path, (seed, app, apps, threads, ops, users) = argv[0], map(int, argv[1:])
    rng = random.Random(seed)
    lock = threading.Lock()
    sf = _retry(socialfeed.connect, settings=SETTINGS)
    with open(path, "a") as log:
        workers = []
        for t in range(threads):
            # each thread of each app owns the users u with u % (apps * threads) == its slot
            slot = app * threads + t
            mine = [u for u in range(1, users + 1) if u % (apps * threads) == slot]
            args = (sf, log, lock, random.Random(rng.random()), mine, users, ops, f"{app}-{t}")
            workers.append(threading.Thread(target=_thread, args=args))
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    sf.close()


if __name__ == "__main__":
    main(sys.argv[1:])
