"""Feed strategies: :class:`PushStrategy`, :class:`PullStrategy` and :class:`HybridStrategy`."""

from socialfeed.strategies.hybrid import HybridStrategy
from socialfeed.strategies.pull import PullStrategy
from socialfeed.strategies.push import PushStrategy

__all__ = ["HybridStrategy", "PullStrategy", "PushStrategy"]
