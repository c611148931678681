"""The social rows of the SQL store (:class:`~socialfeed.interfaces.SocialStore`): blocks and
mutes, muted words, the repost and reply indexes (columns of the tweets), erasures under way.

An erasure's steps (:meth:`SocialMixin.drop_edges`, :meth:`~SocialMixin.drop_relations`,
:meth:`~SocialMixin.drop_tweets`, :meth:`~SocialMixin.end_erasure`) each run in one transaction
that first locks the user's row of ``erasures`` (``SELECT ... FOR UPDATE`` on PostgreSQL and
MySQL/MariaDB; on SQLite every write transaction holds the database's write lock): a step finds
the erasure under way and changes its rows, or finds none and changes nothing, and an
``end_erasure`` (which deletes that row) cannot interleave with it.

:class:`SocialStatements` holds the statements and the parts of the steps that run inside a
transaction, so that :mod:`socialfeed.backends.sql.sharded_social` composes the same parts across
databases.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

from sqlalchemy import BigInteger, SmallInteger, bindparam, delete, literal, select, union_all
from sqlalchemy import update as update_

from socialfeed.backends.sql._db import Database, Tx, chunks
from socialfeed.backends.sql._dialect import insert_ignore, one_of, upsert_set
from socialfeed.backends.sql.deployment import lock_media
from socialfeed.backends.sql.outbox import record_event
from socialfeed.backends.sql.statements import Statements
from socialfeed.interfaces import Event, Relation, RelationKind

__all__ = ["RELATION_CODES", "SocialMixin", "SocialStatements", "edge_results"]

RELATION_CODES: dict[RelationKind, int] = {"block": 1, "mute": 2}
"""The ``kind`` column of ``relations``."""
_BLOCKED_BY = 3  # relations_among's code for a block of the user by another
_NAMES: dict[int, Relation] = {1: "block", 2: "mute", _BLOCKED_BY: "blocked_by"}
_CHUNK = 1000


def _locked(stmt: Any, dialect: str) -> Any:
    """``stmt`` locking its rows (SQLite: the write transaction already holds the database)."""
    return stmt if dialect == "sqlite" else stmt.with_for_update()


def edge_results(
    user_id: int, followers: Sequence[int], followees: Sequence[int], counts: dict[int, int]
) -> list[tuple[int, int, int]]:
    """``drop_edges``' answer: the edges ``(f, user_id)`` then ``(user_id, e)`` removed, each
    with the followee's follower count right after it (as if removed one by one, in order)."""
    mine, k = counts.get(user_id, 0), len(followers)
    out = [(f, user_id, mine + k - 1 - i) for i, f in enumerate(followers)]
    return out + [(user_id, e, counts.get(e, 0)) for e in followees]


