"""``LiteStore``: tweets and follows in one SQLite file, through the standard library's sqlite3.

A backend for ``store=`` (and so for the graph, which defaults to the store). It implements the
core ``TweetStore`` and ``FollowGraph`` methods, plus one optional ability,
``HomeTimelineSupport`` (a pull page in one query); socialfeed supplies the defaults of every
other ability. Three rules every backend follows:

* **Threads share it.** App threads and in-process workers call one instance at once: one lock
  guards the one connection, and every write is a ``BEGIN IMMEDIATE`` transaction, so a count
  returned after a follow is exact even with other processes on the same file.
* **Driver errors surface as ``BackendError``**, with the ``sqlite3`` exception as
  ``__cause__``; the store's own refusals (``DuplicateId``) pass through unchanged.
* **Bounds are exclusive**: ``before`` and ``after`` never return the id they name.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from socialfeed import BackendError, Media, Settings, Tweet
from socialfeed.errors import DuplicateId
from socialfeed.interfaces import as_stored, reference

__all__ = ["LiteStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_CHUNK = 500  # ids per IN (...) list, well under SQLite's limit on bound parameters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tweets (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    media TEXT NOT NULL,
    reply_to INTEGER,
    reply_to_author_id INTEGER,
    repost_of INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tweets_by_author ON tweets (author_id, id) WHERE deleted = 0;
CREATE TABLE IF NOT EXISTS tweet_media (
    media_id TEXT NOT NULL,
    tweet_id INTEGER NOT NULL,
    PRIMARY KEY (media_id, tweet_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS follows (
    follower_id INTEGER NOT NULL,
    followee_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS followers_of ON follows (followee_id, follower_id);
"""

_COLUMNS = "id, author_id, text, created_us, media, reply_to, reply_to_author_id, repost_of"


def _row(tweet: Tweet) -> tuple[Any, ...]:
    media = json.dumps([[m.id, m.content_type, m.size] for m in tweet.media])
    repost_of = tweet.repost_of.id if tweet.repost_of is not None else None
    created_us = (tweet.created_at - _EPOCH) // _US
    return (tweet.id, tweet.author_id, tweet.text, created_us, media, tweet.reply_to,
            tweet.reply_to_author_id, repost_of)  # fmt: skip


def _tweet(row: Sequence[Any]) -> Tweet:
    tweet_id, author_id, text, created_us, media, reply_to, reply_author, repost_of = row
    return Tweet(
        tweet_id,
        author_id,
        text,
        _EPOCH + created_us * _US,
        tuple(Media(m, kind, size) for m, kind, size in json.loads(media)),
        reply_to=reply_to,
        reply_to_author_id=reply_author,
        repost_of=None if repost_of is None else reference(repost_of),
    )


def _bound(column: str, op: str, value: int | None) -> tuple[str, tuple[int, ...]]:
    """An exclusive bound (``None``: none) as an SQL condition and its parameters."""
    return ("", ()) if value is None else (f" AND {column} {op} ?", (value,))


