"""The values that cross the public API: frozen attrs classes."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["FeedPage", "Media", "Tweet", "UserPage"]


@attrs.frozen
class Media:
    """An uploaded image or video; ``id`` is derived from the bytes (same bytes, same id)."""

    id: str
    content_type: str
    size: int


@attrs.frozen
class Tweet:
    """A tweet: text and up to ``Settings.max_media_per_tweet`` media, in order."""

    id: int
    author_id: int
    text: str
    created_at: datetime
    media: tuple[Media, ...] = ()


@attrs.frozen
class FeedPage:
    """A page of tweets, newest first; pass ``next_cursor`` to get the next (older) page."""

    items: tuple[Tweet, ...]
    next_cursor: str | None


@attrs.frozen
class UserPage:
    """A page of user ids; pass ``next_cursor`` to get the next page."""

    ids: tuple[int, ...]
    next_cursor: str | None
