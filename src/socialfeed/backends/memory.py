"""In-process backends: every interface in memory, state per instance (no globals).

:class:`MemoryStore` is a :class:`~socialfeed.interfaces.TweetStore`, a
:class:`~socialfeed.interfaces.FollowGraph` and has the pull-merge ability;
:class:`MemoryFeedCache` is a :class:`~socialfeed.interfaces.FeedCache`; :class:`InlineQueue`
applies each job as it is submitted and :class:`ThreadQueue` on a pool of worker threads.
Each object guards its state with one lock, so it can be shared by threads.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sortedcontainers import SortedKeyList, SortedList

from socialfeed.interfaces import BUILDING, CachedSlice, ListKind
from socialfeed.jobs import Job, apply_batch
from socialfeed.models import Tweet
from socialfeed.settings import Settings

__all__ = ["InlineQueue", "MemoryFeedCache", "MemoryStore", "ThreadQueue"]

log = logging.getLogger(__name__)


def _newest_first() -> Any:
    return SortedKeyList(key=lambda i: -i)


class MemoryStore:
    """Tweets and follows in memory: a TweetStore, a FollowGraph, and one-call home pages."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tweets: dict[int, Tweet] = {}
        self._by_author: defaultdict[int, Any] = defaultdict(_newest_first)
        self._followers: defaultdict[int, Any] = defaultdict(SortedList)
        self._following: defaultdict[int, Any] = defaultdict(SortedList)
        self._media_refs: defaultdict[str, int] = defaultdict(int)
        # min_followers -> users with at least that many followers, kept up to date on every
        # follow once a threshold has been asked for (celebrities are few: reads stay cheap).
        self._popular: dict[int, set[int]] = {}

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> MemoryStore:
        """``memory://``: a new, empty store."""
        return cls()

    # TweetStore
    def put_tweet(self, tweet: Tweet) -> None:
        """Store a new tweet."""
        with self._lock:
            if tweet.id in self._tweets:
                return
            self._tweets[tweet.id] = tweet
            self._by_author[tweet.author_id].add(tweet.id)
            for m in tweet.media:
                self._media_refs[m.id] += 1

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``tweet_ids``."""
        tweets = self._tweets
        return {i: t for i in tweet_ids if (t := tweets.get(i)) is not None}

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Delete a tweet; return it if it was live."""
        with self._lock:
            tweet = self._tweets.pop(tweet_id, None)
            if tweet is not None:
                self._by_author[tweet.author_id].remove(tweet_id)
                for m in tweet.media:
                    self._media_refs[m.id] -= 1
                    if not self._media_refs[m.id]:
                        del self._media_refs[m.id]
            return tweet

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """The author's live tweet ids below ``before``, newest first."""
        with self._lock:
            ids = self._by_author.get(author_id)
            if not ids:
                return []
            start = 0 if before is None else ids.bisect_key_right(-before)
            return list(ids.islice(start, start + limit))

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Media among ``media_ids`` that a live tweet references."""
        with self._lock:
            return {m for m in media_ids if m in self._media_refs}

    # FollowGraph
    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; the followee's follower count after, or None if it existed."""
        with self._lock:
            followers = self._followers[followee_id]
            if follower_id in followers:
                return None
            followers.add(follower_id)
            self._following[follower_id].add(followee_id)
            count = len(followers)
            for minimum, popular in self._popular.items():
                if count >= minimum:
                    popular.add(followee_id)
            return count

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge; the followee's follower count after, or None if absent."""
        with self._lock:
            followers = self._followers.get(followee_id)
            if followers is None or follower_id not in followers:
                return None
            followers.remove(follower_id)
            self._following[follower_id].remove(followee_id)
            count = len(followers)
            for minimum, popular in self._popular.items():
                if count < minimum:
                    popular.discard(followee_id)
            return count

    def _page(
        self, index: dict[int, Any], user_id: int, after: int | None, limit: int
    ) -> list[int]:
        with self._lock:
            ids = index.get(user_id)
            if not ids:
                return []
            start = 0 if after is None else ids.bisect_right(after)
            return list(ids.islice(start, start + limit))

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followers of ``user_id`` above ``after``, ascending."""
        return self._page(self._followers, user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followees of ``user_id`` above ``after``, ascending."""
        return self._page(self._following, user_id, after, limit)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        ids = self._followers.get(user_id)
        return len(ids) if ids else 0

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        ids = self._following.get(user_id)
        return len(ids) if ids else 0

    def followers_among(self, user_id: int, candidates: Sequence[int]) -> set[int]:
        """The candidates that follow ``user_id``."""
        with self._lock:
            followers = self._followers.get(user_id)
            return {c for c in candidates if c in followers} if followers else set()

    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """:meth:`followers` for each ``(user_id, after)``."""
        with self._lock:
            return [self.followers(user_id, after, limit) for user_id, after in pages]

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower, followee)`` pairs that are edges."""
        with self._lock:
            following = self._following
            return {(f, e) for f, e in pairs if (ids := following.get(f)) and e in ids}

    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """The ``user_ids`` with at least ``min_followers`` followers."""
        with self._lock:
            followers = self._followers
            return {u for u in user_ids if len(followers.get(u, ())) >= min_followers}

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """Followees of ``user_id`` with at least ``min_followers`` followers."""
        with self._lock:
            popular = self._popular.get(min_followers)
            if popular is None:
                popular = self._popular[min_followers] = {
                    u for u, f in self._followers.items() if len(f) >= min_followers
                }
            following = self._following.get(user_id)
            if not following or not popular:
                return []
            if len(popular) < len(following):
                return sorted(a for a in popular if a in following)
            return [a for a in following if a in popular]

    # HomeTimelineSupport
    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of home(user_id) ids, merged over the user and everyone they follow."""
        with self._lock:
            authors = [user_id, *self._following.get(user_id, ())]
            streams = []
            for a in authors:
                ids = self._by_author.get(a)
                if ids:
                    start = 0 if before is None else ids.bisect_key_right(-before)
                    streams.append(ids.islice(start, start + limit))
            merged = heapq.merge(*streams, key=lambda i: -i)
            return list(itertools.islice(merged, limit))

    def close(self) -> None:
        """Nothing to release."""


