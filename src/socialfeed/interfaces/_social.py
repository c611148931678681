"""The social ability of a store: blocks, mutes, muted words, the repost and reply indexes, and
erasure records (API.md section 3). Policy (who may do what, what a viewer sees) lives in
:mod:`socialfeed.visibility` and the facade; a store only keeps these rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

import attrs

from socialfeed.ids import id_time
from socialfeed.models import Tweet

__all__ = ["Relation", "RelationKind", "SocialStore", "as_stored", "reference"]

RelationKind = Literal["block", "mute"]
"""What a user does to another: block (both ways, follows removed) or mute (one way)."""

Relation = Literal["block", "blocked_by", "mute"]
"""How another user relates to a viewer: the viewer blocks them, they block the viewer, or the
viewer mutes them."""


def reference(tweet_id: int) -> Tweet:
    """How a store hands back a repost's original: a stub with only the id (author ``0``, no
    text); the facade hydrates it."""
    return Tweet(tweet_id, 0, "", id_time(tweet_id))


def as_stored(tweet: Tweet) -> Tweet:
    """``tweet`` as stores and caches keep it: a repost refers to its original by id."""
    if tweet.repost_of is None or tweet.repost_of.author_id == 0:
        return tweet
    return attrs.evolve(tweet, repost_of=reference(tweet.repost_of.id))


@runtime_checkable
class SocialStore(Protocol):
    """Optional ability of a store (with its graph): the rows of the social semantics.

    Tweets keep ``reply_to``, ``reply_to_author_id`` and the id of ``repost_of`` (given back as
    :func:`reference`). Without this ability the facade keeps these rows in process memory (see
    :mod:`socialfeed.abilities`): fine for one process, not for a deployment.
    """

    def set_relation(self, kind: RelationKind, user_id: int, target_id: int, on: bool) -> bool:
        """Add (``on``) or remove the relation ``user_id`` -> ``target_id``; whether it changed."""

    def relations(
        self, kind: RelationKind, user_id: int, after: int | None, limit: int
    ) -> list[int]:
        """The users ``user_id`` blocks (or mutes) above ``after``, ascending, at most ``limit``."""

    def relations_among(self, user_id: int, others: Sequence[int]) -> set[tuple[Relation, int]]:
        """How each of ``others`` relates to ``user_id``: ``("block", o)`` if the user blocks
        ``o``, ``("blocked_by", o)`` if ``o`` blocks the user, ``("mute", o)`` if the user mutes
        ``o``."""

    def put_muted_word(
        self, user_id: int, phrase: str, whole_word: bool, expires_at_ms: int | None
    ) -> None:
        """Mute ``phrase`` (normalised by the caller) for the user, replacing a muted phrase
        equal to it; ``expires_at_ms``: milliseconds since the Unix epoch, or ``None``."""

    def delete_muted_word(self, user_id: int, phrase: str) -> None:
        """Unmute ``phrase``; idempotent."""

    def muted_word_rows(self, user_id: int) -> list[tuple[str, bool, int | None]]:
        """Every muted phrase of the user (expired ones too), as ``(phrase, whole_word,
        expires_at_ms)``, by phrase."""

    def reposts_by(
        self, original_ids: Sequence[int], author_ids: Sequence[int]
    ) -> list[tuple[int, int, int]]:
        """The live reposts of ``original_ids`` by ``author_ids``, as ``(repost id, author,
        original id)`` (a user has at most one live repost of an original)."""

    def reply_ids(self, tweet_id: int, after: int | None, limit: int) -> list[int]:
        """Ids of the live direct replies to ``tweet_id`` above ``after``, oldest first."""

    def begin_erasure(self, user_id: int, watermark: int, event: int) -> None:
        """Record that the user's rows below ``watermark`` (a tweet id) are being erased (an
        erasure already under way keeps the higher watermark), with the ``erase`` event
        ``event`` in the outbox, in one transaction."""

    def erasures(self) -> dict[int, int]:
        """The erasures under way: user id -> watermark."""

    def drop_edges(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """While the user's erasure is under way (checked atomically with the change), remove
        up to ``limit`` follow edges with the user on either side; return them as ``(follower,
        followee, followee's follower count after)``; ``[]`` when none is left or no erasure is
        under way."""

    def drop_relations(self, user_id: int, limit: int) -> int:
        """While the user's erasure is under way, remove up to ``limit`` of the blocks and mutes
        with the user on either side and of the user's muted words; return how many."""

    def drop_tweets(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """While the user's erasure is under way, remove the rows of these tweets of theirs
        (below the watermark), their media references and idempotency keys."""

    def end_erasure(self, user_id: int, watermark: int) -> None:
        """If the user's erasure under way has this ``watermark``, remove their tombstones below
        it, then the erasure record; else do nothing (a stale job must not end a later
        erasure)."""
