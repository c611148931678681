"""A failed call can be retried: for every write, a BackendError injected at every backend call
the write makes (before the call, or after it took effect), then one retry, completes the write
exactly once and leaves every feed equal to home(u) after drain()."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import socialfeed
from socialfeed.backends.memory import MemoryFeedCache, MemoryStore
from socialfeed.errors import BackendError
from socialfeed.testing.oracle import page_all

pytestmark = pytest.mark.memory

USERS = range(1, 6)


class Injector:
    """Counts the backend calls of the calling thread; makes the ``fail_at``-th one raise
    BackendError, before or after it runs (queue workers run undisturbed)."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_at: int | None = None
        self.after = False
        self.fired = False
        self.thread = threading.get_ident()
        self.depth = 0  # a backend calling itself is one operation (atomic, like a transaction)

    def wrap(self, backend: Any) -> Any:
        for name in dir(type(backend)):
            if name.startswith("_") or name in ("from_url", "close"):
                continue
            method = getattr(backend, name)
            if callable(method):
                setattr(backend, name, self._wrapped(method))
        return backend

    def _wrapped(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self.thread or self.depth:
                return method(*args, **kwargs)
            self.calls += 1
            fire = self.fail_at is not None and self.calls == self.fail_at
            if fire and not self.after:
                self.fired = True
                raise BackendError(f"injected before {method.__name__}")
            self.depth += 1
            try:
                result = method(*args, **kwargs)
            finally:
                self.depth -= 1
            if fire:
                self.fired = True
                raise BackendError(f"injected after {method.__name__}")
            return result

        return call


def _setup(sf: socialfeed.SocialFeed) -> dict[str, int]:
    sf.follow(1, 2)
    sf.follow(1, 3)
    sf.follow(4, 2)
    for u in USERS:
        sf.get_feed(u)  # everyone active
    old = sf.create_tweet(2, "old").id
    sf.create_tweet(3, "by three")
    sf.drain(timeout=10)
    return {"old": old}


WRITES: dict[str, Callable[[socialfeed.SocialFeed, dict[str, int]], object]] = {
    "create_tweet": lambda sf, ids: sf.create_tweet(2, "new", idempotency_key="k-1"),
    "delete_tweet": lambda sf, ids: sf.delete_tweet(ids["old"], user_id=2),
    "follow": lambda sf, ids: sf.follow(5, 2),
    "unfollow": lambda sf, ids: sf.unfollow(1, 3),
}


def _check(sf: socialfeed.SocialFeed, store: MemoryStore, write: str) -> None:
    for u in USERS:
        assert page_all(sf, u, lambda: 2) == store.home_tweet_ids(u, None, 100), f"feed of {u}"
    posted = [t for t in store.author_tweet_ids(2, None, 100) if store.get_tweets([t])[t].text]
    texts = [store.get_tweets([t])[t].text for t in posted]
    assert texts.count("new") == (1 if write == "create_tweet" else 0)
    assert ("old" in texts) == (write != "delete_tweet")
    assert (5 in store.followers(2, None, 10)) == (write == "follow")
    assert (1 in store.followers(3, None, 10)) == (write != "unfollow")


@pytest.mark.parametrize("queue", ["inline", "thread"])
@pytest.mark.parametrize("strategy", ["push", "hybrid", "pull"])
@pytest.mark.parametrize("after", [False, True], ids=["before-the-call", "after-it-took-effect"])
@pytest.mark.parametrize("write", list(WRITES))
def test_a_retried_write_completes_exactly_once(
    write: str, after: bool, strategy: str, queue: str
) -> None:
    fired_any = False
    for step in range(1, 60):
        injector = Injector()
        store, cache = MemoryStore(), MemoryFeedCache()
        settings = socialfeed.Settings(celebrity_threshold=2, max_feed_length=3)
        sf = socialfeed.connect(
            store=injector.wrap(store),
            cache=injector.wrap(cache),
            queue=queue,
            strategy=strategy,
            settings=settings,
        )
        try:
            ids = _setup(sf)
            injector.calls, injector.fail_at, injector.after = 0, step, after
            try:
                WRITES[write](sf, ids)
            except BackendError:
                injector.fail_at = None
                WRITES[write](sf, ids)  # the retry
            injector.fail_at = None
            sf.drain(timeout=10)
            _check(sf, store, write)
        finally:
            sf.close()
        if not injector.fired:
            assert fired_any, "no backend call was ever made by the write"
            return  # past the write's last backend call
        fired_any = True
    raise AssertionError("the write made more backend calls than the test expects")
