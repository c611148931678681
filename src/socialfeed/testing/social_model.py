"""A pure-Python reference model of the social semantics of ``home(u)`` (API.md sections 2-3,
the parts tagged [0.2-S]): reposts, replies, blocks, mutes, muted words and ``delete_user``.

The model does no I/O and knows nothing of backends. It mirrors every social call of the facade:
each mutating method first checks its input and raises exactly the error the library must raise
(:class:`~socialfeed.errors.ValidationError`, :class:`~socialfeed.errors.NotFound` or
:class:`~socialfeed.errors.PermissionDenied`) *before* it changes anything, so a caller can ask
the model first and then assert that the library raised the same. Tweet ids come from the
library: :meth:`SocialModel.check_post` and :meth:`SocialModel.check_repost` predict the outcome
of a post or a repost, and :meth:`SocialModel.post` / :meth:`SocialModel.repost` record it under
the id the library returned.

The read side computes what the library must show: :meth:`SocialModel.home` (rules 1-5 and one
item per original), :meth:`SocialModel.replies`, :meth:`SocialModel.user_timeline`, and
:meth:`SocialModel.passes_read_rules` (rules 2, 4 and 5 alone: what must be hidden at once).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import attrs

from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.models import MutedWord

__all__ = [
    "MAX_ID",
    "Item",
    "RepostPlan",
    "SocialModel",
    "check_model_id",
    "normalise",
    "phrase_matches",
]

MAX_ID = 2**63 - 1
"""The largest user or tweet id."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def normalise(text: str) -> str:
    """``text`` as muted words compare it: Unicode NFKC, then casefolded."""
    return unicodedata.normalize("NFKC", text).casefold()


def phrase_matches(phrase: str, whole_word: bool, text: str) -> bool:
    """Whether the (already normalised) ``phrase`` matches ``text`` (rule 5): it occurs in the
    normalised text; with ``whole_word`` only where no word character touches either end."""
    haystack = normalise(text)
    if not whole_word:
        return phrase in haystack
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", haystack) is not None


