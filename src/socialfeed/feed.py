"""The facade: :class:`SocialFeed` and :func:`connect`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, cast

import attrs

from socialfeed import registry
from socialfeed.abilities import all_following, complete_cache, complete_graph, complete_store
from socialfeed.errors import BackendError, DuplicateId, NotFound, PermissionDenied, ValidationError
from socialfeed.ids import IdSource, id_time
from socialfeed.interfaces import (
    Backends,
    Event,
    EventKind,
    FanoutQueue,
    FeedCache,
    FeedStrategy,
    FollowGraph,
    MediaStore,
    TweetStore,
    WorkerIdLeaseSupport,
    missing_methods,
    supports,
)
from socialfeed.jobs import JobHandler
from socialfeed.live import FeedWatch, Watches, pages
from socialfeed.media import MediaCalls
from socialfeed.models import FeedPage, Media, Tweet, UserPage
from socialfeed.notices import send
from socialfeed.outbox import Relay
from socialfeed.reading import Reader
from socialfeed.settings import Settings, adopt_recorded, feed_record
from socialfeed.social import SocialCalls
from socialfeed.strategies import HybridStrategy, PullStrategy, PushStrategy
from socialfeed.validation import (
    check_id,
    check_key,
    check_limit,
    check_text,
    is_media_id,
    show,
)

__all__ = ["SocialFeed", "connect"]

_STRATEGIES: dict[str, Callable[[], FeedStrategy]] = {
    "push": PushStrategy,
    "pull": PullStrategy,
    "hybrid": HybridStrategy,
}
_DEFAULT_WORKERS = {"inline": 0, "thread": 4}
_DEFAULT_STRATEGY = "hybrid"
_MINT_ATTEMPTS = 5

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.define
class SocialFeed(SocialCalls, MediaCalls):
    """Home timelines over a store, a follow graph, a feed cache, a media store and a queue.

    Build one with :func:`connect`. It is a context manager; :meth:`close` releases connections
    (and the worker-id lease). All methods are thread-safe.
    """

    store: TweetStore
    graph: FollowGraph
    cache: FeedCache
    media_store: MediaStore
    queue: FanoutQueue
    strategy: FeedStrategy
    settings: Settings = attrs.field(factory=Settings)
    now: Callable[[], datetime] = _utcnow
    _ids: IdSource = attrs.field(init=False)
    _b: Backends = attrs.field(init=False)
    _relay: Relay = attrs.field(init=False)
    _reader: Reader = attrs.field(init=False)
    _watches: Watches = attrs.field(init=False, factory=Watches)

    def __attrs_post_init__(self) -> None:
        store, graph = complete_store(self.store, self.graph), complete_graph(self.graph)
        primary = store.on_primary()
        shared = self.store is cast(object, self.graph)
        primary_graph = primary if shared else graph.on_primary()
        truth = Backends(
            complete_store(primary, primary_graph),
            complete_graph(primary_graph),
            complete_cache(self.cache),
            self.queue,
            self.settings,
            self.now,
        )
        self._b = Backends(
            store, graph, truth.cache, self.queue, self.settings, self.now, truth=truth
        )
        self._relay = Relay(self._b, self.strategy)
        self._reader = Reader(self._b)
        self._ids = IdSource(_lessor(self.store, self.queue, self.cache), self.settings.worker_id)

    @property
    def backends(self) -> Backends:
        """The bundle the strategy works on (for workers and tests)."""
        return self._b

    @property
    def worker_id(self) -> int:
        """The Snowflake worker id this process mints tweet ids with (leased, see :mod:`ids`)."""
        return self._ids.worker_id

    @property
    def job_handler(self) -> JobHandler:
        """What a queue's workers call (``queue.start(sf.job_handler, n)``): apply a batch of
        fan-out jobs and forget their events, or reset the feeds of a job that is parked."""
        return self._relay

    def _event(self, kind: EventKind, actor: int, target: int) -> int:
        """A new event id, or 0 when the strategy makes no job of such an event."""
        probe = Event(0, kind, actor, target)
        return self._ids.next_id() if self._relay.job_for(probe) else 0

    def _next_id(self) -> int:
        return self._ids.next_id()

    def _publish(
        self, event: int, kind: EventKind, actor: int, target: int, count: int | None
    ) -> None:
        if event:
            self._relay.publish_now(Event(event, kind, actor, target, count))
        if kind != "delete":  # the actor's and their followers' feeds may gain items
            send(self._b.cache.notify, [actor])

    # writes
    def create_tweet(
        self,
        user_id: int,
        text: str,
        media: Sequence[Media | str] = (),
        *,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
    ) -> Tweet:
        """Post a tweet; ``media`` are :class:`Media` from :meth:`upload_media`, or their ids.
        ``reply_to``: the id of the tweet this answers (of its original, for a repost;
        ``NotFound`` if it is not live, ``PermissionDenied`` across a block with its author).
        A retry with the same ``idempotency_key`` by the same user returns the first call's
        tweet instead of posting twice."""
        user_id = check_id("user_id", user_id)
        if idempotency_key is not None:
            idempotency_key = check_key(idempotency_key)
        attached = self._resolve_media(media)
        text = check_text(text, self.settings.max_text_length, bool(attached))
        parent, parent_author = self._reply_fields(user_id, reply_to)
        return self._post(
            lambda i: Tweet(i, user_id, text, id_time(i), attached, parent, parent_author),
            idempotency_key,
        )

    def _post(self, build: Callable[[int], Tweet], key: str | None) -> Tweet:
        """Store the item ``build(id)`` under a fresh id, with its event, and publish it."""
        for _ in range(_MINT_ATTEMPTS):
            tweet = build(self._ids.next_id())
            event = self._event("tweet", tweet.author_id, tweet.id)
            try:
                stored = self._b.store.write_tweet(tweet, event, key)
            except DuplicateId as exc:  # another process minted this id: never keep one of two
                log.error("%s; minting another id", exc)
                continue
            if stored.id == tweet.id:
                self._show_to_author(tweet)
                self._publish(event, "tweet", tweet.author_id, tweet.id, None)
            return stored
        raise BackendError(f"the store refused {_MINT_ATTEMPTS} fresh tweet ids as duplicates")

    def _show_to_author(self, tweet: Tweet) -> None:
        """Your own writes show to you at once, whatever the queue: the item goes into the
        author's cached feed now (if it is cached). Stored is acknowledged: with the cache away,
        the fan-out job, kept in the outbox, brings it later."""
        try:
            self._b.cache.insert(
                "feed", [tweet.author_id], [tweet.id], self.settings.max_feed_length
            )
        except BackendError as exc:
            log.warning("tweet %d is stored; its author's feed gets it later: %s", tweet.id, exc)

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
        """The tweet (a repost with its original); :class:`NotFound` if it is absent, deleted,
        erased, or a repost of such a tweet."""
        tweet_id = check_id("tweet_id", tweet_id)
        found = self._reader.live(tweet_id)
        if found is None:
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        return found

    def delete_tweet(self, tweet_id: int, *, user_id: int) -> None:
        """Delete a tweet; only its author may. It never shows again once this returns. A retry
        after a :class:`BackendError` finishes what the first attempt left undone."""
        tweet_id = check_id("tweet_id", tweet_id)
        user_id = check_id("user_id", user_id)
        truth = self._b.truth.store  # who wrote it, as the primary knows it
        tweet = truth.get_tweets([tweet_id]).get(tweet_id)
        author = (
            tweet.author_id
            if tweet is not None
            else truth.deleted_authors([tweet_id]).get(tweet_id)
        )
        if author is None:
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        if author != user_id:
            raise PermissionDenied(
                f"user {user_id} may not delete tweet {tweet_id} by another user"
            )
        if tweet is not None:
            event = self._event("delete", user_id, tweet_id)
            if truth.write_delete(tweet_id, event) is not None:
                self.cache.forget_hot_tweet(tweet_id)
                self._publish(event, "delete", user_id, tweet_id, None)
                return
        self.cache.forget_hot_tweet(tweet_id)  # deleted before (a retry, or a concurrent delete)

    def follow(self, follower_id: int, followee_id: int) -> None:
        """Follow someone (idempotent); their earlier tweets are backfilled through the queue."""
        follower_id = check_id("follower_id", follower_id)
        followee_id = check_id("followee_id", followee_id)
        if follower_id == followee_id:
            raise ValidationError("followee_id", "a user cannot follow themselves")
        self._check_follow(follower_id, followee_id)
        event = self._event("follow", follower_id, followee_id)
        count = self._b.graph.write_follow(follower_id, followee_id, event)
        if count is not None:
            self._publish(event, "follow", follower_id, followee_id, count)

    def unfollow(self, follower_id: int, followee_id: int) -> None:
        """Stop following someone (idempotent); their tweets leave the feed through the queue."""
        follower_id = check_id("follower_id", follower_id)
        followee_id = check_id("followee_id", followee_id)
        event = self._event("unfollow", follower_id, followee_id)
        count = self._b.graph.write_unfollow(follower_id, followee_id, event)
        if count is not None:
            self._publish(event, "unfollow", follower_id, followee_id, count)

    # reads
    def get_feed(self, user_id: int, limit: int = 20, cursor: str | None = None) -> FeedPage:
        """A page of the home feed, newest first: ``home(u)`` of API.md section 3 (the user's
        and their followees' tweets and reposts, filtered for the user, one item per original)."""
        user_id = check_id("user_id", user_id)
        b, strategy = self._b, self.strategy
        return self._reader.page(
            lambda before, n: strategy.page(b, user_id, before, n),
            limit,
            cursor,
            kind="home",
            viewer_id=user_id,
        )

    def user_timeline(
        self,
        user_id: int,
        limit: int = 20,
        cursor: str | None = None,
        *,
        viewer_id: int | None = None,
    ) -> FeedPage:
        """A page of one author's own tweets and reposts, newest first; with ``viewer_id``, what
        that viewer may see (``PermissionDenied`` if the author and the viewer are in a block
        relation)."""
        user_id = check_id("user_id", user_id)
        if viewer_id is not None:
            viewer_id = check_id("viewer_id", viewer_id)
            self._deny_across_block(viewer_id, user_id, self._reader.erasures())
        store = self._b.store
        return self._reader.page(
            lambda before, n: store.author_tweet_ids(user_id, before, n),
            limit,
            cursor,
            kind="timeline",
            viewer_id=viewer_id,
        )

    def _user_page(
        self,
        fetch: Callable[[int, int | None, int], list[int]],
        user_id: int,
        limit: int,
        cursor: str | None,
    ) -> UserPage:
        user_id = check_id("user_id", user_id)
        return self._reader.users(fetch, user_id, limit, cursor)

    def followers(self, user_id: int, limit: int = 100, cursor: str | None = None) -> UserPage:
        """A page of the user's followers, by ascending user id."""
        return self._user_page(self.graph.followers, user_id, limit, cursor)

    def following(self, user_id: int, limit: int = 100, cursor: str | None = None) -> UserPage:
        """A page of the users this user follows, by ascending user id."""
        return self._user_page(self.graph.following, user_id, limit, cursor)

    def follower_count(self, user_id: int) -> int:
        """How many users follow ``user_id``."""
        user_id = check_id("user_id", user_id)
        return self._count(self.graph.follower_count(user_id), user_id, followers=True)

    def following_count(self, user_id: int) -> int:
        """How many users ``user_id`` follows."""
        user_id = check_id("user_id", user_id)
        return self._count(self.graph.following_count(user_id), user_id, followers=False)

    def _count(self, stored: int, user_id: int, *, followers: bool) -> int:
        """A follow count without the edges of users being erased."""
        erasing = self._reader.erasures().keys()
        if not erasing:
            return stored
        if user_id in erasing:
            return 0
        pairs = [(e, user_id) if followers else (user_id, e) for e in sorted(erasing)]
        return stored - len(self._b.graph.edges_among(pairs))

    # live
    def subscribe(
        self, user_id: int, cursor: str | None = None, *, limit: int = 20
    ) -> Iterator[FeedPage]:
        """Live pages: one each time ``home(user_id)`` gains items newer than the position.

        Each is the items immediately newer, as ``get_feed(user_id, limit, cursor=position)``
        returns them; then the position moves to the page's ``prev_cursor``. ``cursor``: a
        ``prev_cursor`` to resume from (``None``: the present). Woken by feed notices, not by
        polling; it ends when the feed is closed. Blocking: run it in a thread, or use
        :mod:`socialfeed.aio`."""
        return pages(self.watch(user_id, cursor, limit))

    def watch(self, user_id: int, cursor: str | None = None, limit: int = 20) -> FeedWatch:
        """The :class:`~socialfeed.live.FeedWatch` behind :meth:`subscribe` (validated now)."""
        user_id = check_id("user_id", user_id)
        limit = check_limit(limit)
        b = self._b
        return self._watches.add(
            FeedWatch(
                user_id,
                cursor,
                limit,
                read=lambda n, position: self.get_feed(user_id, n, position),
                following=lambda: all_following(b.graph, user_id),
                listen=b.cache.listen,
                oldest_pending=self._relay.oldest_pending,
                sweep=self._relay.sweep,
            )
        )

    # lifecycle
    def drain(self, timeout: float | None = None) -> None:
        """Block until all fan-out work is applied, in every process of the deployment: the
        queue is empty and no event is left in the outbox; ``TimeoutError`` past ``timeout``."""
        self._relay.drain(self.queue.drain, timeout)

    def close(self) -> None:
        """End the subscriptions, stop the workers, release the worker-id lease and every
        backend's connections."""
        self._watches.stop_all()
        self._relay.close()
        self.queue.close()
        self._ids.close()
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


def _lessor(*backends: object) -> WorkerIdLeaseSupport | None:
    """The first backend that leases worker ids (the store, then the queue, then the cache)."""
    return next((b for b in backends if supports(b, WorkerIdLeaseSupport)), None)


def _from_env(value: Any, name: str, default: str) -> Any:
    """An argument left out (``None``) is read from ``SOCIALFEED_<NAME>``, else ``default``."""
    if value is not None:
        return value
    return os.environ.get(f"SOCIALFEED_{name.upper()}") or default


def connect(
    store: str | Any | None = None,
    cache: str | Any | None = None,
    media: str | Any | None = None,
    queue: str | Any | None = None,
    workers: int | None = None,
    strategy: str | FeedStrategy | None = None,
    settings: Settings | None = None,
    *,
    graph: str | Any | None = None,
) -> SocialFeed:
    """Open a feed. Every backend argument is a URL or a ready backend object; one left out is
    read from ``SOCIALFEED_STORE``, ``SOCIALFEED_CACHE``, ``SOCIALFEED_MEDIA``,
    ``SOCIALFEED_QUEUE``, ``SOCIALFEED_STRATEGY`` before its default applies (``memory://``,
    ``memory://``, ``memory://``, ``inline``, ``hybrid``). ``graph`` (the FollowGraph) defaults
    to the store. The first process of a deployment records its feed settings and strategy in
    the store; later ones adopt them where they left them at their defaults, and a value they
    chose that differs is a :class:`ValidationError` (see
    :func:`~socialfeed.settings.adopt_recorded`)."""
    if settings is not None and not isinstance(settings, Settings):
        raise ValidationError("settings", "must be a socialfeed.Settings")
    store = _from_env(store, "store", "memory://")
    cache = _from_env(cache, "cache", "memory://")
    media = _from_env(media, "media", "memory://")
    queue = _from_env(queue, "queue", "inline")
    chosen = _from_env(strategy, "strategy", "")  # "": not chosen, the deployment's applies
    if isinstance(chosen, str) and chosen and chosen not in _STRATEGIES:
        raise ValidationError(
            "strategy", f"must be one of {', '.join(_STRATEGIES)} or a FeedStrategy"
        )
    if workers is None:
        workers = _DEFAULT_WORKERS.get(queue, 0) if isinstance(queue, str) else 0
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= 256:
        raise ValidationError("workers", f"must be an integer in 0..256, got {show(workers)}")
    given = settings if settings is not None else Settings()
    tweet_store = registry.build("store", store, given)
    follow_graph = (
        tweet_store if graph is None or graph == store else registry.build("graph", graph, given)
    )
    if not isinstance(follow_graph, FollowGraph):
        missing = ", ".join(missing_methods(follow_graph, FollowGraph))
        raise ValidationError(
            "graph" if graph is not None else "store",
            f"{type(follow_graph).__name__} is not a FollowGraph (it lacks {missing}); "
            "pass graph= to connect()",
        )
    name = (chosen if isinstance(chosen, str) else chosen.name) or _DEFAULT_STRATEGY
    recorded = complete_store(tweet_store, follow_graph).record_settings(
        {**feed_record(given), "strategy": name}
    )
    final = adopt_recorded(settings, recorded)
    if recorded.get("strategy", name) != name:
        if chosen:
            raise ValidationError(
                "strategy",
                f"is {name!r} here but {recorded['strategy']!r} in this deployment's store; "
                "every process of a deployment must use the same strategy",
            )
        name = recorded["strategy"]
    feed_strategy = chosen if not isinstance(chosen, str) else _STRATEGIES[name]()
    sf = SocialFeed(
        store=tweet_store,
        graph=follow_graph,
        cache=registry.build("cache", cache, final),
        media_store=registry.build("media", media, final),
        queue=registry.build("queue", queue, final),
        strategy=feed_strategy,
        settings=final,
    )
    sf.queue.start(sf.job_handler, workers)
    if workers:
        sf._relay.start()
    return sf
