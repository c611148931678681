"""Erasure: what a worker does with an :class:`~socialfeed.jobs.Erase` job, made by
``delete_user`` whatever the strategy (API.md section 3).

``delete_user`` itself only records the erasure (a watermark: every item of the user with a
smaller id is hidden at once, see :func:`socialfeed.visibility.erased`). :func:`erase` then
removes the rows in bounded steps, each one atomic with a check that the erasure is still under
way, so a job delivered twice, or run beside the facade finishing it inline, does no harm; a
second ``delete_user`` before the first is done raises the watermark, and only the job with the
watermark under way ends the erasure:

1. the follow edges on either side (an unfollow of a celebrity may demote them: the strategy's
   unfollow job is applied for each edge the user followed);
2. the blocks and mutes on either side, and the user's muted words;
3. the tweets below the watermark (forgotten by the hot-tweet cache first);
4. the user's own cached feed and celebrity list; then the erasure record.
"""

from __future__ import annotations

from socialfeed.interfaces import Backends, Event, FeedStrategy
from socialfeed.jobs import Erase

__all__ = ["erase"]

_BATCH = 1000


def erase(b: Backends, strategy: FeedStrategy, job: Erase) -> None:
    """Remove every row of ``job.user_id`` below ``job.watermark`` from ``b`` (the primary)."""
    store, user = b.store, job.user_id
    if store.erasures().get(user) != job.watermark:
        return  # done already, or a later erasure (with a job of its own) took it over
    while edges := store.drop_edges(user, _BATCH):
        unfollows = [
            strategy.job_for(b.settings, Event(0, "unfollow", user, followee, count))
            for follower, followee, count in edges
            if follower == user
        ]
        if jobs := [j for j in unfollows if j is not None]:
            strategy.apply(b, jobs)
    while store.drop_relations(user, _BATCH):
        pass
    before = job.watermark  # paged by position: another run may have ended the erasure
    while ids := store.author_tweet_ids(user, before, _BATCH):
        for tweet_id in ids:
            b.cache.forget_hot_tweet(tweet_id)
        store.drop_tweets(user, ids)
        before = ids[-1]
    b.cache.reset("feed", user)
    b.cache.reset("celebrity", user)
    store.end_erasure(user, job.watermark)
