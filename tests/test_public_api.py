from __future__ import annotations

import inspect
import subprocess
import sys

import attrs
import pytest

import socialfeed
from socialfeed import errors, interfaces


def test_exported_names_are_pinned() -> None:
    assert socialfeed.__all__ == sorted(socialfeed.__all__)
    assert socialfeed.__all__ == [
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


def test_import_is_light() -> None:
    code = (
        "import socialfeed, sys; "
        "print(sorted(m for m in ('redis', 'sqlalchemy', 'fsspec') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_error_tree() -> None:
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.NotFound, LookupError)
    for cls in (
        errors.ValidationError,
        errors.NotFound,
        errors.PermissionDenied,
        errors.BackendError,
    ):
        assert issubclass(cls, errors.SocialFeedError)
        assert getattr(socialfeed, cls.__name__) is cls


def test_models_and_settings_are_frozen() -> None:
    for cls in (
        socialfeed.Tweet,
        socialfeed.Media,
        socialfeed.FeedPage,
        socialfeed.UserPage,
        socialfeed.Settings,
    ):
        assert attrs.has(cls)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        socialfeed.Settings().max_feed_length = 3  # type: ignore[misc]


def test_settings_defaults_match_the_contract() -> None:
    s = socialfeed.Settings()
    assert (s.celebrity_threshold, s.max_feed_length, s.fanout_batch_size) == (10_000, 800, 1000)
    assert (s.max_text_length, s.max_media_per_tweet, s.worker_id) == (280, 4, None)
    assert (s.max_image_bytes, s.max_video_bytes) == (5 * 2**20, 512 * 2**20)
    assert s.active_window.days == 30 and s.cdn_base_urls == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_feed_length", 0),
        ("celebrity_threshold", -1),
        ("worker_id", 1024),
        ("fanout_batch_size", True),
        ("active_window", 5),
        ("cdn_base_urls", {"us": 3}),
    ],
)
def test_settings_are_validated(field: str, value: object) -> None:
    with pytest.raises(socialfeed.ValidationError, match=field):
        socialfeed.Settings(**{field: value})  # type: ignore[arg-type]


def test_facade_signatures() -> None:
    sig = inspect.signature
    assert list(sig(socialfeed.SocialFeed.create_tweet).parameters) == [
        "self",
        "user_id",
        "text",
        "media",
        "reply_to",
        "idempotency_key",
    ]
    for name in ("reply_to", "idempotency_key"):
        assert (
            sig(socialfeed.SocialFeed.create_tweet).parameters[name].kind
            is inspect.Parameter.KEYWORD_ONLY
        )
    assert (
        str(sig(socialfeed.SocialFeed.get_feed))
        == "(self, user_id: 'int', limit: 'int' = 20, cursor: 'str | None' = None) -> 'FeedPage'"
    )
    assert (
        sig(socialfeed.SocialFeed.delete_tweet).parameters["user_id"].kind
        is inspect.Parameter.KEYWORD_ONLY
    )
    social = {  # API.md section 2 [0.2-S]
        "repost": "(self, user_id: 'int', tweet_id: 'int', *, idempotency_key: 'str | None' = None)"
        " -> 'Tweet'",
        "replies": "(self, tweet_id: 'int', limit: 'int' = 20, cursor: 'str | None' = None, *, "
        "viewer_id: 'int | None' = None) -> 'FeedPage'",
        "user_timeline": "(self, user_id: 'int', limit: 'int' = 20, cursor: 'str | None' = None, "
        "*, viewer_id: 'int | None' = None) -> 'FeedPage'",
        "block": "(self, user_id: 'int', target_id: 'int') -> 'None'",
        "unblock": "(self, user_id: 'int', target_id: 'int') -> 'None'",
        "mute": "(self, user_id: 'int', target_id: 'int') -> 'None'",
        "unmute": "(self, user_id: 'int', target_id: 'int') -> 'None'",
        "mute_word": "(self, user_id: 'int', phrase: 'str', *, whole_word: 'bool' = True, "
        "expires_at: 'datetime | None' = None) -> 'None'",
        "unmute_word": "(self, user_id: 'int', phrase: 'str') -> 'None'",
        "blocks": "(self, user_id: 'int', limit: 'int' = 100, cursor: 'str | None' = None)"
        " -> 'UserPage'",
        "mutes": "(self, user_id: 'int', limit: 'int' = 100, cursor: 'str | None' = None)"
        " -> 'UserPage'",
        "muted_words": "(self, user_id: 'int') -> 'tuple[MutedWord, ...]'",
        "delete_user": "(self, user_id: 'int') -> 'None'",
    }
    for name, expected in social.items():
        assert str(sig(getattr(socialfeed.SocialFeed, name))) == expected, name
    assert list(sig(socialfeed.connect).parameters) == [
        "store",
        "cache",
        "media",
        "queue",
        "workers",
        "strategy",
        "settings",
        "graph",
    ]
    for name in (
        "TweetStore",
        "FollowGraph",
        "FeedCache",
        "MediaStore",
        "FanoutQueue",
        "FeedStrategy",
    ):
        assert getattr(interfaces, name)._is_protocol