class LiteStore:
    """A ``TweetStore`` and ``FollowGraph`` on one SQLite database (``":memory:"`` or a path)."""

    def __init__(self, path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BackendError(f"cannot open the SQLite database {path!r}: {exc}") from exc

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> LiteStore:
        """``lite://`` (in memory), ``lite://feed.db`` (relative) or ``lite:///srv/feed.db``."""
        path = url.partition("://")[2]
        return cls(path or ":memory:")

    # The two doors to the database: every call goes through one of them.
    @contextmanager
    def _read(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise BackendError(f"{what}: {exc}") from exc

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._read(what) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # TweetStore
    def put_tweet(self, tweet: Tweet) -> None:
        """Store a new tweet; the same one again is a no-op, another under its id is refused."""
        tweet = as_stored(tweet)
        with self._write("put_tweet") as db:
            held = db.execute(f"SELECT {_COLUMNS} FROM tweets WHERE id = ?", (tweet.id,)).fetchone()
            if held is not None:
                if _tweet(held) == tweet:
                    return
                raise DuplicateId(f"tweet id {tweet.id} is taken by another tweet")
            db.execute(
                f"INSERT INTO tweets ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _row(tweet)
            )
            db.executemany(
                "INSERT OR IGNORE INTO tweet_media (media_id, tweet_id) VALUES (?, ?)",
                [(m.id, tweet.id) for m in tweet.media],
            )

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """The live tweets among ``tweet_ids``, by id."""
        ids = list(dict.fromkeys(tweet_ids))
        found: dict[int, Tweet] = {}
        with self._read("get_tweets") as db:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT {_COLUMNS} FROM tweets WHERE deleted = 0 AND id IN ({marks})"
                found.update((row[0], _tweet(row)) for row in db.execute(sql, chunk))
        return found

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Delete a tweet (its row stays, marked); return it if it was live."""
        with self._write("mark_deleted") as db:
            sql = f"SELECT {_COLUMNS} FROM tweets WHERE id = ? AND deleted = 0"
            row = db.execute(sql, (tweet_id,)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE tweets SET deleted = 1 WHERE id = ?", (tweet_id,))
            db.execute("DELETE FROM tweet_media WHERE tweet_id = ?", (tweet_id,))
            return _tweet(row)

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """The author's live tweet ids below ``before``, newest first."""
        cond, args = _bound("id", "<", before)
        sql = f"SELECT id FROM tweets WHERE author_id = ? AND deleted = 0{cond} ORDER BY id DESC"
        with self._read("author_tweet_ids") as db:
            return [r[0] for r in db.execute(f"{sql} LIMIT ?", (author_id, *args, limit))]

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Which of ``media_ids`` a live tweet references."""
        ids = list(dict.fromkeys(media_ids))
        used: set[str] = set()
        with self._read("media_in_use") as db:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT DISTINCT media_id FROM tweet_media WHERE media_id IN ({marks})"
                used.update(r[0] for r in db.execute(sql, chunk))
        return used

    # HomeTimelineSupport: one query instead of a merge over followees
    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """Live tweet ids by the user and the users they follow, below ``before``, newest first."""
        cond, args = _bound("id", "<", before)
        sql = (
            "SELECT id FROM tweets WHERE deleted = 0 AND (author_id = ? OR author_id IN "
            f"(SELECT followee_id FROM follows WHERE follower_id = ?)){cond} "
            "ORDER BY id DESC LIMIT ?"
        )
        with self._read("home_tweet_ids") as db:
            return [r[0] for r in db.execute(sql, (user_id, user_id, *args, limit))]

    # FollowGraph
    def _count(self, db: sqlite3.Connection, column: str, user_id: int) -> int:
        sql = f"SELECT COUNT(*) FROM follows WHERE {column} = ?"
        count: int = db.execute(sql, (user_id,)).fetchone()[0]
        return count

    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; the followee's follower count after it, ``None`` if it existed."""
        sql = "INSERT OR IGNORE INTO follows (follower_id, followee_id) VALUES (?, ?)"
        return self._change_edge("add_follow", sql, follower_id, followee_id)

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge; the followee's follower count after it, ``None`` if it was absent."""
        sql = "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?"
        return self._change_edge("remove_follow", sql, follower_id, followee_id)

    def _change_edge(self, what: str, sql: str, follower_id: int, followee_id: int) -> int | None:
        """Run ``sql`` on the edge; the follower count after it, ``None`` if nothing changed."""
        with self._write(what) as db:
            if db.execute(sql, (follower_id, followee_id)).rowcount == 0:
                return None
            return self._count(db, "followee_id", followee_id)

    def _page(self, what: str, user_id: int, after: int | None, limit: int) -> list[int]:
        key, other = (
            ("followee_id", "follower_id")
            if what == "followers"
            else ("follower_id", "followee_id")
        )
        cond, args = _bound(other, ">", after)
        sql = f"SELECT {other} FROM follows WHERE {key} = ?{cond} ORDER BY {other} LIMIT ?"
        with self._read(what) as db:
            return [r[0] for r in db.execute(sql, (user_id, *args, limit))]

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """The user's followers above ``after``, ascending."""
        return self._page("followers", user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """The users the user follows, above ``after``, ascending."""
        return self._page("following", user_id, after, limit)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        with self._read("follower_count") as db:
            return self._count(db, "followee_id", user_id)

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        with self._read("following_count") as db:
            return self._count(db, "follower_id", user_id)

    def followers_among(self, user_id: int, candidates: Sequence[int]) -> set[int]:
        """The ``candidates`` that follow ``user_id`` now."""
        ids = list(dict.fromkeys(candidates))
        found: set[int] = set()
        with self._read("followers_among") as db:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                sql = (
                    "SELECT follower_id FROM follows "
                    f"WHERE followee_id = ? AND follower_id IN ({marks})"
                )
                found.update(r[0] for r in db.execute(sql, (user_id, *chunk)))
        return found

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """The users ``user_id`` follows that have at least ``min_followers`` followers."""
        sql = (
            "SELECT f.followee_id FROM follows f WHERE f.follower_id = ? AND "
            "(SELECT COUNT(*) FROM follows g WHERE g.followee_id = f.followee_id) >= ? "
            "ORDER BY f.followee_id"
        )
        with self._read("following_with_min_followers") as db:
            return [r[0] for r in db.execute(sql, (user_id, min_followers))]

    def close(self) -> None:
        """Close the connection; idempotent (a call after it raises ``BackendError``)."""
        with self._lock:
            self._db.close()
