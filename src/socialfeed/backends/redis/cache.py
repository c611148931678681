"""The Redis :class:`~socialfeed.interfaces.FeedCache`: packed id lists, hot tweets, last-seen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
from redis.cluster import RedisCluster

from socialfeed.backends.redis._client import (
    AnyRedis,
    Script,
    backend_errors,
    make_client,
    split_options,
)
from socialfeed.backends.redis.cluster import script_groups
from socialfeed.backends.redis.codec import (
    BUILDING_HEADER,
    TOMBSTONE,
    Keys,
    decode_tweet,
    encode_tweet,
    from_us,
    pack_bound,
    pack_ids,
    to_us,
    unpack_ids,
)
from socialfeed.backends.redis.lease import RedisWorkerLeases
from socialfeed.backends.redis.notices import RedisNotices
from socialfeed.errors import ValidationError
from socialfeed.interfaces import BUILDING, READ_ALONG, CachedSlice, ListKind, ReadAlong
from socialfeed.models import Tweet
from socialfeed.notices import Listening, Wake
from socialfeed.settings import Settings

__all__ = ["RedisFeedCache"]

_LISTS = Script("lists.lua")
_SCRIPT_BATCH = 1000  # keys per script call: bounds how long one call holds the server
_OPTIONS: dict[str, Callable[[str], Any]] = {
    "prefix": str,
    "hot_ttl": float,
    "tombstone_ttl": float,
    "list_ttl": float,
    "seen_ttl": float,
}

Calls = list[tuple[Sequence[str], Sequence[Any]]]


def _list_ttl(settings: Settings) -> float:
    return max(settings.active_window, timedelta(days=1)).total_seconds()


@attrs.define(init=False)
class RedisFeedCache(RedisWorkerLeases):
    """Feeds, celebrity lists, hot tweets and last-seen times in Redis or Redis Cluster.

    A list is one string: an 8-byte floor, then 8-byte big-endian ids newest first (about 9 bytes
    per entry). Fan-out inserts, removals and rebuilds run in ``scripts/lists.lua``: one EVALSHA
    per batch of keys (per slot on a cluster). It has both optional abilities:
    :class:`~socialfeed.interfaces.FeedReadSupport` (``touch_and_read`` is one script call,
    ``read_many`` one pipeline) and :class:`~socialfeed.interfaces.FanoutBatchSupport`
    (``insert_many`` is one pipeline of script calls).

    Build it from a URL with :meth:`from_url`, or pass a ready ``redis.Redis`` /
    ``redis.cluster.RedisCluster`` client (created with ``decode_responses=False``).
    """

    client: AnyRedis
    prefix: str
    hot_ttl: float
    tombstone_ttl: float
    list_ttl: float
    seen_ttl: float
    _keys: Keys
    _cluster: bool
    _owns_client: bool
    _notices: RedisNotices

    def __init__(
        self,
        client: AnyRedis,
        *,
        prefix: str = "sf",
        hot_ttl: float = 86_400.0,
        tombstone_ttl: float = 172_800.0,
        list_ttl: float = 30 * 86_400.0,
        seen_ttl: float = 0.0,
        owns_client: bool = False,
    ) -> None:
        """``hot_ttl``: seconds a hot tweet stays cached; ``tombstone_ttl``: how long a deleted
        tweet's tombstone blocks re-caching; ``list_ttl``: a feed expires this long after its
        user's last visit (0: never); ``seen_ttl``: last-seen times expire (0: never; set it to
        the active window to let inactive users vanish)."""
        if hot_ttl <= 0 or tombstone_ttl <= 0:
            raise ValidationError("hot_ttl", "hot_ttl and tombstone_ttl must be > 0 seconds")
        self.client = client
        self.prefix = prefix
        self.hot_ttl = hot_ttl
        self.tombstone_ttl = tombstone_ttl
        self.list_ttl = list_ttl
        self.seen_ttl = seen_ttl
        self._keys = Keys(prefix)
        self._cluster = isinstance(client, RedisCluster)
        self._owns_client = owns_client
        self._notices = RedisNotices(client, prefix)

    def _lease_prefix(self) -> str:
        return self.prefix

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> RedisFeedCache:
        """``redis://host:port/db``, ``rediss://...`` or ``redis+cluster://host:port``; query
        options ``prefix``, ``hot_ttl``, ``tombstone_ttl``, ``list_ttl``, ``seen_ttl`` (seconds),
        plus any redis-py option such as ``socket_timeout``."""
        rest, opts = split_options(url, _OPTIONS, "cache")
        kwargs: dict[str, Any] = {"list_ttl": _list_ttl(settings), **opts}
        return cls(make_client(rest), owns_client=True, **kwargs)

    # helpers
    def _along(self, lists: int) -> ReadAlong | None:
        """Where a read of ``lists`` lists also reads their ids' hot bodies: during a page read,
        of one list, on one server (a cluster keeps tweets on other nodes)."""
        return None if self._cluster or lists != 1 else READ_ALONG.get()

    def _ms(self, seconds: float) -> int:
        return int(seconds * 1000)

    def _groups(self, keys: Sequence[str]) -> list[list[int]]:
        return script_groups(keys, self._cluster, _SCRIPT_BATCH)

    def _calls(self, keys: Sequence[str], args: Sequence[Any]) -> Calls:
        return [([keys[n] for n in group], args) for group in self._groups(keys)]

    # lists
    def read(self, kind: ListKind, key: int, before: int | None, limit: int) -> CachedSlice | None:
        """Entries below ``before`` and at or above the floor; ``None`` if absent or building."""
        return self.read_many(kind, [key], before, limit)[0]

    def read_many(
        self, kind: ListKind, keys: Sequence[int], before: int | None, limit: int
    ) -> list[CachedSlice | None]:
        """:meth:`read` of each key in one round trip: one script call per slot (per 1,000 keys
        on a standalone server), several in one pipeline. A first page of one list is a plain
        GETRANGE of its head."""
        if not keys:
            return []
        names = self._keys.list_keys(kind, keys)
        limit = max(limit, 0)
        if before is None and len(names) == 1:
            with backend_errors("read"):
                raw: Any = self.client.getrange(names[0], 0, 7 + 8 * limit)
            return [_head(raw)]
        groups = self._groups(names)
        along = None if before is None else self._along(len(names))
        args = ["heads", limit] if before is None else ["read", pack_bound(before), limit]
        if along is not None:
            args.append(self._keys.tweet_prefix)
        calls: Calls = [([names[n] for n in group], args) for group in groups]
        with backend_errors("read"):
            replies = _LISTS.call_many(self.client, calls)
        if along is not None:
            for found in replies[0]:
                if found and len(found) > 2:
                    along.hot.update(_hot(unpack_ids(found[1]), found[2]))
        parse = _head if before is None else _slice
        out: list[CachedSlice | None] = [None] * len(names)
        for group, found in zip(groups, replies, strict=True):
            for n, one in zip(group, found, strict=True):
                out[n] = parse(one)
        return out

    def reset(self, kind: ListKind, key: int) -> None:
        """Replace the list with an empty one being rebuilt (floor BUILDING)."""
        with backend_errors("reset"):
            self.client.set(
                self._keys.list_key(kind, key), BUILDING_HEADER, px=self._ms(self.list_ttl) or None
            )

    def merge(
        self, kind: ListKind, key: int, ids: Sequence[int], floor: int, max_length: int
    ) -> None:
        """Union ``ids`` in (creating the list), keep the newest ``max_length``, set the floor."""
        args = ["merge", pack_ids(ids), max_length, pack_bound(floor), self._ms(self.list_ttl)]
        with backend_errors("merge"):
            _LISTS.call(self.client, [self._keys.list_key(kind, key)], args)

    def insert(
        self, kind: ListKind, keys: Sequence[int], ids: Sequence[int], max_length: int
    ) -> None:
        """Add ``ids`` to each existing list among ``keys`` (one round trip per batch)."""
        self.insert_many(kind, [(keys, ids)], max_length)

    def insert_many(
        self,
        kind: ListKind,
        batches: Sequence[tuple[Sequence[int], Sequence[int]]],
        max_length: int,
    ) -> None:
        """:meth:`insert` of each ``(keys, ids)`` in one round trip: one pipeline of script calls,
        one per batch (per slot of a batch on a cluster, per 1,000 keys on a standalone
        server)."""
        calls: Calls = []
        for keys, ids in batches:
            if keys:
                args = ["insert", pack_ids(ids), max_length]
                calls.extend(self._calls(self._keys.list_keys(kind, keys), args))
        if calls:
            with backend_errors("insert"):
                _LISTS.call_many(self.client, calls)

    def remove(self, kind: ListKind, keys: Sequence[int], ids: Sequence[int]) -> None:
        """Remove ``ids`` from each existing list among ``keys``."""
        if not keys or not ids:
            return
        calls = self._calls(self._keys.list_keys(kind, keys), ["remove", pack_ids(ids)])
        with backend_errors("remove"):
            _LISTS.call_many(self.client, calls)

    # last seen
    def _touch(
        self, user_id: int, now: datetime, limit: int, lists: Sequence[str] = (), *extra: str
    ) -> list[Any]:
        keys = [self._keys.seen(user_id), self._keys.list_key("feed", user_id), *lists]
        args = ["touch", to_us(now), self._ms(self.seen_ttl), self._ms(self.list_ttl), limit]
        args.extend(extra)
        with backend_errors("touch"):
            found: list[Any] = _LISTS.call(self.client, keys, args)
        return found

    def touch(self, user_id: int, now: datetime) -> datetime | None:
        """Record a visit, refresh the feed's ttl, and return the previous visit."""
        (previous,) = self._touch(user_id, now, -1)
        return None if previous is None else from_us(int(previous))

    def touch_and_read(
        self, user_id: int, now: datetime, limit: int
    ) -> tuple[datetime | None, CachedSlice | None]:
        """:meth:`touch`, then ``read("feed", user_id, None, limit)``: one script call. During a
        page read on one server (not a cluster) the same call reads along
        (:data:`~socialfeed.interfaces.READ_ALONG`) the heads of the celebrity lists the page
        merges in and the hot bodies of the newest ids of them all, so that a first page is one
        round trip."""
        along = self._along(1)
        ahead = along.ahead if along is not None and len(along.ahead) < _SCRIPT_BATCH else ()
        lists = self._keys.list_keys("celebrity", ahead) if ahead else ()
        extra = () if along is None else (self._keys.tweet_prefix,)
        previous, ids, bodies, heads = self._touch(user_id, now, max(limit, 0), lists, *extra)
        if along is not None:
            along.hot.update(_hot(unpack_ids(ids), bodies))
            along.heads.update(zip(ahead, map(_head, heads[1:]), strict=True))
        return (None if previous is None else from_us(int(previous))), _head(heads[0])

    def active_among(self, user_ids: Sequence[int], since: datetime) -> list[int]:
        """The users seen strictly after ``since``, in order (one MGET; per slot on a cluster)."""
        if not user_ids:
            return []
        keys = self._keys.seens(user_ids)
        with backend_errors("active_among"):
            values = self._mget(keys)
        cutoff = to_us(since)
        return [
            u for u, v in zip(user_ids, values, strict=True) if v is not None and int(v) > cutoff
        ]

    def _mget(self, keys: list[str]) -> list[Any]:
        if isinstance(self.client, RedisCluster):
            return list(self.client.mget_nonatomic(keys))
        return list(self.client.mget(keys))

    # hot tweets
    def get_hot_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet | None]:
        """Cached tweets among ``tweet_ids``, ``None`` for tombstones (one MGET; per slot on a
        cluster)."""
        if not tweet_ids:
            return {}
        with backend_errors("get_hot_tweets"):
            values = self._mget(self._keys.tweets(tweet_ids))
        return _hot(tweet_ids, values)

    def put_hot_tweets(self, tweets: Sequence[Tweet]) -> None:
        """Cache tweets for ``hot_ttl`` seconds; SET NX, so a tombstone is never overwritten."""
        if not tweets:
            return
        ttl = self._ms(self.hot_ttl)
        with backend_errors("put_hot_tweets"):
            pipe = self.client.pipeline(transaction=False)
            for t, key in zip(tweets, self._keys.tweets([t.id for t in tweets]), strict=True):
                pipe.set(key, encode_tweet(t), nx=True, px=ttl)
            pipe.execute()

    def forget_hot_tweet(self, tweet_id: int) -> None:
        """Replace a cached tweet with a tombstone that lives ``tombstone_ttl`` seconds."""
        (key,) = self._keys.tweets([tweet_id])
        with backend_errors("forget_hot_tweet"):
            self.client.set(key, TOMBSTONE, px=self._ms(self.tombstone_ttl))

    # notices
    def notify(self, channels: Sequence[int]) -> None:
        """Feed notices to every process (Redis pub/sub, see ``notices.py`` here)."""
        self._notices.notify(channels)

    def listen(self, channels: Sequence[int], wake: Wake) -> Listening:
        """Listen to feed notices from every process."""
        return self._notices.listen(channels, wake)

    def close(self) -> None:
        """Stop listening for notices; close the client if this cache created it."""
        self._notices.close()
        if self._owns_client:
            with backend_errors("close"):
                self.client.close()


