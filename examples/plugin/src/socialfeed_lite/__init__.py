"""socialfeed-lite: a TweetStore and FollowGraph on the standard library's ``sqlite3``."""

from socialfeed_lite.store import LiteStore

__all__ = ["LiteStore"]