def test_every_public_name_has_a_docstring() -> None:
    import importlib
    import pkgutil

    missing = []
    for info in pkgutil.walk_packages(socialfeed.__path__, "socialfeed."):
        if info.name.endswith("__main__") or ".testing" in info.name:
            continue
        if ".migrations." in info.name:  # Alembic's scripts: Alembic runs them, nobody imports
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        if not module.__doc__:
            missing.append(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not obj.__doc__:
                missing.append(f"{info.name}.{name}")
    assert missing == []


def test_context_manager_closes() -> None:
    with socialfeed.connect(queue="thread") as sf:
        sf.create_tweet(1, "x")
    assert sf.queue._threads == []  # type: ignore[attr-defined]


def test_unknown_schemes_list_the_known_ones() -> None:
    with pytest.raises(
        socialfeed.ValidationError, match=r"known schemes: .*memory.*postgresql.*sqlite"
    ):
        socialfeed.connect(store="cassandra://x")
    with pytest.raises(socialfeed.ValidationError, match="strategy"):
        socialfeed.connect(strategy="magic")
    with pytest.raises(socialfeed.ValidationError, match="workers"):
        socialfeed.connect(workers=-1)


def test_registered_backends_are_used() -> None:
    from socialfeed import registry
    from socialfeed.backends.memory import MemoryStore

    class Custom(MemoryStore):
        pass

    registry.register("store", "custom", Custom)
    sf = socialfeed.connect(store="custom://anything")
    assert type(sf.store) is Custom


def test_web_app_kit_api() -> None:
    """API.md [0.2-W]: prev_cursor, to_dict, get_media, subscribe, and the asyncio twin of every
    facade call with the same signature."""
    import socialfeed.aio

    assert [f.name for f in attrs.fields(socialfeed.FeedPage)] == [
        "items",
        "next_cursor",
        "prev_cursor",
    ]
    for cls in (socialfeed.Tweet, socialfeed.Media, socialfeed.FeedPage, socialfeed.UserPage):
        assert callable(cls.to_dict)
    assert callable(socialfeed.MutedWord.to_dict)
    sig = inspect.signature
    assert str(sig(socialfeed.SocialFeed.subscribe)) == (
        "(self, user_id: 'int', cursor: 'str | None' = None, *, limit: 'int' = 20)"
        " -> 'Iterator[FeedPage]'"
    )
    assert str(sig(socialfeed.SocialFeed.get_media)) == "(self, media_id: 'str') -> 'Media'"
    sync_only = {"subscribe", "watch", "close"}
    calls = [
        name
        for name, value in inspect.getmembers(socialfeed.SocialFeed)
        if callable(value) and not name.startswith("_") and name not in sync_only
    ]
    assert len(calls) >= 28
    for name in calls:
        twin = getattr(socialfeed.aio.AsyncSocialFeed, name)
        assert inspect.iscoroutinefunction(twin), name
        assert sig(twin) == sig(getattr(socialfeed.SocialFeed, name)), name
    for name in ("subscribe", "close"):
        assert hasattr(socialfeed.aio.AsyncSocialFeed, name)
    assert inspect.isasyncgenfunction(socialfeed.aio.AsyncSocialFeed.subscribe)
    assert list(sig(socialfeed.aio.connect).parameters) == list(sig(socialfeed.connect).parameters)
