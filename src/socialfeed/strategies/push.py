"""Fan-out on write: every tweet is inserted into the precomputed feeds of active followers."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from socialfeed.interfaces import Backends, Event
from socialfeed.jobs import Demote, FanOut, Job, Purge, SyncFollow
from socialfeed.settings import Settings
from socialfeed.strategies._fanout import (
    fan_out,
    invalidate_feeds,
    purge,
    recent_tweet_ids,
    sync_follow,
)
from socialfeed.strategies._lists import open_feed, page_from

__all__ = ["PushStrategy"]


@attrs.define
class PushStrategy:
    """Fan-out on write: a tweet's job inserts it into the feed of the author and of every active
    follower, ``fanout_batch_size`` followers per cache call."""

    name: str = "push"

    def job_for(self, settings: Settings, event: Event) -> Job | None:
        """A tweet fans out, a delete purges, a follow or unfollow syncs one feed."""
        if event.kind == "tweet":
            return FanOut(event.actor, (event.target,), event=event.id)
        if event.kind == "delete":
            return Purge(event.actor, event.target, event=event.id)
        return SyncFollow(event.actor, event.target, event=event.id)

    def apply(self, b: Backends, jobs: Sequence[Job]) -> None:
        """Apply a batch of jobs; the fan-outs among them go out together."""
        posts: list[tuple[int, Sequence[int]]] = []
        for job in jobs:
            match job:
                case FanOut(author_id, tweet_ids):
                    posts.append((author_id, tweet_ids))
                case Demote(author_id):
                    posts.append((author_id, recent_tweet_ids(b, author_id)))
                case SyncFollow(follower_id, followee_id, demote):
                    sync_follow(b, follower_id, followee_id)
                    if demote:
                        posts.append((followee_id, recent_tweet_ids(b, followee_id)))
                case Purge(author_id, tweet_id):
                    purge(b, author_id, tweet_id)
        if posts:
            fan_out(b, posts)

    def invalidate(self, b: Backends, job: Job) -> None:
        """Reset the feeds the job would have written to (a purge needs nothing: readers skip
        deleted tweets)."""
        match job:
            case FanOut(author_id) | Demote(author_id):
                invalidate_feeds(b, author_id)
            case SyncFollow(follower_id, followee_id, demote):
                b.cache.reset("feed", follower_id)
                if demote:
                    invalidate_feeds(b, followee_id)

    def page(self, b: Backends, user_id: int, before: int | None, limit: int) -> list[int]:
        """The precomputed feed; below its floor, the store."""
        return page_from(b, user_id, [open_feed(b, user_id, before, limit)], before, limit)
