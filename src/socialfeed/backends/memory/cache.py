"""MemoryFeedCache: bounded id lists with floors, hot tweets with tombstones, last-seen times."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from socialfeed.backends.memory.store import newest_first
from socialfeed.interfaces import BUILDING, CachedSlice, ListKind
from socialfeed.models import Tweet
from socialfeed.notices import Hub, Listening, Wake
from socialfeed.settings import Settings

__all__ = ["MemoryFeedCache"]


class _IdList:
    """One cached id list: entries newest first, and a floor."""

    __slots__ = ("floor", "ids")

    def __init__(self, floor: int) -> None:
        self.ids: Any = newest_first()
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
        self._hub = Hub()

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> MemoryFeedCache:
        """``memory://``: a new, empty cache."""
        return cls()

    def notify(self, channels: Sequence[int]) -> None:
        """Feed notices, to the listeners of this process."""
        self._hub.deliver(channels)

    def listen(self, channels: Sequence[int], wake: Wake) -> Listening:
        """Listen to this cache's feed notices."""
        return self._hub.listen(channels, wake)

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

    def get_hot_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet | None]:
        """Hot tweets among ``tweet_ids``; ``None`` for tombstoned ones."""
        with self._lock:
            hot = self._hot
            return {i: hot[i] for i in tweet_ids if i in hot}

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
