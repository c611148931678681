"""Checks on input that crosses the public API; each failure names the field and the limit."""

from __future__ import annotations

import re
from typing import Any

from socialfeed.errors import ValidationError
from socialfeed.ids import MAX_ID

__all__ = ["MAX_PAGE", "check_id", "check_limit", "check_text", "is_media_id", "show"]

MAX_PAGE = 200
"""The largest ``limit`` of one page."""


_MEDIA_ID = re.compile(r"[0-9a-f]{64}")
_SHOWN = 100  # characters of an offending value an error message quotes at most


def show(value: Any) -> str:
    """A short ``repr`` of an offending value for an error message: at most ~100 characters,
    and never an error itself (a huge int, a broken ``__repr__``)."""
    try:
        text = repr(value)
    except Exception:  # e.g. an int of more digits than Python formats
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


def is_media_id(value: Any) -> bool:
    """Whether ``value`` is a media id: the lowercase hex sha256 of the bytes (64 characters).
    Backends rely on it: a media id is safe to use in a path or key."""
    return type(value) is str and _MEDIA_ID.fullmatch(value) is not None


def check_id(field: str, value: Any, *, what: str = "") -> int:
    """An id: an ``int`` (not a bool) in ``1 .. 2**63-1``. ``what`` names the value in the
    message when ``field`` holds several (``check_id("rows", x, what="author_id")``)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        name = f"{what} " if what else ""
        raise ValidationError(field, f"{name}must be an integer in 1..{MAX_ID}, got {value!r}")
    return value


def check_limit(value: Any, maximum: int = MAX_PAGE) -> int:
    """A page size in ``1 .. maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidationError("limit", f"must be an integer in 1..{maximum}, got {value!r}")
    return value


def check_text(value: Any, max_length: int, has_media: bool) -> str:
    """Tweet text: a str of at most ``max_length`` characters, valid Unicode, no NUL; empty only
    when the tweet has media."""
    if not isinstance(value, str):
        raise ValidationError("text", f"must be a str, got {type(value).__name__}")
    if len(value) > max_length:
        raise ValidationError("text", f"is {len(value)} characters long; the limit is {max_length}")
    if not value.strip() and not has_media:
        raise ValidationError("text", "must not be blank unless the tweet has media")
    if "\x00" in value:
        raise ValidationError("text", "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("text", "must be valid Unicode (it has a lone surrogate)") from None
    return value
