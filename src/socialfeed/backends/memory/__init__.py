"""In-process backends: every interface in memory, state per instance (no globals).

:class:`MemoryStore` is a :class:`~socialfeed.interfaces.TweetStore` and a
:class:`~socialfeed.interfaces.FollowGraph` with every optional ability; :class:`MemoryFeedCache` is
a :class:`~socialfeed.interfaces.FeedCache`; :class:`InlineQueue` applies each job as it is
submitted and :class:`ThreadQueue` on a pool of worker threads. Each object guards its state with
one lock, so it can be shared by threads.
"""

from socialfeed.backends.memory.cache import MemoryFeedCache
from socialfeed.backends.memory.queues import InlineQueue, ThreadQueue
from socialfeed.backends.memory.store import MemoryStore

__all__ = ["InlineQueue", "MemoryFeedCache", "MemoryStore", "ThreadQueue"]
