"""What a viewer may see: the filter rules of ``home(u)`` (API.md section 3), in one place.

The rules are pure functions of what the read pipeline fetched for one batch of items (see
:mod:`socialfeed.reading`): the viewer's muted words, how the users involved relate to the viewer,
whom the viewer follows among them, and the erasures under way. No I/O happens here.

* rule 1: the item's author is the viewer or someone the viewer follows;
* rule 2: the item and its original are live (hydration drops the others, see :func:`erased`);
* rule 3: a reply (not a repost) by ``v`` to ``w`` shows only when ``w`` is the viewer, ``v``,
  or followed by the viewer;
* rule 4: nobody involved (author, original author, the original's parent author) but the
  viewer blocks, is blocked by, or is muted by the viewer;
* rule 5: no active muted word of the viewer matches the original's text, unless the viewer
  wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

import attrs

from socialfeed.models import Tweet

__all__ = ["Phrases", "Viewer", "erased", "involved", "matcher", "normalize_phrase"]


def normalize_phrase(text: str) -> str:
    """``text`` as muted words compare it: Unicode NFKC, then casefolded."""
    return unicodedata.normalize("NFKC", text).casefold()


@attrs.frozen
class Phrases:
    """A viewer's muted phrases, normalised, as one matcher. ``anywhere``, one expression of
    every phrase as a plain literal, rules most texts out in one scan; only on a hit is each
    whole-word phrase checked with its own look-around expression (one alternation of those
    would pay a lookbehind at every position of every text)."""

    phrases: tuple[tuple[str, re.Pattern[str] | None], ...]
    anywhere: re.Pattern[str] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        literal = "|".join(re.escape(p) for p, _ in self.phrases)
        object.__setattr__(self, "anywhere", re.compile(literal))

    def search(self, text: str) -> bool:
        """Whether any phrase matches the (normalised) ``text``."""
        if self.anywhere.search(text) is None:
            return False
        return any(p in text and (w is None or w.search(text)) for p, w in self.phrases)


def matcher(phrases: Iterable[tuple[str, bool]]) -> Phrases | None:
    """The matcher of the normalised ``(phrase, whole_word)`` (``None`` for no phrase): a whole
    word must not touch a word character on either side."""
    found = tuple(
        (p, re.compile(rf"(?<!\w){re.escape(p)}(?!\w)") if whole else None)
        for p, whole in sorted(set(phrases))
    )
    return Phrases(found) if found else None


def erased(tweet: Tweet, erasures: dict[int, int]) -> bool:
    """Whether ``tweet`` was posted before its author's erasure began."""
    watermark = erasures.get(tweet.author_id)
    return watermark is not None and tweet.id < watermark


def involved(item: Tweet) -> set[int]:
    """The users an item involves: its author, its original's author, and the author the
    original replies to."""
    original = item.original
    users = {item.author_id, original.author_id}
    if original.reply_to_author_id is not None:
        users.add(original.reply_to_author_id)
    return users


@attrs.frozen
class Viewer:
    """What one viewer's filters need for one batch of items.

    ``hidden``: the involved users the viewer blocks, is blocked by or mutes; ``followed``: the
    users the viewer follows among those asked about (erasing users never count);
    ``words``: the matcher of the viewer's active muted words.
    """

    user_id: int
    hidden: AbstractSet[int] = frozenset()
    followed: AbstractSet[int] = frozenset()
    words: Phrases | None = None

    def follows(self, user_id: int) -> bool:
        """Whether ``user_id`` is in ``V(viewer)``: the viewer, or someone they follow."""
        return user_id == self.user_id or user_id in self.followed

    def muted(self, item: Tweet) -> bool:
        """Rule 5: a muted word matches the original's text (the viewer's own text never)."""
        original = item.repost_of or item
        if self.words is None or original.author_id == self.user_id:
            return False
        return self.words.search(normalize_phrase(original.text))

    def allows(self, item: Tweet) -> bool:
        """Rules 4 and 5 (what ``replies`` and ``user_timeline`` apply for a viewer; rule 2 is
        hydration's)."""
        hidden, me = self.hidden, self.user_id
        if hidden:
            original = item.repost_of or item
            for other in (item.author_id, original.author_id, original.reply_to_author_id):
                if other != me and other in hidden:
                    return False
        return self.words is None or not self.muted(item)

    def replies_shown(self, item: Tweet) -> bool:
        """Rule 3 (for a reply that is not a repost)."""
        target = item.reply_to_author_id
        if target is None or item.repost_of is not None:
            return True
        return target == item.author_id or self.follows(target)

    def candidate(self, item: Tweet) -> bool:
        """Rules 1, 3, 4 and 5: whether a live item is a candidate for the viewer's home feed."""
        author = item.author_id
        if author != self.user_id and author not in self.followed:
            return False
        return self.replies_shown(item) and self.allows(item)
