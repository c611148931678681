"""Fan-out on write: every tweet is inserted into the precomputed feeds of active followers."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from socialfeed.interfaces import Backends
from socialfeed.jobs import Demote, FanOut, Job, Purge, SyncFollow
from socialfeed.models import Tweet
from socialfeed.strategies._fanout import fan_out, purge, recent_tweet_ids, sync_follow
from socialfeed.strategies._lists import open_feed, page_from

__all__ = ["PushStrategy"]


@attrs.define
class PushStrategy:
    """Fan-out on write: ``create_tweet`` enqueues one job; workers insert the tweet into the feed
    of the author and of every active follower, ``fanout_batch_size`` followers per cache call."""

    name: str = "push"

    def on_tweet(self, b: Backends, tweet: Tweet) -> None:
        """Enqueue the fan-out."""
        b.queue.submit(FanOut(tweet.author_id, (tweet.id,)))

    def on_delete(self, b: Backends, tweet: Tweet) -> None:
        """Enqueue removal from the feeds (readers already skip it)."""
        b.queue.submit(Purge(tweet.author_id, tweet.id))

    def on_follow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """Enqueue the backfill."""
        b.queue.submit(SyncFollow(follower_id, followee_id))

    def on_unfollow(self, b: Backends, follower_id: int, followee_id: int, count: int) -> None:
        """Enqueue the removal."""
        b.queue.submit(SyncFollow(follower_id, followee_id))

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Apply a batch of jobs; the fan-outs among them go out together."""
        posts: list[tuple[int, Sequence[int]]] = []
        for job in jobs:
            match job:
                case FanOut(author_id, tweet_ids):
                    posts.append((author_id, tweet_ids))
                case Demote(author_id):
                    posts.append((author_id, recent_tweet_ids(b, author_id)))
                case SyncFollow(follower_id, followee_id):
                    sync_follow(b, follower_id, followee_id)
                case Purge(author_id, tweet_id):
                    purge(b, author_id, tweet_id)
        if posts:
            fan_out(b, posts)

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """The precomputed feed; below its floor, the store."""
        return page_from(b, user_id, [open_feed(b, user_id, before, limit)], before, limit)
