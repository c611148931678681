"""The write side of the push strategies: what applying a fan-out job does to the cached feeds.

Every operation is idempotent and re-checks the follow graph after writing, so jobs may run twice,
out of order, or concurrently with follows and unfollows, and the feeds still converge to
``home(u)``:

* :func:`fan_out` puts tweet ids into the feeds of their authors and of every *active* follower,
  one ``fanout_batch_size`` batch of followers at a time, then takes them out again for anyone in
  the batch who unfollowed meanwhile;
* :func:`sync_follow` makes one follower's feed agree with one edge: backfill the followee's
  recent tweets if the edge exists, remove them if not, and repeat if the edge changed meanwhile;
* :func:`purge` removes a deleted tweet from the feeds that hold it (hygiene: readers already skip
  deleted tweets);
* :func:`recent_tweet_ids` is what a backfill or a demotion fans out;
* :func:`invalidate_feeds` resets the feeds a failed fan-out would have written to, so they
  rebuild from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from socialfeed.interfaces import Backends

__all__ = [
    "active_since",
    "fan_out",
    "invalidate_feeds",
    "purge",
    "recent_tweet_ids",
    "remove_author",
    "sync_follow",
]


def active_since(b: Backends) -> datetime:
    """The time after which a user counts as active."""
    return b.now() - b.settings.active_window


def fan_out(b: Backends, posts: Sequence[tuple[int, Sequence[int]]]) -> None:
    """Fan out several ``(author_id, tweet_ids)`` together, in rounds: each round takes the next
    ``fanout_batch_size`` followers of every author (one ``followers_many``), finds the active ones
    (one ``active_among``), inserts (one ``insert_many``), then takes the ids out again for anyone
    who unfollowed meanwhile (one ``edges_among``). The authors' own feeds go with the first
    round."""
    s = b.settings
    since = active_since(b)
    after: list[int | None] = [None] * len(posts)
    pending = list(range(len(posts)))
    first = True
    while pending:
        pages = b.graph.followers_many(
            [(posts[n][0], after[n]) for n in pending], s.fanout_batch_size
        )
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
        b.cache.insert_many("feed", [(keys, posts[n][1]) for n, keys in writes], s.max_feed_length)
        pairs = [(u, posts[n][0]) for n, keys in writes for u in keys if u != posts[n][0]]
        edges = b.graph.edges_among(pairs) if pairs else set()
        for n, keys in writes:
            author, ids = posts[n]
            gone = [u for u in keys if u != author and (u, author) not in edges]
            if gone:
                b.cache.remove("feed", gone, ids)


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
    """The author's newest ``max_feed_length + 1`` tweet ids, for backfills and demotions.

    One more than a feed holds: when the author has more tweets than that, inserting them all
    overflows the feed, so its trim raises the floor above the oldest one, and the feed never
    claims to hold older tweets of this author that were not inserted.
    """
    return b.store.author_tweet_ids(author_id, None, b.settings.max_feed_length + 1)


def purge(b: Backends, author_id: int, tweet_id: int) -> None:
    """Remove a deleted tweet from the feeds of the author and of active followers."""
    since = active_since(b)
    b.cache.remove("feed", [author_id], [tweet_id])
    after: int | None = None
    while batch := b.graph.followers(author_id, after, b.settings.fanout_batch_size):
        after = batch[-1]
        b.cache.remove("feed", b.cache.active_among(batch, since), [tweet_id])


def invalidate_feeds(b: Backends, author_id: int) -> None:
    """Reset the feeds of the author and of every active follower: they rebuild from the store
    on their next read (what parking a fan-out that failed by itself needs)."""
    since = active_since(b)
    b.cache.reset("feed", author_id)
    after: int | None = None
    while batch := b.graph.followers(author_id, after, b.settings.fanout_batch_size):
        after = batch[-1]
        for user_id in b.cache.active_among(batch, since):
            b.cache.reset("feed", user_id)
