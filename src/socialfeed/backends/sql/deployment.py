"""What the processes of a deployment share through the SQL store, beside tweets and follows:
worker-id leases (:class:`~socialfeed.interfaces.WorkerIdLeaseSupport`), the record of the feed
settings (:class:`~socialfeed.interfaces.SettingsRecordSupport`) and media claims
(:class:`~socialfeed.interfaces.MediaClaimSupport`): a media's reference count row, locked by
garbage collection and by a post attaching that media alike, so the two cannot race."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence

from sqlalchemy import case, select, update

from socialfeed.backends.sql._db import Database, Tx
from socialfeed.backends.sql.statements import Statements
from socialfeed.errors import BackendError, ValidationError, show

__all__ = ["DeploymentMixin", "lock_media"]

_WORKER_IDS = 1024


def _now_ms() -> int:
    return int(time.time() * 1000)


def lock_media(tx: Tx, st: Statements, deltas: Mapping[str, int]) -> None:
    """Add each delta to the references of its media (rows created as needed, locked in id
    order); a media claimed for deletion cannot gain one: :class:`ValidationError`."""
    ids = sorted(deltas)
    if not ids:
        return
    tx.execute(st.new_refs, [{"media_id": m, "refs": 0, "claimed_until": 0} for m in ids])
    now = _now_ms()
    for row in tx.execute(st.lock_refs, {"ids": ids}):
        if deltas[row.media_id] > 0 and row.claimed_until > now:
            raise ValidationError(
                "media", f"media {show(row.media_id)} is being deleted; upload it again"
            )
    for delta in set(deltas.values()) - {0}:
        group = [m for m in ids if deltas[m] == delta]
        tx.execute(st.add_refs, {"ids": group, "delta": delta})


class DeploymentMixin:
    """Leases, the settings record and media claims of a store on one database."""

    db: Database
    statements: Statements

    # SettingsRecordSupport
    def record_settings(self, values: dict[str, str]) -> dict[str, str]:
        """Record the values not recorded yet; return every recorded value."""
        st = self.statements

        def fn(tx: Tx) -> dict[str, str]:
            if values:
                rows = [{"name": name, "value": value} for name, value in sorted(values.items())]
                tx.execute(st.insert_setting, rows)
            return {name: value for name, value in tx.execute(st.all_settings)}

        return self.db.write(fn)

    # MediaClaimSupport
    def claim_unused_media(self, media_ids: Sequence[str], claim_for: float) -> list[str]:
        """Claim the unreferenced media among ``media_ids`` for deletion, for ``claim_for``
        seconds, under the row locks a post takes too."""
        wanted = list(dict.fromkeys(media_ids))
        if not wanted:
            return []
        st = self.statements

        def fn(tx: Tx) -> list[str]:
            lock_media(tx, st, dict.fromkeys(wanted, 0))  # creates and locks the rows
            unused = {r.media_id for r in tx.execute(st.lock_refs, {"ids": wanted}) if r.refs <= 0}
            claimed = [m for m in wanted if m in unused]
            if claimed:
                until = _now_ms() + int(claim_for * 1000)
                tx.execute(st.claim_refs, {"ids": claimed, "until": until})
            return claimed

        return self.db.write(fn)

    def release_media_claims(self, media_ids: Sequence[str]) -> None:
        """Drop the claims (and rows) of media that were deleted."""
        ids = list(dict.fromkeys(media_ids))
        if ids:
            self.db.write(lambda tx: tx.execute(self.statements.release_refs, {"ids": ids}))

    # WorkerIdLeaseSupport
    def acquire_worker_id(self, holder: str, ttl: float, wanted: int | None) -> tuple[int, int]:
        """Lease ``wanted`` (refused while another live holder has it), or a free worker id.
        The table has a row per worker id; the rows are locked, so two processes never take one
        id."""
        leases = self.statements.t.leases
        c = leases.c

        def fn(tx: Tx) -> tuple[int, int]:
            now = _now_ms()
            rows = {r.worker_id: r for r in tx.execute(select(leases).with_for_update())}
            if len(rows) < _WORKER_IDS:  # the rows of a fresh table (the migration adds them)
                missing = [i for i in range(_WORKER_IDS) if i not in rows]
                blank = {"holder": None, "expires_ms": 0, "last_ms": -1}
                tx.execute(self.statements.new_leases, [{"worker_id": i, **blank} for i in missing])
                rows = {r.worker_id: r for r in tx.execute(select(leases).with_for_update())}
            free = [i for i, r in rows.items() if r.holder in (None, holder) or r.expires_ms <= now]
            if wanted is not None:
                if wanted not in free:
                    raise BackendError(
                        f"worker id {wanted} is held by another live process "
                        f"({rows[wanted].holder}); two processes must never pin the same "
                        "Settings.worker_id"
                    )
                free = [wanted]
            if not free:
                raise BackendError(f"all {_WORKER_IDS} worker ids are leased")
            worker_id = random.choice(free)
            lease = {"holder": holder, "expires_ms": now + int(ttl * 1000)}
            tx.execute(update(leases).where(c.worker_id == worker_id).values(**lease))
            return worker_id, int(rows[worker_id].last_ms)

        return self.db.write(fn, idempotent=False)

    def renew_worker_id(self, worker_id: int, holder: str, ttl: float, last_ms: int) -> bool:
        """Extend ``holder``'s lease, recording ``last_ms``; ``False`` if someone else has it."""
        expires = _now_ms() + int(ttl * 1000)
        return self._update_lease(worker_id, holder, last_ms, {"expires_ms": expires})

    def release_worker_id(self, worker_id: int, holder: str, last_ms: int) -> None:
        """End ``holder``'s lease, recording ``last_ms`` for the next holder."""
        self._update_lease(worker_id, holder, last_ms, {"holder": None, "expires_ms": 0})

    def _update_lease(
        self, worker_id: int, holder: str, last_ms: int, values: dict[str, object]
    ) -> bool:
        """Set ``values`` on ``holder``'s lease of ``worker_id`` and raise its ``last_ms`` to at
        least ``last_ms``; whether ``holder`` held it."""
        leases = self.statements.t.leases
        c = leases.c
        stmt = (
            update(leases)
            .where(c.worker_id == worker_id, c.holder == holder)
            .values(**values, last_ms=case((c.last_ms < last_ms, last_ms), else_=c.last_ms))
        )
        return bool(self.db.write(lambda tx: tx.execute(stmt).rowcount))
