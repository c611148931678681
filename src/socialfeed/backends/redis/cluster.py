"""Redis Cluster helpers: a script call never crosses a slot, so batches are split by slot."""

from __future__ import annotations

from collections.abc import Sequence

from redis.crc import key_slot

__all__ = ["script_groups"]


def script_groups(keys: Sequence[str], cluster: bool, size: int) -> list[list[int]]:
    """Positions of ``keys`` grouped for script calls: by hash slot on a cluster (in first-seen
    order of the slots), else in runs of at most ``size`` (so no call holds Redis long)."""
    if cluster:
        slots: dict[int, list[int]] = {}
        for n, key in enumerate(keys):
            slots.setdefault(key_slot(key.encode()), []).append(n)
        return list(slots.values())
    return [list(range(i, min(i + size, len(keys)))) for i in range(0, len(keys), size)]
