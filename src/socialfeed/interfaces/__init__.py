"""The Protocols a backend implements, and the optional abilities it may add.

Interfaces are small and primitive on purpose: validation, ordering rules, pagination and limits
live once in the facade and the strategies, never in each backend. An optional ability (e.g.
:class:`FeedReadSupport`) is a separate Protocol of batched methods that save round trips, or of
what a safe deployment needs (:class:`DurableTweetSupport`, :class:`WorkerIdLeaseSupport`, ...); a
backend without it gets the default of :mod:`socialfeed.abilities`, built on its core methods, so
the strategies always work with the *complete* Protocols (:class:`CompleteStore`,
:class:`CompleteGraph`, :class:`CompleteCache`, :class:`CompleteMedia`, :class:`CompleteQueue`).
A backend proves itself with the contract suites in :mod:`socialfeed.testing`; the registry builds
one from a URL through its :class:`FromURL` hook.

Conventions shared by every method:

* user ids and tweet ids are ints in ``1 .. 2**63-1``; tweet id order is time order;
* lists of tweet ids are newest first; lists of user ids are ascending;
* ``before``/``after`` bounds are exclusive and ``None`` means "no bound";
* a backend translates its driver's exceptions into :class:`~socialfeed.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeGuard, TypeVar, runtime_checkable

import attrs

from socialfeed.interfaces._core import (
    BUILDING,
    CachedSlice,
    Event,
    EventKind,
    FanoutQueue,
    FeedCache,
    FollowGraph,
    ListKind,
    MediaStore,
    MediaWriter,
    TweetStore,
)
from socialfeed.interfaces._optional import (
    READ_ALONG,
    DeadLetterSupport,
    DurableFollowSupport,
    DurableTweetSupport,
    FanoutBatchSupport,
    FanoutGraphSupport,
    FeedNoticeSupport,
    FeedReadSupport,
    FollowerCountSupport,
    HomeTimelineSupport,
    MediaClaimSupport,
    Outbox,
    PrimarySupport,
    QueueStatsSupport,
    ReadAlong,
    SettingsRecordSupport,
    UploadSweepSupport,
    WorkerIdLeaseSupport,
)
from socialfeed.interfaces._social import (
    Relation,
    RelationKind,
    SocialStore,
    as_stored,
    reference,
)
from socialfeed.jobs import Job, JobHandler
from socialfeed.settings import Settings

__all__ = [
    "BUILDING",
    "READ_ALONG",
    "Backends",
    "CachedSlice",
    "CompleteCache",
    "CompleteGraph",
    "CompleteMedia",
    "CompleteQueue",
    "CompleteStore",
    "DeadLetterSupport",
    "DurableFollowSupport",
    "DurableTweetSupport",
    "Event",
    "EventKind",
    "FanoutBatchSupport",
    "FanoutGraphSupport",
    "FanoutQueue",
    "FeedCache",
    "FeedNoticeSupport",
    "FeedReadSupport",
    "FeedStrategy",
    "FollowGraph",
    "FollowerCountSupport",
    "FromURL",
    "HomeTimelineSupport",
    "JobHandler",
    "ListKind",
    "MediaClaimSupport",
    "MediaStore",
    "MediaWriter",
    "Outbox",
    "PrimarySupport",
    "QueueStatsSupport",
    "ReadAlong",
    "Relation",
    "RelationKind",
    "SettingsRecordSupport",
    "SocialStore",
    "TweetStore",
    "UploadSweepSupport",
    "WorkerIdLeaseSupport",
    "all_following",
    "as_stored",
    "missing_methods",
    "reference",
    "supports",
]

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

_FOLLOWING_PAGE = 10_000


def all_following(graph: FollowGraph, user_id: int) -> list[int]:
    """Every user ``user_id`` follows, ascending: pages of the graph's ``following`` until a
    short one (the usual reader follows fewer than a page: one round trip)."""
    out: list[int] = []
    while True:
        page = graph.following(user_id, out[-1] if out else None, _FOLLOWING_PAGE)
        out.extend(page)
        if len(page) < _FOLLOWING_PAGE:
            return out


def missing_methods(backend: object, protocol: type) -> list[str]:
    """The methods of ``protocol`` (and of the Protocols it extends) that ``backend`` lacks,
    sorted; ``[]`` when it implements them all."""
    required = {
        name
        for cls in protocol.__mro__
        if getattr(cls, "_is_protocol", False) and cls is not Protocol
        for name, value in vars(cls).items()
        if callable(value) and not name.startswith("_")
    }
    return sorted(name for name in required if not callable(getattr(backend, name, None)))


@runtime_checkable
class CompleteStore(
    TweetStore,
    HomeTimelineSupport,
    DurableTweetSupport,
    MediaClaimSupport,
    SettingsRecordSupport,
    PrimarySupport,
    SocialStore,
    Protocol,
):
    """A TweetStore with every optional ability (but worker-id leases, which :mod:`socialfeed.ids`
    takes from whichever backend offers them)."""


@runtime_checkable
class CompleteGraph(
    FollowGraph,
    FollowerCountSupport,
    FanoutGraphSupport,
    DurableFollowSupport,
    PrimarySupport,
    Protocol,
):
    """A FollowGraph with every optional ability."""


@runtime_checkable
class CompleteCache(FeedCache, FeedReadSupport, FanoutBatchSupport, FeedNoticeSupport, Protocol):
    """A FeedCache with every optional ability."""


@runtime_checkable
class CompleteMedia(MediaStore, UploadSweepSupport, Protocol):
    """A MediaStore with every optional ability."""


@runtime_checkable
class CompleteQueue(FanoutQueue, QueueStatsSupport, DeadLetterSupport, Protocol):
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
    :mod:`socialfeed.abilities`), the settings and the clock.

    ``truth`` is the same bundle with the store and graph reading their primary: what jobs and
    rebuilds decide on (a replica may lag). It is this bundle itself where there are no replicas.
    """

    store: CompleteStore
    graph: CompleteGraph
    cache: CompleteCache
    queue: FanoutQueue
    settings: Settings
    now: Callable[[], datetime]
    _truth: Backends | None = attrs.field(default=None, alias="truth")

    @property
    def truth(self) -> Backends:
        """The bundle that reads the primary."""
        return self if self._truth is None else self._truth


@runtime_checkable
class FeedStrategy(Protocol):
    """Feed policy: the job a write causes, what applying a job does, how a page is found."""

    name: str

    def job_for(self, settings: Settings, event: Event) -> Job | None:
        """The job (carrying ``event.id``) that brings the feeds up to date with ``event``, or
        ``None`` when the strategy needs none. Pure: no I/O, so any process may relay events."""

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Apply a batch of queued jobs (on a worker, with ``b.truth``). Idempotent."""

    def invalidate(self, b: Backends, job: Job) -> None:
        """Make every feed ``job`` would have touched rebuild from the store (the job failed by
        itself and is being parked)."""

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """Ids of ``home(user_id)`` below ``before``, newest first, at most ``limit``; may also
        contain ids of tweets deleted since they were cached (the facade drops those)."""
