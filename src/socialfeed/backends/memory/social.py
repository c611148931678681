"""MemorySocial: the rows of :class:`~socialfeed.interfaces.SocialStore` in process memory.

The memory store keeps its social rows here, and so does the facade for a store without the
ability (:mod:`socialfeed.abilities`). The follow edges and tweets an erasure removes belong to
the store, so :meth:`MemorySocial.drop_edges` and :meth:`MemorySocial.drop_tweets` are left to
it; everything else is here.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sortedcontainers import SortedList, SortedSet

from socialfeed.interfaces import Event, Relation, RelationKind
from socialfeed.models import Tweet

__all__ = ["MemorySocial"]


class MemorySocial:
    """Blocks, mutes, muted words, the repost and reply indexes and erasure records.

    ``record`` keeps an outbox event (the ``erase`` event of :meth:`begin_erasure`). The owner
    calls :meth:`index` for every stored tweet and :meth:`unindex` for every deleted one.
    """

    def __init__(self, record: Callable[[Event], None]) -> None:
        self._record = record
        self._social_lock = threading.RLock()
        self._out: dict[RelationKind, defaultdict[int, Any]] = {
            "block": defaultdict(SortedSet),
            "mute": defaultdict(SortedSet),
        }
        self._in: dict[RelationKind, defaultdict[int, set[int]]] = {
            "block": defaultdict(set),
            "mute": defaultdict(set),
        }
        self._words: defaultdict[int, dict[str, tuple[bool, int | None]]] = defaultdict(dict)
        self._reposts: defaultdict[int, dict[int, int]] = defaultdict(dict)  # orig -> author -> id
        self._replies: defaultdict[int, Any] = defaultdict(SortedList)
        self._erasures: dict[int, int] = {}

    # the indexes
    def index(self, tweet: Tweet) -> None:
        """Index a stored tweet (a repost, a reply)."""
        with self._social_lock:
            if tweet.repost_of is not None:
                self._reposts[tweet.repost_of.id][tweet.author_id] = tweet.id
            if tweet.reply_to is not None:
                self._replies[tweet.reply_to].add(tweet.id)

    def unindex(self, tweet: Tweet) -> None:
        """Forget a deleted tweet."""
        with self._social_lock:
            if tweet.repost_of is not None:
                by_author = self._reposts.get(tweet.repost_of.id, {})
                if by_author.get(tweet.author_id) == tweet.id:
                    del by_author[tweet.author_id]
            if tweet.reply_to is not None and tweet.reply_to in self._replies:
                self._replies[tweet.reply_to].discard(tweet.id)

    # relations
    def set_relation(self, kind: RelationKind, user_id: int, target_id: int, on: bool) -> bool:
        """Add or remove a block or mute; whether it changed."""
        with self._social_lock:
            targets = self._out[kind][user_id]
            if (target_id in targets) == on:
                return False
            if on:
                targets.add(target_id)
                self._in[kind][target_id].add(user_id)
            else:
                targets.remove(target_id)
                self._in[kind][target_id].discard(user_id)
            return True

    def relations(
        self, kind: RelationKind, user_id: int, after: int | None, limit: int
    ) -> list[int]:
        """The users ``user_id`` blocks or mutes above ``after``, ascending."""
        with self._social_lock:
            targets = self._out[kind].get(user_id)
            if not targets:
                return []
            start = 0 if after is None else targets.bisect_right(after)
            return list(targets.islice(start, start + limit))

    def relations_among(self, user_id: int, others: Sequence[int]) -> set[tuple[Relation, int]]:
        """How each of ``others`` relates to ``user_id``."""
        with self._social_lock:
            blocks = self._out["block"].get(user_id, ())
            mutes = self._out["mute"].get(user_id, ())
            blocked_by = self._in["block"].get(user_id, ())
            found: set[tuple[Relation, int]] = set()
            for o in others:
                if o in blocks:
                    found.add(("block", o))
                if o in blocked_by:
                    found.add(("blocked_by", o))
                if o in mutes:
                    found.add(("mute", o))
            return found

    # muted words
    def put_muted_word(
        self, user_id: int, phrase: str, whole_word: bool, expires_at_ms: int | None
    ) -> None:
        """Mute (or re-mute) a phrase."""
        with self._social_lock:
            self._words[user_id][phrase] = (whole_word, expires_at_ms)

    def delete_muted_word(self, user_id: int, phrase: str) -> None:
        """Unmute a phrase."""
        with self._social_lock:
            self._words.get(user_id, {}).pop(phrase, None)

    def muted_word_rows(self, user_id: int) -> list[tuple[str, bool, int | None]]:
        """Every muted phrase of the user, by phrase."""
        with self._social_lock:
            words = self._words.get(user_id, {})
            return [(p, *words[p]) for p in sorted(words)]

    # reposts and replies
    def reposts_by(
        self, original_ids: Sequence[int], author_ids: Sequence[int]
    ) -> list[tuple[int, int, int]]:
        """Live reposts of ``original_ids`` by ``author_ids``."""
        with self._social_lock:
            out: list[tuple[int, int, int]] = []
            for o in dict.fromkeys(original_ids):
                by_author = self._reposts.get(o)
                if not by_author:
                    continue
                if len(by_author) < len(author_ids):
                    wanted = set(author_ids)
                    out.extend((r, a, o) for a, r in by_author.items() if a in wanted)
                else:
                    out.extend((r, a, o) for a in author_ids if (r := by_author.get(a)))
            return out

    def reply_ids(self, tweet_id: int, after: int | None, limit: int) -> list[int]:
        """Live direct replies above ``after``, oldest first."""
        with self._social_lock:
            ids = self._replies.get(tweet_id)
            if not ids:
                return []
            start = 0 if after is None else ids.bisect_right(after)
            return list(ids.islice(start, start + limit))

    # erasure
    def begin_erasure(self, user_id: int, watermark: int, event: int) -> None:
        """Record the erasure (keeping the higher watermark) and its event."""
        with self._social_lock:
            self._erasures[user_id] = max(watermark, self._erasures.get(user_id, 0))
            if event:
                self._record(Event(event, "erase", user_id, watermark))

    def erasures(self) -> dict[int, int]:
        """The erasures under way."""
        with self._social_lock:
            return dict(self._erasures)

    def drop_relations(self, user_id: int, limit: int) -> int:
        """Remove up to ``limit`` blocks, mutes (both ways) and muted words of an erased user."""
        with self._social_lock:
            if user_id not in self._erasures:
                return 0
            dropped = 0
            for kind in ("block", "mute"):
                for target in list(self._out[kind].get(user_id, ()))[: limit - dropped]:
                    dropped += self.set_relation(kind, user_id, target, False)
                for source in list(self._in[kind].get(user_id, ()))[: limit - dropped]:
                    dropped += self.set_relation(kind, source, user_id, False)
            words = self._words.get(user_id)
            if words and dropped < limit:
                dropped += len(words)
                del self._words[user_id]
            for index in (self._out["block"], self._out["mute"], self._in["block"]):
                if not index.get(user_id, True):
                    del index[user_id]
            return dropped

    def end_social_erasure(self, user_id: int, watermark: int) -> bool:
        """Remove the erasure record if it has ``watermark``; whether it did."""
        with self._social_lock:
            if self._erasures.get(user_id) != watermark:
                return False
            del self._erasures[user_id]
            return True
