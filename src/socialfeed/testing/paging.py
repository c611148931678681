"""Bounded loops for the suites: every listing the suites page through, and every batch loop
they drain, goes through :func:`repeat` (and :func:`pages`, built on it), so a backend that
ignores ``before``/``after`` or never reports an end fails at once, with the values shown,
instead of hanging the run. Needs neither pytest nor hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from socialfeed.models import FeedPage, UserPage

__all__ = ["SLACK", "Page", "flat", "pages", "repeat"]

R = TypeVar("R")

SLACK = 3
"""How many rounds past what the data can need :func:`repeat` allows before it fails."""

Page = tuple[int, list[int], str | None]
"""One page as the suites see it: ``(limit, ids, next_cursor)``."""


def repeat(step: Callable[[], R], *, until: Callable[[R], bool], most: int, what: str) -> list[R]:
    """Call ``step`` until ``until(result)`` holds and return every result, the last included.

    ``most`` is how many rounds the data can need at most; after ``most + SLACK`` rounds an
    ``AssertionError`` names ``what`` and shows the last result.
    """
    results: list[R] = []
    for _ in range(max(most, 0) + SLACK):
        result = step()
        results.append(result)
        if until(result):
            return results
    raise AssertionError(
        f"{what} did not end after {len(results)} rounds, though the data needs at most {most}; "
        f"the last round gave {results[-1]!r}"
    )


def _ids(page: FeedPage | UserPage) -> list[int]:
    return [t.id for t in page.items] if isinstance(page, FeedPage) else list(page.ids)


def pages(
    fetch: Callable[[int, str | None], FeedPage | UserPage],
    sizes: Callable[[], int],
    *,
    what: str,
    most: int = 10_000,
) -> list[Page]:
    """Every page of a listing, following ``next_cursor`` with page sizes from ``sizes``.

    ``most`` is how many items the listing can hold at most (so it ends within ``most + 1``
    pages). A page that repeats a cursor or an id of an earlier page fails at once: the backend
    ignores the cursor (a ``before``/``after`` bound) or repeats the item at the cursor.
    """
    seen_ids: set[int] = set()
    seen_cursors: set[str] = set()
    cursor: str | None = None

    def step() -> Page:
        nonlocal cursor
        limit = sizes()
        page = fetch(limit, cursor)
        ids = _ids(page)
        again = sorted(seen_ids.intersection(ids))
        assert not again, (
            f"{what}: the page after cursor {cursor!r} repeats ids {again} of earlier pages "
            f"(got {ids}); is before/after ignored, or is the id at the cursor included?"
        )
        assert page.next_cursor not in seen_cursors, (
            f"{what}: next_cursor {page.next_cursor!r} came back again (page {ids})"
        )
        seen_ids.update(ids)
        cursor = page.next_cursor
        if cursor is not None:
            seen_cursors.add(cursor)
        return limit, ids, cursor

    return repeat(step, until=lambda p: p[2] is None, most=most + 1, what=what)


def flat(listing: list[Page]) -> list[int]:
    """The ids of every page, in order."""
    return [i for _, ids, _ in listing for i in ids]
