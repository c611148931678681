"""The store's outbox in SQL (:class:`~socialfeed.interfaces.Outbox`): the events recorded with
the writes, claimed by relays with ``SELECT ... FOR UPDATE SKIP LOCKED`` (so relays in several
processes never take the same event at once), forgotten once their job was applied."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from socialfeed.backends.sql._db import Database, Tx, chunks
from socialfeed.backends.sql.statements import Statements
from socialfeed.interfaces import Event, EventKind

__all__ = ["KINDS", "OutboxMixin", "record_event"]

KINDS: dict[EventKind, int] = {"tweet": 1, "delete": 2, "follow": 3, "unfollow": 4, "erase": 5}
_NAMES: dict[int, EventKind] = {code: kind for kind, code in KINDS.items()}
_CHUNK = 1000


def record_event(tx: Tx, st: Statements, event: Event) -> None:
    """Insert ``event`` in the transaction of its write."""
    row = {
        "id": event.id,
        "kind": KINDS[event.kind],
        "actor": event.actor,
        "target": event.target,
        "count": event.count,
        "claimed_until": 0,
    }
    tx.execute(st.insert_event, row)


def _event(row: Any) -> Event:
    return Event(row.id, _NAMES[row.kind], row.actor, row.target, row.count)


def _now_ms() -> int:
    return int(time.time() * 1000)


class OutboxMixin:
    """The Outbox methods of a store on one database (``db``, ``statements``)."""

    db: Database
    statements: Statements

    def claim_events(self, before: int, limit: int, claim_for: float) -> list[Event]:
        """Events below ``before`` whose claim ran out, oldest first, claimed anew (primary)."""
        st, now = self.statements, _now_ms()

        def fn(tx: Tx) -> list[Event]:
            rows = tx.execute(st.claimable, {"before": before, "now": now, "n": limit}).all()
            if rows:
                until = now + int(claim_for * 1000)
                tx.execute(st.claim, {"ids": [r.id for r in rows], "until": until})
            return [_event(r) for r in rows]

        return self.db.write(fn)

    def pending_events(self, limit: int) -> list[Event]:
        """Every event, claimed or not, oldest first (read on the primary)."""
        st = self.statements
        rows = self.db.read(lambda tx: tx.execute(st.pending, {"n": limit}).all(), primary=True)
        return [_event(r) for r in rows]

    def events_published(self, event_ids: Sequence[int]) -> None:
        """Nothing to do: events are kept until their job was applied."""

    def events_done(self, event_ids: Sequence[int]) -> None:
        """Forget these events (on the primary)."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return
        st = self.statements

        def fn(tx: Tx) -> None:
            for chunk in chunks(ids, _CHUNK):
                tx.execute(st.done, {"ids": list(chunk)})

        self.db.write(fn)
