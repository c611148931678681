"""The relay between the stores' outboxes and the fan-out queue.

Every write that the feeds must learn about is recorded as an
:class:`~socialfeed.interfaces.Event` by the store, in the same transaction as the write (on SQL:
one commit for the tweet and its event). The facade then *publishes* it: the strategy turns it
into a job (:meth:`~socialfeed.interfaces.FeedStrategy.job_for`) and the job goes on the queue,
carrying the event's id. A worker applies the job and the event is forgotten
(:meth:`Relay.apply`). Whatever fails in between, the event stays in the outbox:

* the queue is down, or the process crashes before publishing: a relay running beside the workers
  (:meth:`Relay.sweep`, every ``interval`` seconds) publishes events older than ``after``;
* the queue loses the job (a Redis restart without persistence): the same sweep publishes it
  again once its claim runs out, and :meth:`Relay.drain` does not return before every event is
  done.

Jobs are idempotent, so an event published twice does no harm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import cast

from socialfeed.erasure import erase
from socialfeed.errors import BackendError
from socialfeed.ids import id_floor_for
from socialfeed.interfaces import Backends, Event, FeedStrategy, Outbox
from socialfeed.jobs import Demote, Erase, FanOut, Job, SyncFollow
from socialfeed.notices import send

__all__ = ["Relay"]

log = logging.getLogger(__name__)

_BATCH = 500


class Relay:
    """Publishes events as jobs, applies jobs and forgets their events (the queue's
    :class:`~socialfeed.jobs.JobHandler`), and sweeps the outboxes for events left behind."""

    def __init__(
        self,
        b: Backends,
        strategy: FeedStrategy,
        *,
        after: float = 30.0,
        interval: float = 1.0,
        claim_for: float = 60.0,
    ) -> None:
        """``after``: how old an event must be before a sweep publishes it (the fast path had its
        chance); ``claim_for``: how long a swept event is left alone before it is published again
        if its job was lost."""
        self._b = b
        self._strategy = strategy
        same = b.store is cast(object, b.graph)
        self._outboxes: list[Outbox] = [b.store] if same else [b.store, b.graph]
        self._after = after
        self._interval = interval
        self._claim_for = claim_for
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # publishing
    def publish(self, events: Sequence[Event]) -> None:
        """Queue the job of each event (events that need none are forgotten at once). A backend
        failure is raised; the events stay in their outbox."""
        done: list[int] = []
        published: list[int] = []
        for event in events:
            job = self.job_for(event)
            if job is None:
                done.append(event.id)
            else:
                self._b.queue.submit(job)
                published.append(event.id)
        if done:
            self._done(done)
        if published:
            for outbox in self._outboxes:
                outbox.events_published(published)

    def job_for(self, event: Event) -> Job | None:
        """The job of an event: an erasure's whatever the strategy, else the strategy's."""
        if event.kind == "erase":
            return Erase(event.actor, event.target, event=event.id)
        return self._strategy.job_for(self._b.settings, event)

    def publish_now(self, event: Event) -> None:
        """The fast path after a write: publish, and leave a failure to the sweep (the event is in
        the outbox; the write itself succeeded)."""
        try:
            self.publish([event])
        except BackendError as exc:
            log.warning("event %d stays in the outbox, to be relayed later: %s", event.id, exc)

    # the queue's handler
    def apply(self, jobs: Sequence[Job]) -> None:
        """Apply a batch of jobs on the truth (the primary), then forget their events. Erasures
        run here (:mod:`socialfeed.erasure`); the strategy applies the rest."""
        truth = self._b.truth
        for job in jobs:
            if isinstance(job, Erase):
                erase(truth, self._strategy, job)
        fanout = [job for job in jobs if not isinstance(job, Erase)]
        if fanout:
            self._strategy.apply(truth, fanout)
        self._done([job.event for job in jobs if job.event])
        woken = sorted({c for job in fanout for c in _gains(job)})
        if woken:
            send(self._b.cache.notify, woken)

    def finish_erasure(self, user_id: int, watermark: int) -> None:
        """Run an erasure under way to its end in this thread (the queued job then finds
        nothing left to do)."""
        erase(self._b.truth, self._strategy, Erase(user_id, watermark))

    def invalidate(self, job: Job) -> None:
        """The job failed by itself: rebuild its feeds from the store and forget its event (the
        dead letter keeps the job). A parked erasure keeps hiding what it erases; its rows stay
        until the dead letter is replayed."""
        if not isinstance(job, Erase):
            self._strategy.invalidate(self._b.truth, job)
        if job.event:
            self._done([job.event])

    def _done(self, event_ids: list[int]) -> None:
        for outbox in self._outboxes:
            outbox.events_done(event_ids)

    # sweeping
    def sweep(self) -> int:
        """Publish the events older than ``after`` whose claim ran out; return how many."""
        before = id_floor_for(self._b.now() - timedelta(seconds=self._after))
        published = 0
        for outbox in self._outboxes:
            while events := outbox.claim_events(before, _BATCH, self._claim_for):
                self.publish(events)
                published += len(events)
                if len(events) < _BATCH:
                    break
        return published

    def pending(self) -> list[Event]:
        """Events not done yet, in every outbox (at most a batch of each)."""
        return [e for outbox in self._outboxes for e in outbox.pending_events(_BATCH)]

    def drain(self, queue_drain: Callable[[float | None], None], timeout: float | None) -> None:
        """Return once every event is done: wait for the queue, then publish again what is still
        pending (its job was lost, or never published), until nothing is."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            queue_drain(left)
            pending = self.pending()
            if not pending:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"{len(pending)} events not applied after {timeout}s")
            time.sleep(pause)  # a job may be between the queue and events_done: look again
            pause = min(pause * 2, 0.2)
            still = {e.id for e in self.pending()}
            self.publish([e for e in pending if e.id in still])

    def start(self) -> None:
        """Sweep every ``interval`` seconds in a daemon thread, until :meth:`close`."""
        self._thread = threading.Thread(target=self._run, name="socialfeed-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if swept := self.sweep():
                    log.info("relayed %d events left behind", swept)
            except BackendError as exc:
                log.warning("outbox sweep failed: %s", exc)

    def close(self) -> None:
        """Stop sweeping."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _gains(job: Job) -> tuple[int, ...]:
    """The notice channels of the feeds ``job`` may add items to (:mod:`socialfeed.notices`):
    a fan-out's author (their followers listen there), a follow's follower."""
    match job:
        case FanOut(author_id) | Demote(author_id):
            return (author_id,)
        case SyncFollow(follower_id, followee_id, demote):
            return (follower_id, followee_id) if demote else (follower_id,)
    return ()
