"""What a plugin author meets: suites that fail fast and show values, ``connect()`` naming the
missing methods, a warning when a built-in shadows a plugin's scheme, one install hint."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import socialfeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.models import FeedPage, UserPage
from socialfeed.testing import paging

BROKEN_SUITE = """
    import pytest
    from socialfeed.backends.memory import MemoryStore
    from socialfeed.testing import StoreContract

    class ForgetsTheOldest(MemoryStore):
        def author_tweet_ids(self, author_id, before, limit):
            return super().author_tweet_ids(author_id, before, limit)[:-1] or []

    class TestBroken(StoreContract):
        @pytest.fixture
        def store(self):
            return ForgetsTheOldest()
"""


def _run_suite(tmp_path: Path, *plugin: str) -> str:
    (tmp_path / "test_broken.py").write_text(textwrap.dedent(BROKEN_SUITE))
    src = str(Path(socialfeed.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:socialfeed",
         *plugin, "-W", "error::pytest.PytestAssertRewriteWarning",
         "-k", "test_author_tweet_ids_newest_first_and_bounded", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # one test, failing
    return done.stdout


def test_the_plugin_makes_suite_failures_show_values(tmp_path: Path) -> None:
    out = _run_suite(tmp_path, "-p", "socialfeed.testing.pytest_plugin")
    assert "assert [9, 7, 5, 3] == [9, 7, 5, 3, 1]" in out, out
    assert "PytestAssertRewriteWarning" not in out, out


def test_without_the_plugin_the_values_are_not_shown(tmp_path: Path) -> None:
    out = _run_suite(tmp_path)
    assert "AssertionError" in out and "assert [9, 7, 5, 3] ==" not in out, out


def test_the_entry_point_names_the_plugin() -> None:
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'socialfeed = "socialfeed.testing.pytest_plugin"' in text.split("pytest11]")[1]


class IgnoresAfter(MemoryStore):
    """A store whose follower lists always start at the beginning."""

    def followers(self, user_id: int, after: int | None, limit: int) -> list[int]:
        return super().followers(user_id, None, limit)


def test_paging_a_store_that_ignores_after_fails_at_once() -> None:
    with socialfeed.connect(store=IgnoresAfter()) as sf:
        for f in range(2, 9):
            sf.follow(f, 1)
        with pytest.raises(AssertionError, match=r"repeats ids \[2, 3\]"):
            paging.pages(
                lambda n, c: sf.followers(1, limit=n, cursor=c), lambda: 2, what="followers"
            )


def test_pages_end_within_what_the_data_can_hold() -> None:
    fresh = iter(range(1, 100))

    def endless(limit: int, cursor: str | None) -> FeedPage | UserPage:
        n = next(fresh)
        return UserPage((n,), f"c{n}")

    with pytest.raises(AssertionError, match="did not end after 6 rounds"):
        paging.pages(endless, lambda: 1, what="an endless listing", most=2)
    three = [UserPage((1,), "a"), UserPage((2,), "b"), UserPage((), None)]
    got = paging.pages(lambda n, c: three.pop(0), lambda: 1, what="three pages", most=2)
    assert got == [(1, [1], "a"), (1, [2], "b"), (1, [], None)]
    assert paging.repeat(lambda: 0, until=lambda n: n == 0, most=0, what="nothing") == [0]


class HalfAStore:
    """put_tweet and close, nothing else."""

    def put_tweet(self, tweet: object) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("argument", "protocol", "some_missing"),
    [
        ("store", "TweetStore", "author_tweet_ids, get_tweets, mark_deleted, media_in_use"),
        ("graph", "FollowGraph", "add_follow, follower_count"),
        ("cache", "FeedCache", "active_among, forget_hot_tweet"),
        ("media", "MediaStore", "delete, get, list_media, open, open_writer, url"),
        ("queue", "FanoutQueue", "drain, start, submit"),
    ],
)
def test_connect_names_the_missing_methods(argument: str, protocol: str, some_missing: str) -> None:
    with pytest.raises(socialfeed.ValidationError) as info:
        kwargs: dict[str, Any] = {argument: HalfAStore()}
        socialfeed.connect(**kwargs)
    assert info.value.field == argument
    assert f"HalfAStore is not a {protocol}: it lacks {some_missing}" in str(info.value)


def test_a_store_without_follows_says_what_it_lacks() -> None:
    from socialfeed.interfaces import FollowGraph, TweetStore, missing_methods

    class TweetsOnly(MemoryStore):
        add_follow = None  # type: ignore[assignment]

    with pytest.raises(socialfeed.ValidationError, match=r"store: .*lacks add_follow\b"):
        socialfeed.connect(store=TweetsOnly())
    assert missing_methods(MemoryStore(), TweetStore) == []
    assert missing_methods(TweetsOnly(), FollowGraph) == ["add_follow"]


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed-looking distribution whose entry points claim ``store.sqlite`` (a built-in)
    and ``store.ghost`` (a scheme of its own, on a module that does not exist)."""
    info = tmp_path / "shadowing_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadowing-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[socialfeed.backends]\n"
        "store.sqlite = shadowing_plugin:Store\n"
        "store.ghost = shadowing_plugin_absent_module:Store\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.usefixtures("plugin_dist")
