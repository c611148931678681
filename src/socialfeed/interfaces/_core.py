"""The core Protocols: what every backend of a role implements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Literal, Protocol, runtime_checkable

import attrs

from socialfeed.jobs import Job, JobHandler
from socialfeed.models import Media, Tweet

__all__ = [
    "BUILDING",
    "CachedSlice",
    "Event",
    "EventKind",
    "FanoutQueue",
    "FeedCache",
    "FollowGraph",
    "ListKind",
    "MediaStore",
    "MediaWriter",
    "TweetStore",
]

ListKind = Literal["feed", "celebrity"]
"""The two kinds of cached id lists: a user's precomputed home feed, an author's recent tweets."""

BUILDING = 2**63
"""The floor of a list that is being rebuilt: none of its entries can be trusted yet."""

EventKind = Literal["tweet", "delete", "follow", "unfollow", "erase"]
"""What a write did (see :class:`Event`)."""


@attrs.frozen
class CachedSlice:
    """A slice of a cached id list: its entries below ``before`` and at or above ``floor``.

    The cached list equals the truth for every id ``>= floor``; ``floor == 0`` means the list holds
    everything. Ids below the floor must be read from the store.
    """

    ids: tuple[int, ...]
    floor: int


@attrs.frozen
class Event:
    """A write the feeds must learn about. A durable store records it in the same transaction as
    the write (its outbox), and keeps it until the fan-out it causes has been applied.

    ``actor`` is the author (``tweet``, ``delete``), the follower (``follow``, ``unfollow``) or
    the user being erased (``erase``); ``target`` the tweet id, the followee, or the erasure's
    watermark; ``count`` the followee's follower count right after
    a follow or unfollow. ``id`` is a Snowflake id minted by the facade: unique and time-ordered.
    """

    id: int
    kind: EventKind
    actor: int
    target: int
    count: int | None = None


@runtime_checkable
class TweetStore(Protocol):
    """The source of truth for tweets."""

    def put_tweet(self, tweet: Tweet) -> None:
        """Store a new tweet (with its media references, in order). Storing the same tweet
        again is a no-op; a *different* tweet under an id the store holds raises
        :class:`~socialfeed.errors.DuplicateId` and changes nothing: a store never keeps one
        tweet and drops another."""

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """The live (not deleted) tweets among ``tweet_ids``, by id; absent ids are left out."""

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Delete a tweet; return it if it was live, else ``None``. Idempotent."""

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """Ids of the author's live tweets below ``before``, newest first, at most ``limit``."""

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Which of ``media_ids`` a live tweet references."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class FollowGraph(Protocol):
    """Who follows whom, with exact counts."""

    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; return the followee's follower count after it, or ``None`` if it existed."""

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge; return the followee's follower count after, or ``None`` if absent."""

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Ids of ``user_id``'s followers above ``after``, ascending, at most ``limit``."""

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Ids of the users ``user_id`` follows, above ``after``, ascending, at most ``limit``."""

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""

    def followers_among(self, user_id: int, candidates: Sequence[int]) -> set[int]:
        """The ``candidates`` that follow ``user_id`` now."""

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """The users ``user_id`` follows that have at least ``min_followers`` followers."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class FeedCache(Protocol):
    """Precomputed feeds, celebrity recent-tweet lists, hot tweets and user last-seen times.

    Feeds (kind ``"feed"``, key = user id) and celebrity lists (kind ``"celebrity"``, key = author
    id) are bounded lists of tweet ids, newest first, each with a *floor* (see
    :class:`CachedSlice`). Losing any of it loses nothing: the strategies rebuild from the store.
    """

    def read(self, kind: ListKind, key: int, before: int | None, limit: int) -> CachedSlice | None:
        """Up to ``limit`` entries below ``before`` and at or above the floor; ``None`` when the
        list is absent or being rebuilt (floor :data:`BUILDING`)."""

    def reset(self, kind: ListKind, key: int) -> None:
        """Replace the list with an empty one whose floor is :data:`BUILDING`."""

    def merge(
        self, kind: ListKind, key: int, ids: Sequence[int], floor: int, max_length: int
    ) -> None:
        """Union ``ids`` into the list (creating it if absent), keep the newest ``max_length``,
        and set the floor to ``floor``, raised to the oldest kept entry if any were dropped."""

    def insert(
        self, kind: ListKind, keys: Sequence[int], ids: Sequence[int], max_length: int
    ) -> None:
        """For each existing list among ``keys``: add the ``ids`` at or above its floor (all of
        them while it is being rebuilt), then trim to ``max_length`` raising the floor."""

    def remove(self, kind: ListKind, keys: Sequence[int], ids: Sequence[int]) -> None:
        """Remove ``ids`` from each existing list among ``keys``."""

    def touch(self, user_id: int, now: datetime) -> datetime | None:
        """Record that the user was seen at ``now``; return the previous time, if any."""

    def active_among(self, user_ids: Sequence[int], since: datetime) -> list[int]:
        """The ``user_ids`` seen strictly after ``since``, in the given order."""

    def get_hot_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet | None]:
        """Hot tweets among ``tweet_ids``; ``None`` for a tweet forgotten by
        :meth:`forget_hot_tweet` (deleted: no need to ask the store, or a lagging replica, about
        it); ids the cache knows nothing about are left out."""

    def put_hot_tweets(self, tweets: Sequence[Tweet]) -> None:
        """Cache tweets; a tweet forgotten by :meth:`forget_hot_tweet` is not cached again."""

    def forget_hot_tweet(self, tweet_id: int) -> None:
        """Drop a deleted tweet, with a tombstone so that a racing :meth:`put_hot_tweets` can't
        revive it."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class MediaWriter(Protocol):
    """One upload being written (from :meth:`MediaStore.open_writer`): chunks in order, then
    exactly one of :meth:`commit` or :meth:`abort`."""

    def write(self, chunk: bytes) -> None:
        """Append ``chunk`` to the bytes being written."""

    def commit(self, media: Media) -> None:
        """Make the written bytes ``media`` (its id is their sha256): from now on :meth:`get`
        returns it. If that media exists already, keep one copy and refresh its creation time
        (it was just uploaded again, so garbage collection must not take it yet)."""

    def abort(self) -> None:
        """Throw the written bytes away, leaving nothing behind; idempotent."""


@runtime_checkable
class MediaStore(Protocol):
    """Image and video bytes under their ids. A media store only moves bytes: every rule about
    what an upload may be (types, limits, completeness, the id) lives in :mod:`socialfeed.media`.
    Media ids passed in are always valid (:func:`socialfeed.validation.is_media_id`)."""

    def open_writer(self) -> MediaWriter:
        """Start writing a new upload."""

    def get(self, media_ids: Sequence[str]) -> dict[str, Media]:
        """The stored media among ``media_ids``, by id."""

    def open(self, media_id: str) -> IO[bytes]:
        """A binary file object streaming the bytes back; ``NotFound`` if absent."""

    def url(self, media_id: str) -> str:
        """The store's own URL for the bytes (signed where the storage can sign)."""

    def list_media(self, older_than: datetime) -> Iterator[str]:
        """Ids of media whose creation time (last upload) is before ``older_than``."""

    def delete(self, media_id: str) -> None:
        """Remove the media (its metadata first, then the bytes); idempotent."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class FanoutQueue(Protocol):
    """Carries fan-out jobs from the facade to the workers that apply them."""

    def start(self, handler: JobHandler, workers: int) -> None:
        """Begin applying jobs on ``workers`` in-process workers (0: none) with ``handler``, by
        the rule of :func:`socialfeed.jobs.apply_batch`: a batch is applied; after a backend
        failure it is retried later; a job that fails by itself is parked (dead-lettered) once
        ``handler.invalidate`` has made the feeds it would have touched rebuild."""

    def submit(self, job: Job) -> None:
        """Enqueue a job (at-least-once: handlers must be idempotent)."""

    def drain(self, timeout: float | None = None) -> None:
        """Block until every submitted job is applied; ``TimeoutError`` past ``timeout``."""

    def close(self) -> None:
        """Stop the workers and release connections."""
