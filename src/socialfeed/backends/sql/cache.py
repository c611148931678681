"""SQLFeedCache: the feed cache (id lists with floors, last-seen, hot tweets) in SQL tables.

Same semantics as :class:`~socialfeed.backends.memory.MemoryFeedCache`. Every write to a list's
entries first locks the list's row (``SELECT ... FOR UPDATE`` in key order, or an upsert), so the
``size`` column stays exact and trimming needs no counting. A floor of ``NULL`` means
:data:`~socialfeed.interfaces.BUILDING`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    union_all,
    update,
)

from socialfeed.backends.sql._db import (
    Database,
    EngineLike,
    Tx,
    check_prefix,
    chunks,
    engine_of,
    parse_url,
)
from socialfeed.backends.sql._dialect import insert_ignore, one_of, upsert_add, upsert_set
from socialfeed.backends.sql.routing import ReplicaRouter
from socialfeed.backends.sql.schema import (
    CACHE_SCHEMA_VERSION,
    DEFAULT_PREFIX,
    cache_tables,
    drop_component,
    ensure_schema,
)
from socialfeed.errors import BackendError, ValidationError
from socialfeed.interfaces import CachedSlice, ListKind, reference
from socialfeed.models import Media, Tweet
from socialfeed.settings import Settings

__all__ = ["SQLFeedCache"]

_KINDS: dict[str, int] = {"feed": 0, "celebrity": 1}
_CHUNK = 500
_CUTOFF_CHUNK = 100


def _kind(kind: ListKind) -> int:
    try:
        return _KINDS[kind]
    except KeyError:
        raise ValidationError("kind", f"must be 'feed' or 'celebrity', got {kind!r}") from None


def _encode(t: Tweet) -> str:
    """A hot tweet's body: ``[id, author, text, created_at, media]``, then ([0.2-S]) ``reply_to``,
    ``reply_to_author_id`` and the original's id of a repost (kept as a reference: see
    :func:`~socialfeed.interfaces.as_stored`)."""
    media = [[m.id, m.content_type, m.size] for m in t.media]
    repost_of = None if t.repost_of is None else t.repost_of.id
    base = [t.id, t.author_id, t.text, t.created_at.isoformat(), media]
    return json.dumps([*base, t.reply_to, t.reply_to_author_id, repost_of])


def _decode(body: str) -> Tweet:
    """A body of :func:`_encode`, or of the 0.2 format (five fields: neither reply nor repost)."""
    i, author, text, created, media, *social = json.loads(body)
    reply_to, reply_author, repost_of = [*social, None, None, None][:3]
    return Tweet(
        i,
        author,
        text,
        datetime.fromisoformat(created),
        tuple(Media(*m) for m in media),
        reply_to=reply_to,
        reply_to_author_id=reply_author,
        repost_of=None if repost_of is None else reference(repost_of),
    )


class SQLFeedCache:
    """A :class:`~socialfeed.interfaces.FeedCache` in SQL tables (``cache=`` any SQLAlchemy URL,
    or a ready Engine). ``hot_tweets`` bounds the hot-tweet table (oldest tweets evicted first)."""

    def __init__(
        self,
        database: EngineLike,
        *,
        prefix: str = DEFAULT_PREFIX,
        hot_tweets: int = 100_000,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.prefix = check_prefix(prefix)
        self.tables = t = cache_tables(prefix)
        owned: list[Engine] = []
        engine = engine_of(database, owned, dict(engine_options or {}))
        self.db = Database(
            ReplicaRouter(engine),
            owned,
            lambda tx: ensure_schema(tx.conn, t.metadata, t.meta, "cache", CACHE_SCHEMA_VERSION),
        )
        self.dialect = d = self.db.dialect
        self._hot_capacity = hot_tweets
        self._since_trim = 0
        lists, entries = t.lists, t.entries
        lc, ec = lists.c, entries.c
        k: Any = bindparam("k")
        key: Any = bindparam("key", type_=BigInteger)
        n: Any = bindparam("n")
        self._read = {
            has_before: select(lc.floor, ec.tweet_id)
            .select_from(
                lists.outerjoin(
                    entries,
                    and_(
                        ec.kind == lc.kind,
                        ec.list_key == lc.list_key,
                        ec.tweet_id >= func.coalesce(lc.floor, 0),
                        *([ec.tweet_id < bindparam("before")] if has_before else []),
                    ),
                )
            )
            .where(lc.kind == k, lc.list_key == key)
            .order_by(ec.tweet_id.desc())
            .limit(n)
            for has_before in (False, True)
        }
        lock_lists = (
            select(lc.list_key, lc.floor, lc.size)
            .where(lc.kind == k, one_of(d, lc.list_key, "keys"))
            .order_by(lc.list_key)
        )
        self._lock_lists = lock_lists.with_for_update() if d != "sqlite" else lock_lists
        self._existing = select(ec.list_key, ec.tweet_id).where(
            ec.kind == k, one_of(d, ec.list_key, "keys"), one_of(d, ec.tweet_id, "ids")
        )
        self._create_or_lock = upsert_add(d, lists, ["kind", "list_key"], ["size"])
        self._list_state = select(lc.floor, lc.size).where(lc.kind == k, lc.list_key == key)
        self._reset_list = upsert_set(d, lists, ["kind", "list_key"], ["floor", "size"])
        self._set_list = (
            update(lists)
            .where(lc.kind == bindparam("k_"), lc.list_key == bindparam("key_"))
            .values(floor=bindparam("floor_"), size=bindparam("size_"))
        )
        self._add_size = (
            update(lists)
            .where(lc.kind == k, one_of(d, lc.list_key, "keys"))
            .values(size=lc.size + bindparam("delta"))
        )
        self._clear = delete(entries).where(ec.kind == k, ec.list_key == key)
        self._cut = delete(entries).where(
            ec.kind == bindparam("k_"), ec.list_key == bindparam("key_"),
            ec.tweet_id < bindparam("cut_"),
        )  # fmt: skip
        self._remove = delete(entries).where(
            ec.kind == k, one_of(d, ec.list_key, "keys"), one_of(d, ec.tweet_id, "ids")
        )
        self._oldest = select(func.min(ec.tweet_id)).where(ec.kind == k, ec.list_key == key)
        seen, hot = t.seen, t.hot
        self._seen_get = select(seen.c.seen_at).where(seen.c.user_id == bindparam("u"))
        if d != "sqlite":
            self._seen_get = self._seen_get.with_for_update()
        self._seen_insert = insert_ignore(d, seen)
        self._seen_set = (
            update(seen).where(seen.c.user_id == bindparam("u")).values(seen_at=bindparam("at"))
        )
        self._active = select(seen.c.user_id).where(
            one_of(d, seen.c.user_id, "ids"), seen.c.seen_at > bindparam("since")
        )
        self._hot_get = select(hot.c.tweet_id, hot.c.body).where(one_of(d, hot.c.tweet_id, "ids"))
        self._hot_put = insert_ignore(d, hot)
        self._hot_forget = upsert_set(d, hot, ["tweet_id"], ["tombstone", "body"])

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> SQLFeedCache:
        """A cache for a SQLAlchemy URL; query parameter ``socialfeed_prefix`` sets the prefix
        (``socialfeed_replica`` is taken out and ignored: cache reads go to the primary)."""
        database, prefix, _ = parse_url(url)
        return cls(database, prefix=prefix)

    # plumbing
    def create_schema(self) -> None:
        """Create (or check) the tables now instead of on first use."""
        self.db.ensure_schema()

    def _trim(self, tx: Tx, k: int, over: dict[int, int], max_length: int) -> dict[int, int]:
        """Trim the lists in ``over`` (key -> size) to ``max_length``; return key -> the oldest
        kept id (a few UNION ALL queries find every cutoff, one executemany deletes below)."""
        ec = self.tables.entries.c
        cutoffs: dict[int, int] = {}
        items = sorted(over.items())
        for chunk in chunks(items, _CUTOFF_CHUNK):
            parts = []
            for key, size in chunk:
                sub = (
                    select(ec.list_key, ec.tweet_id)
                    .where(ec.kind == k, ec.list_key == key)
                    .order_by(ec.tweet_id)
                    .limit(1)
                    .offset(size - max_length)
                    .subquery()
                )
                parts.append(select(sub.c.list_key, sub.c.tweet_id))
            stmt = parts[0] if len(parts) == 1 else union_all(*parts)
            for key, cut in tx.execute(stmt):
                cutoffs[key] = cut
        if cutoffs:
            tx.execute(
                self._cut,
                [{"k_": k, "key_": key, "cut_": cut} for key, cut in sorted(cutoffs.items())],
            )
        return cutoffs

    # FeedCache
    def read(self, kind: ListKind, key: int, before: int | None, limit: int) -> CachedSlice | None:
        """Entries below ``before`` and at or above the floor; ``None`` if absent or building."""
        stmt = self._read[before is not None]
        params = {"k": _kind(kind), "key": key, "before": before, "n": limit}
        rows = self.db.read(lambda tx: tx.execute(stmt, params).all())
        if not rows or rows[0][0] is None:
            return None
        return CachedSlice(tuple(r[1] for r in rows if r[1] is not None), rows[0][0])

    def reset(self, kind: ListKind, key: int) -> None:
        """Replace the list with an empty one that is being rebuilt."""
        k = _kind(kind)

        def fn(tx: Tx) -> None:
            tx.execute(self._reset_list, {"kind": k, "list_key": key, "floor": None, "size": 0})
            tx.execute(self._clear, {"k": k, "key": key})

        self.db.write(fn)

    def merge(
        self, kind: ListKind, key: int, ids: Sequence[int], floor: int, max_length: int
    ) -> None:
        """Union ``ids`` in (creating the list), keep the newest ``max_length``, set the floor."""
        k = _kind(kind)
        wanted = list(dict.fromkeys(ids))

        def fn(tx: Tx) -> None:
            tx.execute(self._create_or_lock, {"kind": k, "list_key": key, "floor": None, "size": 0})
            size = tx.execute(self._list_state, {"k": k, "key": key}).one().size
            new = self._new_pairs(tx, k, [key], wanted).get(key, [])
            if new:
                tx.execute(
                    insert(self.tables.entries),
                    [{"kind": k, "list_key": key, "tweet_id": i} for i in new],
                )
                size += len(new)
            new_floor = floor
            if size > max_length:
                cut = self._trim(tx, k, {key: size}, max_length)[key]
                size = max_length
                new_floor = max(floor, cut)
            elif size == max_length:
                oldest = tx.execute(self._oldest, {"k": k, "key": key}).scalar_one()
                new_floor = max(floor, oldest)
            tx.execute(self._set_list, {"k_": k, "key_": key, "floor_": new_floor, "size_": size})

        self.db.write(fn)

    def _new_pairs(
        self, tx: Tx, k: int, keys: Sequence[int], ids: Sequence[int]
    ) -> dict[int, list[int]]:
        """For each key, the ``ids`` not in its list yet (the list rows must be locked)."""
        if not keys or not ids:
            return {}
        existing: set[tuple[int, int]] = set()
        for kc in chunks(keys, _CHUNK):
            for ic in chunks(ids, _CHUNK):
                params = {"k": k, "keys": list(kc), "ids": list(ic)}
                existing.update((r[0], r[1]) for r in tx.execute(self._existing, params))
        return {key: [i for i in ids if (key, i) not in existing] for key in keys}

    def _locked_lists(self, tx: Tx, k: int, keys: Sequence[int]) -> dict[int, tuple[Any, int]]:
        found: dict[int, tuple[Any, int]] = {}
        for chunk in chunks(keys, _CHUNK):
            for r in tx.execute(self._lock_lists, {"k": k, "keys": list(chunk)}):
                found[r.list_key] = (r.floor, r.size)
        return found

    def insert(
        self, kind: ListKind, keys: Sequence[int], ids: Sequence[int], max_length: int
    ) -> None:
        """Add ``ids`` at or above its floor to each existing list (all while it is being
        rebuilt), then trim to ``max_length`` raising the floor."""
        k = _kind(kind)
        keys = sorted(set(keys))
        wanted = list(dict.fromkeys(ids))
        if not keys:
            return

        def fn(tx: Tx) -> None:
            lists = self._locked_lists(tx, k, keys)
            if not lists:
                return
            new = self._new_pairs(tx, k, sorted(lists), wanted)
            rows: list[dict[str, int]] = []
            by_delta: defaultdict[int, list[int]] = defaultdict(list)
            sizes: dict[int, int] = {}
            for key, (floor, size) in lists.items():
                lo = 0 if floor is None else floor
                add = [i for i in new.get(key, ()) if i >= lo]
                sizes[key] = size + len(add)
                if add:
                    rows.extend({"kind": k, "list_key": key, "tweet_id": i} for i in add)
                    by_delta[len(add)].append(key)
            if rows:
                tx.execute(insert(self.tables.entries), rows)
            over = {key: s for key, s in sizes.items() if s > max_length}
            for delta, group in by_delta.items():
                group = [g for g in group if g not in over]
                for chunk in chunks(group, _CHUNK):
                    tx.execute(self._add_size, {"k": k, "keys": list(chunk), "delta": delta})
            if over:
                cuts = self._trim(tx, k, over, max_length)
                updates = []
                for key in sorted(over):
                    floor = lists[key][0]
                    if floor is not None:
                        floor = max(floor, cuts[key])
                    updates.append({"k_": k, "key_": key, "floor_": floor, "size_": max_length})
                tx.execute(self._set_list, updates)

        self.db.write(fn)

    def remove(self, kind: ListKind, keys: Sequence[int], ids: Sequence[int]) -> None:
        """Remove ``ids`` from each existing list among ``keys``."""
        k = _kind(kind)
        keys = sorted(set(keys))
        wanted = list(dict.fromkeys(ids))
        if not keys or not wanted:
            return

        def fn(tx: Tx) -> None:
            lists = self._locked_lists(tx, k, keys)
            if not lists:
                return
            present = sorted(lists)
            new = self._new_pairs(tx, k, present, wanted)
            by_delta: defaultdict[int, list[int]] = defaultdict(list)
            for key in present:
                gone = len(wanted) - len(new.get(key, ()))
                if gone:
                    by_delta[gone].append(key)
            if not by_delta:
                return
            hit = sorted(key for group in by_delta.values() for key in group)
            for kc in chunks(hit, _CHUNK):
                for ic in chunks(wanted, _CHUNK):
                    tx.execute(self._remove, {"k": k, "keys": list(kc), "ids": list(ic)})
            for delta, group in by_delta.items():
                for chunk in chunks(group, _CHUNK):
                    tx.execute(self._add_size, {"k": k, "keys": list(chunk), "delta": -delta})

        self.db.write(fn)

    def touch(self, user_id: int, now: datetime) -> datetime | None:
        """Record that the user was seen at ``now``; return the previous time, if any."""

        def fn(tx: Tx) -> datetime | None:
            for _ in range(3):
                previous = tx.execute(self._seen_get, {"u": user_id}).scalar()
                if previous is not None:
                    tx.execute(self._seen_set, {"u": user_id, "at": now})
                    return previous  # type: ignore[no-any-return]
                if tx.execute(self._seen_insert, {"user_id": user_id, "seen_at": now}).rowcount:
                    return None
            raise BackendError(f"touch({user_id}) kept racing with concurrent touches")

        return self.db.write(fn, idempotent=False)

    def active_among(self, user_ids: Sequence[int], since: datetime) -> list[int]:
        """The ``user_ids`` seen strictly after ``since``, in the given order."""
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return []

        def fn(tx: Tx) -> set[int]:
            found: set[int] = set()
            for chunk in chunks(ids, 1000):
                params = {"ids": list(chunk), "since": since}
                found.update(tx.execute(self._active, params).scalars())
            return found

        active = self.db.read(fn)
        return [u for u in user_ids if u in active]

    def get_hot_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet | None]:
        """Hot tweets among ``tweet_ids``; ``None`` for tombstones (their body is NULL)."""
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}

        def fn(tx: Tx) -> dict[int, Tweet | None]:
            out: dict[int, Tweet | None] = {}
            for chunk in chunks(ids, 1000):
                for i, body in tx.execute(self._hot_get, {"ids": list(chunk)}):
                    out[i] = None if body is None else _decode(body)
            return out

        return self.db.read(fn)

    def put_hot_tweets(self, tweets: Sequence[Tweet]) -> None:
        """Cache tweets (tombstoned ones are not revived); evict the oldest past capacity."""
        rows = {t.id: {"tweet_id": t.id, "tombstone": False, "body": _encode(t)} for t in tweets}
        if not rows:
            return
        self.db.write(lambda tx: tx.execute(self._hot_put, list(rows.values())))
        self._since_trim += len(rows)
        if self._since_trim > max(100, self._hot_capacity // 10):
            self._since_trim = 0
            self._trim_hot()

    def _trim_hot(self) -> None:
        hot = self.tables.hot

        def fn(tx: Tx) -> None:
            cut = tx.execute(
                select(hot.c.tweet_id)
                .order_by(hot.c.tweet_id.desc())
                .limit(1)
                .offset(self._hot_capacity)
            ).scalar()
            if cut is not None:
                tx.execute(delete(hot).where(hot.c.tweet_id <= cut))

        self.db.write(fn)

    def forget_hot_tweet(self, tweet_id: int) -> None:
        """Drop a deleted tweet and keep a tombstone so a racing put can't revive it."""
        row = {"tweet_id": tweet_id, "tombstone": True, "body": None}
        self.db.write(lambda tx: tx.execute(self._hot_forget, row))

    # lifecycle
    def drop_schema(self) -> None:
        """Drop this cache's tables (and its ``meta`` row): for tests and demos."""
        t = self.tables

        self.db.drop_schema(
            lambda tx: drop_component(tx.conn, [t.lists, t.entries, t.seen, t.hot], t.meta, "cache")
        )

    def close(self) -> None:
        """Release the connections of the engine this cache created."""
        self.db.dispose()
