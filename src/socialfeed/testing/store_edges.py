# ruff: noqa: D102  (test methods: their names say it, as in contract.py)
"""The edges of :class:`~socialfeed.testing.StoreContract`: cursors are strict bounds (an id
equal to ``before``/``after`` is never repeated on the next page), several threads at once lose
no write, and a backend failure surfaces as :class:`~socialfeed.errors.BackendError`.

The failure test needs a store that fails: a suite subclass provides it by overriding the
``broken_store`` fixture (e.g. a SQL store whose tables were dropped behind its back); without
it the test is skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialfeed.abilities import complete_graph, complete_store
from socialfeed.errors import BackendError
from socialfeed.models import Tweet

__all__ = ["StoreEdgeTests"]

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WRITERS = 4
WRITES = 25  # per writer


def _tweet(tweet_id: int, author: int, **fields: Any) -> Tweet:
    return Tweet(tweet_id, author, "hi", T0 + timedelta(milliseconds=tweet_id), **fields)


def _in_threads(workers: list[Callable[[], None]]) -> list[BaseException]:
    """Run each worker in a thread of its own, all at once; the exceptions they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            start.wait(timeout=30)
            work()
        except BaseException as exc:  # every failure is reported, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a store call hung for two minutes"
    return errors


class StoreEdgeTests:
    """Strict cursors, concurrent use and error translation (fixtures ``store``, and
    optionally ``broken_store``)."""

    @pytest.fixture
    def broken_store(self) -> Any:
        """A store whose backend fails on every call; override it to run the failure test."""
        pytest.skip("the suite subclass provides no broken_store fixture")

    def test_a_cursor_equal_to_an_id_excludes_it(self, store: Any) -> None:
        s, g = complete_store(store, store), complete_graph(store)
        for i in (1, 2, 3, 4):
            store.put_tweet(_tweet(i, 1))
        assert store.author_tweet_ids(1, 3, 10) == [2, 1]
        assert store.author_tweet_ids(1, 4, 1) == [3]
        assert store.author_tweet_ids(1, 1, 10) == []
        assert s.home_tweet_ids(1, 3, 1) == [2]
        for f in (20, 30, 40):
            store.add_follow(f, 1)
            store.add_follow(1, f + 1)
        assert store.followers(1, 20, 1) == [30]
        assert store.followers(1, 30, 10) == [40]
        assert store.followers(1, 40, 10) == []
        assert store.following(1, 21, 1) == [31]
        assert store.following(1, 41, 10) == []
        assert g.followers_many([(1, 30), (1, 40)], 5) == [[40], []]
        for target in (5, 6, 7):
            s.set_relation("block", 1, target, True)
        assert s.relations("block", 1, 5, 1) == [6]
        assert s.relations("block", 1, 7, 10) == []
        s.write_tweet(_tweet(10, 1), 0, None)
        for i in (11, 12, 13):
            s.write_tweet(_tweet(i, 2, reply_to=10, reply_to_author_id=1), 0, None)
        assert s.reply_ids(10, 11, 1) == [12]
        assert s.reply_ids(10, 13, 10) == []

    def test_concurrent_writers_and_readers_lose_nothing(self, store: Any) -> None:
        counts: list[int | None] = []
        lock = threading.Lock()

        def writer(w: int) -> Callable[[], None]:
            def work() -> None:
                for i in range(WRITES):
                    store.put_tweet(_tweet(1 + w * WRITES + i, 7))
                    count = store.add_follow(100 + w * WRITES + i, 7)
                    with lock:
                        counts.append(count)

            return work

        def reader() -> None:
            last = 0
            for _ in range(WRITES):
                now = store.follower_count(7)
                assert now >= last, f"follower_count went from {last} down to {now}"
                last = now
                ids = store.author_tweet_ids(7, None, 500)
                assert ids == sorted(ids, reverse=True), ids

        errors = _in_threads([writer(w) for w in range(WRITERS)] + [reader, reader])
        assert not errors, errors
        total = WRITERS * WRITES
        assert store.author_tweet_ids(7, None, total + 5) == list(range(total, 0, -1))
        assert store.follower_count(7) == total
        assert store.followers(7, None, total + 5) == list(range(100, 100 + total))
        assert sorted(c for c in counts if c is not None) == list(range(1, total + 1)), counts

    def test_backend_failures_are_backend_errors(self, broken_store: Any) -> None:
        calls: list[tuple[str, Callable[[], object]]] = [
            ("put_tweet", lambda: broken_store.put_tweet(_tweet(1, 1))),
            ("get_tweets", lambda: broken_store.get_tweets([1])),
            ("author_tweet_ids", lambda: broken_store.author_tweet_ids(1, None, 5)),
            ("add_follow", lambda: broken_store.add_follow(1, 2)),
            ("followers", lambda: broken_store.followers(2, None, 5)),
            ("follower_count", lambda: broken_store.follower_count(2)),
        ]
        for name, call in calls:
            with pytest.raises(BackendError) as info:
                call()
            assert info.value.__cause__ is not None, f"{name}: BackendError without its cause"
