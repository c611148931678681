"""Tunables of a feed: :class:`Settings`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from socialfeed.errors import ValidationError

__all__ = ["MiB", "Settings"]

MiB = 1024 * 1024


def _at_least(minimum: int) -> Any:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValidationError(
                f"Settings.{attribute.name}", f"must be an integer >= {minimum}, got {value!r}"
            )

    return check


def _window(instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError(
            f"Settings.{attribute.name}", f"must be a timedelta >= 0, got {value!r}"
        )


def _worker_id(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1024:
        raise ValidationError("Settings.worker_id", f"must be an integer in 0..1023, got {value!r}")


def _cdn(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict) or not all(
        (k is None or isinstance(k, str)) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(
            "Settings.cdn_base_urls", "must map region names (or None) to base URL strings"
        )


@attrs.frozen
class Settings:
    """Tunables of a feed (see docs/feeds.md). Frozen; derive variants with ``attrs.evolve``."""

    celebrity_threshold: int = attrs.field(default=10_000, validator=_at_least(1))
    max_feed_length: int = attrs.field(default=800, validator=_at_least(1))
    active_window: timedelta = attrs.field(default=timedelta(days=30), validator=_window)
    fanout_batch_size: int = attrs.field(default=1000, validator=_at_least(1))
    max_text_length: int = attrs.field(default=280, validator=_at_least(1))
    max_media_per_tweet: int = attrs.field(default=4, validator=_at_least(0))
    max_image_bytes: int = attrs.field(default=5 * MiB, validator=_at_least(1))
    max_video_bytes: int = attrs.field(default=512 * MiB, validator=_at_least(1))
    cdn_base_urls: dict[str | None, str] = attrs.field(factory=dict, validator=_cdn)
    worker_id: int = attrs.field(default=0, validator=_worker_id)
