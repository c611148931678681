"""Push for ordinary authors; celebrities' tweets are merged in at read time."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from socialfeed.interfaces import Backends
from socialfeed.jobs import Demote, FanOut, Job
from socialfeed.models import Tweet
from socialfeed.strategies._fanout import active_since
from socialfeed.strategies._lists import cached_many, open_feed, page_from
from socialfeed.strategies.push import PushStrategy

__all__ = ["HybridStrategy"]


@attrs.define
class HybridStrategy(PushStrategy):
    """Push, except for authors with ``follower_count >= celebrity_threshold``: their tweets go to
    a per-author celebrity list that followers merge into their feed when they read it.

    Whether an author is a celebrity is decided when a job is applied and when a feed is read,
    from the exact follower count. An author who drops below the threshold has their recent tweets
    fanned out once (a :class:`~socialfeed.jobs.Demote` job), so nothing they posted as a
    celebrity goes missing.
    """

    name: str = "hybrid"

    def on_delete(self, b: Backends, tweet: Tweet) -> None:
        """Take the tweet out of its author's celebrity list at once, then purge it from feeds."""
        b.cache.remove("celebrity", [tweet.author_id], [tweet.id])
        super().on_delete(b, tweet)

    def on_unfollow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """Enqueue the removal; demote the followee if this unfollow took them below the bar."""
        super().on_unfollow(b, follower_id, followee_id, count)
        if count == b.settings.celebrity_threshold - 1:
            b.queue.submit(Demote(followee_id))

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Apply a batch of jobs; a celebrity's new tweets go to their celebrity list (and their
        own feed), not to their followers."""
        ordinary: list[Job] = []
        authors = [j.author_id for j in jobs if isinstance(j, FanOut)]
        threshold = b.settings.celebrity_threshold
        celebrities = b.graph.with_min_followers(authors, threshold) if authors else set()
        for job in jobs:
            if isinstance(job, FanOut) and job.author_id in celebrities:
                max_len = b.settings.max_feed_length
                b.cache.insert("celebrity", [job.author_id], job.tweet_ids, max_len)
                own = b.cache.active_among([job.author_id], active_since(b))
                b.cache.insert("feed", own, job.tweet_ids, max_len)
            else:
                ordinary.append(job)
        super().apply(b, ordinary)

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """The precomputed feed merged with the followed celebrities' lists; deeper, the store."""
        feed = open_feed(b, user_id, before, limit)
        celebrities = b.graph.following_with_min_followers(user_id, b.settings.celebrity_threshold)
        slices = [feed, *cached_many(b, "celebrity", celebrities, before, limit)]
        return page_from(b, user_id, slices, before, limit)
