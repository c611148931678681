"""The Protocols a backend implements, and the optional abilities it may add.

Interfaces are small and primitive on purpose: validation, ordering rules, pagination and limits
live once in the facade and the strategies, never in each backend. An optional ability (e.g.
:class:`FeedReadSupport`) is a separate Protocol of batched methods that save round trips; a
backend without it gets the default of :mod:`socialfeed.abilities`, built on its core methods, so
the strategies always work with the *complete* Protocols (:class:`CompleteStore`,
:class:`CompleteGraph`, :class:`CompleteCache`, :class:`CompleteMedia`, :class:`CompleteQueue`).
A backend proves itself with the contract suites in :mod:`socialfeed.testing`; the registry builds
one from a URL through its :class:`FromURL` hook.

Conventions shared by every method below:

* user ids and tweet ids are ints in ``1 .. 2**63-1``; tweet id order is time order;
* lists of tweet ids are newest first; lists of user ids are ascending;
* ``before``/``after`` bounds are exclusive and ``None`` means "no bound";
* a backend translates its driver's exceptions into :class:`~socialfeed.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any, Literal, Protocol, TypeGuard, TypeVar, runtime_checkable

import attrs

from socialfeed.jobs import Job
from socialfeed.models import Media, Tweet
from socialfeed.settings import Settings

__all__ = [
    "BUILDING",
    "Backends",
    "CachedSlice",
    "CompleteCache",
    "CompleteGraph",
    "CompleteMedia",
    "CompleteQueue",
    "CompleteStore",
    "FanoutBatchSupport",
    "FanoutGraphSupport",
    "FanoutQueue",
    "FeedCache",
    "FeedReadSupport",
    "FeedStrategy",
    "FollowGraph",
    "FollowerCountSupport",
    "FromURL",
    "HomeTimelineSupport",
    "ListKind",
    "MediaStore",
    "MediaWriter",
    "QueueStatsSupport",
    "TweetStore",
    "UploadSweepSupport",
    "supports",
]

ListKind = Literal["feed", "celebrity"]
"""The two kinds of cached id lists: a user's precomputed home feed, an author's recent tweets."""

BUILDING = 2**63
"""The floor of a list that is being rebuilt: none of its entries can be trusted yet."""

A = TypeVar("A")


def supports(backend: object, ability: type[A]) -> TypeGuard[A]:
    """Whether ``backend`` has the optional ``ability`` (a Protocol of methods). The answer is
    cached per backend class: ``isinstance`` against a Protocol checks every method each time."""
    key: tuple[type, object] = (type(backend), ability)
    found = _SUPPORTS.get(key)
    if found is None:
        found = _SUPPORTS[key] = issubclass(type(backend), ability)
    return found


_SUPPORTS: dict[tuple[type, object], bool] = {}


@attrs.frozen
class CachedSlice:
    """A slice of a cached id list: its entries below ``before`` and at or above ``floor``.

    The cached list equals the truth for every id ``>= floor``; ``floor == 0`` means the list holds
    everything. Ids below the floor must be read from the store.
    """

    ids: tuple[int, ...]
    floor: int


@runtime_checkable
class TweetStore(Protocol):
    """The source of truth for tweets."""

    def put_tweet(self, tweet: Tweet) -> None:
        """Store a new tweet (with its media references, in order)."""

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
class HomeTimelineSupport(Protocol):
    """Optional ability of a store holding both tweets and follows: a page of ``home(u)`` ids in
    one operation (on SQL, one query) instead of a merge over followees done in Python."""

    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """Ids of ``home(user_id)`` below ``before``, newest first, at most ``limit``."""


@runtime_checkable
class FollowerCountSupport(Protocol):
    """Optional ability of a FollowGraph: classify many users by follower count in one call."""

    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """The ``user_ids`` that have at least ``min_followers`` followers."""


@runtime_checkable
class FanoutGraphSupport(Protocol):
    """Optional ability of a FollowGraph: the graph reads of a round of fan-out batches, for many
    authors at once (one query each on SQL instead of one per author)."""

    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """``followers(user_id, after, limit)`` for each ``(user_id, after)``, in order."""

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower_id, followee_id)`` pairs among ``pairs`` that are edges now."""


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

    def get_hot_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Hot tweets among ``tweet_ids`` (absent ones left out)."""

    def put_hot_tweets(self, tweets: Sequence[Tweet]) -> None:
        """Cache tweets; a tweet forgotten by :meth:`forget_hot_tweet` is not cached again."""

    def forget_hot_tweet(self, tweet_id: int) -> None:
        """Drop a deleted tweet, with a tombstone so that a racing :meth:`put_hot_tweets` can't
        revive it."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class FeedReadSupport(Protocol):
    """Optional ability of a FeedCache: the reads of one ``get_feed`` in fewer round trips."""

    def touch_and_read(
        self, user_id: int, now: datetime, limit: int
    ) -> tuple[datetime | None, CachedSlice | None]:
        """``touch(user_id, now)`` and ``read("feed", user_id, None, limit)`` as one operation."""

    def read_many(
        self, kind: ListKind, keys: Sequence[int], before: int | None, limit: int
    ) -> list[CachedSlice | None]:
        """``read(kind, key, before, limit)`` for each key, in order, as one operation."""


