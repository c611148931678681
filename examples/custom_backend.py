"""A plugin backend: register a URL scheme and use it like a built-in."""

from __future__ import annotations

from socialfeed import Settings, Tweet, connect, registry
from socialfeed.backends.memory import MemoryStore


class CountingStore(MemoryStore):
    """A store that counts the tweets written to it (a stand-in for your own database)."""

    written = 0

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> CountingStore:
        return cls()

    def put_tweet(self, tweet: Tweet) -> None:
        type(self).written += 1
        super().put_tweet(tweet)


# Packages do this with an entry point instead:
#   [project.entry-points."socialfeed.backends"]
#   "store.counting" = "my_package:CountingStore"
registry.register("store", "counting", CountingStore)

with connect(store="counting://") as sf:
    sf.create_tweet(1, "stored by a plugin")
print("tweets written:", CountingStore.written)
assert CountingStore.written == 1