def _hot(tweet_ids: Sequence[int], values: Sequence[bytes | None]) -> dict[int, Tweet | None]:
    """The hot tweets of the values read for ``tweet_ids`` (None: not cached; b"": a
    tombstone)."""
    return {
        i: decode_tweet(i, raw) if raw else None
        for i, raw in zip(tweet_ids, values, strict=True)
        if raw is not None
    }


def _at_or_above(ids: tuple[int, ...], floor: int) -> tuple[int, ...]:
    if not floor or not ids or ids[-1] >= floor:
        return ids
    for n, i in enumerate(ids):
        if i < floor:
            return ids[:n]
    return ids  # pragma: no cover


def _head(raw: bytes | None) -> CachedSlice | None:
    """The slice of a GETRANGE of a list's head: its floor and first entries (those below the
    floor dropped); ``None`` for a missing list or one being rebuilt."""
    if not raw:
        return None
    floor = int.from_bytes(raw[:8], "big")
    if floor == BUILDING:
        return None
    return CachedSlice(_at_or_above(unpack_ids(raw[8:]), floor), floor)


def _slice(found: Any) -> CachedSlice | None:
    """The slice of one result of the script's ``read``: ``[floor, entries]`` or nothing."""
    if not found:
        return None
    header, entries = found[:2]
    floor = int.from_bytes(header, "big")
    if floor == BUILDING:
        return None
    return CachedSlice(unpack_ids(entries), floor)
