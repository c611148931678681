"""Every exception socialfeed raises.

```
SocialFeedError
 ├── ValidationError   (also a ValueError)   bad input; nothing was written
 ├── NotFound          (also a LookupError)  no such tweet, or it was deleted
 ├── PermissionDenied                        e.g. deleting someone else's tweet
 └── BackendError                            a store, cache, queue or media backend failed;
                                             the driver's exception is ``__cause__``
```
"""

from __future__ import annotations

__all__ = ["BackendError", "NotFound", "PermissionDenied", "SocialFeedError", "ValidationError"]


class SocialFeedError(Exception):
    """Base class of every socialfeed exception."""


class ValidationError(SocialFeedError, ValueError):
    """Bad input: the message names the field and the limit. The call wrote nothing."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(SocialFeedError, LookupError):
    """The tweet (or other object) does not exist or was deleted."""


class PermissionDenied(SocialFeedError):
    """The caller may not do this, e.g. delete a tweet written by someone else."""


class BackendError(SocialFeedError):
    """A backend failed; the original exception is available as ``__cause__``."""
