"""socialfeed.aio: the same calls awaited, never blocking the event loop, and subscribe() as
an async iterator that resumes from any prev_cursor."""

from __future__ import annotations

import asyncio
import io
import time

import pytest

import socialfeed
import socialfeed.aio
from socialfeed.testing.data import png_bytes

pytestmark = pytest.mark.memory


class SlowFile(io.BytesIO):
    """A file object that takes its time (a slow upload from a client)."""

    def read(self, size: int | None = -1) -> bytes:
        time.sleep(0.1)
        return super().read(size)


async def _heartbeat(gaps: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


def test_calls_never_block_the_loop() -> None:
    async def main() -> tuple[float, float, int]:
        async with socialfeed.aio.connect() as sf:
            gaps: list[float] = []
            stop = asyncio.Event()
            beat = asyncio.create_task(_heartbeat(gaps, stop))
            started = time.perf_counter()
            media = await sf.upload_media(SlowFile(png_bytes(3) * 2000))
            took = time.perf_counter() - started
            stop.set()
            await beat
            assert media.content_type == "image/png"
            assert took > 0.2  # the upload really was slow
            return max(gaps), took, len(gaps)

    # a blocked loop would show one gap as long as the call; this one kept ticking
    worst, took, ticks = asyncio.run(main())
    assert worst < took / 3 and ticks >= 10, (worst, took, ticks)


def test_same_results_and_errors() -> None:
    async def main() -> None:
        sf = await socialfeed.aio.connect()
        try:
            await sf.follow(1, 2)
            tweet = await sf.create_tweet(2, "hello")
            assert (await sf.get_feed(1)).items == (tweet,)
            assert await sf.get_tweet(tweet.id) == tweet
            assert await sf.follower_count(2) == 1
            assert (await sf.followers(2)).ids == (1,)
            with pytest.raises(socialfeed.NotFound):
                await sf.get_tweet(tweet.id + 1)
            with pytest.raises(socialfeed.ValidationError, match="limit"):
                await sf.get_feed(1, limit=0)
            with pytest.raises(socialfeed.PermissionDenied):
                await sf.delete_tweet(tweet.id, user_id=1)
            media = await sf.upload_media(png_bytes(4))
            assert await sf.get_media(media.id) == media
            assert sf.sync.settings == socialfeed.Settings()
        finally:
            await sf.close()

    asyncio.run(main())


def test_bad_arguments_raise_when_it_opens() -> None:
    async def main() -> None:
        with pytest.raises(socialfeed.ValidationError, match="strategy"):
            async with socialfeed.aio.connect(strategy="sideways"):
                pass

    asyncio.run(main())


def test_subscribe_resumes_and_ends_with_the_feed() -> None:
    async def main() -> tuple[list[int], list[int]]:
        sf = socialfeed.aio.connect()
        await sf.follow(1, 2)
        start = await sf.get_feed(1)
        got: list[int] = []
        last: list[str] = []

        async def listen(cursor: str, want: int) -> None:
            async for page in sf.subscribe(1, cursor=cursor, limit=2):
                got.extend(t.id for t in reversed(page.items))
                last.append(page.prev_cursor)
                if len(got) >= want:
                    return

        posted = [(await sf.create_tweet(2, f"t{n}")).id for n in range(3)]
        await asyncio.wait_for(listen(start.prev_cursor, 3), 10)
        posted += [(await sf.create_tweet(2, f"u{n}")).id for n in range(3)]
        await asyncio.wait_for(listen(last[-1], 6), 10)
        # a stream still open when the feed closes ends
        waiting = asyncio.create_task(listen(last[-1], 99))
        await asyncio.sleep(0.1)
        await sf.close()
        await asyncio.wait_for(waiting, 5)
        return got, posted

    got, posted = asyncio.run(main())
    assert got == posted
