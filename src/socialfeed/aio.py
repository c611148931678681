"""The asyncio facade: :func:`connect` and :class:`AsyncSocialFeed`.

```python
import socialfeed.aio

async with socialfeed.aio.connect() as sf:       # the same arguments as socialfeed.connect()
    await sf.create_tweet(1, "hi")
    page = await sf.get_feed(1)
```

Every call of :class:`~socialfeed.SocialFeed` is a coroutine here, with the same arguments,
results and errors. Each runs the sync facade in a thread of the feed's own pool, so the event
loop never blocks and the policy (strategies, filters, jobs) exists once (reads of the
in-process memory backends, which never wait, run on the loop); ``subscribe`` waits
on an ``asyncio.Event`` woken by feed notices, holding no thread while it waits
(``docs/performance.md`` has W14: what a call costs here against the sync facade).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from socialfeed.backends.memory import MemoryFeedCache, MemoryStore
from socialfeed.feed import SocialFeed
from socialfeed.feed import connect as connect_sync
from socialfeed.models import FeedPage

__all__ = ["AsyncSocialFeed", "connect"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
THREADS = 32
"""Threads per feed that run its calls (each call holds one while it waits on a backend)."""


def _in_thread(
    method: Callable[Concatenate[SocialFeed, _P], _R], *, reads: bool = False
) -> Callable[Concatenate[AsyncSocialFeed, _P], Coroutine[Any, Any, _R]]:
    """``method`` of the sync facade as a coroutine, run in the feed's thread pool; a read
    (``reads``) on backends that all live in this process runs on the loop: it never waits,
    and handing it to a thread would cost more than the call."""
    name = method.__name__

    async def call(self: AsyncSocialFeed, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        feed = await self.open()
        bound = functools.partial(getattr(feed, name), *args, **kwargs)
        return bound() if reads and self._in_process else await self.run(bound)

    functools.update_wrapper(call, method)  # its name, docs and signature
    return call


def _reads(
    method: Callable[Concatenate[SocialFeed, _P], _R],
) -> Callable[Concatenate[AsyncSocialFeed, _P], Coroutine[Any, Any, _R]]:
    return _in_thread(method, reads=True)


def _lives_in_process(feed: SocialFeed) -> bool:
    """Whether the store, graph and cache are the in-process memory backends (reads of them
    never wait on I/O)."""
    return all(isinstance(b, MemoryStore) for b in (feed.store, feed.graph)) and isinstance(
        feed.cache, MemoryFeedCache
    )


class AsyncSocialFeed:
    """A :class:`~socialfeed.SocialFeed` for asyncio: every call awaited, none blocking the
    loop. An async context manager; ``await`` it (or use it) to open it, ``close()`` to end."""

    def __init__(
        self, open_feed: Callable[[], SocialFeed] | SocialFeed, *, threads: int = THREADS
    ) -> None:
        """``open_feed``: a ready :class:`~socialfeed.SocialFeed` to wrap, or what opens one
        (run in a thread on first use). ``threads``: the pool the calls run in."""
        self._open_feed = open_feed
        self._feed = open_feed if isinstance(open_feed, SocialFeed) else None
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="socialfeed-aio")
        self._opening = threading.Lock()
        self._in_process = self._feed is not None and _lives_in_process(self._feed)

    @property
    def sync(self) -> SocialFeed:
        """The sync facade underneath (its settings, backends and worker id)."""
        if self._feed is None:
            raise RuntimeError("the feed is not open yet: await it or use `async with`")
        return self._feed

    async def run(self, call: Callable[[], _R]) -> _R:
        """Run ``call`` in the feed's thread pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def open(self) -> SocialFeed:
        """Open the feed (once; later calls return it at once)."""
        if self._feed is None:
            await self.run(self._open_once)
        return self.sync

    def _open_once(self) -> None:
        with self._opening:
            if self._feed is None:
                opener = self._open_feed
                assert callable(opener)
                self._feed = opener()
                self._in_process = _lives_in_process(self._feed)

    # the calls of section 2
    create_tweet = _in_thread(SocialFeed.create_tweet)
    get_tweet = _reads(SocialFeed.get_tweet)
    delete_tweet = _in_thread(SocialFeed.delete_tweet)
    repost = _in_thread(SocialFeed.repost)
    replies = _reads(SocialFeed.replies)
    follow = _in_thread(SocialFeed.follow)
    unfollow = _in_thread(SocialFeed.unfollow)
    get_feed = _reads(SocialFeed.get_feed)
    user_timeline = _reads(SocialFeed.user_timeline)
    followers = _reads(SocialFeed.followers)
    following = _reads(SocialFeed.following)
    follower_count = _reads(SocialFeed.follower_count)
    following_count = _reads(SocialFeed.following_count)
    block = _in_thread(SocialFeed.block)
    unblock = _in_thread(SocialFeed.unblock)
    blocks = _reads(SocialFeed.blocks)
    mute = _in_thread(SocialFeed.mute)
    unmute = _in_thread(SocialFeed.unmute)
    mutes = _reads(SocialFeed.mutes)
    mute_word = _in_thread(SocialFeed.mute_word)
    unmute_word = _in_thread(SocialFeed.unmute_word)
    muted_words = _reads(SocialFeed.muted_words)
    delete_user = _in_thread(SocialFeed.delete_user)
    upload_media = _in_thread(SocialFeed.upload_media)
    media_url = _in_thread(SocialFeed.media_url)
    get_media = _in_thread(SocialFeed.get_media)
    open_media = _in_thread(SocialFeed.open_media)
    collect_garbage = _in_thread(SocialFeed.collect_garbage)
    drain = _in_thread(SocialFeed.drain)

    async def subscribe(
        self, user_id: int, cursor: str | None = None, *, limit: int = 20
    ) -> AsyncIterator[FeedPage]:
        """:meth:`SocialFeed.subscribe <socialfeed.SocialFeed.subscribe>` as an async
        iterator: a page each time ``home(user_id)`` gains items newer than the position,
        resumable from any page's ``prev_cursor``. It waits without holding a thread, and ends
        when the feed is closed."""
        feed = await self.open()
        watch = feed.watch(user_id, cursor, limit)
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def wake() -> None:  # from any thread; once the loop is closed, nobody waits
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(woken.set)

        await self.run(lambda: watch.open(wake))
        try:
            while not watch.stopped:
                woken.clear()
                page = await self.run(watch.poll)
                if page is not None:
                    yield page
                if watch.should_wait(page):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), watch.retry_in)
        finally:
            watch.close()  # never waits: it only hands the unsubscription on

    async def close(self) -> None:
        """End the subscriptions, then close the feed and its thread pool."""
        if self._feed is not None:
            await self.run(self._feed.close)
        self._pool.shutdown(wait=False)

    def __await__(self) -> Generator[Any, None, AsyncSocialFeed]:
        yield from self.open().__await__()
        return self

    async def __aenter__(self) -> AsyncSocialFeed:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _for_asyncio(sync: Callable[_P, SocialFeed]) -> Callable[_P, AsyncSocialFeed]:
    """``connect`` for asyncio: the same parameters, an unopened :class:`AsyncSocialFeed`."""

    def connect(*args: _P.args, **kwargs: _P.kwargs) -> AsyncSocialFeed:
        return AsyncSocialFeed(functools.partial(sync, *args, **kwargs))

    connect.__signature__ = inspect.signature(sync).replace(  # type: ignore[attr-defined]
        return_annotation="AsyncSocialFeed"
    )
    connect.__doc__ = """:func:`socialfeed.connect` for asyncio, with the same arguments: an
    :class:`AsyncSocialFeed` that opens (in a thread) on ``async with``, on ``await`` or on its
    first call. Bad arguments raise when it opens, as ``connect`` would."""
    return connect


connect = _for_asyncio(connect_sync)
""":func:`socialfeed.connect` for asyncio, with the same arguments: an :class:`AsyncSocialFeed`
that opens (in a thread) on ``async with``, on ``await`` or on its first call."""
