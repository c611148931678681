"""The values that cross the public API: frozen attrs classes."""

from __future__ import annotations

from datetime import datetime

import attrs

__all__ = ["FeedPage", "Media", "MutedWord", "Tweet", "UserPage"]


@attrs.frozen
class Media:
    """An uploaded image or video; ``id`` is derived from the bytes (same bytes, same id)."""

    id: str
    content_type: str
    size: int


@attrs.frozen
class Tweet:
    """A tweet: text and up to ``Settings.max_media_per_tweet`` media, in order.

    A reply has ``reply_to`` (the parent tweet's id) and ``reply_to_author_id`` (the parent's
    author when the reply was made). A repost is an item of its own (its own id, by the user who
    reposted) with ``repost_of`` set to the original, hydrated; its ``text`` is ``""`` and it has
    no media.
    """

    id: int
    author_id: int
    text: str
    created_at: datetime
    media: tuple[Media, ...] = ()
    reply_to: int | None = None
    reply_to_author_id: int | None = None
    repost_of: Tweet | None = None

    @property
    def original(self) -> Tweet:
        """What this item shows: the original of a repost, else the tweet itself."""
        return self.repost_of if self.repost_of is not None else self


@attrs.frozen
class MutedWord:
    """A muted phrase (stored Unicode NFKC-normalised and casefolded): it hides the items whose
    text contains it (with ``whole_word``, only where no word character touches either end) from
    the user's feeds until ``expires_at`` (``None``: for good)."""

    phrase: str
    whole_word: bool = True
    expires_at: datetime | None = None


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
