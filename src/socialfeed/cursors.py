"""Opaque, URL-safe page cursors.

A cursor carries one position (an id), a kind and a direction (past the position in page order,
as ``next_cursor``, or towards the start, as ``prev_cursor``), so that a feed cursor cannot be
replayed as a follower-list cursor, plus a keyed checksum so that a malformed or tampered cursor
is rejected with a :class:`~socialfeed.errors.ValidationError` instead of silently paging from
the wrong place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from socialfeed.errors import ValidationError

__all__ = ["decode_cursor", "decode_page_cursor", "encode_cursor"]

_KEY = b"socialfeed-cursor-v1"
_LAYOUT = struct.Struct(">BBq")  # version, kind, position
_VERSION = 1
_KINDS = {"tweets": 1, "users": 2, "replies": 3}
_MAC_BYTES = 6
_TOWARDS_START = 0x80  # a kind code with this bit pages towards the start (a prev_cursor)


_KEYED = hashlib.blake2b(key=_KEY, digest_size=_MAC_BYTES)  # copied per cursor: no key set-up


def _mac(body: bytes) -> bytes:
    mac = _KEYED.copy()
    mac.update(body)
    return mac.digest()


def encode_cursor(kind: str, position: int, *, towards_start: bool = False) -> str:
    """An opaque cursor meaning "after ``position``" for pages of ``kind`` (tweets, users
    or replies); with ``towards_start``, "before ``position``" (a page's ``prev_cursor``)."""
    code = _KINDS[kind] | (_TOWARDS_START if towards_start else 0)
    body = _LAYOUT.pack(_VERSION, code, position)
    return base64.urlsafe_b64encode(body + _mac(body)).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The position inside ``cursor``; ``None`` for no cursor. Bad cursors raise ValidationError
    (as does a cursor towards the start, which only :func:`decode_page_cursor` accepts)."""
    position, towards_start = decode_page_cursor(kind, cursor)
    if towards_start:
        raise _bad()
    return position


def decode_page_cursor(kind: str, cursor: str | None) -> tuple[int | None, bool]:
    """The position inside ``cursor`` and whether it pages towards the start; ``(None, False)``
    for no cursor. Bad cursors raise ValidationError."""
    if cursor is None:
        return None, False
    if not isinstance(cursor, str) or len(cursor) > 64:
        raise _bad()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _bad() from None
    body, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if len(body) != _LAYOUT.size or mac != _mac(body):
        raise _bad()
    version, code, position = _LAYOUT.unpack(body)
    towards_start = bool(code & _TOWARDS_START)
    if version != _VERSION or code & ~_TOWARDS_START != _KINDS[kind] or position < 0:
        raise _bad()
    if encode_cursor(kind, position, towards_start=towards_start) != cursor:
        raise _bad()  # only the canonical spelling is accepted
    return int(position), towards_start


def _bad() -> ValidationError:
    return ValidationError("cursor", "is malformed or was not issued for this kind of page")
