"""The values that cross the public API: frozen attrs classes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

__all__ = ["FeedPage", "Media", "MutedWord", "Tweet", "UserPage"]


@attrs.frozen
class Media:
    """An uploaded image or video; ``id`` is derived from the bytes (same bytes, same id)."""

    id: str
    content_type: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"id", "content_type", "size"}``."""
        return {"id": self.id, "content_type": self.content_type, "size": self.size}


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, every id a decimal string (JavaScript numbers lose 64-bit ids) and
        ``created_at`` in ISO 8601; ``repost_of`` is the original's dict, or ``None``."""
        return {
            "id": str(self.id),
            "author_id": str(self.author_id),
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "media": [m.to_dict() for m in self.media],
            "reply_to": _id_or_none(self.reply_to),
            "reply_to_author_id": _id_or_none(self.reply_to_author_id),
            "repost_of": None if self.repost_of is None else self.repost_of.to_dict(),
        }


@attrs.frozen
class MutedWord:
    """A muted phrase (stored Unicode NFKC-normalised and casefolded): it hides the items whose
    text contains it (with ``whole_word``, only where no word character touches either end) from
    the user's feeds until ``expires_at`` (``None``: for good)."""

    phrase: str
    whole_word: bool = True
    expires_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``expires_at`` in ISO 8601, or ``None``."""
        expires = None if self.expires_at is None else self.expires_at.isoformat()
        return {"phrase": self.phrase, "whole_word": self.whole_word, "expires_at": expires}


@attrs.frozen
class FeedPage:
    """A page of tweets, newest first (replies: oldest first). Pass ``next_cursor`` for the
    next page (older; ``None`` when there is none), ``prev_cursor`` for the items immediately
    newer than the first one (for an empty page: newer than where it was asked)."""

    items: tuple[Tweet, ...]
    next_cursor: str | None
    prev_cursor: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"items": [tweet dicts], "next_cursor", "prev_cursor"}``."""
        return {
            "items": [t.to_dict() for t in self.items],
            "next_cursor": self.next_cursor,
            "prev_cursor": self.prev_cursor,
        }


@attrs.frozen
class UserPage:
    """A page of user ids; pass ``next_cursor`` to get the next page."""

    ids: tuple[int, ...]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"ids": [decimal strings], "next_cursor"}``."""
        return {"ids": [str(i) for i in self.ids], "next_cursor": self.next_cursor}


def _id_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)
