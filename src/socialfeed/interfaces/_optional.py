"""The optional abilities: Protocols of methods a backend may add to save round trips or to make
a deployment safe. :mod:`socialfeed.abilities` gives each one its default over the core methods."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from socialfeed.interfaces._core import CachedSlice, Event, ListKind
from socialfeed.jobs import Job
from socialfeed.models import Tweet
from socialfeed.notices import Listening, Wake

__all__ = [
    "READ_ALONG",
    "DeadLetterSupport",
    "DurableFollowSupport",
    "DurableTweetSupport",
    "FanoutBatchSupport",
    "FanoutGraphSupport",
    "FeedNoticeSupport",
    "FeedReadSupport",
    "FollowerCountSupport",
    "HomeTimelineSupport",
    "MediaClaimSupport",
    "Outbox",
    "PrimarySupport",
    "QueueStatsSupport",
    "ReadAlong",
    "SettingsRecordSupport",
    "UploadSweepSupport",
    "WorkerIdLeaseSupport",
]


@attrs.define
class ReadAlong:
    """What one page read has gathered on its way, so that its refills do not ask again:
    ``hot``, the hot tweets a FeedCache read along with a list (``None`` for a tombstone, as in
    ``get_hot_tweets``), and ``touched``, the users whose visit it has recorded.

    ``ahead`` names the celebrity lists the first page merges into the user's feed; a FeedCache
    may read their first-page heads along with ``touch_and_read`` into ``heads`` (``None`` for
    a list missing or being rebuilt, as in ``read``), and the hot bodies of the newest ids of
    them all into ``hot``; the read takes each head from there once."""

    hot: dict[int, Tweet | None] = attrs.Factory(dict)
    touched: set[int] = attrs.Factory(set)
    ahead: Sequence[int] = ()
    heads: dict[int, CachedSlice | None] = attrs.Factory(dict)


READ_ALONG: ContextVar[ReadAlong | None] = ContextVar("socialfeed_read_along", default=None)
"""The :class:`ReadAlong` of the page being read (``None`` outside a page read): the read
pipeline sets a fresh one for the length of one page and looks there before it asks
``get_hot_tweets``; a cache that can fetch the bodies of the ids it returns in the same round
trip (Redis on one server) adds them. A cache that does nothing with it loses nothing."""


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
class FeedNoticeSupport(Protocol):
    """Optional ability of a FeedCache: feed notices (:mod:`socialfeed.notices`) that reach
    every process, so ``subscribe()`` wakes wherever the write happened (Redis pub/sub)."""

    def notify(self, channels: Sequence[int]) -> None:
        """Send a notice on each of ``channels`` (user ids) to every process's listeners."""

    def listen(self, channels: Sequence[int], wake: Wake) -> Listening:
        """Call ``wake(channel)`` for each notice on ``channels`` until the returned
        registration is closed; notices sent after this returns are delivered."""


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
class Outbox(Protocol):
    """The events a durable backend recorded with its writes, until their fan-out is applied."""

    def claim_events(self, before: int, limit: int, claim_for: float) -> list[Event]:
        """Up to ``limit`` recorded events with ids below ``before`` whose claim (if any) has
        expired, oldest first; they are claimed for ``claim_for`` seconds, so that two relays
        do not publish the same event at once."""

    def pending_events(self, limit: int) -> list[Event]:
        """Up to ``limit`` recorded events, claimed or not, oldest first."""

    def events_published(self, event_ids: Sequence[int]) -> None:
        """The jobs of these events are on the queue. A durable outbox keeps them until
        :meth:`events_done` (the queue may lose a job); one kept in a single process's memory
        forgets them now (a worker in another process cannot mark them done)."""

    def events_done(self, event_ids: Sequence[int]) -> None:
        """Forget these events: their fan-out was applied. Idempotent."""


@runtime_checkable
class DurableTweetSupport(Outbox, Protocol):
    """Optional ability of a store: tweet writes that record their :class:`Event` in the same
    transaction, idempotency keys, and the tombstones a retried delete needs."""

    def write_tweet(self, tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
        """``put_tweet`` and, if it stored the tweet, the ``tweet`` event ``event``. With an
        ``idempotency_key`` already used by the same author, nothing is written and the tweet
        stored under that key is returned; else ``tweet``."""

    def write_delete(self, tweet_id: int, event: int) -> Tweet | None:
        """``mark_deleted`` and, if it deleted the tweet, the ``delete`` event ``event`` and a
        tombstone naming the author (see :meth:`deleted_authors`)."""

    def deleted_authors(self, tweet_ids: Sequence[int]) -> dict[int, int]:
        """For tweets among ``tweet_ids`` that were deleted, their authors."""


@runtime_checkable
class DurableFollowSupport(Outbox, Protocol):
    """Optional ability of a follow graph: edge writes that record their :class:`Event` (with
    the count after) in the same transaction."""

    def write_follow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``add_follow`` and, if it added the edge, the ``follow`` event ``event``."""

    def write_unfollow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``remove_follow`` and, if it removed the edge, the ``unfollow`` event ``event``."""


@runtime_checkable
class PrimarySupport(Protocol):
    """Optional ability of a store or graph with read replicas: a view that reads the primary."""

    def on_primary(self) -> Any:
        """The same backend, with every read on the primary (what jobs decide on)."""


@runtime_checkable
class WorkerIdLeaseSupport(Protocol):
    """Optional ability of a shared backend: leases of the 1,024 Snowflake worker ids, so that no
    two live processes mint ids with the same one."""

    def acquire_worker_id(self, holder: str, ttl: float, wanted: int | None) -> tuple[int, int]:
        """Lease ``wanted`` (or any free id) to ``holder`` for ``ttl`` seconds; return it and the
        last millisecond a previous holder minted under it (0 if none). ``wanted`` held by
        another live holder, or no free id: :class:`~socialfeed.errors.BackendError`."""

    def renew_worker_id(self, worker_id: int, holder: str, ttl: float, last_ms: int) -> bool:
        """Extend ``holder``'s lease by ``ttl`` seconds, recording ``last_ms``; ``False`` if the
        lease was lost (it expired and someone else took it)."""

    def release_worker_id(self, worker_id: int, holder: str, last_ms: int) -> None:
        """End ``holder``'s lease, recording ``last_ms`` for the next holder."""


@runtime_checkable
class SettingsRecordSupport(Protocol):
    """Optional ability of a store: the deployment's feed settings, recorded once."""

    def record_settings(self, values: dict[str, str]) -> dict[str, str]:
        """Record each of ``values`` that is not recorded yet; return every recorded value."""


@runtime_checkable
class MediaClaimSupport(Protocol):
    """Optional ability of a store: media references taken under a lock, so that garbage
    collection and a post attaching the same media cannot race."""

    def claim_unused_media(self, media_ids: Sequence[str], claim_for: float) -> list[str]:
        """Claim, for deletion, the ``media_ids`` no live tweet references; for ``claim_for``
        seconds a tweet attaching one of them is refused (``put_tweet`` raises
        :class:`~socialfeed.errors.ValidationError`)."""

    def release_media_claims(self, media_ids: Sequence[str]) -> None:
        """The claimed media were deleted: drop their claims."""


@runtime_checkable
class DeadLetterSupport(Protocol):
    """Optional ability of a queue: parked jobs (failed by themselves), and replaying them."""

    def dead_letters(self) -> list[tuple[Job, str]]:
        """The parked jobs with their last errors, oldest first."""

    def replay_dead(self) -> int:
        """Submit every parked job again and forget it; return how many."""
