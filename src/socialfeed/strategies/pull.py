"""Fan-out on read: nothing is precomputed; every page is merged from the store."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from socialfeed.interfaces import Backends, Event
from socialfeed.jobs import Job
from socialfeed.settings import Settings

__all__ = ["PullStrategy"]


@attrs.define
class PullStrategy:
    """Fan-out on read: ``get_feed`` merges the followees' tweets (one query on SQL)."""

    name: str = "pull"

    def job_for(self, settings: Settings, event: Event) -> Job | None:
        """No job: nothing is precomputed."""
        return None

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Pull makes no jobs; jobs left by another strategy are ignored."""

    def invalidate(self, b: Backends, job: Job) -> None:
        """Nothing is precomputed."""

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of ``home(user_id)`` straight from the store."""
        return b.store.home_tweet_ids(user_id, before, limit)
