"""``socialfeed plan``: back-of-the-envelope capacity planning for a deployment.

The arithmetic of the system design behind the library: write and read rates, fan-out volume,
feed-cache memory with the packed encoding, and storage growth. Every input is a flag.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["Plan"]

_DAY = 86_400
_GIB = 1024**3


@attrs.frozen
class Plan:
    """Inputs of a capacity plan (defaults: the design target of the library)."""

    users: int = 500_000_000
    daily_active: int = 200_000_000
    monthly_active: int = 300_000_000
    tweets_per_day: int = 50_000_000
    feed_reads_per_active_day: int = 20
    avg_followers: int = 200
    peak_factor: float = 3.0
    max_feed_length: int = 800
    bytes_per_feed_entry: int = 10
    tweet_bytes: int = 300
    media_share: float = 0.1
    media_bytes: int = 500_000
    redis_node_gib: int = 64
    fanout_inserts_per_node_s: int = 300_000

    @classmethod
    def fields(cls) -> list[str]:
        """The input names."""
        return [f.name for f in attrs.fields(cls)]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The inputs with their defaults."""
        return attrs.asdict(cls())

    def figures(self) -> dict[str, float]:
        """The derived figures, by name."""
        tweets_s = self.tweets_per_day / _DAY
        active_share = min(1.0, self.monthly_active / self.users)
        inserts_s = tweets_s * self.avg_followers * active_share
        cache_bytes = self.monthly_active * self.max_feed_length * self.bytes_per_feed_entry
        reads_s = self.daily_active * self.feed_reads_per_active_day / _DAY
        return {
            "tweets/s (average)": tweets_s,
            "tweets/s (peak)": tweets_s * self.peak_factor,
            "feed reads/s (average)": reads_s,
            "feed reads/s (peak)": reads_s * self.peak_factor,
            "fan-out inserts/s (peak)": inserts_s * self.peak_factor,
            "feed cache GiB": cache_bytes / _GIB,
            "Redis nodes for memory": max(1, -(-cache_bytes // (self.redis_node_gib * _GIB))),
            "Redis nodes for fan-out": max(
                1, -(-int(inserts_s * self.peak_factor) // self.fanout_inserts_per_node_s)
            ),
            "tweet storage GiB/day": self.tweets_per_day * self.tweet_bytes / _GIB,
            "media storage GiB/day": self.tweets_per_day
            * self.media_share
            * self.media_bytes
            / _GIB,
        }

    def report(self) -> str:
        """The figures as aligned text."""
        rows = self.figures()
        width = max(map(len, rows))
        return "\n".join(f"{name.ljust(width)}  {value:>16,.1f}" for name, value in rows.items())
