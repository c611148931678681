"""The read side of the push strategies: reading, rebuilding and merging cached id lists.

A cached list (a user's feed, a celebrity's recent tweets) is exact at or above its floor; below
it, pages come from the store. A missing list is rebuilt from the store on first read.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

from socialfeed.abilities import all_following
from socialfeed.interfaces import READ_ALONG, Backends, CachedSlice, ListKind

__all__ = ["cached", "cached_many", "merge_newest", "open_feed", "page_from", "rebuild"]


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


def rebuild(
    b: Backends, kind: ListKind, key: int, ids_from_store: Callable[[int], list[int]]
) -> list[int]:
    """Rebuild one cached list from the store and return what was read.

    The list is reset first, so inserts racing with the rebuild land in it; then the newest
    ``max_feed_length`` ids are read with ``ids_from_store(limit)`` and merged in. For a feed, the
    user's followees are compared before and after: if they changed meanwhile, the read may hold
    tweets of someone unfollowed since, so the rebuild runs again.
    """
    max_len = b.settings.max_feed_length
    for _ in range(8):
        before = all_following(b.graph, key) if kind == "feed" else None
        b.cache.reset(kind, key)
        ids = ids_from_store(max_len)
        floor = 0 if len(ids) < max_len else ids[-1]
        b.cache.merge(kind, key, ids, floor, max_len)
        if kind != "feed" or all_following(b.graph, key) == before:
            break
    return ids


def _from_store(b: Backends, kind: ListKind, key: int) -> Callable[[int], list[int]]:
    if kind == "feed":
        return lambda n: b.store.home_tweet_ids(key, None, n)
    return lambda n: b.store.author_tweet_ids(key, None, n)


def cached(
    b: Backends, kind: ListKind, key: int, before: int | None, limit: int
) -> CachedSlice | None:
    """Read a cached list, rebuilding it from the store if it is missing; ``None`` if it was lost
    again at once (the caller then reads the store)."""
    found = b.cache.read(kind, key, before, limit)
    if found is None:
        truth = b.truth  # what a rebuild keeps must not come from a lagging replica
        rebuild(truth, kind, key, _from_store(truth, kind, key))
        found = b.cache.read(kind, key, before, limit)
    return found


def cached_many(
    b: Backends, kind: ListKind, keys: Sequence[int], before: int | None, limit: int
) -> list[CachedSlice | None]:
    """:func:`cached` for several lists, read in one operation; the celebrity heads of a first
    page that the feed's read brought along (:func:`open_feed`) are taken from there."""
    scope = READ_ALONG.get()
    along = scope.heads if scope is not None and before is None and kind == "celebrity" else {}
    rest = [k for k in keys if k not in along]
    read = (
        dict(zip(rest, b.cache.read_many(kind, rest, before, limit), strict=True)) if rest else {}
    )
    found = [along.pop(k) if k in along else read[k] for k in keys]
    return [
        f if f is not None else cached(b, kind, key, before, limit)
        for f, key in zip(found, keys, strict=True)
    ]


def open_feed(
    b: Backends, user_id: int, before: int | None, limit: int, ahead: Sequence[int] = ()
) -> CachedSlice | None:
    """Mark the user active and read their precomputed feed, rebuilding it first when they were
    inactive (fan-out skipped them) or it is missing. On a first page the touch and the read are
    one operation, which may also read the heads of the celebrity lists ``ahead``."""
    now = b.now()
    found: CachedSlice | None = None
    scope = READ_ALONG.get()
    if before is None:
        if scope is not None:
            scope.ahead = ahead
        previous, found = b.cache.touch_and_read(user_id, now, limit)
    elif scope is not None and user_id in scope.touched:
        previous = now  # a refill: this page read has recorded the visit
    else:
        previous = b.cache.touch(user_id, now)
    if scope is not None:
        scope.touched.add(user_id)
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
        return b.store.home_tweet_ids(user_id, before, limit)
    floor = max(s.floor for s in slices if s is not None)
    ids = [i for i in merge_newest([s.ids for s in slices if s is not None], limit) if i >= floor]
    if len(ids) < limit and floor > 0:
        below = floor if before is None else min(before, floor)
        ids += b.store.home_tweet_ids(user_id, below, limit - len(ids))
    return ids
