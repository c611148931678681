"""Fan-out jobs: their types, their codec, and the one rule for a job that fails.

A job is a small frozen value put on a :class:`~socialfeed.interfaces.FanoutQueue` by a strategy
and applied by a worker (:meth:`~socialfeed.interfaces.FeedStrategy.apply`). Every job is
idempotent, so a queue may deliver one twice, out of order, or concurrently with follows:

* :class:`FanOut` puts tweet ids into the feeds of the author and of every active follower;
* :class:`SyncFollow` makes one follower's feed agree with one edge as it is now;
* :class:`Purge` removes a deleted tweet from the feeds that hold it;
* :class:`Demote` fans out the recent tweets of an author who stopped being a celebrity.

:func:`encode_job` / :func:`decode_job` are the wire format of queues that serialize (JSON), and
:func:`apply_batch` is the rule every queue applies a batch with: which jobs are done, which
failed by themselves, and which must be retried later because a backend failed.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from socialfeed.errors import BackendError

__all__ = [
    "QUICK_RETRIES",
    "BatchOutcome",
    "Demote",
    "FanOut",
    "Job",
    "Purge",
    "SyncFollow",
    "apply_batch",
    "decode_job",
    "describe_error",
    "encode_job",
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
"""Any fan-out job."""

_JOB_TYPES: dict[str, type[Job]] = {
    cls.__name__: cls for cls in (FanOut, SyncFollow, Purge, Demote)
}


def encode_job(job: Job) -> str:
    """The job as compact JSON: ``{"type": "FanOut", "author_id": 1, "tweet_ids": [5]}``."""
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(job).items()}
    return json.dumps({"type": type(job).__name__, **fields}, separators=(",", ":"))


def decode_job(data: str | bytes) -> Job:
    """The job :func:`encode_job` made ``data`` from; ``ValueError`` if it is not one."""
    try:
        fields: dict[str, Any] = json.loads(data)
        cls = _JOB_TYPES[fields.pop("type")]
        for name, value in fields.items():
            is_list = isinstance(value, list)
            fields[name] = tuple(int(i) for i in value) if is_list else int(value)
        return cls(**fields)
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a fan-out job: {exc!r}") from exc


QUICK_RETRIES = (0.05, 0.25)
"""Seconds between the attempts of one job before :func:`apply_batch` gives up on it."""


@attrs.frozen
class BatchOutcome:
    """What became of a batch, by position in it: applied (``done``), failed by itself after
    its quick retries (``failed``, with the exception), or to be retried later because a backend
    failed (``retry``: nothing is known to be wrong with those jobs)."""

    done: tuple[int, ...] = ()
    failed: tuple[tuple[int, Exception], ...] = ()
    retry: tuple[tuple[int, Exception], ...] = ()


def describe_error(exc: BaseException) -> str:
    """One line naming an exception and its message, for logs and dead letters."""
    return "".join(traceback.format_exception_only(exc)).strip()


def apply_batch(
    handler: Callable[[Sequence[Job]], None],
    jobs: Sequence[Job],
    *,
    pauses: Sequence[float] = QUICK_RETRIES,
    stopping: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Apply ``jobs`` with ``handler``: the rule every queue follows.

    The whole batch goes in one call. If that raises :class:`~socialfeed.errors.BackendError`, a
    backend is down and every job would fail the same way: all are to be retried later. If it
    raises anything else, the jobs are applied one at a time, each with the quick retries of
    ``pauses``; a job whose last attempt raised ``BackendError`` is retried later, one that
    raised anything else failed by itself. ``stopping()`` cuts the quick retries short.
    """
    everything = tuple(range(len(jobs)))
    if not jobs:
        return BatchOutcome()
    if len(jobs) > 1:
        try:
            handler(jobs)
            return BatchOutcome(done=everything)
        except BackendError as exc:
            return BatchOutcome(retry=tuple((n, exc) for n in everything))
        except Exception:
            pass  # one of them may be bad: find out which
    done: list[int] = []
    failed: list[tuple[int, Exception]] = []
    retry: list[tuple[int, Exception]] = []
    for n, job in enumerate(jobs):
        for pause in (*pauses, None):
            try:
                handler([job])
                done.append(n)
                break
            except Exception as exc:
                if pause is not None and not stopping():
                    sleep(pause)
                    continue
                (retry if isinstance(exc, BackendError) else failed).append((n, exc))
                break
    return BatchOutcome(tuple(done), tuple(failed), tuple(retry))
