from __future__ import annotations

import random
import threading

import pytest

import socialfeed
from socialfeed.testing.oracle import Model, page_all

pytestmark = pytest.mark.memory


@pytest.mark.parametrize("strategy", ["push", "pull", "hybrid"])
def test_threads_posting_following_and_reading(strategy: str) -> None:
    settings = socialfeed.Settings(max_feed_length=8, celebrity_threshold=4, fanout_batch_size=3)
    sf = socialfeed.connect(queue="thread", workers=4, strategy=strategy, settings=settings)
    model = Model()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def client(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(300):
                a, b = rng.randint(1, 12), rng.randint(1, 12)
                op = rng.random()
                if op < 0.3 and a != b:
                    with lock:  # the model must see follows in the order the graph does
                        sf.follow(a, b)
                        model.follows.add((a, b))
                elif op < 0.45:
                    with lock:
                        sf.unfollow(a, b)
                        model.follows.discard((a, b))
                elif op < 0.75:
                    t = sf.create_tweet(a, "hi")
                    with lock:
                        model.tweets[t.id] = a
                elif op < 0.8:
                    with lock:
                        mine = [t for t, author in model.tweets.items() if author == a]
                        if mine:
                            model.tweets.pop(mine[0])
                            sf.delete_tweet(mine[0], user_id=a)
                else:
                    sf.get_feed(a, limit=rng.randint(1, 10))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    sf.drain(timeout=60)
    rng = random.Random(0)
    for u in range(1, 13):
        assert page_all(sf, u, lambda: rng.randint(1, 5)) == model.home(u)
    sf.close()
