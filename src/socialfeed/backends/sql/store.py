"""SQLStore: tweets, follows and home-timeline queries on one or more SQL databases."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Engine,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    true,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import URL, make_url

from socialfeed.backends.sql._db import Database, SchemaOnce, Tx, make_engine
from socialfeed.backends.sql._dialect import insert_ignore, one_of, upsert_add
from socialfeed.backends.sql.routing import ReplicaRouter, jump_hash
from socialfeed.backends.sql.schema import (
    DEFAULT_PREFIX,
    STORE_SCHEMA_VERSION,
    StoreTables,
    drop_component,
    ensure_schema,
    store_tables,
)
from socialfeed.errors import ValidationError
from socialfeed.ids import MAX_ID
from socialfeed.models import Media, Tweet
from socialfeed.settings import Settings

__all__ = ["EngineLike", "SQLStore", "TweetRow"]

T = TypeVar("T")
V = TypeVar("V")
EngineLike = str | URL | Engine
"""A database: a SQLAlchemy URL (string or :class:`~sqlalchemy.engine.URL`) or a ready Engine."""
TweetRow = Tweet | tuple[int, int, str, datetime]
"""What :meth:`SQLStore.import_tweets` takes: a Tweet, or ``(id, author_id, text, created_at)``."""

_CHUNK = 1000  # ids per IN list
_PAGES_CHUNK = 200  # follower pages per statement (SQLite/MariaDB: one subquery each)
_PG_CHUNK = 50_000  # pages or pairs per fan-out statement on PostgreSQL (array literals)


def _array(ids: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers, e.g. ``{1,2,3}``."""
    return "{" + ",".join(map(str, ids)) + "}"


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _engine(value: EngineLike, owned: list[Engine], options: Mapping[str, Any]) -> Engine:
    if isinstance(value, Engine):
        return value
    engine = make_engine(value, **options)
    owned.append(engine)
    return engine


def _is_postgres(value: EngineLike) -> bool:
    return not isinstance(value, Engine) and make_url(value).get_backend_name() == "postgresql"


def _reads(value: EngineLike, options: Mapping[str, Any]) -> Mapping[str, Any]:
    """Reads are single statements: on PostgreSQL an autocommit pool saves BEGIN and ROLLBACK
    round trips (a pool of its own, so connections never switch modes)."""
    if _is_postgres(value) and "isolation_level" not in options:
        return {**options, "isolation_level": "AUTOCOMMIT"}
    return options


def _read_engine(
    value: EngineLike, owned: list[Engine], options: Mapping[str, Any]
) -> Engine | None:
    if not _is_postgres(value) or "isolation_level" in options:
        return None  # a ready Engine (or SQLite/MySQL): reads share the primary's pool
    return _engine(value, owned, _reads(value, options))


