"""What a plugin author meets: suites that fail fast and show values, ``connect()`` naming the
missing methods, a warning when a built-in shadows a plugin's scheme, one install hint."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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
