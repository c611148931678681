"""Fan-out jobs: their types, their codec, and the one rule for a job that fails.

A job is a small frozen value put on a :class:`~socialfeed.interfaces.FanoutQueue` and applied by a
worker (:meth:`~socialfeed.interfaces.FeedStrategy.apply`). It carries the id of the
:class:`~socialfeed.interfaces.Event` it was made for (0: none), which the store forgets once the
job is applied. Every job is idempotent, so a queue may deliver one twice, out of order, or
concurrently with follows:

* :class:`FanOut` puts tweet ids into the feeds of the author and of every active follower;
* :class:`SyncFollow` makes one follower's feed agree with one edge as it is now (and, with
  ``demote``, fans out the followee's recent tweets: they stopped being a celebrity);
* :class:`Purge` removes a deleted tweet from the feeds that hold it;
* :class:`Demote` fans out the recent tweets of an author who stopped being a celebrity (queued
  by 0.1; 0.2 uses ``SyncFollow(demote=True)``);
* :class:`Erase` removes the rows of a user erased by ``delete_user`` (whatever the strategy).

:func:`encode_job` / :func:`decode_job` are the wire format of queues that serialize (JSON), and
:func:`apply_batch` is the rule every queue applies a batch with: which jobs are done, which
failed by themselves and were parked, and which must be retried later because a backend failed.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs

from socialfeed.errors import BackendError

__all__ = [
    "QUICK_RETRIES",
    "BatchOutcome",
    "Demote",
    "Erase",
    "FanOut",
    "Job",
    "JobFunctions",
    "JobHandler",
    "Purge",
    "SyncFollow",
    "apply_batch",
    "decode_job",
    "describe_error",
    "encode_job",
]


@attrs.frozen
class _Job:
    event: int = attrs.field(default=0, kw_only=True)
    """The id of the event this job was made for (0: none)."""


@attrs.frozen
class FanOut(_Job):
    """Insert ``tweet_ids`` (by ``author_id``) into the feeds of the author and active followers."""

    author_id: int
    tweet_ids: tuple[int, ...]


@attrs.frozen
class SyncFollow(_Job):
    """Make ``follower_id``'s feed agree with the edge follower -> followee as it is now; with
    ``demote``, also fan out ``followee_id``'s recent tweets (no longer a celebrity)."""

    follower_id: int
    followee_id: int
    demote: bool = False


@attrs.frozen
class Purge(_Job):
    """Remove the deleted tweet ``tweet_id`` from the feeds of the author's followers."""

    author_id: int
    tweet_id: int


@attrs.frozen
class Demote(_Job):
    """Fan out the recent tweets of ``author_id``, who is no longer a celebrity."""

    author_id: int


@attrs.frozen
class Erase(_Job):
    """Remove the rows of ``user_id`` below ``watermark`` (a tweet id): their follows, blocks,
    mutes, muted words and tweets (see :mod:`socialfeed.erasure`)."""

    user_id: int
    watermark: int


Job = FanOut | SyncFollow | Purge | Demote | Erase
"""Any fan-out job."""

_JOB_TYPES: dict[str, type[Job]] = {
    cls.__name__: cls for cls in (FanOut, SyncFollow, Purge, Demote, Erase)
}


class JobHandler(Protocol):
    """What a queue drives: the facade's side of applying jobs."""

    def apply(self, jobs: Sequence[Job]) -> None:
        """Apply a batch of jobs (idempotent)."""

    def invalidate(self, job: Job) -> None:
        """``job`` failed by itself and is about to be parked: make every feed it would have
        touched rebuild from the store, so nothing it carried goes missing."""


@attrs.frozen
class JobFunctions:
    """A :class:`JobHandler` made of two functions (handy in tests and small tools)."""

    on_apply: Callable[[Sequence[Job]], object]
    on_invalidate: Callable[[Job], object] = lambda job: None

    def apply(self, jobs: Sequence[Job]) -> None:
        """Call ``on_apply``."""
        self.on_apply(jobs)

    def invalidate(self, job: Job) -> None:
        """Call ``on_invalidate``."""
        self.on_invalidate(job)


