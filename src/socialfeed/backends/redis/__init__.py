"""Redis backends: :class:`RedisFeedCache` (``redis://``, ``rediss://``, ``redis+cluster://``) and
:class:`RedisStreamsQueue` (``queue="redis://..."``). Needs ``pip install 'socialfeed[redis]'``."""

from socialfeed.backends.redis.cache import RedisFeedCache
from socialfeed.backends.redis.queue import RedisStreamsQueue

__all__ = ["RedisFeedCache", "RedisStreamsQueue"]
