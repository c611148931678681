"""ShardedSQLStore: the store over several databases, one :class:`SQLStore` per shard.

* Placement: user ``u`` (their tweets, the edges they are part of and their counts) lives on shard
  :func:`jump_hash(u, n) <jump_hash>` (Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash
  Algorithm", 2014): a key maps to one of ``n`` buckets, evenly, and growing ``n`` to ``n + 1``
  moves only ``1/(n + 1)`` of the keys (all of them to the new bucket).
* Scatter: a question about several users (or about tweet ids, which do not encode the author)
  goes to each shard involved in parallel, on a thread pool, and the answers are merged.
* The cross-shard edge: an edge between users on two shards is written on both, in two
  transactions nested in one global lock order (see :meth:`ShardedSQLStore.add_follow`).
* The social rows (blocks, mutes, muted words, erasures) are placed as
  :mod:`socialfeed.backends.sql.sharded_social` describes.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine

from socialfeed.backends.sql import bulk
from socialfeed.backends.sql._db import EngineLike, Tx
from socialfeed.backends.sql.bulk import TweetRow
from socialfeed.backends.sql.outbox import record_event
from socialfeed.backends.sql.schema import DEFAULT_PREFIX, StoreTables
from socialfeed.backends.sql.sharded_social import ShardedSocialMixin
from socialfeed.backends.sql.store import SQLStore
from socialfeed.errors import DuplicateId, ValidationError
from socialfeed.interfaces import Event, EventKind, all_following
from socialfeed.models import Tweet

__all__ = ["ShardedSQLStore", "jump_hash"]

T = TypeVar("T")
V = TypeVar("V")
_MASK64 = (1 << 64) - 1


def jump_hash(key: int, buckets: int) -> int:
    """The bucket in ``0 .. buckets-1`` of a 64-bit ``key`` (jump consistent hash).

    Stable across processes and versions (pure arithmetic, no ``hash()``): the same user id always
    lands on the same shard for a given shard count.
    """
    if buckets < 1:
        raise ValueError("buckets must be >= 1")
    key &= _MASK64
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK64
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


class _Pool:
    """The scatter threads, started on first use (again after :meth:`shutdown`)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._size, "socialfeed-sql")
            return self._executor

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class ShardedSQLStore(ShardedSocialMixin):
    """The protocols and abilities of :class:`SQLStore` over several databases (``shards``,
    URLs or Engines; ``replicas`` maps a shard index to its read replicas; the other options
    are :class:`SQLStore`'s, for every shard). See the module docs and ``docs/backends/sql.md``.
    """

    def __init__(
        self,
        shards: Sequence[EngineLike],
        *,
        replicas: Mapping[int, Sequence[EngineLike]] | None = None,
        prefix: str = DEFAULT_PREFIX,
        read_your_writes: timedelta = timedelta(seconds=5),
        replica_down_for: float = 5.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(shards, str) or not shards:
            raise ValidationError("shards", "needs a list of at least one database")
        per_shard = dict(replicas or {})
        self._shards = [
            SQLStore(
                database,
                prefix=prefix,
                replicas=per_shard.get(i, ()),
                read_your_writes=read_your_writes,
                replica_down_for=replica_down_for,
                engine_options=engine_options,
            )
            for i, database in enumerate(shards)
        ]
        self.prefix = prefix
        self._primary_view: ShardedSQLStore | None = None
        self._pool = _Pool(len(self._shards))  # shared with the primary view

    @property
    def tables(self) -> StoreTables:
        """The store tables (the same names on every shard)."""
        return self._shards[0].tables

    # placement
    @property
    def shard_count(self) -> int:
        """How many databases hold the users."""
        return len(self._shards)

    def shard_index(self, user_id: int) -> int:
        """The shard that holds ``user_id``'s tweets, edges and counts."""
        n = len(self._shards)
        return jump_hash(user_id, n) if n > 1 else 0

    def _shard(self, user_id: int) -> SQLStore:
        return self._shards[self.shard_index(user_id)]

    def engines(self) -> list[list[Engine]]:
        """Per shard: the primary engine, then its replicas."""
        return [s.db.router.engines() for s in self._shards]

    # scatter
    def _scatter(self, items: Sequence[V], fn: Callable[[V], T]) -> list[T]:
        """``fn`` on each item (a shard's part of a question), in parallel when there are
        several."""
        if len(items) <= 1:
            return [fn(i) for i in items]
        return list(self._pool.get().map(fn, items))

    def _group(
        self, items: Iterable[V], user: Callable[[V], int]
    ) -> list[tuple[SQLStore, list[V]]]:
        """``items`` by the shard of their ``user``."""
        by: dict[SQLStore, list[V]] = {}
        for item in items:
            by.setdefault(self._shard(user(item)), []).append(item)
        return list(by.items())

    def on_primary(self) -> ShardedSQLStore:
        """The same store with every read on every shard's primary (one view)."""
        if self._primary_view is None:
            view = copy.copy(self)
            view._shards = [sh.on_primary() for sh in self._shards]
            view._primary_view = view
            self._primary_view = view
        return self._primary_view

    # TweetStore, DurableTweetSupport
    def put_tweet(self, tweet: Tweet) -> None:
        """Store a tweet (and its media rows) on its author's shard."""
        self.write_tweet(tweet, 0, None)

    def write_tweet(self, tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
        """:meth:`SQLStore.write_tweet` on the author's shard (keys and events live there).

        A tweet id does not say which shard holds it, so the other shards are asked first (in
        parallel) whether they hold it: a held id is refused, as on one database."""
        home = self._shard(tweet.author_id)
        others = [sh for sh in self._shards if sh is not home]

        def holds(sh: SQLStore) -> bool:
            primary = sh.on_primary()
            return bool(primary.get_tweets([tweet.id]) or primary.deleted_authors([tweet.id]))

        if any(self._scatter(others, holds)):
            raise DuplicateId(f"tweet id {tweet.id} is taken by another tweet")
        return home.write_tweet(tweet, event, idempotency_key)

    def write_delete(self, tweet_id: int, event: int) -> Tweet | None:
        """:meth:`SQLStore.write_delete` on whichever shard has the tweet."""
        for sh in self._shards:
            if (found := sh.write_delete(tweet_id, event)) is not None:
                return found
        return None

    def deleted_authors(self, tweet_ids: Sequence[int]) -> dict[int, int]:
        """The authors of deleted tweets among ``tweet_ids`` (asked of every shard)."""
        ids = list(dict.fromkeys(tweet_ids))
        found: dict[int, int] = {}
        if ids:
            for part in self._scatter(self._shards, lambda sh: sh.deleted_authors(ids)):
                found.update(part)
        return found

    # Outbox: every shard's events, oldest first
    def claim_events(self, before: int, limit: int, claim_for: float) -> list[Event]:
        """Claim up to ``limit`` events of each shard; the oldest ``limit`` of them (the rest
        run out of their claim and are taken again)."""
        parts = self._scatter(self._shards, lambda sh: sh.claim_events(before, limit, claim_for))
        return sorted((e for part in parts for e in part), key=lambda e: e.id)[:limit]

    def pending_events(self, limit: int) -> list[Event]:
        """The oldest ``limit`` events of all shards."""
        parts = self._scatter(self._shards, lambda sh: sh.pending_events(limit))
        return sorted((e for part in parts for e in part), key=lambda e: e.id)[:limit]

    def events_published(self, event_ids: Sequence[int]) -> None:
        """Nothing to do: events are kept until their job was applied."""

    def events_done(self, event_ids: Sequence[int]) -> None:
        """Forget these events, on whichever shard holds them."""
        if event_ids:
            self._scatter(self._shards, lambda sh: sh.events_done(event_ids))

    # settings, leases: on shard 0
    def record_settings(self, values: dict[str, str]) -> dict[str, str]:
        """:meth:`SQLStore.record_settings` on shard 0."""
        return self._shards[0].record_settings(values)

    def acquire_worker_id(self, holder: str, ttl: float, wanted: int | None) -> tuple[int, int]:
        """:meth:`SQLStore.acquire_worker_id` on shard 0."""
        return self._shards[0].acquire_worker_id(holder, ttl, wanted)

    def renew_worker_id(self, worker_id: int, holder: str, ttl: float, last_ms: int) -> bool:
        """:meth:`SQLStore.renew_worker_id` on shard 0."""
        return self._shards[0].renew_worker_id(worker_id, holder, ttl, last_ms)

    def release_worker_id(self, worker_id: int, holder: str, last_ms: int) -> None:
        """:meth:`SQLStore.release_worker_id` on shard 0."""
        self._shards[0].release_worker_id(worker_id, holder, last_ms)

    # media claims: a media is unused when no shard references it
    def claim_unused_media(self, media_ids: Sequence[str], claim_for: float) -> list[str]:
        """Claim on every shard, in shard order: a media is claimed where all shards agree it
        is unused (a claim on one shard already refuses posts there)."""
        claimed = list(dict.fromkeys(media_ids))
        for sh in self._shards:
            claimed = sh.claim_unused_media(claimed, claim_for) if claimed else []
        kept = set(claimed)
        refused = [m for m in media_ids if m not in kept]
        if refused:
            self.release_media_claims(refused)
        return claimed

    def release_media_claims(self, media_ids: Sequence[str]) -> None:
        """Drop the claims on every shard."""
        if media_ids:
            self._scatter(self._shards, lambda sh: sh.release_media_claims(media_ids))

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``tweet_ids``, asked of every shard in parallel."""
        ids = list(dict.fromkeys(tweet_ids))
        out: dict[int, Tweet] = {}
        if ids:
            for part in self._scatter(self._shards, lambda sh: sh.get_tweets(ids)):
                out.update(part)
        return out

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Remove a tweet (from whichever shard has it); return it if it was live."""
        for sh in self._shards:
            if (found := sh.mark_deleted(tweet_id)) is not None:
                return found
        return None

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """The author's live tweet ids below ``before``, newest first (on their shard)."""
        return self._shard(author_id).author_tweet_ids(author_id, before, limit)

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Media among ``media_ids`` referenced by a live tweet on any shard."""
        ids = list(dict.fromkeys(media_ids))
        if not ids:
            return set()
        return set().union(*self._scatter(self._shards, lambda sh: sh.media_in_use(ids)))

    # FollowGraph
    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; the followee's follower count after it, or ``None`` if it existed.

        Across shards, both users' count rows are locked (lower shard index first: one global
        lock order, so no cross-database deadlock), then the edge is written on the followee's
        shard (the authority for the result) and on the follower's shard; the inner transaction
        commits, then the outer. The follower-side write runs even when the edge already
        existed, so a crash between the two commits is repaired by the next call.
        """
        return self._edge(follower_id, followee_id, add=True)

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge (as :meth:`add_follow` writes it); the followee's follower count
        after, or ``None`` if absent."""
        return self._edge(follower_id, followee_id, add=False)

    def write_follow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``add_follow`` with its event, recorded in the followee's shard's transaction."""
        return self._edge(follower_id, followee_id, add=True, event=event)

    def write_unfollow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``remove_follow`` with its event, recorded in the followee's shard's transaction."""
        return self._edge(follower_id, followee_id, add=False, event=event)

    def _edge(self, f: int, e: int, *, add: bool, event: int = 0) -> int | None:
        sf, se = self._shard(f), self._shard(e)
        if sf is se:
            return sf._edge(f, e, add=add, event=event)
        delta = 1 if add else -1
        first, second = sorted([(self.shard_index(f), f, sf), (self.shard_index(e), e, se)])
        edge_f, edge_e = sf.statements, se.statements

        def outer(tx1: Tx) -> int | None:
            first[2].statements.bump(tx1, first[1], "followers", 0)  # creates or locks the row

            def inner(tx2: Tx) -> int | None:
                second[2].statements.bump(tx2, second[1], "followers", 0)
                tx_f, tx_e = (tx1, tx2) if first[1] == f else (tx2, tx1)
                changed = edge_e.edge_op(tx_e, f, e, add=add)
                if edge_f.edge_op(tx_f, f, e, add=add):
                    edge_f.bump(tx_f, f, "following", delta)
                if not changed:
                    return None
                edge_e.bump(tx_e, e, "followers", delta)
                count = edge_e.follower_count(tx_e, e)
                if event:
                    kind: EventKind = "follow" if add else "unfollow"
                    record_event(tx_e, edge_e, Event(event, kind, f, e, count))
                return count

            return second[2].db.write(inner, idempotent=False, users=[f, e])

        return first[2].db.write(outer, idempotent=False, users=[f, e])

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followers of ``user_id`` above ``after``, ascending (on their shard)."""
        return self._shard(user_id).followers(user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followees of ``user_id`` above ``after``, ascending (on their shard)."""
        return self._shard(user_id).following(user_id, after, limit)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        return self._shard(user_id).follower_count(user_id)

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        return self._shard(user_id).following_count(user_id)

    def followers_among(self, user_id: int, candidates: Sequence[int]) -> set[int]:
        """The ``candidates`` that follow ``user_id`` (on ``user_id``'s shard)."""
        return self._shard(user_id).followers_among(user_id, candidates)

    def _all_following(self, user_id: int) -> list[int]:
        return all_following(self, user_id)

    # FanoutGraphSupport
    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """:meth:`followers` for each ``(user_id, after)``, in order: one query per shard (per
        chunk of pages), read where :meth:`followers` reads (a replica when there are some)."""
        out: list[list[int]] = [[] for _ in pages]

        def one(item: tuple[SQLStore, list[int]]) -> None:
            sh, ns = item
            found = sh.followers_many([pages[n] for n in ns], limit)
            for n, followers in zip(ns, found, strict=True):
                out[n] = followers

        self._scatter(self._group(range(len(pages)), lambda n: pages[n][0]), one)
        return out

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower_id, followee_id)`` pairs among ``pairs`` that are edges: one query per
        shard (per chunk), on the followee's shard (the authority for the edge), always on the
        primary (see :meth:`SQLStore.edges_among`)."""
        groups = self._group(dict.fromkeys(pairs), lambda pair: pair[1])
        return set().union(*self._scatter(groups, lambda item: item[0].edges_among(item[1])))

    # FollowerCountSupport
    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """The ``user_ids`` with at least ``min_followers`` followers (one query per shard)."""
        return self._min_followers(dict.fromkeys(user_ids), min_followers, reader=None)

    def _min_followers(
        self, user_ids: Iterable[int], min_followers: int, reader: int | None
    ) -> set[int]:
        """Reads for ``reader`` (when given) go where that user's reads go."""

        def one(item: tuple[SQLStore, list[int]]) -> list[int]:
            sh, users = item
            return sh._min_followers(users, min_followers, users if reader is None else [reader])

        parts = self._scatter(self._group(user_ids, lambda u: u), one)
        return {i for part in parts for i in part}

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """Followees of ``user_id`` with at least ``min_followers`` followers, ascending."""
        if len(self._shards) == 1:
            return self._shards[0].following_with_min_followers(user_id, min_followers)
        following = self._all_following(user_id)
        return sorted(self._min_followers(following, min_followers, reader=user_id))

    # HomeTimelineSupport
    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of home(user_id) ids: the followees from the user's shard, then one query per
        shard involved (the newest ``limit`` tweets of its authors), merged."""
        if len(self._shards) == 1:
            return self._shards[0].home_tweet_ids(user_id, before, limit)
        authors = [user_id, *self._all_following(user_id)]

        def one(item: tuple[SQLStore, list[int]]) -> list[Any]:
            sh, group = item
            stmt = sh.statements.authors_home[before is not None]
            return sh._column(stmt, {"authors": group, "n": limit, "before": before}, [user_id])

        parts = self._scatter(self._group(authors, lambda u: u), one)
        return sorted((i for part in parts for i in part), reverse=True)[:limit]

    # bulk import
    def import_follows(
        self,
        pairs: Iterable[tuple[int, int]],
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add many edges, ``batch_size`` per transaction per shard; return how many were new
        (idempotent, as :meth:`SQLStore.import_follows`)."""
        return bulk.import_follows(self._shards, self.shard_index, pairs, batch_size, progress)

    def import_tweets(
        self,
        rows: Iterable[TweetRow],
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Store many tweets on their authors' shards, ``batch_size`` per transaction per shard;
        return how many rows were processed (idempotent, as :meth:`SQLStore.import_tweets`)."""
        return bulk.import_tweets(self._shards, self.shard_index, rows, batch_size, progress)

    # lifecycle
    def create_schema(self) -> None:
        """Create (or check) the tables on every shard now instead of on first use."""
        for sh in self._shards:
            sh.create_schema()

    def drop_schema(self) -> None:
        """Drop this store's tables (and its ``meta`` row) on every shard: for tests and demos."""
        for sh in self._shards:
            sh.drop_schema()

    def close(self) -> None:
        """Stop the scatter threads; release the connections of the engines this store created."""
        self._pool.shutdown()
        for sh in self._shards:
            sh.close()
