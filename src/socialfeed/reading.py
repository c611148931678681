"""The read pipeline of every page of items (ARCHITECTURE.md): *skeleton* (a page of ids from
the strategy or the store) -> *hydrate* (ids to tweets in one batch, reposts' originals in the
same batch) -> *filter* (:mod:`socialfeed.visibility`, with what the viewer's filters need
fetched once per batch) -> *refill* (more skeleton until the page is full).

A page asks its source for one item more than it returns, so ``next_cursor`` is ``None``
exactly when no further item exists, however many the filters hide. The social rows (erasures,
blocks, mutes, muted words) are read from the primary store, so that what a write hides is
hidden at once even behind a lagging replica; tweets come through the hot-tweet cache and the
(possibly replica) store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeVar

import attrs

from socialfeed.abilities import all_following
from socialfeed.cursors import decode_cursor, decode_page_cursor, encode_cursor
from socialfeed.ids import id_floor_for
from socialfeed.interfaces import READ_ALONG, Backends, CompleteCache, ReadAlong
from socialfeed.models import FeedPage, MutedWord, Tweet, UserPage
from socialfeed.validation import check_limit
from socialfeed.visibility import Viewer, erased, matcher

__all__ = ["PageKind", "Reader", "active_words"]

PageKind = Literal["home", "timeline", "replies"]
"""What a page lists: a home feed (rules 1-5, one item per original), an author's timeline or a
tweet's replies (for a viewer, rules 2, 4 and 5; the timeline also one item per original).
Replies page oldest first, the others newest first."""

_MAX_BATCH = 800  # the most ids one refill asks for
_MAX_USER_PAGE = 1000  # the largest page of user ids
_CLOCK_SLACK = timedelta(seconds=1)  # "the present" of an empty first page: ids from 1 s ago on
_T = TypeVar("_T")


def active_words(rows: Sequence[tuple[str, bool, int | None]], now: datetime) -> list[MutedWord]:
    """The muted words of ``rows`` (a store's) that have not expired at ``now``."""
    now_ms = int(now.timestamp() * 1000)
    return [
        MutedWord(p, w, None if e is None else datetime.fromtimestamp(e / 1000, UTC))
        for p, w, e in rows
        if e is None or e > now_ms
    ]


@attrs.define
class Reader:
    """Pages of items for the facade, read through the cache and the store."""

    b: Backends

    def erasures(self) -> dict[int, int]:
        """The erasures under way (user id -> watermark), as the primary knows them."""
        return self.b.truth.store.erasures()

    # hydrate
    def _load(self, ids: Sequence[int]) -> dict[int, Tweet]:
        """Stored tweets by id: hot ones from the cache, the rest from the store (then cached).
        A tombstone in the cache means deleted, whatever a lagging replica still holds."""
        cache = self.b.cache
        cached = _hot_tweets(cache, ids)
        found = {i: t for i, t in cached.items() if t is not None}
        if len(cached) == len(ids):
            return found
        missing = [i for i in ids if i not in cached]
        if missing:
            loaded = self.b.store.get_tweets(missing)
            if loaded:
                cache.put_hot_tweets(list(loaded.values()))
                found.update(loaded)
        return found

    def hydrate(self, ids: Sequence[int], erasures: dict[int, int]) -> dict[int, Tweet]:
        """The live items among ``ids``, reposts with their originals (rule 2: an item whose
        original is deleted or erased is left out, as is an erased one)."""
        stored = self._load(ids)
        wanted = {t.repost_of.id for t in stored.values() if t.repost_of is not None}
        if not wanted and not erasures:
            return stored
        missing = [o for o in wanted if o not in stored]
        originals = {**stored, **self._load(missing)} if missing else stored
        out: dict[int, Tweet] = {}
        for i, t in stored.items():
            if erased(t, erasures):
                continue
            if t.repost_of is not None:
                o = originals.get(t.repost_of.id)
                if o is None or o.repost_of is not None or erased(o, erasures):
                    continue
                t = attrs.evolve(t, repost_of=o)
            out[i] = t
        return out

    def live(self, tweet_id: int, erasures: dict[int, int] | None = None) -> Tweet | None:
        """The live item ``tweet_id`` (a repost with its original), or ``None``."""
        found = self.hydrate([tweet_id], self.erasures() if erasures is None else erasures)
        return found.get(tweet_id)

    # filter
    def words(self, user_id: int, erasures: dict[int, int]) -> list[MutedWord]:
        """The user's active muted words (none while the user is being erased)."""
        if user_id in erasures:
            return []
        return active_words(self.b.truth.store.muted_word_rows(user_id), self.b.now())

    def hidden(self, user_id: int, others: set[int], erasures: dict[int, int]) -> set[int]:
        """The users among ``others`` that ``user_id`` blocks, is blocked by or mutes; relations
        of users being erased do not count: they are on their way out."""
        others = _counted(user_id, others, erasures)
        return self._hidden_among(user_id, others) if others else set()

    def _hidden_among(self, user_id: int, others: set[int]) -> set[int]:
        return {o for _, o in self.b.truth.store.relations_among(user_id, list(others))}

    def viewer(
        self,
        user_id: int,
        items: Sequence[Tweet],
        erasures: dict[int, int],
        words: Sequence[MutedWord],
        ask_follows: bool,
    ) -> Viewer:
        """What the filters need for ``items``: one ``relations_among`` and, for a home feed
        (``ask_follows``), one ``edges_among``. Edges of users being erased do not count."""
        words_matcher = matcher((w.phrase, w.whole_word) for w in words) if words else None
        others = _counted(user_id, _involved(items), erasures)
        if not others:
            return Viewer(user_id, words=words_matcher)
        followed: set[int] = set()
        if ask_follows:
            pairs = [(user_id, o) for o in others]
            followed = {e for _, e in self.b.graph.edges_among(pairs)}
        return Viewer(user_id, self._hidden_among(user_id, others), followed, words_matcher)

    def _earlier(
        self, viewer: Viewer, reposts: Sequence[Tweet], erasures: dict[int, int]
    ) -> set[int]:
        """The reposts among ``reposts`` (candidates whose original is not one) that an earlier
        candidate repost of the same original hides: one by the viewer or by someone the viewer
        follows, not hidden from them, not erased."""
        user_id = viewer.user_id
        followed = [] if user_id in erasures else all_following(self.b.graph, user_id)
        authors = [user_id, *(a for a in followed if a not in erasures)]
        found = self.b.truth.store.reposts_by([x.original.id for x in reposts], authors)
        hidden = self.hidden(user_id, {a for _, a, _ in found}, erasures)
        first: dict[int, int] = {}
        for repost_id, author, original in found:
            if author not in hidden and not (author in erasures and repost_id < erasures[author]):
                first[original] = min(repost_id, first.get(original, repost_id))
        return {x.id for x in reposts if first.get(x.original.id, x.id) < x.id}

    def home_items(
        self,
        user_id: int,
        items: Sequence[Tweet],
        erasures: dict[int, int],
        words: Sequence[MutedWord],
    ) -> list[Tweet]:
        """The candidates of ``home(user_id)`` among ``items``, one item per original (the
        earliest appearance: the original itself when it is a candidate)."""
        if user_id in erasures:  # the user follows no one any more
            items = [x for x in items if x.author_id == user_id]
        viewer = self.viewer(user_id, items, erasures, words, ask_follows=True)
        shown = [x for x in items if viewer.candidate(x)]
        reposts = [x for x in shown if x.repost_of is not None]
        if not reposts:
            return shown
        behind = {x.id for x in reposts if viewer.candidate(x.original)}
        rest = [x for x in reposts if x.id not in behind]
        later = behind | (self._earlier(viewer, rest, erasures) if rest else set())
        return [x for x in shown if x.id not in later]

    def viewer_items(
        self,
        kind: PageKind,
        viewer_id: int,
        items: Sequence[Tweet],
        erasures: dict[int, int],
        words: Sequence[MutedWord],
    ) -> list[Tweet]:
        """Rules 4 and 5 for ``viewer_id``; on a timeline also one item per original (an
        author's repost of their own tweet gives way to the tweet)."""
        viewer = self.viewer(viewer_id, items, erasures, words, ask_follows=False)
        return [
            x
            for x in items
            if viewer.allows(x)
            and not (kind == "timeline" and x.repost_of and x.original.author_id == x.author_id)
        ]

    # refill
    def page(
        self,
        fetch: Callable[[int | None, int], list[int]],
        limit: int,
        cursor: str | None,
        *,
        kind: PageKind,
        viewer_id: int | None = None,
    ) -> FeedPage:
        """A full page of items from ``fetch(position, n)`` (ids past ``position``, in page
        order), hydrated and, with a viewer, filtered for ``kind``. A ``prev_cursor`` gives the
        ``limit`` items immediately before its position in page order (newer, on a feed)."""
        along = READ_ALONG.set(ReadAlong())  # what this page's refills need not ask again
        try:
            return self._page(fetch, limit, cursor, kind, viewer_id)
        finally:
            READ_ALONG.reset(along)

    def _page(
        self,
        fetch: Callable[[int | None, int], list[int]],
        limit: int,
        cursor: str | None,
        kind: PageKind,
        viewer_id: int | None,
    ) -> FeedPage:
        limit = check_limit(limit)
        cursor_kind = "replies" if kind == "replies" else "tweets"
        position, towards_start = decode_page_cursor(cursor_kind, cursor)
        erasures = self.erasures()
        words = self.words(viewer_id, erasures) if viewer_id is not None else []

        def keep(ids: list[int]) -> list[Tweet]:
            tweets = self.hydrate(ids, erasures)
            items = [tweets[i] for i in ids if i in tweets]
            if viewer_id is not None and kind == "home":
                return self.home_items(viewer_id, items, erasures, words)
            if viewer_id is not None:
                return self.viewer_items(kind, viewer_id, items, erasures, words)
            return items

        if towards_start and position is not None:
            at = position
            ahead = (lambda i: i < at) if kind == "replies" else (lambda i: i > at)
            out = _fill_towards_start(fetch, ahead, limit, keep)
            _, more = _fill(fetch, out[-1].id if out else at, 0, keep)
        else:
            out, more = _fill(fetch, position, limit, keep)
        if out:
            first, last = out[0].id, out[-1].id
        elif position is None:  # an empty first page starts at the present
            first = last = 0 if kind == "replies" else id_floor_for(self.b.now() - _CLOCK_SLACK)
        else:
            first = last = position
        return FeedPage(
            tuple(out),
            encode_cursor(cursor_kind, last) if more else None,
            encode_cursor(cursor_kind, first, towards_start=True),
        )

    def users(
        self,
        fetch: Callable[[int, int | None, int], list[int]],
        user_id: int,
        limit: int,
        cursor: str | None,
    ) -> UserPage:
        """A full page of the user ids ``fetch(user_id, after, n)`` lists (ascending), leaving
        out users being erased (their edges and relations are on their way out); empty while
        ``user_id`` itself is."""
        limit = check_limit(limit, _MAX_USER_PAGE)
        erasures = self.erasures()
        out, more = _fill(
            lambda after, n: [] if user_id in erasures else fetch(user_id, after, n),
            decode_cursor("users", cursor),
            limit,
            lambda ids: [i for i in ids if i not in erasures],
        )
        return UserPage(tuple(out), encode_cursor("users", out[-1]) if more else None)


def _hot_tweets(cache: CompleteCache, ids: Sequence[int]) -> dict[int, Tweet | None]:
    """``cache.get_hot_tweets(ids)``, asking only for what the cache did not read along."""
    scope = READ_ALONG.get()
    along = scope.hot if scope is not None else None
    if not along:
        return cache.get_hot_tweets(ids)
    found = {i: along[i] for i in ids if i in along}
    rest = [i for i in ids if i not in along]
    if rest:
        found.update(cache.get_hot_tweets(rest))
    return found


def _counted(user_id: int, others: set[int], erasures: dict[int, int]) -> set[int]:
    """The users among ``others`` whose relations and edges with ``user_id`` count: not the
    user, none being erased, and none at all while the user is."""
    if user_id in erasures:
        return set()
    return {o for o in others if o != user_id and o not in erasures}


def _involved(items: Sequence[Tweet]) -> set[int]:
    """Everyone :func:`~socialfeed.visibility.involved` in any of ``items``."""
    users = {x.author_id for x in items}
    for x in items:
        original = x.repost_of or x
        users.add(original.author_id)
        if original.reply_to_author_id is not None:
            users.add(original.reply_to_author_id)
    return users


def _fill_towards_start(
    fetch: Callable[[int | None, int], list[int]],
    ahead: Callable[[int], bool],
    limit: int,
    keep: Callable[[list[int]], Sequence[_T]],
) -> list[_T]:
    """The ``limit`` kept items nearest before a position (``ahead(id)``: the id comes before
    it in page order), in page order: the ids before the position are walked from the start
    (ids only), then kept in batches from the position outwards until the page is full."""
    ids: list[int] = []
    after, n = None, limit + 1
    while True:
        batch = fetch(after, n)
        ids.extend(i for i in batch if ahead(i))
        if len(batch) < n or not ahead(batch[-1]):
            break
        after, n = batch[-1], min(2 * n, _MAX_BATCH)
    out: list[_T] = []
    end, n = len(ids), limit + 1
    while end > 0 and len(out) < limit:
        start = max(0, end - n)
        out[:0] = keep(ids[start:end])
        end, n = start, min(2 * n, _MAX_BATCH)
    return out[len(out) - limit :] if len(out) > limit else out


def _fill(
    fetch: Callable[[int | None, int], list[int]],
    position: int | None,
    limit: int,
    keep: Callable[[list[int]], Sequence[_T]],
) -> tuple[list[_T], bool]:
    """Refill: what ``keep`` keeps of batches of ids from ``fetch(position, n)`` (one id more
    than the page needs, then twice as many each time, up to :data:`_MAX_BATCH`) until the page
    is full or the source ends; the page, and whether another item exists."""
    out: list[_T] = []
    n = limit + 1
    while len(out) <= limit:
        ids = fetch(position, n)
        if not ids:
            break
        position = ids[-1]
        out.extend(keep(ids))
        if len(ids) < n:
            break
        n = min(max(2 * n, limit + 1 - len(out)), _MAX_BATCH)
    return out[:limit], len(out) > limit