def test_a_plugin_shadowed_by_a_built_in_is_warned_of(tmp_path: Path) -> None:
    from socialfeed import registry

    with pytest.warns(UserWarning, match=r"store\.sqlite .* shadowed: the built-in store backend"):
        store = registry.resolve("store", f"sqlite:///{tmp_path}/x.db", socialfeed.Settings())
    assert type(store).__name__ == "SQLStore"  # the built-in won
    store.close()
    with pytest.warns(UserWarning, match="shadowed"):
        assert "ghost" in registry.known_schemes("store")


@pytest.mark.usefixtures("plugin_dist")
def test_a_plugin_that_cannot_import_gets_the_shared_hint() -> None:
    from socialfeed import registry

    with (
        pytest.warns(UserWarning, match="shadowed"),
        pytest.raises(
            socialfeed.ValidationError,
            match=r"store: the backend for 'ghost' URLs needs the "
            r"'shadowing_plugin_absent_module' driver: check the installation",
        ),
    ):
        registry.resolve("store", "ghost://x", socialfeed.Settings())


@pytest.mark.parametrize(
    ("module", "hint"),
    [
        ("redis", "pip install 'socialfeed[redis]'"),
        ("sqlalchemy", "pip install 'socialfeed[sql]'"),
        ("psycopg", "pip install 'socialfeed[postgres]'"),
        ("pymysql", "pip install 'socialfeed[mysql]'"),
        ("s3fs", "pip install 'socialfeed[s3]'"),
        (
            "MySQLdb",
            "did you mean mysql+pymysql://...? (its driver: pip install 'socialfeed[mysql]')",
        ),
    ],
)
def test_one_install_hint_for_every_extra(module: str, hint: str) -> None:
    from socialfeed.errors import missing_driver

    error = missing_driver("store", "the backend", ModuleNotFoundError("no", name=module))
    assert str(error) == f"store: the backend needs the {module!r} driver: {hint}"


def test_a_missing_sql_driver_gives_the_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)  # import pymysql now fails
    with pytest.raises(
        socialfeed.ValidationError,
        match=r"needs the 'pymysql' driver: pip install 'socialfeed\[mysql\]'",
    ):
        socialfeed.connect(store="mysql+pymysql://root@127.0.0.1/nowhere")


def test_postgres_urls_get_a_did_you_mean() -> None:
    with pytest.raises(
        socialfeed.ValidationError,
        match=r"store: unknown scheme 'postgres' .*did you mean "
        r"postgresql\+psycopg://",
    ):
        socialfeed.connect(store="postgres://app@db/feed")


@pytest.mark.parametrize(
    ("url", "part", "got"),
    [
        ("redis://127.0.0.1:1/abc", "the path after the host", "abc"),
        ("redis://127.0.0.1:1/-1", "the path after the host", "-1"),
        ("redis://127.0.0.1:1/0?db=x", "the db= query parameter", "x"),
    ],
)
def test_a_bad_redis_database_number_is_refused(url: str, part: str, got: str) -> None:
    pytest.importorskip("redis")
    with pytest.raises(socialfeed.ValidationError, match=rf"database number \({part}\)") as info:
        socialfeed.connect(cache=url)
    assert f"got {got!r}" in str(info.value)