class _IdList:
    """One cached id list: entries newest first, and a floor."""

    __slots__ = ("floor", "ids")

    def __init__(self, floor: int) -> None:
        self.ids: Any = _newest_first()
        self.floor = floor

    def add(self, ids: Sequence[int], max_length: int, *, everything: bool = False) -> None:
        entries = self.ids
        floor = 0 if everything or self.floor == BUILDING else self.floor
        for i in ids:
            if i >= floor and i not in entries:
                entries.add(i)
        if len(entries) > max_length:
            del entries[max_length:]
            if self.floor != BUILDING:
                self.floor = max(self.floor, entries[-1])


class MemoryFeedCache:
    """Bounded feeds, celebrity lists, a bounded hot-tweet cache with tombstones, last-seen."""

    def __init__(self, hot_tweets: int = 100_000) -> None:
        self._lock = threading.RLock()
        self._lists: dict[tuple[str, int], _IdList] = {}
        self._seen: dict[int, datetime] = {}
        self._hot: OrderedDict[int, Tweet | None] = OrderedDict()  # None: tombstone
        self._hot_capacity = hot_tweets

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> MemoryFeedCache:
        """``memory://``: a new, empty cache."""
        return cls()

    def read(self, kind: ListKind, key: int, before: int | None, limit: int) -> CachedSlice | None:
        """Entries below ``before`` and at or above the floor."""
        with self._lock:
            lst = self._lists.get((kind, key))
            if lst is None or lst.floor == BUILDING:
                return None
            entries = lst.ids
            start = 0 if before is None else entries.bisect_key_right(-before)
            end = entries.bisect_key_right(-lst.floor) if lst.floor else len(entries)
            return CachedSlice(tuple(entries.islice(start, min(end, start + limit))), lst.floor)

    def read_many(
        self, kind: ListKind, keys: Sequence[int], before: int | None, limit: int
    ) -> list[CachedSlice | None]:
        """:meth:`read` for each key."""
        with self._lock:
            return [self.read(kind, key, before, limit) for key in keys]

    def touch_and_read(
        self, user_id: int, now: datetime, limit: int
    ) -> tuple[datetime | None, CachedSlice | None]:
        """:meth:`touch`, then :meth:`read` of the user's feed."""
        with self._lock:
            return self.touch(user_id, now), self.read("feed", user_id, None, limit)

    def insert_many(
        self,
        kind: ListKind,
        batches: Sequence[tuple[Sequence[int], Sequence[int]]],
        max_length: int,
    ) -> None:
        """:meth:`insert` for each ``(keys, ids)``."""
        with self._lock:
            for keys, ids in batches:
                self.insert(kind, keys, ids, max_length)

    def reset(self, kind: ListKind, key: int) -> None:
        """Start rebuilding the list."""
        with self._lock:
            self._lists[kind, key] = _IdList(BUILDING)

    def merge(
        self, kind: ListKind, key: int, ids: Sequence[int], floor: int, max_length: int
    ) -> None:
        """Union ``ids`` in, trim, and set the floor."""
        with self._lock:
            lst = self._lists.get((kind, key))
            if lst is None:
                lst = self._lists[kind, key] = _IdList(BUILDING)
            lst.add(ids, max_length, everything=True)
            lst.floor = floor if len(lst.ids) < max_length else max(floor, lst.ids[-1])

    def insert(
        self, kind: ListKind, keys: Sequence[int], ids: Sequence[int], max_length: int
    ) -> None:
        """Add ``ids`` to each existing list among ``keys``."""
        with self._lock:
            lists = self._lists
            for key in keys:
                lst = lists.get((kind, key))
                if lst is not None:
                    lst.add(ids, max_length)

    def remove(self, kind: ListKind, keys: Sequence[int], ids: Sequence[int]) -> None:
        """Remove ``ids`` from each existing list among ``keys``."""
        with self._lock:
            for key in keys:
                lst = self._lists.get((kind, key))
                if lst is not None:
                    for i in ids:
                        lst.ids.discard(i)

    def touch(self, user_id: int, now: datetime) -> datetime | None:
        """Record a visit; return the previous one."""
        with self._lock:
            previous = self._seen.get(user_id)
            self._seen[user_id] = now
            return previous

    def active_among(self, user_ids: Sequence[int], since: datetime) -> list[int]:
        """Users seen after ``since``."""
        seen = self._seen
        return [u for u in user_ids if (t := seen.get(u)) is not None and t > since]

    def get_hot_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Hot tweets among ``tweet_ids``."""
        with self._lock:
            hot = self._hot
            return {i: t for i in tweet_ids if (t := hot.get(i)) is not None}

    def put_hot_tweets(self, tweets: Sequence[Tweet]) -> None:
        """Cache tweets, unless tombstoned; evict the least recently cached."""
        with self._lock:
            hot = self._hot
            for t in tweets:
                if t.id not in hot:
                    hot[t.id] = t
            while len(hot) > self._hot_capacity:
                hot.popitem(last=False)

    def forget_hot_tweet(self, tweet_id: int) -> None:
        """Tombstone a deleted tweet."""
        with self._lock:
            self._hot[tweet_id] = None
            self._hot.move_to_end(tweet_id)

    def close(self) -> None:
        """Nothing to release."""


class InlineQueue:
    """Applies each job in the caller's thread as it is submitted: ``drain()`` has nothing to do."""

    def __init__(self) -> None:
        self._handler: Callable[[Sequence[Job]], None] | None = None

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> InlineQueue:
        """``inline``."""
        return cls()

    def start(self, handler: Callable[[Sequence[Job]], None], workers: int) -> None:
        """Remember the handler; there are no workers."""
        self._handler = handler

    def submit(self, job: Job) -> None:
        """Apply ``job`` now; if it fails (after the quick retries of
        :func:`~socialfeed.jobs.apply_batch`), the error is the caller's: there is no queue to
        retry from later."""
        if self._handler is None:
            raise RuntimeError("InlineQueue.start() was not called")
        outcome = apply_batch(self._handler, [job])
        for _, exc in (*outcome.failed, *outcome.retry):
            raise exc

    def drain(self, timeout: float | None = None) -> None:
        """Nothing is ever pending."""

    def close(self) -> None:
        """Nothing to release."""


