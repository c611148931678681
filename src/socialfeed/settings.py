"""Tunables of a feed: :class:`Settings`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from socialfeed.errors import ValidationError, show

__all__ = ["FEED_SETTINGS", "MiB", "Settings", "adopt_recorded", "feed_record"]

MiB = 1024 * 1024


def _at_least(minimum: int, maximum: int | None = None) -> Any:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        plain = not isinstance(value, bool) and isinstance(value, int)
        if not plain or value < minimum or (maximum is not None and value > maximum):
            bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
            raise ValidationError(
                f"Settings.{attribute.name}", f"must be an integer {bound}, got {show(value)}"
            )

    return check


def _window(instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise ValidationError(
            f"Settings.{attribute.name}", f"must be a timedelta >= 0, got {show(value)}"
        )


def _worker_id(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1024:
        raise ValidationError(
            "Settings.worker_id", f"must be None or an integer in 0..1023, got {show(value)}"
        )


def _cdn(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict) or not all(
        (k is None or isinstance(k, str)) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValidationError(
            "Settings.cdn_base_urls", "must map region names (or None) to base URL strings"
        )


@attrs.frozen
class Settings:
    """Tunables of a feed (see docs/feeds.md). Frozen; derive variants with ``attrs.evolve``.

    ``worker_id=None`` (the default) leases a free Snowflake worker id from the deployment's
    shared backend; an int pins it (two live processes pinning one id is an error). The feed
    settings of :data:`FEED_SETTINGS` are recorded in the store by the first process of a
    deployment, and every other process must agree with them (see :func:`adopt_recorded`).
    """

    celebrity_threshold: int = attrs.field(default=10_000, validator=_at_least(1))
    max_feed_length: int = attrs.field(default=800, validator=_at_least(1))
    active_window: timedelta = attrs.field(default=timedelta(days=30), validator=_window)
    fanout_batch_size: int = attrs.field(default=1000, validator=_at_least(1))
    max_text_length: int = attrs.field(default=280, validator=_at_least(1))
    max_media_per_tweet: int = attrs.field(default=4, validator=_at_least(0))
    max_image_bytes: int = attrs.field(default=5 * MiB, validator=_at_least(1))
    max_video_bytes: int = attrs.field(default=512 * MiB, validator=_at_least(1))
    cdn_base_urls: dict[str | None, str] = attrs.field(factory=dict, validator=_cdn)
    worker_id: int | None = attrs.field(default=None, validator=_worker_id)
    max_muted_words: int = attrs.field(default=200, validator=_at_least(0))
    max_muted_phrase_length: int = attrs.field(default=100, validator=_at_least(1, 400))


FEED_SETTINGS = ("celebrity_threshold", "max_feed_length", "active_window", "fanout_batch_size")
"""The settings the cached feeds depend on: one value per deployment."""


def feed_record(settings: Settings) -> dict[str, str]:
    """The feed settings as the store records them (``active_window`` in seconds)."""
    return {
        name: str(v.total_seconds() if isinstance(v := getattr(settings, name), timedelta) else v)
        for name in FEED_SETTINGS
    }


def adopt_recorded(settings: Settings | None, recorded: dict[str, str]) -> Settings:
    """``settings`` with the deployment's recorded feed settings.

    A process that passed no settings (``None``: a ``socialfeed worker``) takes every recorded
    value. One that passed settings keeps the values it set explicitly (different from the
    defaults); a recorded value that differs from one of those is a :class:`ValidationError`
    naming the setting and both values; a default value gives way to the recorded one.
    """
    base = settings if settings is not None else Settings()
    defaults = Settings()
    changes: dict[str, Any] = {}
    for name in FEED_SETTINGS:
        if name not in recorded:
            continue
        ours = getattr(base, name)
        theirs: Any = (
            type(ours)(seconds=float(recorded[name]))
            if isinstance(ours, timedelta)
            else int(recorded[name])
        )
        if theirs == ours:
            continue
        if settings is not None and ours != getattr(defaults, name):
            raise ValidationError(
                f"Settings.{name}",
                f"is {ours!r} here but {theirs!r} in this deployment's store; every app and "
                "worker process of a deployment must use the same feed settings",
            )
        changes[name] = theirs
    return attrs.evolve(base, **changes) if changes else base
