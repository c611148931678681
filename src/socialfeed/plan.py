"""``socialfeed plan``: back-of-the-envelope capacity planning for a deployment.

The arithmetic of the system design behind the library: write and read rates, fan-out volume,
feed-cache memory with the packed encoding, and storage growth. Every input is a flag.
"""

from __future__ import annotations

from typing import Any

import attrs

from socialfeed.errors import ValidationError, show

__all__ = ["HELP", "Plan"]

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

    def __attrs_post_init__(self) -> None:
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            limit = getattr(self, high) if isinstance(high, str) else high
            if isinstance(value, bool) or not low <= value <= limit:
                bound = f"{high} ({limit:,})" if isinstance(high, str) else f"{limit:,}"
                raise ValidationError(name, f"must be in {low:,}..{bound}, got {show(value)}")

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
        """The inputs (as ``socialfeed plan`` flags), then the figures, as aligned text."""
        inputs = {
            f"--{name.replace('_', '-')}": f"{value:,}" if isinstance(value, int) else f"{value:g}"
            for name, value in attrs.asdict(self).items()
        }
        figures = {name: f"{value:,.1f}" for name, value in self.figures().items()}
        width = max(map(len, [*inputs, *figures]))

        def lines(rows: dict[str, str]) -> list[str]:
            return [f"  {name.ljust(width)}  {value:>16}" for name, value in rows.items()]

        return "\n".join(["Inputs:", *lines(inputs), "Figures:", *lines(figures)])


_BIG = 10**12  # a sanity cap: a count above it is a typo
# input -> (lowest, highest: a number or the name of the input it may not exceed)
_RANGES: dict[str, tuple[float, float | str]] = {
    "users": (1, _BIG),
    "monthly_active": (1, "users"),
    "daily_active": (1, "monthly_active"),
    "tweets_per_day": (0, _BIG),
    "feed_reads_per_active_day": (0, 1_000_000),
    "avg_followers": (0, "users"),
    "peak_factor": (1, 1_000),
    "max_feed_length": (1, 1_000_000),
    "bytes_per_feed_entry": (1, 1_000_000),
    "tweet_bytes": (1, 10_000_000),
    "media_share": (0, 1),
    "media_bytes": (0, _BIG),
    "redis_node_gib": (1, 1_000_000),
    "fanout_inserts_per_node_s": (1, _BIG),
}

HELP: dict[str, str] = {
    "users": "registered users",
    "daily_active": "users active on a day (at most monthly-active)",
    "monthly_active": "users active in a month; their feeds are kept (at most users)",
    "tweets_per_day": "tweets posted per day",
    "feed_reads_per_active_day": "home-feed reads per daily active user",
    "avg_followers": "followers per user, on average (at most users)",
    "peak_factor": "peak rate over the average rate",
    "max_feed_length": "entries kept per precomputed feed",
    "bytes_per_feed_entry": "cache bytes per feed entry (packed encoding)",
    "tweet_bytes": "stored bytes per tweet",
    "media_share": "share of tweets with media, 0..1",
    "media_bytes": "bytes per media file",
    "redis_node_gib": "memory of one Redis node, GiB",
    "fanout_inserts_per_node_s": "feed inserts one Redis node absorbs per second",
}
"""The ``socialfeed plan`` help text of each input."""
