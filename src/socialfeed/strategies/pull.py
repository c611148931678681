"""Fan-out on read: nothing is precomputed; every page is merged from the store."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from socialfeed.interfaces import Backends
from socialfeed.jobs import Job
from socialfeed.models import Tweet

__all__ = ["PullStrategy"]


@attrs.define
class PullStrategy:
    """Fan-out on read: ``get_feed`` merges the followees' tweets (one query on SQL)."""

    name: str = "pull"

    def on_tweet(self, b: Backends, tweet: Tweet) -> None:
        """Nothing to precompute."""

    def on_delete(self, b: Backends, tweet: Tweet) -> None:
        """Nothing to precompute."""

    def on_follow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """Nothing to precompute."""

    def on_unfollow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """Nothing to precompute."""

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Pull enqueues no jobs; jobs left by another strategy are ignored."""

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of ``home(user_id)`` straight from the store."""
        return b.store.home_tweet_ids(user_id, before, limit)