class ThreadQueue:
    """A FIFO applied by a pool of worker threads; ``drain()`` waits until it is empty and idle.

    Batches are applied by the rule of :func:`~socialfeed.jobs.apply_batch`: a job that fails by
    itself is logged and kept in :attr:`failed` (the feeds it would have touched are rebuilt from
    the store when their users next read); jobs that hit a backend failure are applied again,
    with a growing pause, until the backend answers.
    """

    def __init__(self, batch: int = 64, max_pause: float = 2.0) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._batch = batch
        self._max_pause = max_pause
        self._pending = 0
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self.failed: list[tuple[Job, BaseException]] = []
        """Jobs that failed by themselves, with their errors."""

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> ThreadQueue:
        """``thread``."""
        return cls()

    def start(self, handler: Callable[[Sequence[Job]], None], workers: int) -> None:
        """Start ``workers`` daemon threads applying jobs with ``handler``."""
        for n in range(workers):
            t = threading.Thread(
                target=self._run, args=(handler,), name=f"socialfeed-fanout-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _run(self, handler: Callable[[Sequence[Job]], None]) -> None:
        stopping = False
        while not stopping:
            jobs: list[Job] = []
            first = self._jobs.get()
            while first is not None:  # take what is already queued, up to the batch size
                jobs.append(first)
                if len(jobs) >= self._batch:
                    break
                try:
                    first = self._jobs.get_nowait()
                except queue.Empty:
                    break
            stopping = first is None
            if jobs:
                self._apply(handler, jobs)

    def _apply(self, handler: Callable[[Sequence[Job]], None], jobs: list[Job]) -> None:
        pause = 0.05
        while jobs:
            outcome = apply_batch(handler, jobs, stopping=self._closing.is_set)
            for n, exc in outcome.failed:
                log.error("fan-out job %r failed: %s", jobs[n], exc, exc_info=exc)
                self.failed.append((jobs[n], exc))
            again = [(jobs[n], exc) for n, exc in outcome.retry]
            if again and self._closing.is_set():
                log.error("closing with %d fan-out jobs a backend keeps failing", len(again))
                self.failed.extend(again)
                again = []
            self._finished(len(jobs) - len(again))
            jobs = [job for job, _ in again]
            if jobs:
                log.warning(
                    "%d fan-out jobs hit a backend failure; again in %.2fs", len(jobs), pause
                )
                self._closing.wait(pause)
                pause = min(pause * 2, self._max_pause)

    def _finished(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if not self._pending:
                self._idle.notify_all()

    def submit(self, job: Job) -> None:
        """Enqueue ``job``."""
        if not self._threads:
            raise RuntimeError("ThreadQueue has no workers: connect(..., workers=N) with N >= 1")
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every submitted job has been applied."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} fan-out jobs still pending after {timeout}s")

    def close(self) -> None:
        """Finish queued jobs, then stop the threads."""
        self._closing.set()
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join()
        self._threads.clear()