def encode_job(job: Job) -> str:
    """The job as compact JSON: ``{"type": "FanOut", "event": 0, "author_id": 1, ...}``."""
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(job).items()}
    return json.dumps({"type": type(job).__name__, **fields}, separators=(",", ":"))


def decode_job(data: str | bytes) -> Job:
    """The job :func:`encode_job` made ``data`` from; ``ValueError`` if it is not one."""
    try:
        fields: dict[str, Any] = json.loads(data)
        cls = _JOB_TYPES[fields.pop("type")]
        for name, value in fields.items():
            if isinstance(value, list):
                fields[name] = tuple(int(i) for i in value)
            elif not isinstance(value, bool):
                fields[name] = int(value)
        return cls(**fields)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a fan-out job: {exc!r}") from exc


QUICK_RETRIES = (0.05, 0.25)
"""Seconds between the attempts of one job before :func:`apply_batch` gives up on it."""


@attrs.frozen
class BatchOutcome:
    """What became of a batch, by position in it: applied (``done``); failed by itself after its
    quick retries, its feeds invalidated, to be parked as a dead letter (``parked``, with the
    error); or to be retried later because a backend failed (``retry``, with the error: nothing
    is known to be wrong with those jobs)."""

    done: tuple[int, ...] = ()
    parked: tuple[tuple[int, Exception], ...] = ()
    retry: tuple[tuple[int, Exception], ...] = ()


def describe_error(exc: BaseException) -> str:
    """One line naming an exception and its message, for logs and dead letters."""
    return "".join(traceback.format_exception_only(exc)).strip()


def apply_batch(
    handler: JobHandler,
    jobs: Sequence[Job],
    *,
    pauses: Sequence[float] = QUICK_RETRIES,
    stopping: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Apply ``jobs`` with ``handler``: the rule every queue follows.

    The whole batch goes in one call. If that raises :class:`~socialfeed.errors.BackendError`, a
    backend is down and every job would fail the same way: all are to be retried later (a crash or
    an outage is never held against a job). If it raises anything else, the jobs are applied one
    at a time, each with the quick retries of ``pauses``; a job whose last attempt raised
    ``BackendError`` is retried later; one that raised anything else failed by itself: its feeds
    are invalidated (``handler.invalidate``) and it is to be parked, or, if the invalidation
    fails, retried later. ``stopping()`` cuts the quick retries short.
    """
    if not jobs:
        return BatchOutcome()
    if len(jobs) > 1:
        try:
            handler.apply(jobs)
            return BatchOutcome(done=tuple(range(len(jobs))))
        except BackendError as exc:
            return BatchOutcome(retry=tuple((n, exc) for n in range(len(jobs))))
        except Exception:
            pass  # one of them may be bad: find out which
    done: list[int] = []
    parked: list[tuple[int, Exception]] = []
    retry: list[tuple[int, Exception]] = []
    for n, job in enumerate(jobs):
        error = _attempts(handler, job, pauses, stopping, sleep)
        if error is None:
            done.append(n)
        elif isinstance(error, BackendError):
            retry.append((n, error))
        else:
            try:
                handler.invalidate(job)
                parked.append((n, error))
            except Exception as exc:
                retry.append((n, exc))
    return BatchOutcome(tuple(done), tuple(parked), tuple(retry))


def _attempts(
    handler: JobHandler,
    job: Job,
    pauses: Sequence[float],
    stopping: Callable[[], bool],
    sleep: Callable[[float], None],
) -> Exception | None:
    """Apply one job with quick retries; its last error, or ``None`` once it applied."""
    for pause in (*pauses, None):
        try:
            handler.apply([job])
            return None
        except Exception as exc:
            if pause is None or stopping():
                return exc
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
