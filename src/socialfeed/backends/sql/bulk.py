"""Bulk import of follows and tweets into one database or several shards: ``batch_size`` rows
per transaction per database, idempotent, so an interrupted import can simply be run again."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from socialfeed.backends.sql._db import Database, Tx
from socialfeed.backends.sql.deployment import lock_media
from socialfeed.backends.sql.statements import Statements, tweet_rows
from socialfeed.errors import ValidationError
from socialfeed.models import Tweet
from socialfeed.validation import check_id

__all__ = ["Shard", "TweetRow", "import_follows", "import_tweets"]

T = TypeVar("T")
TweetRow = Tweet | tuple[int, int, str, datetime]
"""What ``import_tweets`` takes: a Tweet, or ``(id, author_id, text, created_at)``."""


class Shard(Protocol):
    """What an import needs of one database: its transactions and its statements."""

    db: Database
    statements: Statements


def import_follows(
    shards: Sequence[Shard],
    place: Callable[[int], int],
    pairs: Iterable[tuple[int, int]],
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Add the edges ``pairs`` to the shards (user ``u`` lives on ``shards[place(u)]``; an edge
    on both users' shards); return how many were new. Counts move only for new edges."""
    done = new = 0
    for batch in _batches(pairs, batch_size):
        edges = list(dict.fromkeys(_check_pair(p) for p in batch))
        per_shard: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for f, e in edges:
            sf, se = place(f), place(e)
            per_shard[se].append((f, e))
            if sf != se:
                per_shard[sf].append((f, e))
        for index, rows in sorted(per_shard.items()):
            new += _import_edges(shards[index], index, place, rows)
        done += len(batch)
        if progress is not None:
            progress(done)
    return new


def _import_edges(
    shard: Shard, index: int, place: Callable[[int], int], rows: list[tuple[int, int]]
) -> int:
    """Insert ``rows`` on shard ``index`` and move the counts of its users by the edges that
    were new; return how many of those it is the authority for (the followee's shard)."""
    st = shard.statements
    fl = st.t.follows.c
    stmt = st.insert_follow.returning(fl.follower_id, fl.followee_id)
    params = [{"follower_id": f, "followee_id": e} for f, e in rows]

    def fn(tx: Tx) -> int:
        inserted = tx.execute(stmt, params).all()
        deltas: defaultdict[int, list[int]] = defaultdict(lambda: [0, 0])
        authority = 0
        for f, e in inserted:
            if place(e) == index:
                deltas[e][0] += 1
                authority += 1
            if place(f) == index:
                deltas[f][1] += 1
        if deltas:
            tx.execute(
                st.counts_add,
                [
                    {"user_id": u, "followers": a, "following": b}
                    for u, (a, b) in sorted(deltas.items())
                ],
            )
        return authority

    return shard.db.write(fn, idempotent=False)


def import_tweets(
    shards: Sequence[Shard],
    place: Callable[[int], int],
    rows: Iterable[TweetRow],
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Store the tweets ``rows`` on their authors' shards, skipping existing ids; return how
    many rows were processed."""
    done = 0
    for batch in _batches(rows, batch_size):
        by: dict[int, list[Tweet]] = {}
        for t in [_tweet_row(r) for r in batch]:  # the whole batch is checked before writing
            by.setdefault(place(t.author_id), []).append(t)
        for index, group in by.items():
            _import_tweet_group(shards[index], group)
        done += len(batch)
        if progress is not None:
            progress(done)
    return done


def _import_tweet_group(shard: Shard, group: list[Tweet]) -> None:
    st = shard.statements
    rows: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    for t in group:
        row, ms = tweet_rows(t)  # a naive created_at means UTC (the column type binds it so)
        rows.append(row)
        media.extend(ms)

    def fn(tx: Tx) -> None:
        held = set(st.scalars_in(tx, st.tweet_ids_in, [r["id"] for r in rows]))
        new = [r for r in rows if r["id"] not in held]
        if new:
            tx.execute(st.insert_tweet, new)
        attached = [m for m in media if m["tweet_id"] not in held]
        if attached:
            lock_media(tx, st, Counter(m["media_id"] for m in attached))
            tx.execute(st.insert_media, attached)

    shard.db.write(fn)


def _tweet_row(row: Any) -> Tweet:
    if isinstance(row, Tweet):
        tweet = row
    elif isinstance(row, tuple) and len(row) == 4:
        tweet = Tweet(row[0], row[1], row[2], row[3])
    else:
        raise ValidationError(
            "rows", f"expected a Tweet or (id, author_id, text, created_at), got {row!r}"
        )
    check_id("rows", tweet.id, what="tweet id")
    check_id("rows", tweet.author_id, what="author_id")
    if not isinstance(tweet.text, str):
        raise ValidationError("rows", f"text must be a str, got {type(tweet.text).__name__}")
    if not isinstance(tweet.created_at, datetime):
        raise ValidationError("rows", f"created_at must be a datetime, got {tweet.created_at!r}")
    return tweet


def _check_pair(pair: Any) -> tuple[int, int]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ValidationError("pairs", f"expected (follower_id, followee_id), got {pair!r}")
    f = check_id("pairs", pair[0], what="follower_id")
    e = check_id("pairs", pair[1], what="followee_id")
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
