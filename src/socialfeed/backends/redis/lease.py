"""Worker-id leases in Redis (:class:`~socialfeed.interfaces.WorkerIdLeaseSupport`), for the
cache and the queue: one key per worker id, set with ``NX`` semantics and a TTL by a Lua script,
beside a key that remembers the last millisecond minted under it."""

from __future__ import annotations

import random
from typing import Any

from socialfeed.backends.redis._client import AnyRedis, Script, backend_errors
from socialfeed.errors import BackendError

__all__ = ["RedisWorkerLeases"]

_LEASE = Script("lease.lua")
_WORKER_IDS = 1024


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisWorkerLeases:
    """Mixed into a Redis backend with a ``client`` and a key prefix (:meth:`_lease_prefix`)."""

    client: AnyRedis

    def _lease_prefix(self) -> str:
        raise NotImplementedError  # pragma: no cover

    def _lease_keys(self, worker_id: int) -> list[str]:
        tag = f"{self._lease_prefix()}:{{wid:{worker_id}}}"  # one slot for both keys
        return [f"{tag}:lease", f"{tag}:last"]

    def acquire_worker_id(self, holder: str, ttl: float, wanted: int | None) -> tuple[int, int]:
        """Lease ``wanted``, or the first free id from a random start."""
        ttl_ms = max(1, int(ttl * 1000))
        start = random.randrange(_WORKER_IDS)
        ids = range(_WORKER_IDS)
        order = [wanted] if wanted is not None else [(start + n) % _WORKER_IDS for n in ids]
        with backend_errors("worker id lease"):
            for worker_id in order:
                got, value = _LEASE.call(
                    self.client, self._lease_keys(worker_id), ["acquire", holder, ttl_ms]
                )
                if got:
                    return worker_id, int(value)
        if wanted is not None:
            raise BackendError(
                f"worker id {wanted} is held by another live process ({_text(value)}); "
                "two processes must never pin the same Settings.worker_id"
            )
        raise BackendError(f"all {_WORKER_IDS} worker ids are leased")

    def renew_worker_id(self, worker_id: int, holder: str, ttl: float, last_ms: int) -> bool:
        """Extend the lease; ``False`` if someone else holds it now."""
        args = ["renew", holder, max(1, int(ttl * 1000)), last_ms]
        with backend_errors("worker id lease"):
            return bool(_LEASE.call(self.client, self._lease_keys(worker_id), args))

    def release_worker_id(self, worker_id: int, holder: str, last_ms: int) -> None:
        """End the lease, remembering ``last_ms``."""
        with backend_errors("worker id lease"):
            _LEASE.call(self.client, self._lease_keys(worker_id), ["release", holder, last_ms])
