"""socialfeed: Twitter-style home timelines with push, pull and hybrid fan-out.

```python
import socialfeed

with socialfeed.connect() as sf:
    sf.follow(1, 2)
    sf.create_tweet(2, "hello")
    print(sf.get_feed(1).items[0].text)
```
"""

from socialfeed.errors import (
    BackendError,
    NotFound,
    PermissionDenied,
    SocialFeedError,
    ValidationError,
)
from socialfeed.feed import SocialFeed, connect
from socialfeed.models import FeedPage, Media, MutedWord, Tweet, UserPage
from socialfeed.settings import Settings
from socialfeed.strategies import HybridStrategy, PullStrategy, PushStrategy

__all__ = [
    "BackendError",
    "FeedPage",
    "HybridStrategy",
    "Media",
    "MutedWord",
    "NotFound",
    "PermissionDenied",
    "PullStrategy",
    "PushStrategy",
    "Settings",
    "SocialFeed",
    "SocialFeedError",
    "Tweet",
    "UserPage",
    "ValidationError",
    "connect",
]
__version__ = "0.1.0"
