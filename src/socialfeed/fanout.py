"""Fan-out jobs and what applying one does, independent of the queue that carries it.

Every job is idempotent and re-checks the follow graph after writing, so jobs may run twice, out of
order, or concurrently with follows and unfollows, and the feeds still converge to ``home(u)``:

* :class:`FanOut` puts tweet ids into the feeds of the author and of every *active* follower,
  one ``fanout_batch_size`` batch at a time (one cache call per batch), then takes them out again
  for anyone in the batch who unfollowed meanwhile;
* :class:`SyncFollow` makes one follower's feed agree with one edge: backfill the followee's recent
  tweets if the edge exists, remove them if not, and repeat if the edge changed meanwhile;
* :class:`Purge` removes a deleted tweet from the feeds that hold it (hygiene: readers already
  skip deleted tweets);
* :class:`Demote` fans out the recent tweets of an author who stopped being a celebrity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from socialfeed.interfaces import (
    Backends,
    FanoutBatchSupport,
    FanoutGraphSupport,
    ListKind,
    supports,
)

__all__ = [
    "Demote",
    "FanOut",
    "Job",
    "Purge",
    "SyncFollow",
    "active_since",
    "all_following",
    "fan_out",
    "fan_out_many",
    "job_from_dict",
    "job_to_dict",
    "purge",
    "rebuild",
    "recent_tweet_ids",
    "remove_author",
    "sync_follow",
]


@attrs.frozen
class FanOut:
    """Insert ``tweet_ids`` (by ``author_id``) into the feeds of the author and active followers."""

    author_id: int
    tweet_ids: tuple[int, ...]


@attrs.frozen
class SyncFollow:
    """Make ``follower_id``'s feed agree with the edge follower -> followee as it is now."""

    follower_id: int
    followee_id: int


@attrs.frozen
class Purge:
    """Remove the deleted tweet ``tweet_id`` from the feeds of the author's followers."""

    author_id: int
    tweet_id: int


@attrs.frozen
class Demote:
    """Fan out the recent tweets of ``author_id``, who is no longer a celebrity."""

    author_id: int


Job = FanOut | SyncFollow | Purge | Demote
_JOB_TYPES: dict[str, type[Job]] = {
    cls.__name__: cls for cls in (FanOut, SyncFollow, Purge, Demote)
}


def job_to_dict(job: Job) -> dict[str, Any]:
    """A JSON-ready dict for ``job`` (what a queue backend serializes)."""
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(job).items()}
    return {"type": type(job).__name__, **fields}


def job_from_dict(data: dict[str, Any]) -> Job:
    """The job that :func:`job_to_dict` produced ``data`` from."""
    fields: dict[str, Any] = dict(data)
    cls = _JOB_TYPES[fields.pop("type")]
    for name, value in fields.items():
        is_list = isinstance(value, (list, tuple))
        fields[name] = tuple(int(i) for i in value) if is_list else int(value)
    return cls(**fields)


def active_since(b: Backends) -> Any:
    """The time after which a user counts as active."""
    return b.now() - b.settings.active_window


def fan_out(b: Backends, author_id: int, tweet_ids: Sequence[int]) -> None:
    """Insert ``tweet_ids`` into the feeds of the author and of every active follower."""
    fan_out_many(b, [(author_id, tweet_ids)])


def fan_out_many(b: Backends, posts: Sequence[tuple[int, Sequence[int]]]) -> None:
    """Fan out several ``(author_id, tweet_ids)`` together, in rounds: each round takes the next
    ``fanout_batch_size`` followers of every author, finds the active ones with one
    ``active_among``, inserts, then takes the ids out again for anyone who unfollowed meanwhile.
    The author's own feed goes with the first round. Where the backends have the abilities, a
    round is a fixed number of calls whatever the number of authors:
    :class:`~socialfeed.interfaces.FanoutGraphSupport` for the graph reads,
    :class:`~socialfeed.interfaces.FanoutBatchSupport` for the inserts."""
    s = b.settings
    since = active_since(b)
    after: list[int | None] = [None] * len(posts)
    pending = list(range(len(posts)))
    first = True
    while pending:
        pages = _followers_pages(b, [(posts[n][0], after[n]) for n in pending])
        batches: list[tuple[int, list[int]]] = []
        for n, followers in zip(pending, pages, strict=True):
            if followers:
                after[n] = followers[-1]
            batches.append((n, [posts[n][0], *followers] if first else followers))
        pending = [
            n for n, page in zip(pending, pages, strict=True) if len(page) == s.fanout_batch_size
        ]
        first = False
        active = set(b.cache.active_among(sorted({u for _, keys in batches for u in keys}), since))
        writes = [
            (n, keys) for n, all_keys in batches if (keys := [u for u in all_keys if u in active])
        ]
        if supports(b.cache, FanoutBatchSupport):
            b.cache.insert_many(
                "feed", [(keys, posts[n][1]) for n, keys in writes], s.max_feed_length
            )
        else:
            for n, keys in writes:
                b.cache.insert("feed", keys, posts[n][1], s.max_feed_length)
        pairs = [(u, posts[n][0]) for n, keys in writes for u in keys if u != posts[n][0]]
        edges = _edges_among(b, pairs)
        for n, keys in writes:
            author, ids = posts[n]
            gone = [u for u in keys if u != author and (u, author) not in edges]
            if gone:
                b.cache.remove("feed", gone, ids)


