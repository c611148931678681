"""MemoryStore: tweets and follows in memory, with every optional ability."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sortedcontainers import SortedKeyList, SortedSet

from socialfeed.backends.memory.outbox import MemoryOutbox
from socialfeed.backends.memory.social import MemorySocial
from socialfeed.errors import DuplicateId, NotFound, ValidationError
from socialfeed.interfaces import Event
from socialfeed.models import Tweet
from socialfeed.settings import Settings
from socialfeed.validation import show

__all__ = ["MemoryStore", "newest_first"]


def newest_first() -> Any:
    """An empty sorted list of ids, largest first."""
    return SortedKeyList(key=lambda i: -i)


class MemoryStore(MemoryOutbox, MemorySocial):
    """Tweets and follows in memory: a TweetStore and a FollowGraph with every optional ability
    (its outbox, tombstones, idempotency keys, settings record, media claims and social rows
    included)."""

    def __init__(self) -> None:
        MemoryOutbox.__init__(self)
        MemorySocial.__init__(self, self.record)
        self._lock = threading.RLock()
        self._deleted: dict[int, int] = {}  # tweet id -> author, for retried deletes
        self._keys: dict[tuple[int, str], int] = {}  # (author, idempotency key) -> tweet id
        self._key_of: dict[int, tuple[int, str]] = {}
        self._settings: dict[str, str] = {}
        self._media_claims: dict[str, float] = {}  # media id -> monotonic claim expiry
        self._tweets: dict[int, Tweet] = {}
        self._by_author: defaultdict[int, Any] = defaultdict(newest_first)
        self._followers: defaultdict[int, Any] = defaultdict(SortedSet)
        self._following: defaultdict[int, Any] = defaultdict(SortedSet)
        self._media_refs: defaultdict[str, int] = defaultdict(int)
        # min_followers -> users with at least that many followers, kept up to date on every
        # follow once a threshold has been asked for (celebrities are few: reads stay cheap).
        self._popular: dict[int, set[int]] = {}

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> MemoryStore:
        """``memory://``: a new, empty store."""
        return cls()

    # TweetStore
    def put_tweet(self, tweet: Tweet) -> None:
        """Store a new tweet (the same tweet again: a no-op; another under its id: DuplicateId)."""
        with self._lock:
            held = self._tweets.get(tweet.id)
            if held is not None or tweet.id in self._deleted:
                if held == tweet or self._deleted.get(tweet.id) == tweet.author_id:
                    return
                raise DuplicateId(f"tweet id {tweet.id} is taken by another tweet")
            now = time.monotonic()
            for m in tweet.media:
                if self._media_claims.get(m.id, 0.0) > now:
                    raise ValidationError(
                        "media", f"media {show(m.id)} is being deleted; upload it again"
                    )
            self._tweets[tweet.id] = tweet
            self._by_author[tweet.author_id].add(tweet.id)
            for m in tweet.media:
                self._media_refs[m.id] += 1
            self.index(tweet)

    def get_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Live tweets among ``tweet_ids``."""
        tweets = self._tweets
        return {i: t for i in tweet_ids if (t := tweets.get(i)) is not None}

    def mark_deleted(self, tweet_id: int) -> Tweet | None:
        """Delete a tweet (keeping a tombstone of its author); return it if it was live."""
        with self._lock:
            tweet = self._forget(tweet_id)
            if tweet is not None:
                self._deleted[tweet_id] = tweet.author_id
            return tweet

    def _forget(self, tweet_id: int) -> Tweet | None:
        """Remove a tweet with its indexes, key and media references; return it if it was
        there."""
        tweet = self._tweets.pop(tweet_id, None)
        if tweet is not None:
            self._by_author[tweet.author_id].remove(tweet_id)
            if (key := self._key_of.pop(tweet_id, None)) is not None:
                del self._keys[key]
            for m in tweet.media:
                self._media_refs[m.id] -= 1
                if not self._media_refs[m.id]:
                    del self._media_refs[m.id]
            self.unindex(tweet)
        return tweet

    def author_tweet_ids(self, author_id: int, before: int | None, limit: int) -> list[int]:
        """The author's live tweet ids below ``before``, newest first."""
        with self._lock:
            ids = self._by_author.get(author_id)
            if not ids:
                return []
            start = 0 if before is None else ids.bisect_key_right(-before)
            return list(ids.islice(start, start + limit))

    def media_in_use(self, media_ids: Sequence[str]) -> set[str]:
        """Media among ``media_ids`` that a live tweet references."""
        with self._lock:
            return {m for m in media_ids if m in self._media_refs}

    # DurableTweetSupport
    def write_tweet(self, tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
        """``put_tweet`` with its event; a used idempotency key returns its tweet instead."""
        with self._lock:
            if idempotency_key is not None:
                earlier = self._keys.get((tweet.author_id, idempotency_key))
                if earlier is not None:
                    found = self._tweets.get(earlier)
                    if found is None:  # pragma: no cover - keys go with their tweets
                        raise NotFound(f"the tweet of idempotency key {show(idempotency_key)}")
                    return found
            new = tweet.id not in self._tweets
            self.put_tweet(tweet)
            if new and idempotency_key is not None:
                self._keys[tweet.author_id, idempotency_key] = tweet.id
                self._key_of[tweet.id] = (tweet.author_id, idempotency_key)
            if new and event:
                self.record(Event(event, "tweet", tweet.author_id, tweet.id))
            return tweet

    def write_delete(self, tweet_id: int, event: int) -> Tweet | None:
        """``mark_deleted`` with its event."""
        with self._lock:
            tweet = self.mark_deleted(tweet_id)
            if tweet is not None and event:
                self.record(Event(event, "delete", tweet.author_id, tweet_id))
            return tweet

    def deleted_authors(self, tweet_ids: Sequence[int]) -> dict[int, int]:
        """The authors of deleted tweets among ``tweet_ids``."""
        with self._lock:
            return {i: a for i in tweet_ids if (a := self._deleted.get(i)) is not None}

    # DurableFollowSupport
    def write_follow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``add_follow`` with its event."""
        with self._lock:
            count = self.add_follow(follower_id, followee_id)
            if count is not None and event:
                self.record(Event(event, "follow", follower_id, followee_id, count))
            return count

    def write_unfollow(self, follower_id: int, followee_id: int, event: int) -> int | None:
        """``remove_follow`` with its event."""
        with self._lock:
            count = self.remove_follow(follower_id, followee_id)
            if count is not None and event:
                self.record(Event(event, "unfollow", follower_id, followee_id, count))
            return count

    # SettingsRecordSupport, MediaClaimSupport, PrimarySupport
    def record_settings(self, values: dict[str, str]) -> dict[str, str]:
        """Record the values not recorded yet; return every recorded value."""
        with self._lock:
            for name, value in values.items():
                self._settings.setdefault(name, value)
            return dict(self._settings)

    def claim_unused_media(self, media_ids: Sequence[str], claim_for: float) -> list[str]:
        """Claim the unreferenced media among ``media_ids`` for deletion."""
        with self._lock:
            until = time.monotonic() + claim_for
            claimed = [m for m in dict.fromkeys(media_ids) if m not in self._media_refs]
            for m in claimed:
                self._media_claims[m] = until
            return claimed

    def release_media_claims(self, media_ids: Sequence[str]) -> None:
        """Drop the claims of deleted media."""
        with self._lock:
            for m in media_ids:
                self._media_claims.pop(m, None)

    def on_primary(self) -> MemoryStore:
        """Itself: there are no replicas."""
        return self

    # SocialStore: what an erasure removes from the tweets and follows
    def drop_edges(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """Remove up to ``limit`` follow edges of a user being erased."""
        with self._lock:
            if user_id not in self.erasures():
                return []
            edges = [(f, user_id) for f in self.followers(user_id, None, limit)]
            edges += [(user_id, e) for e in self.following(user_id, None, limit - len(edges))]
            return [(f, e, self.remove_follow(f, e) or 0) for f, e in edges]

    def drop_tweets(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """Remove the rows of tweets of a user being erased, below the watermark."""
        with self._lock:
            watermark = self.erasures().get(user_id, 0)
            for i in tweet_ids:
                if i < watermark and (t := self._tweets.get(i)) and t.author_id == user_id:
                    self._forget(i)

    def end_erasure(self, user_id: int, watermark: int) -> None:
        """If the erasure under way has ``watermark``: remove the user's tombstones below it and
        the erasure record."""
        with self._lock:
            if self.end_social_erasure(user_id, watermark):
                gone = [i for i, a in self._deleted.items() if a == user_id and i < watermark]
                for i in gone:
                    del self._deleted[i]

    # FollowGraph
    def add_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Add an edge; the followee's follower count after, or None if it existed."""
        with self._lock:
            followers = self._followers[followee_id]
            if follower_id in followers:
                return None
            followers.add(follower_id)
            self._following[follower_id].add(followee_id)
            count = len(followers)
            for minimum, popular in self._popular.items():
                if count >= minimum:
                    popular.add(followee_id)
            return count

    def remove_follow(self, follower_id: int, followee_id: int) -> int | None:
        """Remove an edge; the followee's follower count after, or None if absent."""
        with self._lock:
            followers = self._followers.get(followee_id)
            if followers is None or follower_id not in followers:
                return None
            followers.remove(follower_id)
            self._following[follower_id].remove(followee_id)
            count = len(followers)
            for minimum, popular in self._popular.items():
                if count < minimum:
                    popular.discard(followee_id)
            return count

    def _page(
        self, index: dict[int, Any], user_id: int, after: int | None, limit: int
    ) -> list[int]:
        with self._lock:
            ids = index.get(user_id)
            if not ids:
                return []
            start = 0 if after is None else ids.bisect_right(after)
            return list(ids.islice(start, start + limit))

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followers of ``user_id`` above ``after``, ascending."""
        return self._page(self._followers, user_id, after, limit)

    def following(self, user_id: int, after: int | None, limit: int) -> list[int]:
        """Followees of ``user_id`` above ``after``, ascending."""
        return self._page(self._following, user_id, after, limit)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        ids = self._followers.get(user_id)
        return len(ids) if ids else 0

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        ids = self._following.get(user_id)
        return len(ids) if ids else 0

    def followers_among(self, user_id: int, candidates: Sequence[int]) -> set[int]:
        """The candidates that follow ``user_id``."""
        with self._lock:
            followers = self._followers.get(user_id)
            return {c for c in candidates if c in followers} if followers else set()

    def followers_many(
        self, pages: Sequence[tuple[int, int | None]], limit: int
    ) -> list[list[int]]:
        """:meth:`followers` for each ``(user_id, after)``."""
        with self._lock:
            return [self.followers(user_id, after, limit) for user_id, after in pages]

    def edges_among(self, pairs: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
        """The ``(follower, followee)`` pairs that are edges."""
        with self._lock:
            following = self._following
            return {(f, e) for f, e in pairs if (ids := following.get(f)) is not None and e in ids}

    def with_min_followers(self, user_ids: Sequence[int], min_followers: int) -> set[int]:
        """The ``user_ids`` with at least ``min_followers`` followers."""
        with self._lock:
            followers = self._followers
            return {u for u in user_ids if len(followers.get(u, ())) >= min_followers}

    def following_with_min_followers(self, user_id: int, min_followers: int) -> list[int]:
        """Followees of ``user_id`` with at least ``min_followers`` followers."""
        with self._lock:
            popular = self._popular.get(min_followers)
            if popular is None:
                popular = self._popular[min_followers] = {
                    u for u, f in self._followers.items() if len(f) >= min_followers
                }
            following = self._following.get(user_id)
            if not following or not popular:
                return []
            if len(popular) < len(following):
                return sorted(a for a in popular if a in following)
            return [a for a in following if a in popular]

    # HomeTimelineSupport
    def home_tweet_ids(self, user_id: int, before: int | None, limit: int) -> list[int]:
        """A page of home(user_id) ids, merged over the user and everyone they follow."""
        with self._lock:
            authors = [user_id, *self._following.get(user_id, ())]
            streams = []
            for a in authors:
                ids = self._by_author.get(a)
                if ids:
                    start = 0 if before is None else ids.bisect_key_right(-before)
                    streams.append(ids.islice(start, start + limit))
            merged = heapq.merge(*streams, key=lambda i: -i)
            return list(itertools.islice(merged, limit))

    def close(self) -> None:
        """Nothing to release."""