class _Shard:
    """One database (primary + replicas) holding its share of users, with prebuilt statements."""

    def __init__(self, db: Database, t: StoreTables) -> None:
        self.db = db
        self.t = t
        self.dialect = db.dialect
        self._schema = SchemaOnce(
            db, lambda tx: ensure_schema(tx.conn, t.metadata, t.meta, "store", STORE_SCHEMA_VERSION)
        )
        tw, m, f, c = t.tweets, t.tweet_media, t.follows, t.user_counts
        d = self.dialect
        self.load = (
            select(
                tw.c.id, tw.c.author_id, tw.c.text, tw.c.created_at,
                m.c.position, m.c.media_id, m.c.content_type, m.c.size,
            )
            .select_from(tw.outerjoin(m, m.c.tweet_id == tw.c.id))
            .where(one_of(d, tw.c.id, "ids"))
        )  # fmt: skip
        self.insert_tweet = insert_ignore(d, tw)
        self.insert_tweet_sql = (  # PostgreSQL, for the raw hot path of put_tweet
            f"INSERT INTO {tw.name} (id, author_id, text, created_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
        )
        self.insert_media = insert_ignore(d, m)
        self.insert_follow = insert_ignore(d, f)
        self.counts_add = upsert_add(d, c, ["user_id"], ["followers", "following"])
        u = bindparam("u", type_=BigInteger)
        n: Any = bindparam("n")
        self.author_ids = {
            has_before: select(tw.c.id)
            .where(tw.c.author_id == u, *([tw.c.id < bindparam("before")] if has_before else []))
            .order_by(tw.c.id.desc())
            .limit(n)
            for has_before in (False, True)
        }
        self.home = {has_before: self._home(u, n, has_before) for has_before in (False, True)}
        self.authors_home = {
            has_before: self._authors_home(n, has_before) for has_before in (False, True)
        }
        self.followers_page = {
            has_after: select(f.c.follower_id)
            .where(f.c.followee_id == u, *([f.c.follower_id > bindparam("after")] * has_after))
            .order_by(f.c.follower_id)
            .limit(n)
            for has_after in (False, True)
        }
        self.following_page = {
            has_after: select(f.c.followee_id)
            .where(f.c.follower_id == u, *([f.c.followee_id > bindparam("after")] * has_after))
            .order_by(f.c.followee_id)
            .limit(n)
            for has_after in (False, True)
        }
        self.count = {
            col: select(c.c[col]).where(c.c.user_id == u) for col in ("followers", "following")
        }
        self.count_lock = (
            select(c.c.followers).where(c.c.user_id == u).with_for_update()
            if d != "sqlite"
            else select(c.c.followers).where(c.c.user_id == u)
        )
        self.celebs = (
            select(f.c.followee_id)
            .join(c, c.c.user_id == f.c.followee_id)
            .where(f.c.follower_id == u, c.c.followers >= bindparam("min"))
            .order_by(f.c.followee_id)
        )
        self.followers_among = select(f.c.follower_id).where(
            f.c.followee_id == u, one_of(d, f.c.follower_id, "ids")
        )
        # Fan-out reads on PostgreSQL: the id lists travel as array literals and the followers
        # come back as one comma-separated string per page, which is much cheaper for the
        # driver than one parameter element or one result row per id.
        self.followers_many_pg = text(
            "SELECT p.n, (SELECT string_agg(s.follower_id::text, ',' ORDER BY s.follower_id)"
            f" FROM (SELECT follower_id FROM {f.name} WHERE followee_id = p.u"
            " AND follower_id > p.a ORDER BY follower_id LIMIT :n) AS s)"
            " FROM unnest(CAST(:users AS BIGINT[]), CAST(:afters AS BIGINT[]))"
            " WITH ORDINALITY AS p(u, a, n)"
        ).bindparams(bindparam("n", type_=Integer))
        self.edges_missing_pg = text(
            "SELECT p.f, p.e FROM unnest(CAST(:fs AS BIGINT[]), CAST(:es AS BIGINT[])) AS p(f, e)"
            f" WHERE NOT EXISTS (SELECT 1 FROM {f.name} AS x"
            " WHERE x.follower_id = p.f AND x.followee_id = p.e)"
        )
        self.edges_in = select(f.c.follower_id, f.c.followee_id).where(
            tuple_(f.c.followee_id, f.c.follower_id).in_(bindparam("pairs", expanding=True))
        )
        self.counts_among = select(c.c.user_id).where(
            one_of(d, c.c.user_id, "ids"), c.c.followers >= bindparam("min")
        )
        self.media_used = (
            select(m.c.media_id).distinct().where(one_of(d, m.c.media_id, "ids", String(255)))
        )

    def _home(self, u: Any, n: Any, has_before: bool) -> Select[Any]:
        """home(u) in one query: LATERAL per author on PostgreSQL, ``IN`` + sort elsewhere."""
        tw, f = self.t.tweets, self.t.follows
        cond = [tw.c.id < bindparam("before")] if has_before else []
        authors = union(
            select(f.c.followee_id.label("a")).where(f.c.follower_id == u),
            select(u.label("a")),
        )
        if self.dialect == "postgresql":
            return self._newest_lateral(authors.subquery("au"), n, cond)
        return (
            select(tw.c.id)
            .where(tw.c.author_id.in_(authors), *cond)
            .order_by(tw.c.id.desc())
            .limit(n)
        )

    def _newest_lateral(self, au: Any, n: Any, cond: list[Any]) -> Select[Any]:
        """PostgreSQL: for each author in ``au`` (column ``a``) its newest ``n`` tweets through a
        LATERAL join on ``tweets(author_id, id DESC)``, then the newest ``n`` of those."""
        tw = self.t.tweets
        lat = (
            select(tw.c.id)
            .where(tw.c.author_id == au.c.a, *cond)
            .order_by(tw.c.id.desc())
            .limit(n)
            .lateral("t")
        )
        return select(lat.c.id).select_from(au.join(lat, true())).order_by(lat.c.id.desc()).limit(n)

    def _authors_home(self, n: Any, has_before: bool) -> Select[Any]:
        """The newest ``n`` tweets of a given list of authors (a shard's part of a sharded pull)."""
        tw = self.t.tweets
        cond = [tw.c.id < bindparam("before")] if has_before else []
        if self.dialect == "postgresql":
            au = (
                func.unnest(bindparam("authors", type_=ARRAY(BigInteger)))
                .table_valued("a")
                .render_derived(name="au")
            )
            return self._newest_lateral(au, n, cond)
        return (
            select(tw.c.id)
            .where(tw.c.author_id.in_(bindparam("authors", expanding=True)), *cond)
            .order_by(tw.c.id.desc())
            .limit(n)
        )

    def ensure(self) -> None:
        """Create (or check) the schema on first use."""
        self._schema.ensure()

    def read(
        self, fn: Callable[[Tx], T], *, users: Iterable[int] = (), tweets: Iterable[int] = ()
    ) -> T:
        """A read on a replica or the primary."""
        self.ensure()
        return self.db.read(fn, users=users, tweets=tweets)

    def write(
        self,
        fn: Callable[[Tx], T],
        *,
        idempotent: bool = True,
        users: Iterable[int] = (),
        tweets: Iterable[int] = (),
    ) -> T:
        """A write transaction on the primary."""
        self.ensure()
        return self.db.write(fn, idempotent=idempotent, users=users, tweets=tweets)

    def write_one(
        self,
        stmt: Any,
        params: Mapping[str, Any],
        *,
        users: Iterable[int] = (),
        tweets: Iterable[int] = (),
    ) -> Any:
        """One idempotent statement as its own transaction on the primary (see
        :meth:`Database.write_one`)."""
        self.ensure()
        return self.db.write_one(stmt, params, users=users, tweets=tweets)

    def put_row(self, row: dict[str, Any], *, users: list[int], tweets: list[int]) -> None:
        """Insert one tweet row (no media) as its own transaction on the primary.

        On PostgreSQL this is the posting hot path: the ``INSERT`` goes straight to a pooled
        psycopg connection of the autocommit pool (prepared by psycopg after a few executions),
        skipping SQLAlchemy's per-statement work (about 90 us of CPU per tweet). Any error
        there invalidates that connection and the insert runs again through
        :meth:`write_one`, which retries and translates errors like every other write (the
        insert is idempotent, so running it twice is harmless)."""
        self.ensure()
        engine = self.db.router.primary_reads
        if engine is not None and self.dialect == "postgresql":
            raw: Any = None
            try:
                raw = engine.raw_connection()
                cursor = raw.cursor()
                try:
                    cursor.execute(self.insert_tweet_sql, self._row_tuple(row))
                finally:
                    cursor.close()
                raw.close()
            except Exception:
                if raw is not None:
                    raw.invalidate()
            else:
                self.db.router.wrote(users, tweets)
                return
        self.write_one(self.insert_tweet, row, users=users, tweets=tweets)

    @staticmethod
    def _row_tuple(row: dict[str, Any]) -> tuple[Any, ...]:
        at = row["created_at"]  # as UTCDateTime binds it on PostgreSQL: naive means UTC
        return (row["id"], row["author_id"], row["text"], at if at.tzinfo else _utc(at))

    def followers_pages(
        self, tx: Tx, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """``followers(u, after, limit)`` for each page, in one statement per chunk of pages."""
        out: list[list[int]] = [[] for _ in pages]
        pg = self.dialect == "postgresql"
        size = _PG_CHUNK if pg else _PAGES_CHUNK
        for start in range(0, len(pages), size):
            chunk = pages[start : start + size]
            if pg:
                params: dict[str, Any] = {
                    "users": _array(u for u, _ in chunk),
                    "afters": _array(a or 0 for _, a in chunk),  # ids are >= 1
                    "n": limit,
                }
                for n, ids in tx.execute(self.followers_many_pg, params).all():
                    if ids:  # ordinality counts from 1
                        out[start + n - 1] = list(map(int, ids.split(",")))
                continue
            for n, follower in tx.execute(*self._followers_union(chunk, limit)).all():
                out[start + n - 1].append(follower)
        return out

    def _followers_union(
        self, chunk: Sequence[tuple[int, int | None]], limit: int
    ) -> tuple[Any, dict[str, Any]]:
        """SQLite/MariaDB: a ``UNION ALL`` of one index range scan per page."""
        f = self.t.follows
        parts = []
        params: dict[str, Any] = {"n": limit}
        for i, (u, after) in enumerate(chunk):
            params[f"u{i}"], params[f"a{i}"] = u, after or 0
            sub = (
                select(literal(i + 1).label("n"), f.c.follower_id)
                .where(
                    f.c.followee_id == bindparam(f"u{i}", type_=BigInteger),
                    f.c.follower_id > bindparam(f"a{i}", type_=BigInteger),
                )
                .order_by(f.c.follower_id)
                .limit(bindparam("n", type_=Integer))
                .subquery(f"p{i}")
            )
            parts.append(select(sub.c.n, sub.c.follower_id))
        return union_all(*parts), params

    def edges(self, tx: Tx, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower, followee)`` edges among ``pairs``, one statement per chunk (on
        PostgreSQL the query returns the pairs that are *not* edges: usually none)."""
        found: set[tuple[int, int]] = set()
        params: dict[str, Any]
        if self.dialect == "postgresql":
            for chunk in _chunks(pairs, _PG_CHUNK):
                params = {"fs": _array(p[0] for p in chunk), "es": _array(p[1] for p in chunk)}
                missing = tx.execute(self.edges_missing_pg, params).all()
                found.update(set(chunk).difference((f, e) for f, e in missing))
            return found
        for chunk in _chunks(pairs, _CHUNK):
            params = {"pairs": [(e, f) for f, e in chunk]}
            found.update((f, e) for f, e in tx.execute(self.edges_in, params).all())
        return found

    def load_tweets(self, tx: Tx, ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``ids`` with their media, in one query per chunk."""
        rows: dict[int, Any] = {}
        media: defaultdict[int, list[tuple[int, Media]]] = defaultdict(list)
        for chunk in _chunks(ids, _CHUNK):
            for r in tx.execute(self.load, {"ids": list(chunk)}):
                rows[r.id] = r
                if r.media_id is not None:
                    media[r.id].append((r.position, Media(r.media_id, r.content_type, r.size)))
        out: dict[int, Tweet] = {}
        for i, r in rows.items():
            ms = media.get(i)
            attached = tuple(x for _, x in sorted(ms, key=lambda p: p[0])) if ms else ()
            out[i] = Tweet(i, r.author_id, r.text, r.created_at, attached)
        return out


def _tweet_row(row: Any) -> Tweet:
    if isinstance(row, Tweet):
        tweet = row
    elif isinstance(row, tuple) and len(row) == 4:
        tweet = Tweet(row[0], row[1], row[2], row[3])
    else:
        raise ValidationError(
            "rows", f"expected a Tweet or (id, author_id, text, created_at), got {row!r}"
        )
    for field, value in (("tweet id", tweet.id), ("author_id", tweet.author_id)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise ValidationError(
                "rows", f"{field} must be an integer in 1..{MAX_ID}, got {value!r}"
            )
    if not isinstance(tweet.text, str):
        raise ValidationError("rows", f"text must be a str, got {type(tweet.text).__name__}")
    if not isinstance(tweet.created_at, datetime):
        raise ValidationError("rows", f"created_at must be a datetime, got {tweet.created_at!r}")
    return tweet


def _utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=UTC)


def _check_pair(pair: Any) -> tuple[int, int]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ValidationError("pairs", f"expected (follower_id, followee_id), got {pair!r}")
    f, e = pair
    for value in (f, e):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise ValidationError(
                "pairs", f"user ids must be integers in 1..{MAX_ID}, got {pair!r}"
            )
    if f == e:
        raise ValidationError("pairs", f"a user cannot follow themselves: {pair!r}")
    return f, e


def _batches(rows: Iterable[T], size: int) -> Iterable[list[T]]:
    batch: list[T] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class SQLStore:
    """A :class:`~socialfeed.interfaces.TweetStore`, :class:`~socialfeed.interfaces.FollowGraph`
    (with :class:`~socialfeed.interfaces.FollowerCountSupport` and
    :class:`~socialfeed.interfaces.FanoutGraphSupport`) and
    :class:`~socialfeed.interfaces.HomeTimelineSupport` on SQLAlchemy Core.

    ``SQLStore(url_or_engine, prefix="socialfeed_", replicas=[...], read_your_writes=...)`` for
    one database (optionally with read replicas), or :meth:`sharded` for several databases with
    users placed by :func:`~socialfeed.backends.sql.routing.jump_hash`. Tables are created on first
    use. See ``docs/backends/sql.md`` for the schema, the queries and their plans.
    """

    def __init__(
        self,
        database: EngineLike | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        replicas: Sequence[EngineLike] = (),
        read_your_writes: timedelta = timedelta(seconds=5),
        shards: Sequence[EngineLike] | None = None,
        shard_replicas: Mapping[int, Sequence[EngineLike]] | None = None,
        replica_down_for: float = 5.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if (database is None) == (shards is None):
            raise ValidationError("database", "pass either one database or shards=[...]")
        if not isinstance(prefix, str) or not prefix.replace("_", "").isalnum():
            raise ValidationError("prefix", f"must be letters, digits and '_', got {prefix!r}")
        if shards is not None and (not shards or replicas):
            raise ValidationError(
                "shards",
                "needs at least one shard; give replicas per shard "
                "with shard_replicas={index: [...]}",
            )
        options = dict(engine_options or {})
        self._owned: list[Engine] = []
        primaries = [database] if database is not None else list(shards or ())
        per_shard = {0: replicas} if database is not None else dict(shard_replicas or {})
        tables = store_tables(prefix)
        self.prefix = prefix
        self.tables = tables
        self._shards: list[_Shard] = []
        for i, primary in enumerate(primaries):
            router = ReplicaRouter(
                _engine(primary, self._owned, options),
                [_engine(r, self._owned, _reads(r, options)) for r in per_shard.get(i, ())],
                read_your_writes,
                replica_down_for,
                primary_reads=_read_engine(primary, self._owned, options),
            )
            self._shards.append(_Shard(Database(router), tables))
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @classmethod
    def sharded(
        cls,
        shards: Sequence[EngineLike],
        *,
        replicas: Mapping[int, Sequence[EngineLike]] | None = None,
        **options: Any,
    ) -> SQLStore:
        """A store over several databases; user ``u`` lives on shard
        ``jump_hash(u, len(shards))``; ``replicas`` maps a shard index to its read replicas."""
        return cls(shards=shards, shard_replicas=replicas, **options)

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> SQLStore:
        """A store for a SQLAlchemy URL. Query parameters ``socialfeed_prefix`` (table prefix)
        and ``socialfeed_replica`` (repeatable: a replica URL) are taken out of the URL."""
        u = make_url(url)
        query = dict(u.query)
        prefix = query.pop("socialfeed_prefix", DEFAULT_PREFIX)
        replicas = query.pop("socialfeed_replica", ())
        if isinstance(prefix, tuple):
            prefix = prefix[-1]
        if isinstance(replicas, str):
            replicas = (replicas,)
        return cls(u.set(query=query), prefix=prefix, replicas=list(replicas))

    # placement
    @property
    def shard_count(self) -> int:
        """How many databases hold the users."""
        return len(self._shards)

    def shard_index(self, user_id: int) -> int:
        """The shard that holds ``user_id``'s tweets, edges and counts."""
        n = len(self._shards)
        return jump_hash(user_id, n) if n > 1 else 0

    def _shard(self, user_id: int) -> _Shard:
        return self._shards[self.shard_index(user_id)]

    def engines(self) -> list[list[Engine]]:
        """Per shard: the primary engine, then its replicas."""
        return [s.db.router.engines() for s in self._shards]

    def _executor(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=len(self._shards), thread_name_prefix="socialfeed-sql"
                    )
                pool = self._pool
        return pool

    def _scatter(self, shards: Sequence[_Shard], fn: Callable[[_Shard], T]) -> list[T]:
        """``fn`` on each shard, in parallel when there are several."""
        if len(shards) == 1:
            return [fn(shards[0])]
        return list(self._executor().map(fn, shards))

    # TweetStore
    def put_tweet(self, tweet: Tweet) -> None:
        """Store a tweet and its media rows in one transaction (a no-op if the id exists)."""
        row = {
            "id": tweet.id,
            "author_id": tweet.author_id,
            "text": tweet.text,
            "created_at": tweet.created_at,
        }
        media = [
            {
                "tweet_id": tweet.id,
                "position": p,
                "media_id": m.id,
                "content_type": m.content_type,
                "size": m.size,
            }
            for p, m in enumerate(tweet.media)
        ]
        sh = self._shard(tweet.author_id)
        if not media:  # the common case: one statement, one round trip on PostgreSQL
            sh.put_row(row, users=[tweet.author_id], tweets=[tweet.id])
            return

        def fn(tx: Tx) -> None:
            if tx.execute(sh.insert_tweet, row).rowcount:
                tx.execute(insert(sh.t.tweet_media), media)

        sh.write(fn, users=[tweet.author_id], tweets=[tweet.id])

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``tweet_ids`` (sharded: asked of every shard in parallel)."""
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}
        out: dict[int, Tweet] = {}
        for part in self._scatter(
            self._shards, lambda sh: sh.read(lambda tx: sh.load_tweets(tx, ids), tweets=ids)
        ):
            out.update(part)
        return out

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Remove a tweet and its media rows; return it if it was live."""
        for sh in self._shards:

            def fn(tx: Tx, sh: _Shard = sh) -> Tweet | None:
                tweet = sh.load_tweets(tx, [tweet_id]).get(tweet_id)
                if tweet is None:
                    return None
                t = sh.t
                if not tx.execute(delete(t.tweets).where(t.tweets.c.id == tweet_id)).rowcount:
                    return None  # a concurrent delete won
                tx.execute(delete(t.tweet_media).where(t.tweet_media.c.tweet_id == tweet_id))
                return tweet

            found = sh.write(fn, idempotent=False, tweets=[tweet_id])
            if found is not None:
                sh.db.router.wrote(users=[found.author_id])
                return found
        return None

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """The author's live tweet ids below ``before``, newest first."""
        sh = self._shard(author_id)
        stmt = sh.author_ids[before is not None]
        params = {"u": author_id, "n": limit, "before": before}
        return sh.read(lambda tx: list(tx.execute(stmt, params).scalars()), users=[author_id])

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Media among ``media_ids`` referenced by a live tweet."""
        ids = list(dict.fromkeys(media_ids))
        if not ids:
            return set()

        def one(sh: _Shard) -> set[str]:
            def fn(tx: Tx) -> set[str]:
                found: set[str] = set()
                for chunk in _chunks(ids, _CHUNK):
                    found.update(tx.execute(sh.media_used, {"ids": list(chunk)}).scalars())
                return found

            return sh.read(fn)

        return set().union(*self._scatter(self._shards, one))

    # FollowGraph
    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; the followee's follower count after it, or ``None`` if it existed."""
        return self._edge(follower_id, followee_id, add=True)

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge; the followee's follower count after, or ``None`` if absent."""
        return self._edge(follower_id, followee_id, add=False)

    def _edge(self, f: int, e: int, *, add: bool) -> int | None:
        sf, se = self._shard(f), self._shard(e)
        delta = 1 if add else -1
        edge = {"follower_id": f, "followee_id": e}

        def edge_op(tx: Tx, sh: _Shard) -> int:
            if add:
                return int(tx.execute(sh.insert_follow, edge).rowcount)
            fl = sh.t.follows.c
            stmt = delete(sh.t.follows).where(fl.follower_id == f, fl.followee_id == e)
            return int(tx.execute(stmt).rowcount)

        def bump(tx: Tx, sh: _Shard, user: int, col: str) -> None:
            row = {"user_id": user, "followers": 0, "following": 0}
            row[col] = delta
            tx.execute(sh.counts_add, row)

        if sf is se:

            def same(tx: Tx) -> int | None:
                if not edge_op(tx, se):
                    return None
                # counts rows are locked in ascending user id order: no deadlock between follows
                for user, col in sorted([(e, "followers"), (f, "following")]):
                    bump(tx, se, user, col)
                return int(tx.execute(se.count["followers"], {"u": e}).scalar_one())

            return se.write(same, idempotent=False, users=[f, e])

        # Across shards: lock both users' count rows (lower shard index first, so there is one
        # global lock order), then write the edge on the followee's shard (the authority for the
        # result) and on the follower's shard. The follower-side write runs even when the edge
        # already existed, so a crash between the two commits is repaired by the next call.
        first, second = sorted([(self.shard_index(f), f, sf), (self.shard_index(e), e, se)])
        lock = {"followers": 0, "following": 0}

        def outer(tx1: Tx) -> int | None:
            tx1.execute(first[2].counts_add, {"user_id": first[1], **lock})

            def inner(tx2: Tx) -> int | None:
                tx2.execute(second[2].counts_add, {"user_id": second[1], **lock})
                tx_f, tx_e = (tx1, tx2) if first[1] == f else (tx2, tx1)
                changed = edge_op(tx_e, se)
                if edge_op(tx_f, sf):
                    bump(tx_f, sf, f, "following")
                if not changed:
                    return None
                bump(tx_e, se, e, "followers")
                return int(tx_e.execute(se.count["followers"], {"u": e}).scalar_one())

            return second[2].write(inner, idempotent=False, users=[f, e])

        return first[2].write(outer, idempotent=False, users=[f, e])

    def _user_page(self, which: str, user_id: int, after: int | None, limit: int) -> list[int]:
        sh = self._shard(user_id)
        stmt = (sh.followers_page if which == "followers" else sh.following_page)[after is not None]
        params = {"u": user_id, "n": limit, "after": after}
        return sh.read(lambda tx: list(tx.execute(stmt, params).scalars()), users=[user_id])

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followers of ``user_id`` above ``after``, ascending."""
        return self._user_page("followers", user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followees of ``user_id`` above ``after``, ascending."""
        return self._user_page("following", user_id, after, limit)

    def _count(self, col: str, user_id: int) -> int:
        sh = self._shard(user_id)
        stmt = sh.count[col]
        found = sh.read(lambda tx: tx.execute(stmt, {"u": user_id}).scalar(), users=[user_id])
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
        sh = self._shard(user_id)

        def fn(tx: Tx) -> set[int]:
            found: set[int] = set()
            for chunk in _chunks(ids, _CHUNK):
                params = {"u": user_id, "ids": list(chunk)}
                found.update(tx.execute(sh.followers_among, params).scalars())
            return found

        return sh.read(fn, users=[user_id])

    # FanoutGraphSupport
    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """:meth:`followers` for each ``(user_id, after)``, in order: one query per shard (per
        chunk of pages), read where :meth:`followers` reads (a replica when there are some)."""
        out: list[list[int]] = [[] for _ in pages]
        by_shard: dict[int, list[int]] = {}
        if len(self._shards) == 1:
            by_shard[0] = list(range(len(pages)))
        else:
            for n, (user_id, _) in enumerate(pages):
                by_shard.setdefault(self.shard_index(user_id), []).append(n)

        def one(item: tuple[_Shard, list[int]]) -> None:
            sh, ns = item
            mine = [pages[n] for n in ns]
            users = [u for u, _ in mine]
            found = sh.read(lambda tx: sh.followers_pages(tx, mine, limit), users=users)
            for n, followers in zip(ns, found, strict=True):
                out[n] = followers

        items = [(self._shards[i], ns) for i, ns in by_shard.items()]
        self._scatter_items(items, one)
        return out

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower_id, followee_id)`` pairs among ``pairs`` that are edges: one query per
        shard (per chunk), on the followee's shard, always on the primary, because fan-out uses it
        to re-check edges after writing and it must see every unfollow that committed."""
        if not pairs:
            return set()
        by_shard: dict[int, list[tuple[int, int]]] = {}
        if len(self._shards) == 1:
            by_shard[0] = list(pairs)
        else:
            for pair in dict.fromkeys(pairs):
                by_shard.setdefault(self.shard_index(pair[1]), []).append(pair)

        def one(item: tuple[_Shard, list[tuple[int, int]]]) -> set[tuple[int, int]]:
            sh, mine = item
            sh.ensure()
            return sh.db.read(lambda tx: sh.edges(tx, mine), primary=True)

        items = [(self._shards[i], ps) for i, ps in by_shard.items()]
        return set().union(*self._scatter_items(items, one))

    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """The ``user_ids`` with at least ``min_followers`` followers (one query per shard)."""
        return self._min_followers(user_ids, min_followers, reader=None)

    def _min_followers(
        self, user_ids: Iterable[int], min_followers: int, reader: int | None
    ) -> set[int]:
        def one(item: tuple[_Shard, list[int]]) -> list[int]:
            sh, users = item

            def fn(tx: Tx) -> list[int]:
                out: list[int] = []
                for chunk in _chunks(users, _CHUNK):
                    params = {"ids": list(chunk), "min": min_followers}
                    out.extend(tx.execute(sh.counts_among, params).scalars())
                return out

            return sh.read(fn, users=users if reader is None else [reader])

        by_shard = self._group(dict.fromkeys(user_ids))
        return {i for part in self._scatter_items(list(by_shard.items()), one) for i in part}

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """Followees of ``user_id`` with at least ``min_followers`` followers, ascending."""
        if len(self._shards) == 1:
            sh = self._shards[0]
            params = {"u": user_id, "min": min_followers}
            return sh.read(
                lambda tx: list(tx.execute(sh.celebs, params).scalars()), users=[user_id]
            )
        following = self._all_following(user_id)
        return sorted(self._min_followers(following, min_followers, reader=user_id))

    def _scatter_items(
        self, items: list[tuple[_Shard, V]], fn: Callable[[tuple[_Shard, V]], T]
    ) -> list[T]:
        if len(items) <= 1:
            return [fn(i) for i in items]
        return list(self._executor().map(fn, items))

    def _group(self, users: Iterable[int]) -> dict[_Shard, list[int]]:
        by: dict[_Shard, list[int]] = {}
        for u in users:
            by.setdefault(self._shard(u), []).append(u)
        return by

    def _all_following(self, user_id: int) -> list[int]:
        out: list[int] = []
        while page := self.following(user_id, out[-1] if out else None, 10_000):
            out.extend(page)
        return out

    # HomeTimelineSupport
    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of home(user_id) ids in one query (sharded: one query per shard involved)."""
        if len(self._shards) == 1:
            sh = self._shards[0]
            stmt = sh.home[before is not None]
            params = {"u": user_id, "n": limit, "before": before}
            return sh.read(lambda tx: list(tx.execute(stmt, params).scalars()), users=[user_id])
        authors = [user_id, *self._all_following(user_id)]

        def one(item: tuple[_Shard, list[int]]) -> list[int]:
            sh, group = item
            stmt = sh.authors_home[before is not None]
            params = {"authors": group, "n": limit, "before": before}
            return sh.read(lambda tx: list(tx.execute(stmt, params).scalars()), users=[user_id])

        parts = self._scatter_items(list(self._group(authors).items()), one)
        return sorted((i for part in parts for i in part), reverse=True)[:limit]

    # bulk import
    def import_follows(
        self,
        pairs: Iterable[tuple[int, int]],
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Add many edges, ``batch_size`` per transaction per shard; return how many were new.

        Idempotent: edges that exist are skipped and counts move only for new ones, so an
        interrupted import can simply be run again. ``progress(n)`` is called after each batch
        with the number of pairs processed so far.
        """
        done = new = 0
        for batch in _batches(pairs, batch_size):
            edges = list(dict.fromkeys(_check_pair(p) for p in batch))
            per_shard: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for f, e in edges:
                sf, se = self.shard_index(f), self.shard_index(e)
                per_shard[se].append((f, e))
                if sf != se:
                    per_shard[sf].append((f, e))
            for index, rows in sorted(per_shard.items()):
                new += self._import_edges(index, rows)
            done += len(batch)
            if progress is not None:
                progress(done)
        return new

    def _import_edges(self, index: int, rows: list[tuple[int, int]]) -> int:
        sh = self._shards[index]
        fl = sh.t.follows.c
        stmt = sh.insert_follow.returning(fl.follower_id, fl.followee_id)
        params = [{"follower_id": f, "followee_id": e} for f, e in rows]

        def fn(tx: Tx) -> int:
            inserted = tx.execute(stmt, params).all()
            deltas: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
            authority = 0
            for f, e in inserted:
                if self.shard_index(e) == index:
                    deltas[e][0] += 1
                    authority += 1
                if self.shard_index(f) == index:
                    deltas[f][1] += 1
            if deltas:
                tx.execute(
                    sh.counts_add,
                    [
                        {"user_id": u, "followers": a, "following": b}
                        for u, (a, b) in sorted(deltas.items())
                    ],
                )
            return authority

        return sh.write(fn, idempotent=False)

    def import_tweets(
        self,
        rows: Iterable[TweetRow],
        batch_size: int = 10_000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Store many tweets (``Tweet`` objects or ``(id, author_id, text, created_at)`` tuples),
        ``batch_size`` per transaction per shard; return how many rows were processed.

        Idempotent: existing ids are skipped. ``progress(n)`` is called after each batch with the
        number of rows processed so far.
        """
        done = 0
        for batch in _batches(rows, batch_size):
            tweets = [_tweet_row(r) for r in batch]
            by: dict[_Shard, list[Tweet]] = {}
            for t in tweets:
                by.setdefault(self._shard(t.author_id), []).append(t)
            for sh, group in by.items():
                self._import_tweet_group(sh, group)
            done += len(batch)
            if progress is not None:
                progress(done)
        return done

    @staticmethod
    def _import_tweet_group(sh: _Shard, group: list[Tweet]) -> None:
        rows = [
            {
                "id": t.id,
                "author_id": t.author_id,
                "text": t.text,
                "created_at": t.created_at
                if t.created_at.tzinfo
                else t.created_at.replace(tzinfo=UTC),
            }
            for t in group
        ]
        media = [
            {
                "tweet_id": t.id,
                "position": p,
                "media_id": m.id,
                "content_type": m.content_type,
                "size": m.size,
            }
            for t in group
            for p, m in enumerate(t.media)
        ]

        def fn(tx: Tx) -> None:
            tx.execute(sh.insert_tweet, rows)
            if media:
                tx.execute(sh.insert_media, media)

        sh.write(fn)

    # lifecycle
    def create_schema(self) -> None:
        """Create (or check) the tables on every shard now instead of on first use."""
        for sh in self._shards:
            sh.ensure()

    def drop_schema(self) -> None:
        """Drop this store's tables (and its ``meta`` row) on every shard: for tests and demos."""
        for sh in self._shards:
            t = sh.t

            tables = [t.tweets, t.tweet_media, t.follows, t.user_counts]

            def fn(tx: Tx, t: StoreTables = t, tables: list[Table] = tables) -> None:
                drop_component(tx.conn, tables, t.meta, "store")

            sh.db.write(fn)
            sh._schema.forget()

    def close(self) -> None:
        """Release the connections of the engines this store created."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for sh in self._shards:
            sh.db.dispose()
        for engine in self._owned:
            engine.dispose()
