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
test of :mod:`socialfeed.testing.oracle`. :mod:`socialfeed.testing.data` holds the test and
benchmark data (the zipf follow graph, small images); it needs neither pytest nor hypothesis, so
importing it (or this package) does not import them: the suites load on first use.

A failing suite assertion shows the values it compared: the ``pytest11`` entry point of the
installed package loads :mod:`socialfeed.testing.pytest_plugin`, which registers the suite
modules for pytest's assertion rewriting (from a source tree: ``-p
socialfeed.testing.pytest_plugin``). Every listing a suite pages through is bounded by
:mod:`socialfeed.testing.paging`. :class:`StoreContract` also runs a backend-failure test when
the subclass overrides the ``broken_store`` fixture (see :mod:`socialfeed.testing.store_edges`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from socialfeed.testing.contract import (
        FeedCacheContract,
        MediaStoreContract,
        QueueContract,
        StoreContract,
    )
    from socialfeed.testing.end_to_end import FeedContract

__all__ = [
    "FeedCacheContract",
    "FeedContract",
    "MediaStoreContract",
    "QueueContract",
    "StoreContract",
]


def __getattr__(name: str) -> Any:
    if name == "FeedContract":
        from socialfeed.testing import end_to_end

        return end_to_end.FeedContract
    if name in __all__:
        from socialfeed.testing import contract

        return getattr(contract, name)
    raise AttributeError(f"module 'socialfeed.testing' has no attribute {name!r}")
