"""The social calls of the facade ([0.2-S], API.md sections 2 and 3): reposts, replies, blocks,
mutes, muted words and erasure. :class:`SocialCalls` is a base of
:class:`~socialfeed.feed.SocialFeed`; what a viewer may see is decided in
:mod:`socialfeed.visibility` and read through :class:`~socialfeed.reading.Reader`.

Who may do what is checked here, once: a follow, a reply or a repost across a block (either
direction) is :class:`~socialfeed.errors.PermissionDenied`; blocking or muting yourself is a
:class:`~socialfeed.errors.ValidationError`. While a user is being erased, a follow, block, mute
or muted word that involves them first finishes the erasure in the calling thread, so that the
queued erasure can never remove what they did after ``delete_user`` returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from socialfeed.errors import NotFound, PermissionDenied, ValidationError
from socialfeed.ids import id_time
from socialfeed.interfaces import Event, reference
from socialfeed.models import FeedPage, MutedWord, Tweet, UserPage
from socialfeed.notices import send
from socialfeed.reading import active_words
from socialfeed.validation import check_id, check_key, check_phrase

if TYPE_CHECKING:
    from collections.abc import Callable

    from socialfeed.interfaces import Backends, EventKind, FeedCache
    from socialfeed.outbox import Relay
    from socialfeed.reading import Reader
    from socialfeed.settings import Settings

__all__ = ["SocialCalls", "check_pair"]


def check_pair(user_id: object, target_id: object, what: str) -> tuple[int, int]:
    """The ids of a block or mute; acting on yourself is a :class:`ValidationError`."""
    user, target = check_id("user_id", user_id), check_id("target_id", target_id)
    if user == target:
        raise ValidationError("target_id", f"a user cannot {what} themselves")
    return user, target


def _not_found(tweet_id: int) -> NotFound:
    return NotFound(f"tweet {tweet_id} does not exist or was deleted")


class SocialCalls:
    """Reposts, replies, blocks, mutes, muted words and erasure (a base of ``SocialFeed``)."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by SocialFeed
        settings: Settings
        cache: FeedCache
        now: Callable[[], datetime]
        _b: Backends
        _reader: Reader
        _relay: Relay

        def _event(self, kind: EventKind, actor: int, target: int) -> int: ...
        def _publish(
            self, event: int, kind: EventKind, actor: int, target: int, count: int | None
        ) -> None: ...
        def _post(self, build: Callable[[int], Tweet], key: str | None) -> Tweet: ...
        def _next_id(self) -> int: ...
        def unfollow(self, follower_id: int, followee_id: int) -> None:  # noqa: D102
            ...

    # permissions
    def _settle(self, *users: int) -> dict[int, int]:
        """Finish in this thread the erasures under way of ``users``; the erasures left."""
        erasures = self._reader.erasures()
        for user in users:
            if user in erasures:
                self._relay.finish_erasure(user, erasures.pop(user))
        return erasures

    def _deny_across_block(self, user_id: int, other: int, erasures: dict[int, int]) -> None:
        """:class:`PermissionDenied` if ``user_id`` blocks ``other`` or is blocked by them."""
        if user_id == other or user_id in erasures or other in erasures:
            return
        relations = self._b.truth.store.relations_among(user_id, [other])
        if ("block", other) in relations or ("blocked_by", other) in relations:
            raise PermissionDenied(f"user {user_id} and user {other} are in a block relation")

    def _parent(self, user_id: int, tweet_id: int, erasures: dict[int, int]) -> Tweet:
        """The original a reply to or a repost of ``tweet_id`` refers to (``NotFound`` if it is
        not live; ``PermissionDenied`` across a block with its author)."""
        target = self._reader.live(tweet_id, erasures)
        if target is None:
            raise _not_found(tweet_id)
        original = target.original
        self._deny_across_block(user_id, original.author_id, erasures)
        return original

    def _check_follow(self, follower_id: int, followee_id: int) -> None:
        """A follow across a block is :class:`PermissionDenied` (erasures settled first)."""
        erasures = self._settle(follower_id, followee_id)
        self._deny_across_block(follower_id, followee_id, erasures)

    def _reply_fields(self, user_id: int, reply_to: int | None) -> tuple[int | None, int | None]:
        """``(reply_to, reply_to_author_id)`` of a new tweet: a reply to a repost answers its
        original."""
        if reply_to is None:
            return None, None
        reply_to = check_id("reply_to", reply_to)
        parent = self._parent(user_id, reply_to, self._reader.erasures())
        return parent.id, parent.author_id

    # reposts
    def repost(self, user_id: int, tweet_id: int, *, idempotency_key: str | None = None) -> Tweet:
        """Repost a tweet: a ``Tweet`` by ``user_id`` whose ``repost_of`` is the original
        (hydrated). A repost of a repost reposts its original; reposting an original the user
        already reposts returns that live repost. ``NotFound`` if the tweet is not live,
        ``PermissionDenied`` across a block with the original's author."""
        user_id = check_id("user_id", user_id)
        tweet_id = check_id("tweet_id", tweet_id)
        if idempotency_key is not None:
            idempotency_key = check_key(idempotency_key)
        erasures = self._reader.erasures()
        original = self._parent(user_id, tweet_id, erasures)
        for repost_id, _, _ in self._b.truth.store.reposts_by([original.id], [user_id]):
            existing = self._reader.live(repost_id, erasures)
            if existing is not None:
                return existing
        stored = self._post(
            lambda i: Tweet(i, user_id, "", id_time(i), repost_of=reference(original.id)),
            idempotency_key,
        )
        return self._reader.live(stored.id) or stored

    # blocks and mutes
    def block(self, user_id: int, target_id: int) -> None:
        """Block a user (idempotent): nothing involving them shows to you, nor anything of yours
        to them; the follows in both directions are removed (unblocking restores none)."""
        user, target = check_pair(user_id, target_id, "block")
        self._settle(user, target)
        self._b.truth.store.set_relation("block", user, target, True)
        for follower, followee in ((user, target), (target, user)):
            self.unfollow(follower, followee)

    def unblock(self, user_id: int, target_id: int) -> None:
        """Lift a block (idempotent); no follow comes back."""
        user, target = check_pair(user_id, target_id, "unblock")
        self._b.truth.store.set_relation("block", user, target, False)
        send(self._b.cache.notify, [user])  # items come back: wake the user's subscribers

    def mute(self, user_id: int, target_id: int) -> None:
        """Mute a user (idempotent): nothing involving them shows to you; follows are kept."""
        user, target = check_pair(user_id, target_id, "mute")
        self._settle(user, target)
        self._b.truth.store.set_relation("mute", user, target, True)

    def unmute(self, user_id: int, target_id: int) -> None:
        """Unmute a user (idempotent); their items come back after ``drain()``."""
        user, target = check_pair(user_id, target_id, "unmute")
        self._b.truth.store.set_relation("mute", user, target, False)
        send(self._b.cache.notify, [user])

    def _relations_page(
        self, kind: Literal["block", "mute"], user_id: int, limit: int, cursor: str | None
    ) -> UserPage:
        store = self._b.truth.store
        return self._reader.users(
            lambda user, after, n: store.relations(kind, user, after, n),
            check_id("user_id", user_id),
            limit,
            cursor,
        )

    def blocks(self, user_id: int, limit: int = 100, cursor: str | None = None) -> UserPage:
        """A page of the users ``user_id`` blocks, by ascending user id."""
        return self._relations_page("block", user_id, limit, cursor)

    def mutes(self, user_id: int, limit: int = 100, cursor: str | None = None) -> UserPage:
        """A page of the users ``user_id`` mutes, by ascending user id."""
        return self._relations_page("mute", user_id, limit, cursor)

    # muted words
    def mute_word(
        self,
        user_id: int,
        phrase: str,
        *,
        whole_word: bool = True,
        expires_at: datetime | None = None,
    ) -> None:
        """Hide items whose original's text matches ``phrase`` from the user's feeds until
        ``expires_at`` (``None``: for good). Phrases compare after NFKC normalisation and
        casefolding; with ``whole_word`` only where no word character touches either end.
        Muting a phrase already muted replaces it; an expiry in the past is accepted and simply
        inactive. At most ``Settings.max_muted_words`` active phrases of at most
        ``Settings.max_muted_phrase_length`` characters."""
        user_id = check_id("user_id", user_id)
        norm = check_phrase(phrase, self.settings.max_muted_phrase_length)
        if not isinstance(whole_word, bool):
            raise ValidationError("whole_word", f"must be a bool, got {type(whole_word).__name__}")
        if expires_at is not None and (
            not isinstance(expires_at, datetime) or expires_at.utcoffset() is None
        ):
            raise ValidationError("expires_at", "must be None or a timezone-aware datetime")
        store = self._b.truth.store
        self._settle(user_id)
        rows = store.muted_word_rows(user_id)
        active = {w.phrase for w in active_words(rows, self.now())}
        limit = self.settings.max_muted_words
        if norm not in active and len(active) >= limit:
            raise ValidationError(
                "phrase",
                f"user {user_id} already has {len(active)} muted words; the limit is {limit}",
            )
        for expired in {p for p, _, _ in rows} - active - {norm}:
            store.delete_muted_word(user_id, expired)  # keeps the stored rows bounded
        expires_ms = None if expires_at is None else int(expires_at.timestamp() * 1000)
        store.put_muted_word(user_id, norm, whole_word, expires_ms)

    def unmute_word(self, user_id: int, phrase: str) -> None:
        """Unmute a phrase (normalised as for :meth:`mute_word`; idempotent); its items come
        back after ``drain()``."""
        user_id = check_id("user_id", user_id)
        norm = check_phrase(phrase, self.settings.max_muted_phrase_length)
        self._b.truth.store.delete_muted_word(user_id, norm)
        send(self._b.cache.notify, [user_id])

    def muted_words(self, user_id: int) -> tuple[MutedWord, ...]:
        """The user's active muted words, by phrase (normalised)."""
        user_id = check_id("user_id", user_id)
        return tuple(self._reader.words(user_id, self._reader.erasures()))

    # replies
    def replies(
        self,
        tweet_id: int,
        limit: int = 20,
        cursor: str | None = None,
        *,
        viewer_id: int | None = None,
    ) -> FeedPage:
        """A page of the live direct replies to a tweet (to its original, for a repost),
        **oldest first**; with ``viewer_id``, what that viewer may see (rules 2, 4 and 5).
        ``NotFound`` if the tweet is not live."""
        tweet_id = check_id("tweet_id", tweet_id)
        if viewer_id is not None:
            viewer_id = check_id("viewer_id", viewer_id)
        target = self._reader.live(tweet_id)
        if target is None:
            raise _not_found(tweet_id)
        parent, store = target.original.id, self._b.store
        return self._reader.page(
            lambda after, n: store.reply_ids(parent, after, n),
            limit,
            cursor,
            kind="replies",
            viewer_id=viewer_id,
        )

    # erasure
    def delete_user(self, user_id: int) -> None:
        """Erase a user. Once this returns nothing they posted or reposted shows anywhere, they
        follow and are followed by no one, and their blocks, mutes and muted words are gone, as
        are others' blocks and mutes of them: the call records an erasure watermark that every
        read checks (bounded work, whatever the account's size). The rows themselves are removed
        through the queue (``drain()`` waits for it). What the user does afterwards is
        unaffected."""
        user_id = check_id("user_id", user_id)
        watermark, event = self._next_id(), self._next_id()
        self._b.truth.store.begin_erasure(user_id, watermark, event)
        self._relay.publish_now(Event(event, "erase", user_id, watermark))
