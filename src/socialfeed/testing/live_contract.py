"""The web-app kit's end-to-end suite ([0.2-W]): :class:`LiveFeedContract`, a mixin of pytest
tests that :class:`~socialfeed.testing.end_to_end.FeedContract` inherits (fixture ``sf``).

Forward paging with ``prev_cursor`` on feeds, timelines and replies; your own writes showing at
once; ``subscribe()`` delivering every new item once, in order, and resuming from any page's
``prev_cursor`` with nothing missed or repeated; ``to_dict()`` with string ids.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from socialfeed.errors import ValidationError
from socialfeed.feed import SocialFeed
from socialfeed.models import FeedPage

__all__ = ["LiveFeedContract", "collect_pages"]

_WAIT = 30.0  # seconds a subscriber may take to see what was posted


def _ids(page: FeedPage) -> list[int]:
    return [t.id for t in page.items]


def collect_pages(stream: Iterator[FeedPage], until: Callable[[list[int]], bool]) -> list[int]:
    """Read ``stream`` in a thread until ``until(ids)`` holds for the ids it delivered, oldest
    first (each page is newest first and newer than the one before); fail after a while."""
    got: list[int] = []
    done = threading.Event()

    def read() -> None:
        for page in stream:
            assert page.items, "subscribe() yielded an empty page"
            got.extend(reversed(_ids(page)))
            if until(got):
                break
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert done.wait(_WAIT), f"the subscriber saw only {got}"
    return got


class LiveFeedContract:
    """Forward paging, own writes and live updates, end to end (fixture ``sf``)."""

    def test_prev_cursor_pages_forward(self, sf: SocialFeed) -> None:
        """``prev_cursor`` gives the items immediately newer, newest first, and a short page
        when caught up, on feeds, timelines and replies alike."""
        sf.follow(1, 2)
        tweets = [sf.create_tweet(2 if n % 2 else 1, f"t{n}").id for n in range(9)]
        sf.drain(timeout=30)
        newest_first = tweets[::-1]
        reads: list[Callable[[int, str | None], FeedPage]] = [
            lambda n, c: sf.get_feed(1, n, c),
            lambda n, c: sf.user_timeline(2, n, c, viewer_id=1),
        ]
        for read in reads:
            items = _ids(read(100, None))
            oldest = read(2, None)
            for _ in range(len(items)):
                if oldest.next_cursor is None:
                    break
                oldest = read(2, oldest.next_cursor)
            forward = read(3, oldest.prev_cursor)
            position = items.index(oldest.items[0].id)
            assert _ids(forward) == items[max(0, position - 3) : position]
            assert forward.next_cursor is not None  # the oldest page is still older
            caught_up = read(100, read(100, None).prev_cursor)
            assert caught_up.items == () and caught_up.next_cursor is not None
        assert _ids(sf.get_feed(1, 100)) == newest_first
        root = sf.create_tweet(3, "root")
        replies = [sf.create_tweet(4, f"r{n}", reply_to=root.id).id for n in range(5)]
        page = sf.replies(root.id, limit=2, cursor=sf.replies(root.id, limit=2).next_cursor)
        assert _ids(page) == replies[2:4]
        assert _ids(sf.replies(root.id, limit=5, cursor=page.prev_cursor)) == replies[:2]
        empty = sf.get_feed(99)
        assert empty.items == () and empty.next_cursor is None
        sf.follow(99, 5)
        fresh = sf.create_tweet(5, "after the empty page")
        sf.drain(timeout=30)
        assert _ids(sf.get_feed(99, cursor=empty.prev_cursor)) == [fresh.id]

    def test_bad_forward_cursors(self, sf: SocialFeed) -> None:
        """A tampered ``prev_cursor``, or one of another kind of page, is a ValidationError."""
        tweet = sf.create_tweet(1, "x")
        prev = sf.get_feed(1).prev_cursor
        for bad in (prev[:-2] + ("A" if prev[-2] != "A" else "B") + prev[-1], prev + "x"):
            with pytest.raises(ValidationError):
                sf.get_feed(1, cursor=bad)
        with pytest.raises(ValidationError):
            sf.followers(1, cursor=prev)
        with pytest.raises(ValidationError):
            sf.replies(tweet.id, cursor=prev)
        with pytest.raises(ValidationError):
            sf.watch(1, sf.get_feed(1, limit=1).next_cursor or prev[:-1])

    def test_own_writes_show_at_once(self, sf: SocialFeed) -> None:
        """Once ``create_tweet`` or ``repost`` returns, the item is in its author's feed and
        timeline, whatever the queue has done yet."""
        sf.get_feed(1)  # the author is active: their feed is cached
        other = sf.create_tweet(2, "theirs")
        mine = sf.create_tweet(1, "mine")
        assert _ids(sf.get_feed(1))[0] == mine.id
        assert _ids(sf.user_timeline(1))[0] == mine.id
        repost = sf.repost(1, other.id)
        assert _ids(sf.get_feed(1))[0] == repost.id
        assert _ids(sf.user_timeline(1))[0] == repost.id

    def test_subscribe_delivers_each_new_item_once(self, sf: SocialFeed) -> None:
        """Every item the feed gains after the start comes once, oldest page first; items of
        someone followed after the start come too; closing the stream stops it."""
        sf.follow(1, 2)
        sf.create_tweet(2, "before")
        sf.drain(timeout=30)
        start = sf.get_feed(1)
        stream = sf.subscribe(1, cursor=start.prev_cursor, limit=3)
        posted: list[int] = []

        def post() -> None:
            time.sleep(0.2)
            for n in range(7):
                posted.append(sf.create_tweet(2 if n % 2 else 1, f"live {n}").id)
            sf.follow(1, 3)
            sf.drain(timeout=30)
            posted.append(sf.create_tweet(3, "newly followed").id)

        writer = threading.Thread(target=post)
        writer.start()
        got = collect_pages(stream, lambda ids: len(ids) >= 8)
        writer.join()
        assert got == posted
        assert start.items[0].id not in got

    def test_subscribe_resumes_from_a_prev_cursor(self, sf: SocialFeed) -> None:
        """A stream dropped after a page and resumed from its ``prev_cursor`` gets exactly what
        came in between and after, each item once."""
        sf.follow(1, 2)
        first = [sf.create_tweet(2, f"a{n}").id for n in range(3)]
        sf.drain(timeout=30)
        resume_at = sf.get_feed(1, limit=2, cursor=sf.get_feed(1, limit=1).next_cursor)
        assert _ids(resume_at) == first[1::-1]
        later = [sf.create_tweet(2, f"b{n}").id for n in range(4)]
        sf.drain(timeout=30)
        got = collect_pages(
            sf.subscribe(1, cursor=resume_at.prev_cursor, limit=2), lambda ids: len(ids) >= 5
        )
        assert got == [first[2], *later]

    def test_to_dict_has_string_ids(self, sf: SocialFeed) -> None:
        """``to_dict()`` is JSON-ready: ids as decimal strings, times in ISO 8601."""
        original = sf.create_tweet(2, "original")
        reply = sf.create_tweet(1, "reply", reply_to=original.id)
        repost = sf.repost(1, original.id)
        page = sf.user_timeline(1)
        data = page.to_dict()
        assert data["next_cursor"] is None and data["prev_cursor"] == page.prev_cursor
        by_id = {item["id"]: item for item in data["items"]}
        assert set(by_id) == {str(reply.id), str(repost.id)}
        assert by_id[str(reply.id)]["reply_to"] == str(original.id)
        assert by_id[str(reply.id)]["reply_to_author_id"] == "2"
        assert by_id[str(repost.id)]["repost_of"]["id"] == str(original.id)
        assert by_id[str(repost.id)]["created_at"] == repost.created_at.isoformat()
        assert sf.followers(2).to_dict() == {"ids": [], "next_cursor": None}
