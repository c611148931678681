from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialfeed.cursors import decode_cursor, encode_cursor
from socialfeed.errors import ValidationError


@given(st.integers(0, 2**63 - 1), st.sampled_from(["tweets", "users"]))
def test_round_trip_and_url_safe(position: int, kind: str) -> None:
    cursor = encode_cursor(kind, position)
    assert decode_cursor(kind, cursor) == position
    assert all(c.isalnum() or c in "-_" for c in cursor)


@given(st.text(max_size=40))
def test_random_strings_are_rejected_or_canonical(text: str) -> None:
    try:
        position = decode_cursor("tweets", text)
    except ValidationError as exc:
        assert exc.field == "cursor"
    else:
        assert position is not None and encode_cursor("tweets", position) == text


@given(st.integers(0, 2**63 - 1), st.data())
def test_any_single_character_change_is_caught(position: int, data: st.DataObject) -> None:
    cursor = encode_cursor("tweets", position)
    i = data.draw(st.integers(0, len(cursor) - 1))
    c = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    )
    tampered = cursor[:i] + c + cursor[i + 1 :]
    if tampered != cursor:
        with pytest.raises(ValidationError):
            decode_cursor("tweets", tampered)


def test_kinds_do_not_mix() -> None:
    with pytest.raises(ValidationError):
        decode_cursor("users", encode_cursor("tweets", 5))
    assert decode_cursor("users", None) is None