def check_model_id(field: str, value: Any) -> int:
    """An id as the library accepts it: an ``int`` (not a bool) in ``1 .. 2**63-1``; else a
    :class:`ValidationError` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValidationError(field, f"must be an integer in 1..{MAX_ID}, got {value!r}")
    return int(value)


@attrs.define
class Item:
    """One item the library created: a tweet (``repost_of is None``) or a repost (``repost_of``
    is its original's id, ``text`` is ``""``). ``dead`` once deleted or its author erased."""

    id: int
    author: int
    text: str
    reply_to: int | None = None
    reply_to_author: int | None = None
    repost_of: int | None = None
    dead: bool = False


@attrs.frozen
class RepostPlan:
    """What a repost that the model allows does: repost ``original``; ``existing`` is the user's
    live repost of it, which the library must return instead of making a new one."""

    original: int
    existing: int | None


@attrs.define
class SocialModel:
    """The reference model: who follows, blocks and mutes whom, the muted words, and every item
    the library created (dead ones kept, marked). ``clock`` tells muted words' expiry."""

    max_muted_words: int = 200
    max_muted_phrase_length: int = 100
    clock: Callable[[], datetime] = _utc_now
    items: dict[int, Item] = attrs.field(factory=dict)
    follows: set[tuple[int, int]] = attrs.field(factory=set)  # (follower, followee)
    blocked: set[tuple[int, int]] = attrs.field(factory=set)  # (blocker, target)
    muted: set[tuple[int, int]] = attrs.field(factory=set)  # (muter, target)
    words: dict[int, dict[str, MutedWord]] = attrs.field(factory=dict)  # user -> phrase -> word

    # ---------------------------------------------------------------- items
    def is_live(self, item_id: int) -> bool:
        """Rule 2: the item exists, is not deleted or erased, and neither is its original (what
        ``get_tweet`` finds)."""
        item = self.items.get(item_id)
        if item is None or item.dead:
            return False
        if item.repost_of is None:
            return True
        return not self.items[item.repost_of].dead

    def original(self, item_id: int) -> int:
        """``orig(x)``: a repost's original, else the item itself."""
        item = self.items[item_id]
        return item.id if item.repost_of is None else item.repost_of

    def get_tweet(self, tweet_id: int) -> Item:
        """The live item ``tweet_id``; :class:`NotFound` if it is absent or dead."""
        tweet_id = check_model_id("tweet_id", tweet_id)
        if not self.is_live(tweet_id):
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        return self.items[tweet_id]

    def live_items(self) -> list[int]:
        """Every live item's id, ascending."""
        return sorted(i for i in self.items if self.is_live(i))

    # ---------------------------------------------------------------- relations
    def is_blocked_between(self, a: int, b: int) -> bool:
        """Whether ``a`` blocks ``b`` or ``b`` blocks ``a``."""
        return (a, b) in self.blocked or (b, a) in self.blocked

    def following(self, user_id: int) -> list[int]:
        """The users ``user_id`` follows, ascending."""
        return sorted(b for a, b in self.follows if a == user_id)

    def followers(self, user_id: int) -> list[int]:
        """The users who follow ``user_id``, ascending."""
        return sorted(a for a, b in self.follows if b == user_id)

    def blocks(self, user_id: int) -> list[int]:
        """The users ``user_id`` blocks, ascending."""
        user_id = check_model_id("user_id", user_id)
        return sorted(b for a, b in self.blocked if a == user_id)

    def mutes(self, user_id: int) -> list[int]:
        """The users ``user_id`` mutes, ascending."""
        user_id = check_model_id("user_id", user_id)
        return sorted(b for a, b in self.muted if a == user_id)

    def hidden(self, user_id: int) -> set[int]:
        """``hidden(u)``: the users ``u`` blocks, the users who block ``u``, the users ``u``
        mutes."""
        out = {b for a, b in self.blocked if a == user_id}
        out |= {a for a, b in self.blocked if b == user_id}
        out |= {b for a, b in self.muted if a == user_id}
        return out

    def involved(self, item_id: int) -> set[int]:
        """``involved(x)``: ``author(x)``, ``author(orig(x))`` and, when ``orig(x)`` is a reply,
        its ``reply_to_author_id``."""
        item = self.items[item_id]
        orig = self.items[self.original(item_id)]
        out = {item.author, orig.author}
        if orig.reply_to_author is not None:
            out.add(orig.reply_to_author)
        return out

    # ---------------------------------------------------------------- writes
    def follow(self, follower_id: int, followee_id: int) -> None:
        """Follow: yourself is a :class:`ValidationError`, across a block (either direction)
        :class:`PermissionDenied`; else idempotent."""
        a = check_model_id("follower_id", follower_id)
        b = check_model_id("followee_id", followee_id)
        if a == b:
            raise ValidationError("followee_id", "a user cannot follow themselves")
        if self.is_blocked_between(a, b):
            raise PermissionDenied(f"user {a} and user {b} are in a block relation")
        self.follows.add((a, b))

    def unfollow(self, follower_id: int, followee_id: int) -> None:
        """Unfollow: idempotent, never fails (ids aside)."""
        a = check_model_id("follower_id", follower_id)
        b = check_model_id("followee_id", followee_id)
        self.follows.discard((a, b))

    def check_post(
        self, user_id: int, text: str, reply_to: int | None = None
    ) -> tuple[int | None, int | None]:
        """Predict ``create_tweet(user_id, text, reply_to=reply_to)``: raise the error it must
        raise, else return the ``(reply_to, reply_to_author_id)`` the new tweet must carry (a
        reply to a repost answers the repost's original). Changes nothing."""
        user_id = check_model_id("user_id", user_id)
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("text", "must be a non-blank str")
        if reply_to is None:
            return None, None
        reply_to = check_model_id("reply_to", reply_to)
        if not self.is_live(reply_to):
            raise NotFound(f"tweet {reply_to} does not exist or was deleted")
        parent = self.items[self.original(reply_to)]
        if self.is_blocked_between(user_id, parent.author):
            raise PermissionDenied(f"user {user_id} and user {parent.author} are in a block")
        return parent.id, parent.author

    def post(self, tweet_id: int, user_id: int, text: str, reply_to: int | None = None) -> Item:
        """Record the tweet the library created under ``tweet_id`` (after :meth:`check_post`
        raises what the library must raise)."""
        parent, parent_author = self.check_post(user_id, text, reply_to)
        item = Item(tweet_id, user_id, text, parent, parent_author)
        self.items[tweet_id] = item
        return item

    def check_repost(self, user_id: int, tweet_id: int) -> RepostPlan:
        """Predict ``repost(user_id, tweet_id)``: raise the error it must raise, else say which
        original it reposts and which live repost of it (if any) the library must return."""
        user_id = check_model_id("user_id", user_id)
        tweet_id = check_model_id("tweet_id", tweet_id)
        if not self.is_live(tweet_id):
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        orig = self.items[self.original(tweet_id)]
        if self.is_blocked_between(user_id, orig.author):
            raise PermissionDenied(f"user {user_id} and user {orig.author} are in a block")
        existing = next(
            (
                i.id
                for i in sorted(self.items.values(), key=lambda i: i.id)
                if i.repost_of == orig.id and i.author == user_id and not i.dead
            ),
            None,
        )
        return RepostPlan(orig.id, existing)

    def repost(self, repost_id: int, user_id: int, tweet_id: int) -> Item:
        """Record ``repost(user_id, tweet_id)``, which the library answered with ``repost_id``.
        When the user already has a live repost of the original, nothing new is made and that
        repost is returned (the caller checks that the library returned the same id)."""
        plan = self.check_repost(user_id, tweet_id)
        if plan.existing is not None:
            return self.items[plan.existing]
        item = Item(repost_id, user_id, "", repost_of=plan.original)
        self.items[repost_id] = item
        return item

    def delete_tweet(self, tweet_id: int, user_id: int) -> None:
        """Delete an item: absent or dead :class:`NotFound`, not the author (a repost's author is
        the reposter) :class:`PermissionDenied`. A dead original takes its reposts with it."""
        tweet_id = check_model_id("tweet_id", tweet_id)
        user_id = check_model_id("user_id", user_id)
        if not self.is_live(tweet_id):
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        item = self.items[tweet_id]
        if item.author != user_id:
            raise PermissionDenied(f"user {user_id} may not delete tweet {tweet_id}")
        item.dead = True

    def _check_pair(self, user_id: int, target_id: int, what: str) -> tuple[int, int]:
        u = check_model_id("user_id", user_id)
        t = check_model_id("target_id", target_id)
        if u == t:
            raise ValidationError("target_id", f"a user cannot {what} themselves")
        return u, t

    def block(self, user_id: int, target_id: int) -> None:
        """Block (idempotent; yourself is a :class:`ValidationError`); removes the follows in
        both directions."""
        u, t = self._check_pair(user_id, target_id, "block")
        self.blocked.add((u, t))
        self.follows.discard((u, t))
        self.follows.discard((t, u))

    def unblock(self, user_id: int, target_id: int) -> None:
        """Unblock (idempotent); restores no follow."""
        u, t = self._check_pair(user_id, target_id, "unblock")
        self.blocked.discard((u, t))

    def mute(self, user_id: int, target_id: int) -> None:
        """Mute (idempotent; yourself is a :class:`ValidationError`); follows are kept."""
        u, t = self._check_pair(user_id, target_id, "mute")
        self.muted.add((u, t))

    def unmute(self, user_id: int, target_id: int) -> None:
        """Unmute (idempotent)."""
        u, t = self._check_pair(user_id, target_id, "unmute")
        self.muted.discard((u, t))

    def normalise_phrase(self, phrase: Any) -> str:
        """A phrase as stored: NFKC, casefolded, stripped; blank or longer than
        ``max_muted_phrase_length`` (counted normalised) is a :class:`ValidationError`."""
        if not isinstance(phrase, str):
            raise ValidationError("phrase", f"must be a str, got {type(phrase).__name__}")
        norm = normalise(phrase).strip()
        if not norm:
            raise ValidationError("phrase", "must not be blank")
        if len(norm) > self.max_muted_phrase_length:
            raise ValidationError(
                "phrase", f"has {len(norm)} characters; the limit is {self.max_muted_phrase_length}"
            )
        return norm

    def mute_word(
        self,
        user_id: int,
        phrase: str,
        whole_word: bool = True,
        expires_at: datetime | None = None,
    ) -> None:
        """Mute a phrase; muting one already muted (same normalised form) replaces its
        ``whole_word`` and ``expires_at``. A new phrase beyond ``max_muted_words`` active ones,
        a bad phrase, or a naive ``expires_at`` is a :class:`ValidationError`."""
        u = check_model_id("user_id", user_id)
        norm = self.normalise_phrase(phrase)
        if expires_at is not None and (
            not isinstance(expires_at, datetime) or expires_at.utcoffset() is None
        ):
            raise ValidationError("expires_at", "must be None or a timezone-aware datetime")
        active = {w.phrase for w in self.muted_words(u)}
        if norm not in active and len(active) >= self.max_muted_words:
            raise ValidationError(
                "phrase", f"user {u} already has {self.max_muted_words} muted words; the limit"
            )
        self.words.setdefault(u, {})[norm] = MutedWord(norm, whole_word, expires_at)

    def unmute_word(self, user_id: int, phrase: str) -> None:
        """Remove a muted phrase (idempotent); the phrase is normalised as for mute_word."""
        u = check_model_id("user_id", user_id)
        norm = self.normalise_phrase(phrase)
        self.words.get(u, {}).pop(norm, None)

    def muted_words(self, user_id: int, now: datetime | None = None) -> tuple[MutedWord, ...]:
        """The active muted words (``expires_at`` ``None`` or later than ``now``), by phrase."""
        u = check_model_id("user_id", user_id)
        at = self.clock() if now is None else now
        return tuple(
            w
            for _, w in sorted(self.words.get(u, {}).items())
            if w.expires_at is None or w.expires_at > at
        )

    def delete_user(self, user_id: int) -> None:
        """Erase a user: what they posted or reposted so far is dead; their follows both ways,
        their blocks and mutes and muted words, and others' blocks and mutes of them, are gone.
        They are an ordinary fresh user afterwards."""
        u = check_model_id("user_id", user_id)
        for item in self.items.values():
            if item.author == u:
                item.dead = True
        self.follows = {(a, b) for a, b in self.follows if u not in (a, b)}
        self.blocked = {(a, b) for a, b in self.blocked if u not in (a, b)}
        self.muted = {(a, b) for a, b in self.muted if u not in (a, b)}
        self.words.pop(u, None)

    # ---------------------------------------------------------------- reads
    def muted_by_words(self, viewer: int, item_id: int, now: datetime | None = None) -> bool:
        """Rule 5 fails: an active muted word of ``viewer`` matches ``orig(x).text`` and
        ``author(orig(x))`` is not the viewer."""
        orig = self.items[self.original(item_id)]
        if orig.author == viewer:
            return False
        return any(
            phrase_matches(w.phrase, w.whole_word, orig.text) for w in self.muted_words(viewer, now)
        )

    def passes_read_rules(self, viewer: int, item_id: int, now: datetime | None = None) -> bool:
        """Rules 2, 4 and 5 for ``viewer``: what every read must hide at once."""
        if not self.is_live(item_id):
            return False
        hidden = self.hidden(viewer)
        if any(p in hidden for p in self.involved(item_id) if p != viewer):
            return False
        return not self.muted_by_words(viewer, item_id, now)

    def is_candidate(self, user_id: int, item_id: int, now: datetime | None = None) -> bool:
        """Rules 1-5: ``item_id`` is a candidate for ``home(user_id)``."""
        item = self.items[item_id]
        v_u = {user_id, *self.following(user_id)}
        if item.author not in v_u:  # rule 1
            return False
        reply_to_author = item.reply_to_author if item.repost_of is None else None
        if reply_to_author is not None and reply_to_author not in v_u | {item.author}:
            return False  # rule 3: a reply shows to followers of both sides, and self-threads
        return self.passes_read_rules(user_id, item_id, now)

    def _one_per_original(self, ids: Iterable[int]) -> list[int]:
        """Of items sharing an original, the smallest id; newest first."""
        first: dict[int, int] = {}
        for i in sorted(ids):
            first.setdefault(self.original(i), i)
        return sorted(first.values(), reverse=True)

    def home(self, user_id: int, now: datetime | None = None) -> list[int]:
        """``home(user_id)`` as item ids, newest first: the candidates, one item per original."""
        u = check_model_id("user_id", user_id)
        return self._one_per_original(i for i in self.items if self.is_candidate(u, i, now))

    def replies(
        self, tweet_id: int, viewer: int | None = None, now: datetime | None = None
    ) -> list[int]:
        """``replies(tweet_id, viewer_id=viewer)``, oldest first: the live direct replies of the
        tweet (of the original, for a repost); with a viewer, rules 2, 4 and 5 for them.
        :class:`NotFound` if the tweet is absent or dead."""
        tweet_id = check_model_id("tweet_id", tweet_id)
        if viewer is not None:
            viewer = check_model_id("viewer_id", viewer)
        if not self.is_live(tweet_id):
            raise NotFound(f"tweet {tweet_id} does not exist or was deleted")
        parent = self.original(tweet_id)
        out = [
            i.id
            for i in self.items.values()
            if i.repost_of is None and i.reply_to == parent and self.is_live(i.id)
        ]
        if viewer is not None:
            out = [i for i in out if self.passes_read_rules(viewer, i, now)]
        return sorted(out)

    def user_timeline(
        self, author_id: int, viewer: int | None = None, now: datetime | None = None
    ) -> list[int]:
        """``user_timeline(author_id, viewer_id=viewer)``, newest first: the author's live items.
        With a viewer: :class:`PermissionDenied` across a block, else rules 2, 4 and 5 for the
        viewer and one item per original."""
        a = check_model_id("user_id", author_id)
        if viewer is not None:
            viewer = check_model_id("viewer_id", viewer)
        own = [i.id for i in self.items.values() if i.author == a and self.is_live(i.id)]
        if viewer is None:
            return sorted(own, reverse=True)
        if viewer != a and self.is_blocked_between(a, viewer):
            raise PermissionDenied(f"user {a} and user {viewer} are in a block relation")
        return self._one_per_original(i for i in own if self.passes_read_rules(viewer, i, now))