class SocialStatements:
    """The statements of the social rows for the store tables of ``base``, and the parts of
    the erasure steps that run in a given transaction."""

    def __init__(self, base: Statements) -> None:
        self.base = base
        t, self.dialect = base.t, base.dialect
        d = self.dialect
        rel, mw, er, tw = t.relations, t.muted_words, t.erasures, t.tweets
        u = bindparam("u", type_=BigInteger)
        n: Any = bindparam("n")
        kind = bindparam("kind", type_=SmallInteger)
        self.insert_relation = insert_ignore(d, rel)
        self.delete_relation = delete(rel).where(
            rel.c.kind == bindparam("kind"),
            rel.c.user_id == bindparam("user_id"),
            rel.c.target_id == bindparam("target_id"),
        )
        self.relations_page = {
            has_after: select(rel.c.target_id)
            .where(rel.c.kind == kind, rel.c.user_id == u)
            .where(*([rel.c.target_id > bindparam("after")] * has_after))
            .order_by(rel.c.target_id)
            .limit(n)
            for has_after in (False, True)
        }
        self.among = union_all(
            select(rel.c.kind, rel.c.target_id.label("other")).where(
                rel.c.kind.in_(list(RELATION_CODES.values())),
                rel.c.user_id == u,
                one_of(d, rel.c.target_id, "ids"),
            ),
            select(literal(_BLOCKED_BY, SmallInteger).label("kind"), rel.c.user_id).where(
                rel.c.kind == RELATION_CODES["block"],
                rel.c.target_id == u,
                one_of(d, rel.c.user_id, "ids"),
            ),
        )
        # an erased user's relations, either side, locked
        cols = (rel.c.kind, rel.c.user_id, rel.c.target_id)
        self.relations_out = _locked(
            select(*cols).where(rel.c.kind == kind, rel.c.user_id == u).limit(n), d
        )
        self.relations_in = _locked(
            select(*cols).where(rel.c.kind == kind, rel.c.target_id == u).limit(n), d
        )
        self.put_word = upsert_set(d, mw, ["user_id", "phrase"], ["whole_word", "expires_at_ms"])
        self.delete_word = delete(mw).where(
            mw.c.user_id == bindparam("user_id"), mw.c.phrase == bindparam("phrase")
        )
        self.words = select(mw.c.phrase, mw.c.whole_word, mw.c.expires_at_ms).where(
            mw.c.user_id == u
        )
        self.drop_words = delete(mw).where(mw.c.user_id == u)
        self.reposts = select(tw.c.id, tw.c.author_id, tw.c.repost_of).where(
            one_of(d, tw.c.repost_of, "origs"), one_of(d, tw.c.author_id, "authors")
        )
        self.replies = {
            has_after: select(tw.c.id)
            .where(tw.c.reply_to == bindparam("t", type_=BigInteger))
            .where(*([tw.c.id > bindparam("after")] * has_after))
            .order_by(tw.c.id)
            .limit(n)
            for has_after in (False, True)
        }
        self.insert_erasure = insert_ignore(d, er)
        self.raise_watermark = (
            update_(er)
            .where(er.c.user_id == bindparam("uid"), er.c.watermark < bindparam("w"))
            .values(watermark=bindparam("w"))
        )
        self.lock_erasure = _locked(select(er.c.watermark).where(er.c.user_id == u), d)
        self.all_erasures = select(er.c.user_id, er.c.watermark)
        self.delete_erasure = delete(er).where(er.c.user_id == u)
        self.delete_tombstones = delete(t.deleted).where(
            t.deleted.c.author_id == u, t.deleted.c.id < bindparam("w")
        )
        self._edge_statements(d, u)
        self._tweet_statements(d, u)

    def _edge_statements(self, d: str, u: Any) -> None:
        f, c = self.base.t.follows, self.base.t.user_counts
        self.locked_followers = _locked(
            select(f.c.follower_id)
            .where(f.c.followee_id == u, one_of(d, f.c.follower_id, "ids"))
            .order_by(f.c.follower_id),
            d,
        )
        self.locked_followees = _locked(
            select(f.c.followee_id)
            .where(f.c.follower_id == u, one_of(d, f.c.followee_id, "ids"))
            .order_by(f.c.followee_id),
            d,
        )
        self.delete_followers = delete(f).where(
            f.c.followee_id == u, one_of(d, f.c.follower_id, "ids")
        )
        self.delete_followees = delete(f).where(
            f.c.follower_id == u, one_of(d, f.c.followee_id, "ids")
        )
        self.sub_count = {
            col: update_(c)
            .where(one_of(d, c.c.user_id, "ids"))
            .values({col: c.c[col] - bindparam("delta")})
            for col in ("followers", "following")
        }
        self.counts_of = select(c.c.user_id, c.c.followers).where(one_of(d, c.c.user_id, "ids"))
        self.drop_zero_counts = delete(c).where(
            c.c.user_id == u, c.c.followers <= 0, c.c.following <= 0
        )

    def _tweet_statements(self, d: str, u: Any) -> None:
        tw, m, k = self.base.t.tweets, self.base.t.tweet_media, self.base.t.keys
        self.locked_tweets = _locked(
            select(tw.c.id).where(
                tw.c.author_id == u, tw.c.id < bindparam("w"), one_of(d, tw.c.id, "ids")
            ),
            d,
        )
        self.media_of = select(m.c.media_id).where(one_of(d, m.c.tweet_id, "ids"))
        self.delete_media_of = delete(m).where(one_of(d, m.c.tweet_id, "ids"))
        self.delete_tweets_in = delete(tw).where(one_of(d, tw.c.id, "ids"))
        self.delete_keys_of = delete(k).where(one_of(d, k.c.tweet_id, "ids"))

    # parts of the steps, in a transaction
    def erasure(self, tx: Tx, user_id: int) -> int | None:
        """The watermark of the user's erasure, its row locked; ``None`` if none is under way."""
        found = tx.execute(self.lock_erasure, {"u": user_id}).scalar()
        return None if found is None else int(found)

    def begin(self, tx: Tx, user_id: int, watermark: int, event: int) -> None:
        """Record (or raise the watermark of) the erasure, and its event."""
        tx.execute(self.insert_erasure, {"user_id": user_id, "watermark": watermark})
        tx.execute(self.raise_watermark, {"uid": user_id, "w": watermark})
        if event:
            record_event(tx, self.base, Event(event, "erase", user_id, watermark))

    def _present(self, tx: Tx, stmt: Any, user_id: int, ids: Sequence[int]) -> list[int]:
        out: list[int] = []
        for chunk in chunks(list(ids), _CHUNK):
            out.extend(
                int(i) for i in tx.execute(stmt, {"u": user_id, "ids": list(chunk)}).scalars()
            )
        return out

    def remove_edges(
        self,
        tx: Tx,
        user_id: int,
        followers: Sequence[int],
        followees: Sequence[int],
        local: Callable[[int], bool],
    ) -> tuple[list[int], list[int]]:
        """Remove the rows of the edges ``(f, user_id)`` and ``(user_id, e)`` that this database
        holds, moving the counts of its ``local`` users; the followers and followees whose edge
        row was removed here, ascending."""
        gone_f = self._present(tx, self.locked_followers, user_id, followers)
        gone_e = self._present(tx, self.locked_followees, user_id, followees)
        for stmt, gone in ((self.delete_followers, gone_f), (self.delete_followees, gone_e)):
            for chunk in chunks(gone, _CHUNK):
                tx.execute(stmt, {"u": user_id, "ids": list(chunk)})
        moves: list[tuple[str, list[int], int]] = [
            ("following", [x for x in gone_f if local(x)], 1),
            ("followers", [x for x in gone_e if local(x)], 1),
        ]
        if local(user_id):
            moves += [("followers", [user_id], len(gone_f)), ("following", [user_id], len(gone_e))]
        for col, users, delta in moves:
            for chunk in chunks(users, _CHUNK) if delta else ():
                tx.execute(self.sub_count[col], {"ids": list(chunk), "delta": delta})
        return gone_f, gone_e

    def follower_counts(self, tx: Tx, users: Iterable[int]) -> dict[int, int]:
        """The follower counts of ``users`` (those with a row)."""
        out: dict[int, int] = {}
        for chunk in chunks(list(dict.fromkeys(users)), _CHUNK):
            out.update(
                (int(a), int(b)) for a, b in tx.execute(self.counts_of, {"ids": list(chunk)})
            )
        return out

    def relation_rows(self, tx: Tx, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """Up to ``limit`` relations with the user on either side, as ``(kind, user, target)``,
        locked."""
        rows: dict[tuple[int, int, int], None] = {}
        for code in RELATION_CODES.values():
            for stmt in (self.relations_out, self.relations_in):
                if len(rows) >= limit:
                    break
                params = {"kind": code, "u": user_id, "n": limit - len(rows)}
                for k, a, b in tx.execute(stmt, params):
                    rows[int(k), int(a), int(b)] = None
        return list(rows)

    def delete_relations(self, tx: Tx, rows: Sequence[tuple[int, int, int]]) -> None:
        """Delete these relation rows."""
        if rows:
            params = [{"kind": k, "user_id": a, "target_id": b} for k, a, b in rows]
            tx.execute(self.delete_relation, params)

    def drop_tweet_rows(self, tx: Tx, user_id: int, tweet_ids: Sequence[int], w: int) -> None:
        """Hard-delete the user's tweets among ``tweet_ids`` below ``w``: their rows, media
        rows (the media's references go down) and idempotency keys."""
        params = {"u": user_id, "w": w}
        ids: list[int] = []
        for chunk in chunks(list(dict.fromkeys(tweet_ids)), _CHUNK):
            found = tx.execute(self.locked_tweets, {**params, "ids": list(chunk)}).scalars()
            ids.extend(int(i) for i in found)
        for chunk in chunks(ids, _CHUNK):
            p = {"ids": list(chunk)}
            media = Counter(str(m) for m in tx.execute(self.media_of, p).scalars())
            if media:
                tx.execute(self.delete_media_of, p)
                lock_media(tx, self.base, {m: -k for m, k in media.items()})
            tx.execute(self.delete_keys_of, p)
            tx.execute(self.delete_tweets_in, p)

    def finish(self, tx: Tx, user_id: int, w: int, *, erasure: bool, user: bool) -> None:
        """The end of an erasure: with ``user`` (the user's database), their tombstones below
        ``w`` and their count row once it is zero; with ``erasure``, the erasure row."""
        if user:
            tx.execute(self.delete_tombstones, {"u": user_id, "w": w})
            tx.execute(self.drop_zero_counts, {"u": user_id})
        if erasure:
            tx.execute(self.delete_erasure, {"u": user_id})


class SocialMixin:
    """The :class:`~socialfeed.interfaces.SocialStore` methods of a store on one database
    (``db``, ``statements``; reads on the primary for its primary view)."""

    db: Database
    statements: Statements
    _reads_primary: bool

    @cached_property
    def social_statements(self) -> SocialStatements:
        """The statements of the social rows."""
        return SocialStatements(self.statements)

    def _social_read(self, fn: Callable[[Tx], Any], users: Iterable[int] = ()) -> Any:
        return self.db.read(fn, users=users, primary=self._reads_primary)

    # relations
    def set_relation(self, kind: RelationKind, user_id: int, target_id: int, on: bool) -> bool:
        """Add (``on``) or remove the relation ``user_id`` -> ``target_id``; whether it changed."""
        ss = self.social_statements
        row = {"kind": RELATION_CODES[kind], "user_id": user_id, "target_id": target_id}
        stmt = ss.insert_relation if on else ss.delete_relation

        def fn(tx: Tx) -> bool:
            return bool(tx.execute(stmt, row).rowcount)

        return self.db.write(fn, users=[user_id, target_id])

    def relations(
        self, kind: RelationKind, user_id: int, after: int | None, limit: int
    ) -> list[int]:
        """The users ``user_id`` blocks (or mutes) above ``after``, ascending."""
        stmt = self.social_statements.relations_page[after is not None]
        params = {"kind": RELATION_CODES[kind], "u": user_id, "after": after, "n": limit}
        found = self._social_read(lambda tx: list(tx.execute(stmt, params).scalars()), [user_id])
        return [int(i) for i in found]

    def relations_among(self, user_id: int, others: Sequence[int]) -> set[tuple[Relation, int]]:
        """How each of ``others`` relates to ``user_id`` (one query per 1,000 of them)."""
        ids = list(dict.fromkeys(others))
        if not ids:
            return set()
        ss = self.social_statements

        def fn(tx: Tx) -> set[tuple[Relation, int]]:
            found: set[tuple[Relation, int]] = set()
            for chunk in chunks(ids, _CHUNK):
                for code, other in tx.execute(ss.among, {"u": user_id, "ids": list(chunk)}):
                    found.add((_NAMES[int(code)], int(other)))
            return found

        result: set[tuple[Relation, int]] = self._social_read(fn, [user_id])
        return result

    # muted words
    def put_muted_word(
        self, user_id: int, phrase: str, whole_word: bool, expires_at_ms: int | None
    ) -> None:
        """Mute ``phrase`` for the user, replacing the row of the same phrase."""
        row = {
            "user_id": user_id,
            "phrase": phrase,
            "whole_word": whole_word,
            "expires_at_ms": expires_at_ms,
        }
        stmt = self.social_statements.put_word
        self.db.write(lambda tx: tx.execute(stmt, row), users=[user_id])

    def delete_muted_word(self, user_id: int, phrase: str) -> None:
        """Unmute ``phrase``; idempotent."""
        stmt, row = self.social_statements.delete_word, {"user_id": user_id, "phrase": phrase}
        self.db.write(lambda tx: tx.execute(stmt, row), users=[user_id])

    def muted_word_rows(self, user_id: int) -> list[tuple[str, bool, int | None]]:
        """Every muted phrase of the user, as ``(phrase, whole_word, expires_at_ms)``, by phrase
        (sorted here: a database's collation need not order by code point)."""
        stmt = self.social_statements.words
        rows = self._social_read(lambda tx: tx.execute(stmt, {"u": user_id}).all(), [user_id])
        return sorted((str(p), bool(w), None if e is None else int(e)) for p, w, e in rows)

    # reposts and replies
    def reposts_by(
        self, original_ids: Sequence[int], author_ids: Sequence[int]
    ) -> list[tuple[int, int, int]]:
        """The live reposts of ``original_ids`` by ``author_ids``, as ``(repost id, author,
        original id)`` (index ``tweets(repost_of, author_id)``)."""
        origs, authors = list(dict.fromkeys(original_ids)), list(dict.fromkeys(author_ids))
        if not origs or not authors:
            return []
        stmt = self.social_statements.reposts

        def fn(tx: Tx) -> list[tuple[int, int, int]]:
            out: list[tuple[int, int, int]] = []
            for o in chunks(origs, _CHUNK):
                for a in chunks(authors, _CHUNK):
                    params = {"origs": list(o), "authors": list(a)}
                    out.extend((int(i), int(b), int(r)) for i, b, r in tx.execute(stmt, params))
            return out

        found: list[tuple[int, int, int]] = self._social_read(fn, authors)
        return found

    def reply_ids(self, tweet_id: int, after: int | None, limit: int) -> list[int]:
        """Ids of the live direct replies to ``tweet_id`` above ``after``, oldest first (index
        ``tweets(reply_to, id)``)."""
        stmt = self.social_statements.replies[after is not None]
        params = {"t": tweet_id, "after": after, "n": limit}
        found = self._social_read(lambda tx: list(tx.execute(stmt, params).scalars()))
        return [int(i) for i in found]

    # erasure
    def begin_erasure(self, user_id: int, watermark: int, event: int) -> None:
        """Record the erasure (keeping the higher watermark) and its ``erase`` event, in one
        transaction."""
        ss = self.social_statements
        self.db.write(lambda tx: ss.begin(tx, user_id, watermark, event), users=[user_id])

    def erasures(self) -> dict[int, int]:
        """The erasures under way (read on the primary: an erasure hides its user at once)."""
        stmt = self.social_statements.all_erasures
        rows = self.db.read(lambda tx: tx.execute(stmt).all(), primary=True)
        return {int(u): int(w) for u, w in rows}

    def drop_edges(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """While the user's erasure is under way, remove up to ``limit`` follow edges with the
        user on either side, in one transaction; ``(follower, followee, followee's follower
        count after)`` for each."""
        ss, st = self.social_statements, self.statements

        def fn(tx: Tx) -> list[tuple[int, int, int]]:
            if ss.erasure(tx, user_id) is None:
                return []
            params = {"u": user_id, "n": limit, "after": None}
            fs = list(tx.execute(st.followers_page[False], params).scalars())
            params["n"] = limit - len(fs)
            es = list(tx.execute(st.following_page[False], params).scalars()) if params["n"] else []
            gone_f, gone_e = ss.remove_edges(tx, user_id, fs, es, lambda _: True)
            counts = ss.follower_counts(tx, [user_id, *gone_e])
            return edge_results(user_id, gone_f, gone_e, counts)

        return self.db.write(fn, idempotent=False, users=[user_id])

    def drop_relations(self, user_id: int, limit: int) -> int:
        """While the user's erasure is under way, remove up to ``limit`` of the blocks and
        mutes with the user on either side, then (within ``limit``) all the user's muted words
        (at most ``Settings.max_muted_words``); how many rows."""
        ss = self.social_statements

        def fn(tx: Tx) -> int:
            if ss.erasure(tx, user_id) is None:
                return 0
            rows = ss.relation_rows(tx, user_id, limit)
            ss.delete_relations(tx, rows)
            if len(rows) >= limit:
                return len(rows)
            return len(rows) + int(tx.execute(ss.drop_words, {"u": user_id}).rowcount)

        return self.db.write(fn, idempotent=False, users=[user_id])

    def drop_tweets(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """While the user's erasure is under way, hard-delete these tweets of theirs below the
        watermark: rows, media rows (references go down) and idempotency keys."""
        ss = self.social_statements

        def fn(tx: Tx) -> None:
            w = ss.erasure(tx, user_id)
            if w is not None:
                ss.drop_tweet_rows(tx, user_id, tweet_ids, w)

        if tweet_ids:
            self.db.write(fn, idempotent=False, users=[user_id], tweets=list(tweet_ids))

    def end_erasure(self, user_id: int, watermark: int) -> None:
        """If the erasure under way has ``watermark``: remove the user's tombstones below it
        (and their emptied count row), then the erasure record, in one transaction."""
        ss = self.social_statements

        def fn(tx: Tx) -> None:
            w = ss.erasure(tx, user_id)
            if w == watermark:
                ss.finish(tx, user_id, w, erasure=True, user=True)

        self.db.write(fn, users=[user_id])
