"""Encodings: packed id lists, tweet bodies, timestamps and key names (with cluster hash tags)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from socialfeed.interfaces import BUILDING, ListKind, reference
from socialfeed.models import Media, Tweet

__all__ = [
    "BUILDING_HEADER",
    "TOMBSTONE",
    "Keys",
    "decode_tweet",
    "encode_tweet",
    "from_us",
    "pack_ids",
    "to_us",
    "unpack_ids",
]

BUILDING_HEADER = BUILDING.to_bytes(8, "big")
"""The header (floor) of a list that is being rebuilt."""
TOMBSTONE = b""
"""The value of a hot-tweet key whose tweet was deleted."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MAX_U64 = 2**64 - 1


def pack_ids(ids: Iterable[int]) -> bytes:
    """Distinct ids as 8-byte big-endian integers, newest (largest) first."""
    ordered = sorted(set(ids), reverse=True)
    return struct.pack(f">{len(ordered)}Q", *ordered)


def pack_bound(value: int) -> bytes:
    """An exclusive bound as 8 bytes, clamped to the unsigned 64-bit range."""
    return min(max(value, 0), _MAX_U64).to_bytes(8, "big")


def unpack_ids(data: bytes) -> tuple[int, ...]:
    """The ids of a packed run of 8-byte big-endian integers."""
    return struct.unpack(f">{len(data) // 8}Q", data)


def to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch (a naive datetime is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _US


def from_us(us: int) -> datetime:
    """The UTC datetime of :func:`to_us`."""
    return _EPOCH + timedelta(microseconds=us)


_BODY = struct.Struct(">BqqI")  # version, author id, created_at (us), length of the media JSON
_SOCIAL = struct.Struct(">qqq")  # reply_to, reply_to_author_id, the original's id (0: none)
_PLAIN, _WITH_SOCIAL = 1, 2  # versions: 2 carries the social fields after the header


def encode_tweet(tweet: Tweet) -> bytes:
    """A compact body for the hot-tweet cache (the id is in the key): a 21-byte header, for a
    reply or a repost 24 more bytes (``reply_to``, ``reply_to_author_id``, the original's id),
    the media as JSON (only when there are some), then the UTF-8 text. A plain tweet's body is
    the same as 0.2's, so caches written by either release read back."""
    media = b""
    if tweet.media:
        media = json.dumps(
            [[m.id, m.content_type, m.size] for m in tweet.media], separators=(",", ":")
        ).encode()
    social = (tweet.reply_to, tweet.reply_to_author_id, tweet.repost_of)
    version = _PLAIN if social == (None, None, None) else _WITH_SOCIAL
    head = _BODY.pack(version, tweet.author_id, to_us(tweet.created_at), len(media))
    if version == _WITH_SOCIAL:
        original = 0 if tweet.repost_of is None else tweet.repost_of.id
        head += _SOCIAL.pack(tweet.reply_to or 0, tweet.reply_to_author_id or 0, original)
    return head + media + tweet.text.encode()


def decode_tweet(tweet_id: int, raw: bytes) -> Tweet:
    """The tweet of :func:`encode_tweet` (a repost's original as a :func:`reference`)."""
    version, author_id, created, n = _BODY.unpack_from(raw)
    start = _BODY.size
    reply_to = reply_author = original = 0
    if version == _WITH_SOCIAL:
        reply_to, reply_author, original = _SOCIAL.unpack_from(raw, start)
        start += _SOCIAL.size
    media: tuple[Media, ...] = ()
    if n:
        media = tuple(Media(m[0], m[1], m[2]) for m in json.loads(raw[start : start + n]))
    text = raw[start + n :].decode()
    return Tweet(
        tweet_id,
        author_id,
        text,
        _EPOCH + timedelta(microseconds=created),
        media,
        reply_to or None,
        reply_author or None,
        reference(original) if original else None,
    )


class Keys:
    """Key names under a prefix. A user's keys share the hash tag ``{u:<id>}`` so they live in one
    Redis Cluster slot; tweet keys spread over all slots."""

    _SUFFIX: dict[str, str] = {"feed": "f", "celebrity": "c"}

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.tweet_prefix = f"{prefix}:t:"

    def list_key(self, kind: ListKind, key: int) -> str:
        """A feed (``{u:42}:f``) or a celebrity list (``{u:42}:c``)."""
        return f"{self.prefix}:{{u:{key}}}:{self._SUFFIX[kind]}"

    def list_keys(self, kind: ListKind, keys: Sequence[int]) -> list[str]:
        """Many list keys of one kind."""
        prefix, suffix = self.prefix, self._SUFFIX[kind]
        return [f"{prefix}:{{u:{k}}}:{suffix}" for k in keys]

    def seen(self, user_id: int) -> str:
        """A user's last-seen time."""
        return f"{self.prefix}:{{u:{user_id}}}:s"

    def seens(self, user_ids: Sequence[int]) -> list[str]:
        """Many last-seen keys."""
        prefix = self.prefix
        return [f"{prefix}:{{u:{u}}}:s" for u in user_ids]

    def tweets(self, tweet_ids: Sequence[int]) -> list[str]:
        """Hot-tweet keys (the id in 16 hex digits, which Lua can format exactly)."""
        prefix = self.tweet_prefix
        return [f"{prefix}{i:016x}" for i in tweet_ids]
