"""Push for ordinary authors; celebrities' tweets are merged in at read time."""

from __future__ import annotations

import attrs

from socialfeed import fanout
from socialfeed.fanout import Demote, FanOut, Job
from socialfeed.interfaces import Backends
from socialfeed.strategies._merge import cached, open_feed, page_from
from socialfeed.strategies.push import PushStrategy

__all__ = ["HybridStrategy"]


@attrs.define
class HybridStrategy(PushStrategy):
    """Push, except for authors with ``follower_count >= celebrity_threshold``: their tweets go to
    a per-author celebrity list that followers merge into their feed when they read it.

    Whether an author is a celebrity is decided when a job is applied and when a feed is read,
    from the exact follower count. An author who drops below the threshold has their recent tweets
    fanned out once (a :class:`~socialfeed.fanout.Demote` job), so nothing they posted as a
    celebrity goes missing.
    """

    name: str = "hybrid"

    def on_unfollow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """Enqueue the removal; demote the followee if this unfollow took them below the bar."""
        super().on_unfollow(b, follower_id, followee_id, count)
        if count == b.settings.celebrity_threshold - 1:
            b.queue.submit(Demote(followee_id))

    def apply(self, b: Backends, job: Job) -> None:
        """Apply one job; a celebrity's new tweet goes to their celebrity list, not to followers."""
        if isinstance(job, FanOut) and self._is_celebrity(b, job.author_id):
            b.cache.insert("celebrity", [job.author_id], job.tweet_ids, b.settings.max_feed_length)
            own = b.cache.active_among([job.author_id], fanout.active_since(b))
            b.cache.insert("feed", own, job.tweet_ids, b.settings.max_feed_length)
        else:
            super().apply(b, job)

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """The precomputed feed merged with the followed celebrities' lists; deeper, the store."""
        feed = open_feed(b, user_id, before, limit)
        celebrities = b.graph.following_with_min_followers(user_id, b.settings.celebrity_threshold)
        slices = [feed, *(cached(b, "celebrity", c, before, limit) for c in celebrities)]
        return page_from(b, user_id, slices, before, limit)

    @staticmethod
    def _is_celebrity(b: Backends, author_id: int) -> bool:
        return b.graph.follower_count(author_id) >= b.settings.celebrity_threshold
