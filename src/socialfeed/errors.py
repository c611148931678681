"""Every exception socialfeed raises.

```
SocialFeedError
 ├── ValidationError   (also a ValueError)   bad input; nothing was written
 ├── NotFound          (also a LookupError)  no such tweet, or it was deleted
 ├── PermissionDenied                        e.g. deleting someone else's tweet
 └── BackendError                            a store, cache, queue or media backend failed;
      │                                      the driver's exception is ``__cause__``
      └── DuplicateId                        a store already holds another tweet under an id
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendError",
    "DuplicateId",
    "NotFound",
    "PermissionDenied",
    "SocialFeedError",
    "ValidationError",
    "missing_driver",
    "show",
]

_SHOWN = 100  # characters of an offending value an error message quotes at most


def show(value: Any) -> str:
    """A short ``repr`` of an offending value for an error message: at most ~100 characters,
    and never an error itself (a huge int, a broken ``__repr__``)."""
    try:
        text = repr(value)
    except Exception:  # e.g. an int of more digits than Python formats
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}... ({len(text)} characters)"


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


class DuplicateId(BackendError):
    """A store was handed a tweet under an id it already holds for a different tweet: it refused
    it and changed nothing. The facade mints a new id and stores the tweet again."""


# missing module -> (the extra that installs it, the URL scheme whose driver that extra installs)
_DRIVERS: dict[str, tuple[str, str | None]] = {
    "redis": ("redis", None),
    "hiredis": ("redis", None),
    "sqlalchemy": ("sql", None),
    "alembic": ("sql", None),
    "psycopg": ("postgres", None),
    "psycopg2": ("postgres", "postgresql+psycopg://"),
    "pymysql": ("mysql", None),
    "MySQLdb": ("mysql", "mysql+pymysql://"),
    "s3fs": ("s3", None),
}


def missing_driver(
    field: str, what: str, exc: ImportError, extra: str | None = None
) -> ValidationError:
    """The error for a driver that is not installed, with the one install hint every backend
    gives: ``"<what> needs the 'pymysql' driver: pip install 'socialfeed[mysql]'"``.

    The missing module (``exc.name``) picks the extra unless ``extra`` is given; a driver that
    no extra installs (SQLAlchemy's defaults for ``postgresql://`` and ``mysql://``) gets a hint
    at the URL scheme whose driver the extra does install.
    """
    driver = (exc.name or "").split(".")[0]
    known_extra, scheme = _DRIVERS.get(driver, (None, None))
    extra = extra or known_extra
    hint = f"pip install 'socialfeed[{extra}]'" if extra else "check the installation"
    if scheme:
        hint = f"did you mean {scheme}...? (its driver: {hint})"
    if not driver:
        return ValidationError(field, f"{what} cannot be imported ({exc}): {hint}")
    return ValidationError(field, f"{what} needs the {driver!r} driver: {hint}")
