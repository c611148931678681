"""The store's statements for one database, built once (SQLAlchemy caches their compiled form
per engine), and the queries that run them inside a transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    String,
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
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from socialfeed.backends.sql._db import Tx, chunks
from socialfeed.backends.sql._dialect import insert_ignore, one_of, upsert_add
from socialfeed.backends.sql.schema import StoreTables
from socialfeed.interfaces import reference
from socialfeed.models import Media, Tweet

__all__ = ["Statements", "tweet_rows"]

_CHUNK = 1000  # ids per IN list
_PAGES_CHUNK = 200  # follower pages per statement (SQLite/MariaDB: one subquery each)
_PG_CHUNK = 50_000  # pages or pairs per fan-out statement on PostgreSQL (array literals)


def _array(ids: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers, e.g. ``{1,2,3}``."""
    return "{" + ",".join(map(str, ids)) + "}"


def tweet_rows(tweet: Tweet) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tweet's row and its media rows, as the inserts take them (a repost keeps the id of
    its original)."""
    row = {
        "id": tweet.id,
        "author_id": tweet.author_id,
        "text": tweet.text,
        "created_at": tweet.created_at,
        "reply_to": tweet.reply_to,
        "reply_to_author_id": tweet.reply_to_author_id,
        "repost_of": None if tweet.repost_of is None else tweet.repost_of.id,
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
    return row, media


class Statements:
    """The statements of the store tables ``t`` in ``dialect``, and the queries that need more
    than one statement or some decoding (each runs in a transaction it is given)."""

    def __init__(self, t: StoreTables, dialect: str) -> None:
        self.t = t
        self.dialect = d = dialect
        tw, m, f, c = t.tweets, t.tweet_media, t.follows, t.user_counts
        self.load = (
            select(
                tw.c.id, tw.c.author_id, tw.c.text, tw.c.created_at,
                tw.c.reply_to, tw.c.reply_to_author_id, tw.c.repost_of,
                m.c.position, m.c.media_id, m.c.content_type, m.c.size,
            )
            .select_from(tw.outerjoin(m, m.c.tweet_id == tw.c.id))
            .where(one_of(d, tw.c.id, "ids"))
        )  # fmt: skip
        self.insert_tweet = insert_ignore(d, tw)
        self.tweet_ids_in = select(tw.c.id).where(one_of(d, tw.c.id, "ids"))
        # PostgreSQL, the raw hot path of put_tweet: the tweet (unless its id is held, live or
        # deleted) and its event in one statement; the row says whether the tweet was stored
        self.insert_tweet_sql = (
            f"WITH ins AS (INSERT INTO {tw.name}"
            " (id, author_id, text, created_at, reply_to, reply_to_author_id, repost_of)"
            " SELECT %(id)s::bigint, %(author_id)s::bigint, %(text)s::text,"
            " %(created_at)s::timestamptz, %(reply_to)s::bigint,"
            " %(reply_to_author_id)s::bigint, %(repost_of)s::bigint"
            f" WHERE NOT EXISTS (SELECT 1 FROM {t.deleted.name} WHERE id = %(id)s::bigint)"
            " ON CONFLICT DO NOTHING RETURNING id),"
            f" ev AS (INSERT INTO {t.events.name} (id, kind, actor, target, claimed_until)"
            " SELECT %(event)s::bigint, %(kind)s::smallint, %(author_id)s::bigint, ins.id, 0"
            " FROM ins WHERE %(event)s::bigint <> 0)"
            " SELECT count(*) FROM ins"
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
        # followers(u) by followee_id and following(u) by follower_id, ascending, after a cursor
        self.followers_page, self.following_page = (
            {
                has_after: select(out)
                .where(key == u, *([out > bindparam("after")] * has_after))
                .order_by(out)
                .limit(n)
                for has_after in (False, True)
            }
            for key, out in ((f.c.followee_id, f.c.follower_id), (f.c.follower_id, f.c.followee_id))
        )
        self.count = {
            col: select(c.c[col]).where(c.c.user_id == u) for col in ("followers", "following")
        }
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
        r = t.media_refs
        self.media_used = select(r.c.media_id).where(
            one_of(d, r.c.media_id, "ids", String(255)), r.c.refs > 0
        )
        self._deployment(t, d)

    def _deployment(self, t: StoreTables, d: str) -> None:
        """The statements of the 0.2 tables: events, tombstones, keys, settings, media refs."""
        ev, dl, k, r, st = t.events, t.deleted, t.keys, t.media_refs, t.settings
        self.insert_event = insert(ev)
        self.insert_deleted = insert_ignore(d, dl)
        self.deleted_author = select(dl.c.author_id).where(dl.c.id == bindparam("id"))
        self.deleted_among = select(dl.c.id, dl.c.author_id).where(one_of(d, dl.c.id, "ids"))
        self.key_tweet = select(k.c.tweet_id).where(
            k.c.author_id == bindparam("author_id"), k.c.idem_key == bindparam("idem_key")
        )
        self.insert_key = insert_ignore(d, k)
        self.drop_key = delete(k).where(k.c.tweet_id == bindparam("tweet_id"))
        lock = select(ev.c.id, ev.c.kind, ev.c.actor, ev.c.target, ev.c.count)
        claimable = lock.where(
            ev.c.id < bindparam("before"), ev.c.claimed_until <= bindparam("now")
        )
        claimable = claimable.order_by(ev.c.id).limit(bindparam("n"))
        if d != "sqlite":
            claimable = claimable.with_for_update(skip_locked=True)
        self.claimable = claimable
        self.claim = (
            update(ev).where(one_of(d, ev.c.id, "ids")).values(claimed_until=bindparam("until"))
        )
        self.pending = lock.order_by(ev.c.id).limit(bindparam("n"))
        self.done = delete(ev).where(one_of(d, ev.c.id, "ids"))
        self.insert_setting = insert_ignore(d, st)
        self.new_leases = insert_ignore(d, t.leases)
        self.all_settings = select(st.c.name, st.c.value)
        self.new_refs = insert_ignore(d, r)
        media_ids = one_of(d, r.c.media_id, "ids", String(255))
        refs = select(r.c.media_id, r.c.refs, r.c.claimed_until).where(media_ids)
        self.lock_refs = refs.order_by(r.c.media_id)
        if d != "sqlite":
            self.lock_refs = self.lock_refs.with_for_update()
        self.add_refs = update(r).where(media_ids).values(refs=r.c.refs + bindparam("delta"))
        self.claim_refs = update(r).where(media_ids).values(claimed_until=bindparam("until"))
        self.release_refs = delete(r).where(media_ids, r.c.refs <= 0)

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

    # queries
    def scalars_in(self, tx: Tx, stmt: Any, ids: Sequence[Any], **params: Any) -> list[Any]:
        """The first column of ``stmt`` with ``ids`` bound to ``:ids`` (and ``params``), one
        statement per 1,000 ids."""
        out: list[Any] = []
        for chunk in chunks(ids, _CHUNK):
            out.extend(tx.execute(stmt, {**params, "ids": list(chunk)}).scalars())
        return out

    def edge_op(self, tx: Tx, f: int, e: int, *, add: bool) -> int:
        """Insert (``add``) or delete the edge ``(f, e)``: 1 when that changed a row, else 0."""
        if add:
            edge = {"follower_id": f, "followee_id": e}
            return int(tx.execute(self.insert_follow, edge).rowcount)
        fl = self.t.follows.c
        stmt = delete(self.t.follows).where(fl.follower_id == f, fl.followee_id == e)
        return int(tx.execute(stmt).rowcount)

    def bump(self, tx: Tx, user: int, col: str, delta: int) -> None:
        """Add ``delta`` to ``user``'s count ``col`` (creating the row; with ``delta=0`` this
        only creates or locks it)."""
        row = {"user_id": user, "followers": 0, "following": 0}
        row[col] = delta
        tx.execute(self.counts_add, row)

    def follower_count(self, tx: Tx, user: int) -> int:
        """``user``'s follower count (the row must exist)."""
        return int(tx.execute(self.count["followers"], {"u": user}).scalar_one())

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
            for chunk in chunks(pairs, _PG_CHUNK):
                params = {"fs": _array(p[0] for p in chunk), "es": _array(p[1] for p in chunk)}
                missing = tx.execute(self.edges_missing_pg, params).all()
                found.update(set(chunk).difference((f, e) for f, e in missing))
            return found
        for chunk in chunks(pairs, _CHUNK):
            params = {"pairs": [(e, f) for f, e in chunk]}
            found.update((f, e) for f, e in tx.execute(self.edges_in, params).all())
        return found

    def load_tweets(self, tx: Tx, ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``ids`` with their media, in one query per chunk."""
        rows: dict[int, Any] = {}
        media: defaultdict[int, list[tuple[int, Media]]] = defaultdict(list)
        for chunk in chunks(ids, _CHUNK):
            for r in tx.execute(self.load, {"ids": list(chunk)}):
                rows[r.id] = r
                if r.media_id is not None:
                    media[r.id].append((r.position, Media(r.media_id, r.content_type, r.size)))
        out: dict[int, Tweet] = {}
        for i, r in rows.items():
            ms = media.get(i)
            attached = tuple(x for _, x in sorted(ms, key=lambda p: p[0])) if ms else ()
            repost_of = None if r.repost_of is None else reference(r.repost_of)
            out[i] = Tweet(
                i,
                r.author_id,
                r.text,
                r.created_at,
                attached,
                reply_to=r.reply_to,
                reply_to_author_id=r.reply_to_author_id,
                repost_of=repost_of,
            )
        return out
