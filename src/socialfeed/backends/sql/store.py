"""SQLStore: tweets, follows and home-timeline queries on one SQL database (a primary, plus
optional read replicas)."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, insert

from socialfeed.backends.sql import bulk
from socialfeed.backends.sql._db import (
    EngineLike,
    Tx,
    check_prefix,
    chunks,
    open_database,
    parse_url,
)
from socialfeed.backends.sql.bulk import TweetRow
from socialfeed.backends.sql.deployment import DeploymentMixin, lock_media
from socialfeed.backends.sql.migrate import migrate_store, version_table
from socialfeed.backends.sql.outbox import KINDS, OutboxMixin, record_event
from socialfeed.backends.sql.schema import DEFAULT_PREFIX, drop_component, store_tables
from socialfeed.backends.sql.social import SocialMixin
from socialfeed.backends.sql.statements import Statements, tweet_rows
from socialfeed.errors import DuplicateId, NotFound
from socialfeed.interfaces import Event
from socialfeed.models import Tweet
from socialfeed.settings import Settings

__all__ = ["EngineLike", "SQLStore", "TweetRow"]

T = TypeVar("T")


class _KeyTaken(Exception):
    """A concurrent call stored a tweet under the same idempotency key first."""


def _first(user_id: int) -> int:
    """Placement on one database: everyone lives on shard 0."""
    return 0


class SQLStore(OutboxMixin, DeploymentMixin, SocialMixin):
    """A :class:`~socialfeed.interfaces.TweetStore` and :class:`~socialfeed.interfaces.FollowGraph`
    with every optional ability (:class:`~socialfeed.interfaces.CompleteStore`,
    :class:`~socialfeed.interfaces.CompleteGraph`, the social rows of
    :mod:`~socialfeed.backends.sql.social` included) and worker-id leases, on SQLAlchemy Core, in
    one database. Every write and its :class:`~socialfeed.interfaces.Event` commit together.

    ``SQLStore(url_or_engine, prefix="socialfeed_", replicas=[...], read_your_writes=...)``;
    several databases with users placed by user id are a
    :class:`~socialfeed.backends.sql.sharded.ShardedSQLStore`. Tables are created on first use.
    ``db`` is its :class:`~socialfeed.backends.sql._db.Database`, ``statements`` its
    :class:`~socialfeed.backends.sql.statements.Statements`. See ``docs/backends/sql.md`` for
    the schema, the queries and their plans.
    """

    def __init__(
        self,
        database: EngineLike,
        *,
        prefix: str = DEFAULT_PREFIX,
        replicas: Sequence[EngineLike] = (),
        read_your_writes: timedelta = timedelta(seconds=5),
        replica_down_for: float = 5.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.prefix = check_prefix(prefix)
        self.tables = t = store_tables(prefix)
        self.db = open_database(
            database,
            replicas,
            read_your_writes=read_your_writes,
            replica_down_for=replica_down_for,
            engine_options=engine_options,
            schema=lambda tx: migrate_store(tx.conn, t),
        )
        self.statements = Statements(t, self.db.dialect)
        self._reads_primary = False
        self._primary_view: SQLStore | None = None

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> SQLStore:
        """A store for a SQLAlchemy URL. Query parameters ``socialfeed_prefix`` (table prefix)
        and ``socialfeed_replica`` (repeatable: a replica URL) are taken out of the URL."""
        database, prefix, replicas = parse_url(url)
        return cls(database, prefix=prefix, replicas=replicas)

    def engines(self) -> list[list[Engine]]:
        """The primary engine, then its replicas: as the only shard of
        :meth:`~socialfeed.backends.sql.sharded.ShardedSQLStore.engines`."""
        return [self.db.router.engines()]

    def on_primary(self) -> SQLStore:
        """The same store with every read on the primary (one view, shared by every caller)."""
        if self._reads_primary:
            return self
        if self._primary_view is None:
            view = copy.copy(self)
            view._reads_primary, view._primary_view = True, None
            self._primary_view = view
        return self._primary_view

    def _read(
        self, fn: Callable[[Tx], T], *, users: Iterable[int] = (), tweets: Iterable[int] = ()
    ) -> T:
        """A read where reads for ``users``/``tweets`` go (the primary, for the primary view)."""
        return self.db.read(fn, users=users, tweets=tweets, primary=self._reads_primary)

    def _column(self, stmt: Any, params: Mapping[str, Any], users: Iterable[int]) -> list[Any]:
        """The first column of ``stmt``'s rows, read where reads for ``users`` go."""
        return self._read(lambda tx: list(tx.execute(stmt, params).scalars()), users=users)

    # TweetStore, DurableTweetSupport
    def put_tweet(self, tweet: Tweet) -> None:
        """Store a tweet and its media rows (the same tweet again: a no-op; another under a held
        id: :class:`~socialfeed.errors.DuplicateId`)."""
        self.write_tweet(tweet, 0, None)

    def write_tweet(self, tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
        """The tweet, its media rows and references, its idempotency key and its ``tweet``
        event (unless ``event`` is 0), in one transaction; a used key returns its tweet."""
        row, media = tweet_rows(tweet)
        users, tweets = [tweet.author_id], [tweet.id]
        if not media and idempotency_key is None and self._put_row(row, event, users, tweets):
            return tweet  # the common case: one statement, one round trip on PostgreSQL
        st = self.statements
        key = {"author_id": tweet.author_id, "idem_key": idempotency_key}

        def fn(tx: Tx) -> int | None:
            if idempotency_key is not None and (earlier := tx.execute(st.key_tweet, key).scalar()):
                return int(earlier)
            if tx.execute(st.deleted_author, {"id": tweet.id}).first() is not None:
                return None
            if not tx.execute(st.insert_tweet, row).rowcount:
                return None
            if media:
                lock_media(tx, st, Counter(m["media_id"] for m in media))
                tx.execute(insert(st.t.tweet_media), media)
            if (
                idempotency_key is not None
                and not tx.execute(st.insert_key, {**key, "tweet_id": tweet.id}).rowcount
            ):
                raise _KeyTaken  # roll back: a concurrent retry stored the tweet first
            if event:
                record_event(tx, st, Event(event, "tweet", tweet.author_id, tweet.id))
            return tweet.id

        try:
            stored = self.db.write(fn, idempotent=False, users=users, tweets=tweets)
        except _KeyTaken:
            stored = self.db.read(lambda tx: tx.execute(st.key_tweet, key).scalar(), primary=True)
        if stored is None:
            return self._held(tweet)
        if stored == tweet.id:
            return tweet
        earlier = self.on_primary().get_tweets([stored]).get(stored)
        if earlier is None:  # pragma: no cover - a key goes with its tweet
            raise NotFound(f"the tweet of idempotency key {idempotency_key!r} was deleted")
        return earlier

    def _held(self, tweet: Tweet) -> Tweet:
        """The store already holds ``tweet.id``: a no-op if it is this very tweet (live, or
        deleted since), else :class:`DuplicateId`."""
        primary = self.on_primary()
        held = primary.get_tweets([tweet.id]).get(tweet.id)
        if held == tweet or (held is None and primary.deleted_authors([tweet.id])):
            return tweet
        raise DuplicateId(f"tweet id {tweet.id} is taken by another tweet")

    def _put_row(
        self, row: dict[str, Any], event: int, users: list[int], tweets: list[int]
    ) -> bool:
        """Insert one tweet row (no media) and its event as one statement on the primary;
        ``False`` when the id is held (or the store is not PostgreSQL: the caller then takes
        the general path).

        On PostgreSQL this is the posting hot path: the statement goes straight to a pooled
        psycopg connection of the autocommit pool (prepared by psycopg after a few executions),
        skipping SQLAlchemy's per-statement work (about 90 us of CPU per tweet). Any other error
        there invalidates that connection and leaves the tweet to the general path, which
        retries and translates errors like every other write."""
        db = self.db
        engine = db.router.primary_reads
        if engine is None or db.dialect != "postgresql":
            return False
        db.ensure_schema()
        raw: Any = None
        try:
            raw = engine.raw_connection()
            cursor = raw.cursor()
            try:
                cursor.execute(self.statements.insert_tweet_sql, _row_params(row, event))
                stored = bool(cursor.fetchone()[0])
            finally:
                cursor.close()
            raw.close()
        except Exception:
            if raw is not None:
                raw.invalidate()
            return False
        if stored:
            db.router.wrote(users, tweets)
        return stored

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``tweet_ids``."""
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}
        return self._read(lambda tx: self.statements.load_tweets(tx, ids), tweets=ids)

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Remove a tweet and its media rows, keeping a tombstone; return it if it was live."""
        return self.write_delete(tweet_id, 0)

    def write_delete(self, tweet_id: int, event: int) -> Tweet | None:
        """Delete the tweet, its media rows and references and its idempotency key, and record
        a tombstone and the ``delete`` event, in one transaction; the tweet if it was live."""
        st, t = self.statements, self.tables

        def fn(tx: Tx) -> Tweet | None:
            tweet = st.load_tweets(tx, [tweet_id]).get(tweet_id)
            if tweet is None:
                return None
            if not tx.execute(delete(t.tweets).where(t.tweets.c.id == tweet_id)).rowcount:
                return None  # a concurrent delete won
            tx.execute(delete(t.tweet_media).where(t.tweet_media.c.tweet_id == tweet_id))
            lock_media(tx, st, Counter({m.id: -1 for m in tweet.media}))
            now = datetime.now(UTC)
            tomb = {"id": tweet_id, "author_id": tweet.author_id, "deleted_at": now}
            tx.execute(st.insert_deleted, tomb)
            tx.execute(st.drop_key, {"tweet_id": tweet_id})
            if event:
                record_event(tx, st, Event(event, "delete", tweet.author_id, tweet_id))
            return tweet

        found = self.db.write(fn, idempotent=False, tweets=[tweet_id])
        if found is not None:
            self.db.router.wrote(users=[found.author_id])
        return found

    def deleted_authors(self, tweet_ids: Sequence[int]) -> dict[int, int]:
        """The authors of deleted tweets among ``tweet_ids`` (their tombstones)."""
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}
        st = self.statements

        def fn(tx: Tx) -> dict[int, int]:
            found: dict[int, int] = {}
            for chunk in chunks(ids, 1000):
                for tweet_id, author in tx.execute(st.deleted_among, {"ids": list(chunk)}):
                    found[tweet_id] = author
            return found

        return self._read(fn, tweets=ids)

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """The author's live tweet ids below ``before``, newest first."""
        stmt = self.statements.author_ids[before is not None]
        return self._column(stmt, {"u": author_id, "n": limit, "before": before}, [author_id])

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Media among ``media_ids`` referenced by a live tweet."""
        ids = list(dict.fromkeys(media_ids))
        if not ids:
            return set()
        st = self.statements
        return self._read(lambda tx: set(st.scalars_in(tx, st.media_used, ids)))

    # FollowGraph, DurableFollowSupport
    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; the followee's follower count after it, or ``None`` if it existed."""
        return self._edge(follower_id, followee_id, add=True, event=0)

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge; the followee's follower count after, or ``None`` if absent."""
        return self._edge(follower_id, followee_id, add=False, event=0)

    def write_follow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``add_follow`` and its ``follow`` event, in one transaction."""
        return self._edge(follower_id, followee_id, add=True, event=event)

    def write_unfollow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``remove_follow`` and its ``unfollow`` event, in one transaction."""
        return self._edge(follower_id, followee_id, add=False, event=event)

    def _edge(self, f: int, e: int, *, add: bool, event: int) -> int | None:
        """The edge, both counts and the event in one transaction; the count read with its row
        locked."""
        st, delta = self.statements, 1 if add else -1

        def fn(tx: Tx) -> int | None:
            if not st.edge_op(tx, f, e, add=add):
                return None
            # counts rows are locked in ascending user id order: no deadlock between follows
            for user, col in sorted([(e, "followers"), (f, "following")]):
                st.bump(tx, user, col, delta)
            count = st.follower_count(tx, e)
            if event:
                record_event(tx, st, Event(event, "follow" if add else "unfollow", f, e, count))
            return count

        return self.db.write(fn, idempotent=False, users=[f, e])

    def _page(
        self, stmts: Mapping[bool, Any], user_id: int, after: int | None, limit: int
    ) -> list[int]:
        params = {"u": user_id, "n": limit, "after": after}
        return self._column(stmts[after is not None], params, [user_id])

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followers of ``user_id`` above ``after``, ascending."""
        return self._page(self.statements.followers_page, user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followees of ``user_id`` above ``after``, ascending."""
        return self._page(self.statements.following_page, user_id, after, limit)

    def _count(self, col: str, user_id: int) -> int:
        stmt = self.statements.count[col]
        found = self._read(lambda tx: tx.execute(stmt, {"u": user_id}).scalar(), users=[user_id])
        return int(found or 0)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        return self._count("followers", user_id)

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        return self._count("following", user_id)

    def followers_among(self, user_id: int, candidates: Sequence[int]) -> set[int]:
        """The ``candidates`` that follow ``user_id``."""
        ids = list(dict.fromkeys(candidates))
        if not ids:
            return set()
        st = self.statements
        return self._read(
            lambda tx: set(st.scalars_in(tx, st.followers_among, ids, u=user_id)), users=[user_id]
        )

    # FanoutGraphSupport
    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """:meth:`followers` for each ``(user_id, after)``, in order, in one query (per chunk of
        pages), read where :meth:`followers` reads (a replica when there are some)."""
        users = [u for u, _ in pages]
        return self._read(lambda tx: self.statements.followers_pages(tx, pages, limit), users=users)

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower_id, followee_id)`` pairs among ``pairs`` that are edges: one query (per
        chunk), always on the primary, because fan-out uses it to re-check edges after writing
        and it must see every unfollow that committed."""
        if not pairs:
            return set()
        return self.db.read(lambda tx: self.statements.edges(tx, pairs), primary=True)

    # FollowerCountSupport
    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """The ``user_ids`` with at least ``min_followers`` followers (one query)."""
        ids = list(dict.fromkeys(user_ids))
        return set(self._min_followers(ids, min_followers, ids)) if ids else set()

    def _min_followers(
        self, user_ids: Sequence[int], min_followers: int, read_for: Iterable[int]
    ) -> list[int]:
        """The ``user_ids`` (distinct) with at least ``min_followers`` followers, read where
        reads for the users ``read_for`` go."""
        st = self.statements
        return self._read(
            lambda tx: st.scalars_in(tx, st.counts_among, user_ids, min=min_followers),
            users=read_for,
        )

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """Followees of ``user_id`` with at least ``min_followers`` followers, ascending."""
        params = {"u": user_id, "min": min_followers}
        return self._column(self.statements.celebs, params, [user_id])

    # HomeTimelineSupport
    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of home(user_id) ids in one query."""
        stmt = self.statements.home[before is not None]
        return self._column(stmt, {"u": user_id, "n": limit, "before": before}, [user_id])

    # bulk import
    def import_follows(
        self,
        pairs: Iterable[tuple[int, int]],
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add many edges, ``batch_size`` per transaction; return how many were new.

        Idempotent: edges that exist are skipped and counts move only for new ones, so an
        interrupted import can simply be run again. ``progress(n)`` is called after each batch
        with the number of pairs processed so far.
        """
        return bulk.import_follows([self], _first, pairs, batch_size, progress)

    def import_tweets(
        self,
        rows: Iterable[TweetRow],
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Store many tweets (``Tweet`` objects or ``(id, author_id, text, created_at)`` tuples),
        ``batch_size`` per transaction; return how many rows were processed.

        Idempotent: existing ids are skipped. ``progress(n)`` is called after each batch with the
        number of rows processed so far.
        """
        return bulk.import_tweets([self], _first, rows, batch_size, progress)

    # lifecycle
    def create_schema(self) -> None:
        """Create (or check) the tables now instead of on first use."""
        self.db.ensure_schema()

    def drop_schema(self) -> None:
        """Drop this store's tables (with its migration history and ``meta`` row): for tests
        and demos."""
        t = self.tables

        def fn(tx: Tx) -> None:
            tx.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {version_table(self.prefix)}")
            drop_component(tx.conn, t.all, t.meta, "store")

        self.db.drop_schema(fn)

    def close(self) -> None:
        """Release the connections of the engines this store created."""
        self.db.dispose()


def _row_params(row: dict[str, Any], event: int) -> dict[str, Any]:
    """The raw insert's parameters (as UTCDateTime binds it on PostgreSQL: naive means UTC)."""
    at = row["created_at"]
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return {**row, "created_at": at, "event": event, "kind": KINDS["tweet"]}
