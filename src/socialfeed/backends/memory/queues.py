"""The in-process queues: :class:`InlineQueue` and :class:`ThreadQueue`.

Both apply jobs by the rule of :func:`socialfeed.jobs.apply_batch` and keep the jobs that failed
by themselves as dead letters (:class:`~socialfeed.interfaces.DeadLetterSupport`): the feeds
they would have touched were invalidated, and :meth:`replay_dead` runs them again.
"""

from __future__ import annotations

import logging
import queue
import threading

from socialfeed.jobs import BatchOutcome, Job, JobHandler, apply_batch, describe_error
from socialfeed.settings import Settings

__all__ = ["InlineQueue", "ThreadQueue"]

log = logging.getLogger(__name__)


class _DeadLetters:
    """The parked jobs of an in-process queue."""

    def __init__(self) -> None:
        self._dead_lock = threading.Lock()
        self._dead: list[tuple[Job, str]] = []

    def _park(self, jobs: list[Job], outcome: BatchOutcome) -> None:
        for n, exc in outcome.parked:
            log.error("fan-out job %r failed by itself; parked: %s", jobs[n], exc, exc_info=exc)
            with self._dead_lock:
                self._dead.append((jobs[n], describe_error(exc)))

    def dead_letters(self) -> list[tuple[Job, str]]:
        """The parked jobs with their errors, oldest first."""
        with self._dead_lock:
            return list(self._dead)

    def replay_dead(self) -> int:
        """Submit every parked job again; return how many."""
        with self._dead_lock:
            jobs, self._dead = [job for job, _ in self._dead], []
        for job in jobs:
            self.submit(job)
        return len(jobs)

    def submit(self, job: Job) -> None:  # pragma: no cover - every queue defines it
        raise NotImplementedError


class InlineQueue(_DeadLetters):
    """Applies each job in the caller's thread as it is submitted: ``drain()`` has nothing to do.
    A job that meets a backend failure raises it to the caller (there is no queue to retry it
    from; the facade keeps the event and relays it again)."""

    def __init__(self) -> None:
        super().__init__()
        self._handler: JobHandler | None = None

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> InlineQueue:
        """``inline``."""
        return cls()

    def start(self, handler: JobHandler, workers: int) -> None:
        """Remember the handler; there are no workers."""
        self._handler = handler

    def submit(self, job: Job) -> None:
        """Apply ``job`` now."""
        if self._handler is None:
            raise RuntimeError("InlineQueue.start() was not called")
        outcome = apply_batch(self._handler, [job])
        self._park([job], outcome)
        for _, exc in outcome.retry:
            raise exc

    def drain(self, timeout: float | None = None) -> None:
        """Nothing is ever pending."""

    def close(self) -> None:
        """Nothing to release."""


class ThreadQueue(_DeadLetters):
    """A FIFO applied by a pool of worker threads; ``drain()`` waits until it is empty and idle.
    Jobs that meet a backend failure are applied again, with a growing pause, until the backend
    answers."""

    def __init__(self, batch: int = 64, max_pause: float = 2.0) -> None:
        super().__init__()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._batch = batch
        self._max_pause = max_pause
        self._pending = 0
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> ThreadQueue:
        """``thread``."""
        return cls()

    def start(self, handler: JobHandler, workers: int) -> None:
        """Start ``workers`` daemon threads applying jobs with ``handler``."""
        for n in range(workers):
            t = threading.Thread(
                target=self._run, args=(handler,), name=f"socialfeed-fanout-{n}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def _run(self, handler: JobHandler) -> None:
        stopping = False
        while not stopping:
            jobs: list[Job] = []
            first = self._jobs.get()
            while first is not None:  # take what is already queued, up to the batch size
                jobs.append(first)
                if len(jobs) >= self._batch:
                    break
                try:
                    first = self._jobs.get_nowait()
                except queue.Empty:
                    break
            stopping = first is None
            if jobs:
                self._apply(handler, jobs)

    def _apply(self, handler: JobHandler, jobs: list[Job]) -> None:
        pause = 0.05
        while jobs:
            outcome = apply_batch(handler, jobs, stopping=self._closing.is_set)
            self._park(jobs, outcome)
            again = [jobs[n] for n, _ in outcome.retry]
            if again and self._closing.is_set():
                log.error("closing with %d fan-out jobs a backend keeps failing", len(again))
                self._finished(len(jobs))  # the events stay in the store's outbox
                return
            self._finished(len(jobs) - len(again))
            jobs = again
            if jobs:
                log.warning(
                    "%d fan-out jobs met a backend failure; again in %.1fs", len(jobs), pause
                )
                self._closing.wait(pause)
                pause = min(pause * 2, self._max_pause)

    def _finished(self, count: int) -> None:
        with self._idle:
            self._pending -= count
            if not self._pending:
                self._idle.notify_all()

    def submit(self, job: Job) -> None:
        """Enqueue ``job``."""
        if not self._threads:
            raise RuntimeError("ThreadQueue has no workers: connect(..., workers=N) with N >= 1")
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def drain(self, timeout: float | None = None) -> None:
        """Wait until every submitted job has been applied."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} fan-out jobs still pending after {timeout}s")

    def close(self) -> None:
        """Finish queued jobs, then stop the threads."""
        self._closing.set()
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join()
        self._threads.clear()
