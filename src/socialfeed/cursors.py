"""Opaque, URL-safe page cursors.

A cursor carries one position (an id) and a kind, so that a feed cursor cannot be replayed as a
follower-list cursor, plus a keyed checksum so that a malformed or tampered cursor is rejected with
a :class:`~socialfeed.errors.ValidationError` instead of silently paging from the wrong place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from socialfeed.errors import ValidationError

__all__ = ["decode_cursor", "encode_cursor"]

_KEY = b"socialfeed-cursor-v1"
_LAYOUT = struct.Struct(">BBq")  # version, kind, position
_VERSION = 1
_KINDS = {"tweets": 1, "users": 2, "replies": 3}
_MAC_BYTES = 6


def _mac(body: bytes) -> bytes:
    return hashlib.blake2b(body, key=_KEY, digest_size=_MAC_BYTES).digest()


def encode_cursor(kind: str, position: int) -> str:
    """An opaque cursor meaning "after ``position``" for pages of ``kind`` (tweets, users
    or replies)."""
    body = _LAYOUT.pack(_VERSION, _KINDS[kind], position)
    return base64.urlsafe_b64encode(body + _mac(body)).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The position inside ``cursor``; ``None`` for no cursor. Bad cursors raise ValidationError."""
    if cursor is None:
        return None
    bad = ValidationError("cursor", "is malformed or was not issued for this kind of page")
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    body, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if len(body) != _LAYOUT.size or mac != _mac(body):
        raise bad
    version, kind_code, position = _LAYOUT.unpack(body)
    if version != _VERSION or kind_code != _KINDS[kind] or position < 0:
        raise bad
    if encode_cursor(kind, position) != cursor:  # only the canonical spelling is accepted
        raise bad
    return int(position)