def _followers_pages(b: Backends, pages: list[tuple[int, int | None]]) -> list[list[int]]:
    limit = b.settings.fanout_batch_size
    if supports(b.graph, FanoutGraphSupport) and len(pages) > 1:
        return b.graph.followers_many(pages, limit)
    return [b.graph.followers(user_id, after, limit) for user_id, after in pages]


def _edges_among(b: Backends, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    if supports(b.graph, FanoutGraphSupport):
        return b.graph.edges_among(pairs) if pairs else set()
    by_author: dict[int, list[int]] = {}
    for follower, author in pairs:
        by_author.setdefault(author, []).append(follower)
    return {
        (f, author)
        for author, followers in by_author.items()
        for f in b.graph.followers_among(author, followers)
    }


def sync_follow(b: Backends, follower_id: int, followee_id: int) -> None:
    """Backfill or remove ``followee_id``'s tweets in ``follower_id``'s feed until the feed
    agrees with the edge as it is after the write."""
    following = bool(b.graph.followers_among(followee_id, [follower_id]))
    for _ in range(8):  # each pass re-checks the edge; it only repeats if the edge flips meanwhile
        if following:
            recent = recent_tweet_ids(b, followee_id)
            b.cache.insert("feed", [follower_id], recent, b.settings.max_feed_length)
        else:
            remove_author(b, follower_id, followee_id)
        now_following = bool(b.graph.followers_among(followee_id, [follower_id]))
        if now_following == following:
            return
        following = now_following


def remove_author(b: Backends, user_id: int, author_id: int) -> None:
    """Remove every tweet of ``author_id`` from ``user_id``'s cached feed.

    The feed is read and its tweets' authors looked up, rather than removing the author's newest
    tweets: the author may have posted many more since the feed last received one.
    """
    found = b.cache.read("feed", user_id, None, b.settings.max_feed_length)
    if found is None or not found.ids:
        return
    tweets = b.store.get_tweets(found.ids)
    theirs = [i for i in found.ids if (t := tweets.get(i)) is not None and t.author_id == author_id]
    if theirs:
        b.cache.remove("feed", [user_id], theirs)


def recent_tweet_ids(b: Backends, author_id: int) -> list[int]:
    """The author's newest ``max_feed_length + 1`` tweet ids, for backfills.

    One more than a feed holds: when the author has more tweets than that, inserting them all
    overflows the feed, so its trim raises the floor above the oldest one, and the feed never
    claims to hold older tweets of this author that were not inserted.
    """
    return b.store.author_tweet_ids(author_id, None, b.settings.max_feed_length + 1)


def all_following(b: Backends, user_id: int) -> list[int]:
    """Every user ``user_id`` follows, ascending (paged from the graph)."""
    out: list[int] = []
    while page := b.graph.following(user_id, out[-1] if out else None, 10_000):
        out.extend(page)
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
        before = all_following(b, key) if kind == "feed" else None
        b.cache.reset(kind, key)
        ids = ids_from_store(max_len)
        floor = 0 if len(ids) < max_len else ids[-1]
        b.cache.merge(kind, key, ids, floor, max_len)
        if kind != "feed" or all_following(b, key) == before:
            break
    return ids


def purge(b: Backends, author_id: int, tweet_id: int) -> None:
    """Remove a deleted tweet from the feeds of the author and of active followers."""
    since = active_since(b)
    b.cache.remove("feed", [author_id], [tweet_id])
    after: int | None = None
    while batch := b.graph.followers(author_id, after, b.settings.fanout_batch_size):
        after = batch[-1]
        b.cache.remove("feed", b.cache.active_among(batch, since), [tweet_id])
