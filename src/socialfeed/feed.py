"""The facade: :class:`SocialFeed` and :func:`connect`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any

import attrs

from socialfeed import registry
from socialfeed.abilities import (
    complete_cache,
    complete_graph,
    complete_store,
)
from socialfeed.cursors import decode_cursor, encode_cursor
from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.ids import SnowflakeGenerator, id_time
from socialfeed.interfaces import (
    Backends,
    FanoutQueue,
    FeedCache,
    FeedStrategy,
    FollowGraph,
    MediaStore,
    TweetStore,
)
from socialfeed.jobs import Job
from socialfeed.media import collect_garbage, media_url, upload
from socialfeed.models import FeedPage, Media, Tweet, UserPage
from socialfeed.settings import Settings
from socialfeed.strategies import HybridStrategy, PullStrategy, PushStrategy
from socialfeed.validation import check_id, check_limit, check_text, is_media_id, show

__all__ = ["SocialFeed", "connect"]

_STRATEGIES: dict[str, Callable[[], FeedStrategy]] = {
    "push": PushStrategy,
    "pull": PullStrategy,
    "hybrid": HybridStrategy,
}
_DEFAULT_WORKERS = {"inline": 0, "thread": 4}
_MAX_USER_PAGE = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.define
class SocialFeed:
    """Home timelines over a store, a follow graph, a feed cache, a media store and a queue.

    Build one with :func:`connect`. It is a context manager; :meth:`close` releases connections.
    All methods are thread-safe.
    """

    store: TweetStore
    graph: FollowGraph
    cache: FeedCache
    media_store: MediaStore
    queue: FanoutQueue
    strategy: FeedStrategy
    settings: Settings = attrs.field(factory=Settings)
    now: Callable[[], datetime] = _utcnow
    _ids: SnowflakeGenerator = attrs.field(init=False)
    _b: Backends = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._ids = SnowflakeGenerator(self.settings.worker_id)
        self._b = Backends(
            complete_store(self.store, self.graph),
            complete_graph(self.graph),
            complete_cache(self.cache),
            self.queue,
            self.settings,
            self.now,
        )

    @property
    def backends(self) -> Backends:
        """The bundle the strategy works on (for workers and tests)."""
        return self._b

    def apply_jobs(self, jobs: Sequence[Job]) -> None:
        """Apply a batch of fan-out jobs (what a queue worker calls)."""
        self.strategy.apply(self._b, jobs)

    # writes
    def create_tweet(self, user_id: int, text: str, media: Sequence[Media | str] = ()) -> Tweet:
        """Post a tweet; ``media`` are :class:`Media` from :meth:`upload_media`, or their ids."""
        check_id("user_id", user_id)
        attached = self._resolve_media(media)
        check_text(text, self.settings.max_text_length, bool(attached))
        tweet_id = self._ids.next_id()
        tweet = Tweet(tweet_id, user_id, text, id_time(tweet_id), attached)
        self.store.put_tweet(tweet)
        self.strategy.on_tweet(self._b, tweet)
        return tweet

    def _resolve_media(self, media: Sequence[Media | str]) -> tuple[Media, ...]:
        if isinstance(media, (str, bytes, Media)) or not isinstance(media, Sequence):
            raise ValidationError("media", "must be a sequence of Media objects or media ids")
        limit = self.settings.max_media_per_tweet
        if len(media) > limit:
            raise ValidationError("media", f"has {len(media)} items; the limit is {limit}")
        ids = [m.id if isinstance(m, Media) else m for m in media]
        if not all(isinstance(i, str) for i in ids):
            raise ValidationError("media", "items must be Media objects or media id strings")
        if len(set(ids)) != len(ids):
            raise ValidationError("media", "must not attach the same media twice")
        found = self.media_store.get([i for i in ids if is_media_id(i)]) if ids else {}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError("media", f"unknown media id {show(missing[0])}; upload it first")
        return tuple(found[i] for i in ids)

    def get_tweet(self, tweet_id: int) -> Tweet:
        """The tweet; :class:`NotFound` if it is absent or deleted."""
        check_id("tweet_id", tweet_id)
        found = self._hydrate([tweet_id])
        if tweet_id not in found:
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        return found[tweet_id]

    def delete_tweet(self, tweet_id: int, *, user_id: int) -> None:
        """Delete a tweet; only its author may. It never shows again once this returns."""
        check_id("tweet_id", tweet_id)
        check_id("user_id", user_id)
        tweet = self.store.get_tweets([tweet_id]).get(tweet_id)
        if tweet is None:
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        if tweet.author_id != user_id:
            raise PermissionDenied(
                f"user {user_id} may not delete tweet {tweet_id} by another user"
            )
        if self.store.mark_deleted(tweet_id) is None:
            return  # a concurrent delete won
        self.cache.forget_hot_tweet(tweet_id)
        self.strategy.on_delete(self._b, tweet)

    def follow(self, follower_id: int, followee_id: int) -> None:
        """Follow someone (idempotent); their earlier tweets are backfilled through the queue."""
        check_id("follower_id", follower_id)
        check_id("followee_id", followee_id)
        if follower_id == followee_id:
            raise ValidationError("followee_id", "a user cannot follow themselves")
        count = self.graph.add_follow(follower_id, followee_id)
        if count is not None:
            self.strategy.on_follow(self._b, follower_id, followee_id, count)

    def unfollow(self, follower_id: int, followee_id: int) -> None:
        """Stop following someone (idempotent); their tweets leave the feed through the queue."""
        check_id("follower_id", follower_id)
        check_id("followee_id", followee_id)
        count = self.graph.remove_follow(follower_id, followee_id)
        if count is not None:
            self.strategy.on_unfollow(self._b, follower_id, followee_id, count)

    # reads
    def _hydrate(self, ids: Sequence[int]) -> dict[int, Tweet]:
        found = self.cache.get_hot_tweets(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            loaded = self.store.get_tweets(missing)
            if loaded:
                self.cache.put_hot_tweets(list(loaded.values()))
                found.update(loaded)
        return found

    def _tweet_page(
        self, fetch: Callable[[int | None, int], list[int]], limit: int, cursor: str | None
    ) -> FeedPage:
        check_limit(limit)
        before = decode_cursor("tweets", cursor)
        items: list[Tweet] = []
        more = True
        while more and len(items) < limit:
            want = limit - len(items)
            ids = fetch(before, want + 1)  # one extra id tells whether another page exists
            more = len(ids) > want
            ids = ids[:want]
            if not ids:
                break
            tweets = self._hydrate(ids)
            items.extend(tweets[i] for i in ids if i in tweets)
            before = ids[-1]
        cursor_out = encode_cursor("tweets", items[-1].id) if more and items else None
        return FeedPage(tuple(items), cursor_out)

    def get_feed(self, user_id: int, limit: int = 20, cursor: str | None = None) -> FeedPage:
        """A page of the home feed, newest first: the user's and their followees' tweets."""
        check_id("user_id", user_id)
        return self._tweet_page(
            lambda before, n: self.strategy.page(self._b, user_id, before, n), limit, cursor
        )

    def user_timeline(self, user_id: int, limit: int = 20, cursor: str | None = None) -> FeedPage:
        """A page of one author's own tweets, newest first."""
        check_id("user_id", user_id)
        return self._tweet_page(
            lambda before, n: self.store.author_tweet_ids(user_id, before, n), limit, cursor
        )

    def _user_page(
        self,
        fetch: Callable[[int, int | None, int], list[int]],
        user_id: int,
        limit: int,
        cursor: str | None,
    ) -> UserPage:
        check_id("user_id", user_id)
        check_limit(limit, _MAX_USER_PAGE)
        after = decode_cursor("users", cursor)
        ids = fetch(user_id, after, limit + 1)
        more = len(ids) > limit
        ids = ids[:limit]
        return UserPage(tuple(ids), encode_cursor("users", ids[-1]) if more else None)

    def followers(self, user_id: int, limit: int = 100, cursor: str | None = None) -> UserPage:
        """A page of the user's followers, by ascending user id."""
        return self._user_page(self.graph.followers, user_id, limit, cursor)

    def following(self, user_id: int, limit: int = 100, cursor: str | None = None) -> UserPage:
        """A page of the users this user follows, by ascending user id."""
        return self._user_page(self.graph.following, user_id, limit, cursor)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        return self.graph.follower_count(check_id("user_id", user_id))

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        return self.graph.following_count(check_id("user_id", user_id))

    # media
    def upload_media(self, data: bytes | IO[bytes], content_type: str | None = None) -> Media:
        """Store an image or video (``bytes`` or a binary file object, read in chunks)."""
        return upload(
            self.media_store,
            data,
            content_type,
            max_image_bytes=self.settings.max_image_bytes,
            max_video_bytes=self.settings.max_video_bytes,
        )

    def media_url(self, media: Media | str, region: str | None = None) -> str:
        """The URL viewers in ``region`` fetch the media from: the region's CDN (else the default
        CDN, key ``None``), else the media store's own URL."""
        media_id = media.id if isinstance(media, Media) else media
        return media_url(self.media_store, self.settings.cdn_base_urls, media_id, region)

    def open_media(self, media_id: str) -> IO[bytes]:
        """Stream a media's bytes (what a CDN origin serves)."""
        if not is_media_id(media_id) or not self.media_store.get([media_id]):
            raise NotFound(f"media {show(media_id)} does not exist")
        return self.media_store.open(media_id)

    def collect_garbage(self, older_than: datetime) -> list[str]:
        """Delete media stored before ``older_than`` that no live tweet references; return their
        ids. Media younger than that are kept, so an upload about to be posted is safe."""
        return collect_garbage(self.media_store, self.store, older_than)

    # lifecycle
    def drain(self, timeout: float | None = None) -> None:
        """Block until all queued fan-out work is applied; ``TimeoutError`` past ``timeout``."""
        self.queue.drain(timeout)

    def close(self) -> None:
        """Stop the workers and release every backend's connections."""
        self.queue.close()
        closed: set[int] = set()
        for backend in (self.store, self.graph, self.cache, self.media_store):
            if id(backend) not in closed:
                closed.add(id(backend))
                backend.close()

    def __enter__(self) -> SocialFeed:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    store: str | Any = "memory://",
    cache: str | Any = "memory://",
    media: str | Any = "memory://",
    queue: str | Any = "inline",
    workers: int | None = None,
    strategy: str | FeedStrategy = "hybrid",
    settings: Settings | None = None,
    *,
    graph: str | Any | None = None,
) -> SocialFeed:
    """Open a feed. Every backend argument is a URL or a ready backend object; ``graph`` (the
    FollowGraph) defaults to the store, which then holds tweets and follows together."""
    settings = settings if settings is not None else Settings()
    if not isinstance(settings, Settings):
        raise ValidationError("settings", "must be a socialfeed.Settings")
    if isinstance(strategy, str):
        if strategy not in _STRATEGIES:
            raise ValidationError(
                "strategy", f"must be one of {', '.join(_STRATEGIES)} or a FeedStrategy"
            )
        strategy = _STRATEGIES[strategy]()
    if workers is None:
        workers = _DEFAULT_WORKERS.get(queue, 0) if isinstance(queue, str) else 0
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= 256:
        raise ValidationError("workers", f"must be an integer in 0..256, got {workers!r}")
    tweet_store = registry.build("store", store, settings)
    follow_graph = (
        tweet_store if graph is None or graph == store else registry.build("graph", graph, settings)
    )
    if not isinstance(follow_graph, FollowGraph):
        raise ValidationError(
            "graph" if graph is not None else "store",
            f"{type(follow_graph).__name__} is not a FollowGraph; pass graph= to connect()",
        )
    sf = SocialFeed(
        store=tweet_store,
        graph=follow_graph,
        cache=registry.build("cache", cache, settings),
        media_store=registry.build("media", media, settings),
        queue=registry.build("queue", queue, settings),
        strategy=strategy,
        settings=settings,
    )
    sf.queue.start(sf.apply_jobs, workers)
    return sf
