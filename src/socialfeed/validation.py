"""Checks on input that crosses the public API; each failure names the field and the limit."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from socialfeed.errors import ValidationError, show
from socialfeed.ids import MAX_ID
from socialfeed.visibility import normalize_phrase

__all__ = [
    "MAX_KEY",
    "MAX_PAGE",
    "check_id",
    "check_key",
    "check_limit",
    "check_phrase",
    "check_text",
    "is_blank",
    "is_media_id",
    "show",
]

MAX_KEY = 255
"""The longest idempotency key."""

MAX_PAGE = 200
"""The largest ``limit`` of one page."""


_MEDIA_ID = re.compile(r"[0-9a-f]{64}")


def is_media_id(value: Any) -> bool:
    """Whether ``value`` is a media id: the lowercase hex sha256 of the bytes (64 characters).
    Backends rely on it: a media id is safe to use in a path or key."""
    return type(value) is str and _MEDIA_ID.fullmatch(value) is not None


def _plain_int(value: Any) -> int | None:
    """``value`` as an exact ``int`` (an int subclass's overrides are not trusted), or ``None``
    for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return int.__int__(value)


def check_id(field: str, value: Any, *, what: str = "") -> int:
    """An id: an ``int`` (not a bool) in ``1 .. 2**63-1``, returned as an exact ``int``. ``what``
    names the value in the message when ``field`` holds several (``what="author_id"``)."""
    plain = _plain_int(value)
    if plain is None or not 1 <= plain <= MAX_ID:
        name = f"{what} " if what else ""
        raise ValidationError(field, f"{name}must be an integer in 1..{MAX_ID}, got {show(value)}")
    return plain


def check_key(value: Any) -> str:
    """An idempotency key: a str of 1 to :data:`MAX_KEY` printable ASCII characters (what a
    client puts in an ``Idempotency-Key`` header: a UUID, a request id)."""
    if not isinstance(value, str):
        raise ValidationError("idempotency_key", f"must be a str, got {type(value).__name__}")
    if not 1 <= len(value) <= MAX_KEY or not (value.isascii() and value.isprintable()):
        raise ValidationError(
            "idempotency_key",
            f"must be 1..{MAX_KEY} printable ASCII characters, got {show(value)}",
        )
    return str.__str__(value)


def check_limit(value: Any, maximum: int = MAX_PAGE) -> int:
    """A page size in ``1 .. maximum``, returned as an exact ``int``."""
    plain = _plain_int(value)
    if plain is None or not 1 <= plain <= maximum:
        raise ValidationError("limit", f"must be an integer in 1..{maximum}, got {show(value)}")
    return plain


_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Cn", "Co", "Cs"})
# letters and symbols that render as nothing (Hangul fillers, the braille blank)
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only white space, control and format characters
    (zero-width spaces and joiners included), lone combining marks and blank glyphs."""
    return all(
        c.isspace() or c in _BLANK_GLYPHS or unicodedata.category(c) in _INVISIBLE for c in text
    )


def check_text(value: Any, max_length: int, has_media: bool) -> str:
    """Tweet text: a str of at most ``max_length`` characters, valid Unicode, no NUL; empty only
    when the tweet has media."""
    if not isinstance(value, str):
        raise ValidationError("text", f"must be a str, got {type(value).__name__}")
    text = str.__str__(value)  # an exact str: a subclass's overrides are not trusted
    if len(text) > max_length:
        raise ValidationError("text", f"is {len(text)} characters long; the limit is {max_length}")
    if not has_media and is_blank(text):
        raise ValidationError("text", "must not be blank unless the tweet has media")
    return _storable("text", text)


def _storable(field: str, text: str) -> str:
    """``text`` if every backend can store it: no NUL, valid Unicode."""
    if "\x00" in text:
        raise ValidationError(field, "must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(field, "must be valid Unicode (it has a lone surrogate)") from None
    return text


def check_phrase(value: Any, max_length: int) -> str:
    """A muted phrase as it is stored and compared: NFKC, casefolded, stripped; a str, not blank,
    at most ``max_length`` characters once normalised, no NUL, valid Unicode."""
    if not isinstance(value, str):
        raise ValidationError("phrase", f"must be a str, got {type(value).__name__}")
    phrase = normalize_phrase(str.__str__(value)).strip()
    if is_blank(phrase):
        raise ValidationError("phrase", "must not be blank")
    if len(phrase) > max_length:
        raise ValidationError(
            "phrase", f"has {len(phrase)} characters once normalised; the limit is {max_length}"
        )
    return _storable("phrase", phrase)
