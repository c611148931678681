"""Contract suites for backend authors (needs the ``testing`` extra: pytest and hypothesis).

Every built-in backend passes these; a plugin proves itself the same way, with a few lines::

    from socialfeed.testing import FeedCacheContract

    class TestMyCache(FeedCacheContract):
        @pytest.fixture
        def cache(self):
            return MyCache(...)

Suites: :class:`StoreContract` (fixture ``store``: an empty TweetStore + FollowGraph),
:class:`FeedCacheContract` (``cache``), :class:`MediaStoreContract` (``media_store``),
:class:`QueueContract` (``queue``: an unstarted FanoutQueue) and :class:`FeedContract`
(``make_feed(strategy, settings)``: a new empty SocialFeed), which includes the oracle property
test of :mod:`socialfeed.testing.oracle`.
"""

from socialfeed.testing.contract import (
    FeedCacheContract,
    FeedContract,
    MediaStoreContract,
    QueueContract,
    StoreContract,
)

__all__ = [
    "FeedCacheContract",
    "FeedContract",
    "MediaStoreContract",
    "QueueContract",
    "StoreContract",
]
