"""The social rows of :class:`~socialfeed.backends.sql.sharded.ShardedSQLStore`
(:class:`~socialfeed.interfaces.SocialStore` over several databases).

* Placement. A tweet's ``reply_to``, ``reply_to_author_id`` and ``repost_of`` are columns of its
  row, on its author's shard. A user's muted words live on their shard. A block or mute is
  stored like a follow edge: the same row on the shard of the user who blocks (or mutes) and on
  the shard of the target, so every question about one user is answered by that user's shard
  alone: :meth:`~ShardedSocialMixin.relations` (``user_id`` on its shard),
  :meth:`~ShardedSocialMixin.relations_among` (the user's own blocks and mutes, and the blocks of
  the user, whose copies are on the user's shard: no scatter on the read path) and an erasure's
  removal of the rows on either side. The user's shard is the authority for "did it change".
  Erasures under way live on the first shard (``erasures()`` is read on every page: one query).
* Transactions. A change on several shards runs in nested transactions opened in ascending
  shard index (the first shard, holding the erasure rows, always first; the same global order as
  the cross-shard follow edge), and its statements run in that order too, so two such changes
  cannot deadlock across databases. Each erasure step locks the user's erasure row in the
  first shard's transaction, which commits last: ``end_erasure`` cannot interleave with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TypeVar

from socialfeed.backends.sql._db import Tx
from socialfeed.backends.sql.social import RELATION_CODES, SocialStatements, edge_results
from socialfeed.backends.sql.store import SQLStore
from socialfeed.interfaces import Relation, RelationKind

__all__ = ["ShardedSocialMixin"]

T = TypeVar("T")
V = TypeVar("V")
_ROUNDS = 10  # an erasure step retries this often when all it found was already gone


class ShardedSocialMixin:
    """The SocialStore methods of the sharded store (see the module docs)."""

    _shards: list[SQLStore]

    def shard_index(self, user_id: int) -> int:
        """The shard of ``user_id`` (the sharded store's placement)."""
        raise NotImplementedError  # pragma: no cover - ShardedSQLStore defines it

    def _scatter(self, items: Sequence[V], fn: Callable[[V], T]) -> list[T]:
        raise NotImplementedError  # pragma: no cover - ShardedSQLStore defines it

    def _ss(self, index: int) -> SocialStatements:
        return self._shards[index].social_statements

    def _nested(
        self, indices: Iterable[int], fn: Callable[[dict[int, Tx]], T], users: list[int]
    ) -> T:
        """``fn`` with a transaction on each shard of ``indices``, opened in ascending order
        (each inner one commits before the outer ones)."""
        order = sorted(set(indices))
        txs: dict[int, Tx] = {}

        def step(n: int) -> T:
            if n == len(order):
                return fn(txs)

            def inside(tx: Tx) -> T:
                txs[order[n]] = tx
                return step(n + 1)

            return self._shards[order[n]].db.write(inside, idempotent=False, users=users)

        return step(0)

    # relations and muted words: on the user's shard (a relation also on the target's)
    def set_relation(self, kind: RelationKind, user_id: int, target_id: int, on: bool) -> bool:
        """Add or remove the relation on both users' shards; whether it changed (on the
        user's shard)."""
        mine, theirs = self.shard_index(user_id), self.shard_index(target_id)
        if mine == theirs:
            return self._shards[mine].set_relation(kind, user_id, target_id, on)
        row = {"kind": RELATION_CODES[kind], "user_id": user_id, "target_id": target_id}

        def fn(txs: dict[int, Tx]) -> bool:
            changed = False
            for index in sorted(txs):
                ss = self._ss(index)
                n = txs[index].execute(ss.insert_relation if on else ss.delete_relation, row)
                changed = bool(n.rowcount) if index == mine else changed
            return changed

        return self._nested([mine, theirs], fn, [user_id, target_id])

    def relations(
        self, kind: RelationKind, user_id: int, after: int | None, limit: int
    ) -> list[int]:
        """The users ``user_id`` blocks (or mutes) above ``after``, ascending (their shard)."""
        return self._shards[self.shard_index(user_id)].relations(kind, user_id, after, limit)

    def relations_among(self, user_id: int, others: Sequence[int]) -> set[tuple[Relation, int]]:
        """How each of ``others`` relates to ``user_id``: one query on the user's shard."""
        return self._shards[self.shard_index(user_id)].relations_among(user_id, others)

    def put_muted_word(
        self, user_id: int, phrase: str, whole_word: bool, expires_at_ms: int | None
    ) -> None:
        """Mute ``phrase`` for the user (on their shard)."""
        sh = self._shards[self.shard_index(user_id)]
        sh.put_muted_word(user_id, phrase, whole_word, expires_at_ms)

    def delete_muted_word(self, user_id: int, phrase: str) -> None:
        """Unmute ``phrase`` (on the user's shard); idempotent."""
        self._shards[self.shard_index(user_id)].delete_muted_word(user_id, phrase)

    def muted_word_rows(self, user_id: int) -> list[tuple[str, bool, int | None]]:
        """Every muted phrase of the user, by phrase (on their shard)."""
        return self._shards[self.shard_index(user_id)].muted_word_rows(user_id)

    # reposts and replies: tweets live on their authors' shards
    def reposts_by(
        self, original_ids: Sequence[int], author_ids: Sequence[int]
    ) -> list[tuple[int, int, int]]:
        """The live reposts of ``original_ids`` by ``author_ids``: one query per shard of the
        authors, in parallel."""
        groups: dict[int, list[int]] = {}
        for a in dict.fromkeys(author_ids):
            groups.setdefault(self.shard_index(a), []).append(a)
        parts = self._scatter(
            list(groups.items()), lambda g: self._shards[g[0]].reposts_by(original_ids, g[1])
        )
        return [r for part in parts for r in part]

    def reply_ids(self, tweet_id: int, after: int | None, limit: int) -> list[int]:
        """Ids of the live direct replies, oldest first: every shard's first ``limit``, merged."""
        parts = self._scatter(self._shards, lambda sh: sh.reply_ids(tweet_id, after, limit))
        return sorted(i for part in parts for i in part)[:limit]

    # erasure: the record on the first shard
    def begin_erasure(self, user_id: int, watermark: int, event: int) -> None:
        """Record the erasure and its event on the first shard, in one transaction."""
        self._shards[0].begin_erasure(user_id, watermark, event)

    def erasures(self) -> dict[int, int]:
        """The erasures under way (one query, on the first shard's primary)."""
        return self._shards[0].erasures()

    def drop_edges(self, user_id: int, limit: int) -> list[tuple[int, int, int]]:
        """Remove up to ``limit`` of the user's edges, both rows of each (the user's shard and
        the other user's) and the counts on each side, in nested transactions holding the
        erasure row; as :meth:`SQLStore.drop_edges`."""
        home, place = self.shard_index(user_id), self.shard_index
        for _ in range(_ROUNDS):
            sh = self._shards[home].on_primary()
            fs = sh.followers(user_id, None, limit)
            es = sh.following(user_id, None, limit - len(fs)) if limit > len(fs) else []
            if not fs and not es:
                return []
            involved = [0, home, *map(place, fs), *map(place, es)]
            work = partial(self._edges_round, user_id, fs, es)
            found = self._nested(involved, work, [user_id, *fs, *es])
            if found is None:
                return []
            if found:
                return found
        return []  # pragma: no cover - only stale copies were found, round after round

    def _edges_round(
        self, user_id: int, fs: list[int], es: list[int], txs: dict[int, Tx]
    ) -> list[tuple[int, int, int]] | None:
        """One round of :meth:`drop_edges` in the transactions ``txs``; ``None`` when no
        erasure is under way."""
        if self._ss(0).erasure(txs[0], user_id) is None:
            return None
        home, place = self.shard_index(user_id), self.shard_index
        removed_f: list[int] = []
        removed_e: list[int] = []
        for i in sorted(txs):
            fsi = fs if i == home else [f for f in fs if place(f) == i]
            esi = es if i == home else [e for e in es if place(e) == i]
            if not fsi and not esi:
                continue

            def local(x: int, i: int = i) -> bool:
                return place(x) == i

            gone_f, gone_e = self._ss(i).remove_edges(txs[i], user_id, fsi, esi, local)
            removed_f += gone_f if i == home else []
            removed_e += [e for e in gone_e if place(e) == i]  # the followee's row: authority
        counts: dict[int, int] = {}
        for i, tx in txs.items():
            users = [user_id] if i == home else []
            users += [e for e in removed_e if place(e) == i]
            counts.update(self._ss(i).follower_counts(tx, users) if users else {})
        return edge_results(user_id, removed_f, sorted(removed_e), counts)

    def drop_relations(self, user_id: int, limit: int) -> int:
        """Remove up to ``limit`` of the user's blocks and mutes, either side, both copies of
        each, then (within ``limit``) the user's muted words; how many, counted on the user's
        shard."""
        home, place = self.shard_index(user_id), self.shard_index
        ss_home = self._ss(home)

        def candidates(tx: Tx) -> list[tuple[int, int, int]]:
            return ss_home.relation_rows(tx, user_id, limit)

        for _ in range(_ROUNDS):
            rows = self._shards[home].db.read(candidates, primary=True)
            involved = [0, home, *(place(r[1]) for r in rows), *(place(r[2]) for r in rows)]
            work = partial(self._relations_round, user_id, limit, rows)
            found = self._nested(involved, work, [user_id])
            if found is None:
                return 0
            if found or not rows:
                return found
        return 0  # pragma: no cover - only stale copies were found, round after round

    def _relations_round(
        self, user_id: int, limit: int, rows: list[tuple[int, int, int]], txs: dict[int, Tx]
    ) -> int | None:
        """One round of :meth:`drop_relations` in the transactions ``txs``; ``None`` when no
        erasure is under way."""
        if self._ss(0).erasure(txs[0], user_id) is None:
            return None
        home, place = self.shard_index(user_id), self.shard_index
        count = 0
        for i in sorted(txs):
            mine = [r for r in rows if i in (place(r[1]), place(r[2]))]
            ss = self._ss(i)
            if i != home:
                ss.delete_relations(txs[i], mine)
                continue
            for k, a, b in mine:  # one by one: each rowcount says whether it was still there
                params = {"kind": k, "user_id": a, "target_id": b}
                count += int(txs[i].execute(ss.delete_relation, params).rowcount)
            if len(rows) < limit:
                count += int(txs[i].execute(ss.drop_words, {"u": user_id}).rowcount)
        return count

    def drop_tweets(self, user_id: int, tweet_ids: Sequence[int]) -> None:
        """Hard-delete the user's tweets among ``tweet_ids`` below the watermark, on their
        shard, in a transaction nested in the one holding the erasure row."""
        if not tweet_ids:
            return
        home = self.shard_index(user_id)

        def fn(txs: dict[int, Tx]) -> None:
            w = self._ss(0).erasure(txs[0], user_id)
            if w is not None:
                self._ss(home).drop_tweet_rows(txs[home], user_id, tweet_ids, w)

        self._nested([0, home], fn, [user_id])

    def end_erasure(self, user_id: int, watermark: int) -> None:
        """If the erasure under way has ``watermark``: remove the user's tombstones below it (on
        their shard), then the erasure record (on the first)."""
        home = self.shard_index(user_id)

        def fn(txs: dict[int, Tx]) -> None:
            w = self._ss(0).erasure(txs[0], user_id)
            if w != watermark:
                return
            self._ss(home).finish(txs[home], user_id, w, erasure=home == 0, user=True)
            if home != 0:
                self._ss(0).finish(txs[0], user_id, w, erasure=True, user=False)

        self._nested([0, home], fn, [user_id])
