"""Helpers the strategies share: merging id lists, pulling from the store, reading cached lists."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence

from socialfeed import fanout
from socialfeed.interfaces import (
    Backends,
    CachedSlice,
    FeedReadSupport,
    HomeTimelineSupport,
    ListKind,
    supports,
)

__all__ = ["cached", "cached_many", "merge_newest", "open_feed", "page_from", "store_home_ids"]


def merge_newest(lists: Sequence[Sequence[int]], limit: int) -> list[int]:
    """The newest ``limit`` distinct ids of several newest-first lists."""
    if len(lists) == 1:
        return list(lists[0][:limit])
    out: list[int] = []
    for i in heapq.merge(*lists, key=lambda i: -i):
        if not out or out[-1] != i:
            out.append(i)
            if len(out) == limit:
                break
    return out


def store_home_ids(b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
    """A page of ``home(user_id)`` read from the store: in one call where the store can answer it
    (:class:`~socialfeed.interfaces.HomeTimelineSupport`), else merged over the followees."""
    if supports(b.store, HomeTimelineSupport):
        return b.store.home_tweet_ids(user_id, before, limit)
    authors = [user_id, *fanout.all_following(b, user_id)]
    streams = [b.store.author_tweet_ids(a, before, limit) for a in authors]
    return list(itertools.islice(heapq.merge(*streams, key=lambda i: -i), limit))


def cached(
    b: Backends, kind: ListKind, key: int, before: int | None, limit: int
) -> CachedSlice | None:
    """Read a cached list, rebuilding it from the store if it is missing; ``None`` if it was lost
    again at once (the caller then reads the store)."""
    found = b.cache.read(kind, key, before, limit)
    if found is None:
        if kind == "feed":
            fanout.rebuild(b, kind, key, lambda n: store_home_ids(b, key, None, n))
        else:
            fanout.rebuild(b, kind, key, lambda n: b.store.author_tweet_ids(key, None, n))
        found = b.cache.read(kind, key, before, limit)
    return found


def cached_many(
    b: Backends, kind: ListKind, keys: Sequence[int], before: int | None, limit: int
) -> list[CachedSlice | None]:
    """:func:`cached` for several lists, read in one operation where the cache can."""
    if supports(b.cache, FeedReadSupport) and len(keys) > 1:
        found = b.cache.read_many(kind, keys, before, limit)
    else:
        found = [b.cache.read(kind, key, before, limit) for key in keys]
    return [
        f if f is not None else cached(b, kind, key, before, limit)
        for f, key in zip(found, keys, strict=True)
    ]


def open_feed(b: Backends, user_id: int, before: int | None, limit: int) -> CachedSlice | None:
    """Mark the user active and read their precomputed feed, rebuilding it first when they were
    inactive (fan-out skipped them) or it is missing. On a first page, a cache with
    :class:`~socialfeed.interfaces.FeedReadSupport` does the touch and the read in one go."""
    now = b.now()
    found: CachedSlice | None = None
    if before is None and supports(b.cache, FeedReadSupport):
        previous, found = b.cache.touch_and_read(user_id, now, limit)
    else:
        previous = b.cache.touch(user_id, now)
    if previous is None or previous <= now - b.settings.active_window:
        b.cache.reset("feed", user_id)
        found = None
    return found if found is not None else cached(b, "feed", user_id, before, limit)


def page_from(
    b: Backends, user_id: int, slices: Sequence[CachedSlice | None], before: int | None, limit: int
) -> list[int]:
    """A page of ``home(user_id)``: the merged cached slices above their highest floor, then the
    store below it."""
    if any(s is None for s in slices):
        return store_home_ids(b, user_id, before, limit)
    floor = max(s.floor for s in slices if s is not None)
    ids = [i for i in merge_newest([s.ids for s in slices if s is not None], limit) if i >= floor]
    if len(ids) < limit and floor > 0:
        below = floor if before is None else min(before, floor)
        ids += store_home_ids(b, user_id, below, limit - len(ids))
    return ids