@runtime_checkable
class FanoutBatchSupport(Protocol):
    """Optional ability of a FeedCache: the writes of many fan-out batches in one operation."""

    def insert_many(
        self,
        kind: ListKind,
        batches: Sequence[tuple[Sequence[int], Sequence[int]]],
        max_length: int,
    ) -> None:
        """``insert(kind, keys, ids, max_length)`` for each ``(keys, ids)`` of ``batches``."""


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

    def start(self, handler: Callable[[Sequence[Job]], None], workers: int) -> None:
        """Begin applying jobs on ``workers`` in-process workers (0: none). ``handler`` applies a
        batch of jobs; a queue may hand it one job or several it took at once."""

    def submit(self, job: Job) -> None:
        """Enqueue a job (at-least-once: handlers must be idempotent)."""

    def drain(self, timeout: float | None = None) -> None:
        """Block until every submitted job is applied; ``TimeoutError`` past ``timeout``."""

    def close(self) -> None:
        """Stop the workers and release connections."""


@runtime_checkable
class UploadSweepSupport(Protocol):
    """Optional ability of a MediaStore: remove what uploads that died half way left behind."""

    def sweep_uploads(self, older_than: datetime) -> int:
        """Delete temporary objects last written before ``older_than``; return how many."""


@runtime_checkable
class QueueStatsSupport(Protocol):
    """Optional ability of a FanoutQueue: counters for logs and monitoring."""

    def stats(self) -> dict[str, Any]:
        """Counters such as jobs waiting, pending and processed."""


@runtime_checkable
class CompleteStore(TweetStore, HomeTimelineSupport, Protocol):
    """A TweetStore with every optional ability."""


@runtime_checkable
class CompleteGraph(FollowGraph, FollowerCountSupport, FanoutGraphSupport, Protocol):
    """A FollowGraph with every optional ability."""


@runtime_checkable
class CompleteCache(FeedCache, FeedReadSupport, FanoutBatchSupport, Protocol):
    """A FeedCache with every optional ability."""


@runtime_checkable
class CompleteMedia(MediaStore, UploadSweepSupport, Protocol):
    """A MediaStore with every optional ability."""


@runtime_checkable
class CompleteQueue(FanoutQueue, QueueStatsSupport, Protocol):
    """A FanoutQueue with every optional ability."""


class FromURL(Protocol):
    """How the registry builds a backend for a URL: a class (or any object) with ``from_url``.

    ``connect(cache="mycache://host/0")`` finds the class registered for ``mycache`` and calls
    ``from_url("mycache://host/0", settings)``; the class parses the URL (and its query options)
    and returns a ready backend.
    """

    def from_url(self, url: str, settings: Settings) -> Any:
        """A backend for ``url``."""


@attrs.define
class Backends:
    """Everything a strategy works with: the backends (each with every ability, see
    :mod:`socialfeed.abilities`), the settings and the clock."""

    store: CompleteStore
    graph: CompleteGraph
    cache: CompleteCache
    queue: FanoutQueue
    settings: Settings
    now: Callable[[], datetime]


@runtime_checkable
class FeedStrategy(Protocol):
    """Feed policy: what a write enqueues, what a job does, how a page of a feed is found."""

    name: str

    def on_tweet(self, b: Backends, tweet: Tweet) -> None:
        """A tweet was stored."""

    def on_delete(self, b: Backends, tweet: Tweet) -> None:
        """A tweet was marked deleted."""

    def on_follow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """An edge was added (``count``: the followee's follower count after it)."""

    def on_unfollow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """An edge was removed (``count``: the followee's follower count after it)."""

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Apply a batch of queued jobs (on a worker). Idempotent."""

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """Ids of ``home(user_id)`` below ``before``, newest first, at most ``limit``; may also
        contain ids of tweets deleted since they were cached (the facade drops those)."""
