"""Push for ordinary authors; celebrities' tweets are merged in at read time."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from socialfeed.interfaces import Backends, Event
from socialfeed.jobs import FanOut, Job, Purge, SyncFollow
from socialfeed.settings import Settings
from socialfeed.strategies._fanout import active_since
from socialfeed.strategies._lists import cached_many, open_feed, page_from
from socialfeed.strategies.push import PushStrategy

__all__ = ["HybridStrategy"]


@attrs.define
class HybridStrategy(PushStrategy):
    """Push, except for authors with ``follower_count >= celebrity_threshold``: their tweets go to
    a per-author celebrity list that followers merge into their feed when they read it.

    Whether an author is a celebrity is decided when a job is applied and when a feed is read,
    from the exact follower count. An author whom an unfollow takes below the threshold has their
    recent tweets fanned out once (``SyncFollow(demote=True)``), so nothing they posted as a
    celebrity goes missing.
    """

    name: str = "hybrid"

    def job_for(self, settings: Settings, event: Event) -> Job | None:
        """As push; an unfollow that takes the followee below the bar also demotes them."""
        if event.kind == "unfollow" and event.count == settings.celebrity_threshold - 1:
            return SyncFollow(event.actor, event.target, demote=True, event=event.id)
        return super().job_for(settings, event)

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Apply a batch of jobs; a celebrity's new tweets go to their celebrity list (and their
        own feed), not to their followers; a purge also cleans the celebrity list."""
        ordinary: list[Job] = []
        authors = [j.author_id for j in jobs if isinstance(j, FanOut)]
        threshold = b.settings.celebrity_threshold
        celebrities = b.graph.with_min_followers(authors, threshold) if authors else set()
        max_len = b.settings.max_feed_length
        for job in jobs:
            if isinstance(job, FanOut) and job.author_id in celebrities:
                b.cache.insert("celebrity", [job.author_id], job.tweet_ids, max_len)
                own = b.cache.active_among([job.author_id], active_since(b))
                b.cache.insert("feed", own, job.tweet_ids, max_len)
                continue
            if isinstance(job, Purge):
                b.cache.remove("celebrity", [job.author_id], [job.tweet_id])
            ordinary.append(job)
        super().apply(b, ordinary)

    def invalidate(self, b: Backends, job: Job) -> None:
        """As push, and the author's celebrity list."""
        if isinstance(job, FanOut):
            b.cache.reset("celebrity", job.author_id)
        super().invalidate(b, job)

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """The precomputed feed merged with the followed celebrities' lists; deeper, the store."""
        celebrities = b.graph.following_with_min_followers(user_id, b.settings.celebrity_threshold)
        feed = open_feed(b, user_id, before, limit, celebrities)
        slices = [feed, *cached_many(b, "celebrity", celebrities, before, limit)]
        return page_from(b, user_id, slices, before, limit)
