"""The example plugin of docs/plugins.md (examples/plugin: a store on the stdlib's sqlite3) passes
the shared suites, keeps the rules of a backend (threads, errors, bounds), and is found through
its entry point: from a dist-info on sys.path (fast) and from its built, installed wheel (slow)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import socialfeed
from socialfeed import registry
from socialfeed.interfaces import FollowGraph, HomeTimelineSupport, TweetStore, reference, supports
from socialfeed.testing import FeedContract, StoreContract

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "examples" / "plugin"
sys.path.insert(0, str(PLUGIN / "src"))  # the plugin, imported from its path (not installed)

from socialfeed_lite import LiteStore  # noqa: E402

pytestmark = pytest.mark.sqlite


# --8<-- [start:suites]
@pytest.fixture(params=["memory", "file"])
def lite(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiteStore]:
    store = LiteStore(":memory:" if request.param == "memory" else str(tmp_path / "feed.db"))
    yield store
    store.close()


class TestLiteStore(StoreContract):
    @pytest.fixture
    def store(self, lite: LiteStore) -> LiteStore:
        return lite


class TestLiteFeed(FeedContract):
    oracle_examples = 15

    @pytest.fixture
    def make_feed(self) -> Callable[[str, socialfeed.Settings], socialfeed.SocialFeed]:
        return lambda strategy, settings: socialfeed.connect(
            store=LiteStore(), queue="thread", strategy=strategy, settings=settings
        )


# --8<-- [end:suites]


def test_it_is_a_store_and_a_graph_with_one_ability(lite: LiteStore) -> None:
    assert isinstance(lite, TweetStore) and isinstance(lite, FollowGraph)
    assert supports(lite, HomeTimelineSupport)


def test_bounds_are_exclusive(lite: LiteStore) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in (10, 20, 30):
        lite.put_tweet(socialfeed.Tweet(i, 1, "x", t0))
        lite.add_follow(i, 1)
        lite.add_follow(1, i)
    assert lite.author_tweet_ids(1, 30, 10) == [20, 10]
    assert lite.author_tweet_ids(1, 10, 10) == []
    assert lite.home_tweet_ids(1, 20, 10) == [10]
    assert lite.followers(1, 10, 10) == [20, 30]
    assert lite.following(1, 30, 10) == []


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = LiteStore(str(tmp_path / "feed.db"))
    counts: list[int | None] = []
    errors: list[BaseException] = []

    def follow(first: int) -> None:
        try:
            for f in range(first, first + 50):
                counts.append(store.add_follow(f, 1))
                store.put_tweet(socialfeed.Tweet(f, f, "t", datetime(2026, 1, 1, tzinfo=UTC)))
        except BaseException as exc:  # pragma: no cover - shown by the assert
            errors.append(exc)

    threads = [threading.Thread(target=follow, args=(n * 100 + 1,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(c for c in counts if c is not None) == list(range(1, 401))  # exact counts
    assert store.follower_count(1) == 400 and len(store.followers(1, None, 1000)) == 400
    store.close()


def test_driver_errors_are_backend_errors(tmp_path: Path) -> None:
    broken = tmp_path / "not-a-database"
    broken.write_bytes(b"this is not an SQLite file " * 100)
    with pytest.raises(socialfeed.BackendError) as opening:
        LiteStore(str(broken))
    assert isinstance(opening.value.__cause__, sqlite3.DatabaseError)
    store = LiteStore()
    store.close()
    with pytest.raises(socialfeed.BackendError) as closed:
        store.follower_count(1)
    assert isinstance(closed.value.__cause__, sqlite3.ProgrammingError)
    store.close()  # idempotent


def _fake_install(site: Path) -> None:
    """What pip writes for the plugin, as far as entry points go: a dist-info directory whose
    entry_points.txt is made from the plugin's own pyproject.toml."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    info = site / f"socialfeed_lite-{project['version']}.dist-info"
    info.mkdir(parents=True)
    name, version = project["name"], project["version"]
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = ["[socialfeed.backends]"]
    lines += [f"{k} = {v}" for k, v in project["entry-points"]["socialfeed.backends"].items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def test_the_entry_point_registers_the_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "lite" not in registry.known_schemes("store"):  # unless installed in this environment
        with pytest.raises(socialfeed.ValidationError, match="unknown scheme 'lite'"):
            socialfeed.connect(store="lite://")
    _fake_install(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert "lite" in registry.known_schemes("store")
    with socialfeed.connect(store=f"lite://{tmp_path}/feed.db") as sf:
        assert isinstance(sf.store, LiteStore)
        sf.follow(1, 2)
        hello = sf.create_tweet(2, "hello from sqlite3")
        sf.drain()
        assert sf.get_feed(1).items == (hello,)
    with socialfeed.connect(store=f"lite://{tmp_path}/feed.db") as again:  # it was stored
        assert again.follower_count(2) == 1 and again.get_tweet(hello.id) == hello


_INSTALLED_CHECK = """
import socialfeed, socialfeed_lite
assert socialfeed_lite.__file__.startswith({site!r}), socialfeed_lite.__file__
with socialfeed.connect(store="lite://") as sf:
    assert type(sf.store).__name__ == "LiteStore"
    sf.follow(1, 2)
    tweet = sf.create_tweet(2, "installed")
    assert sf.get_feed(1).items == (tweet,)
print("ok")
"""


@pytest.mark.slow
def test_the_built_wheel_installs_and_registers(tmp_path: Path) -> None:
    """Build the plugin's wheel (hatchling, fetched by pip), install it into a directory of its
    own and connect through the entry point in a fresh interpreter."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    dist, site = tmp_path / "dist", tmp_path / "site"
    subprocess.run([*pip, "wheel", "--no-deps", "-w", dist, PLUGIN], check=True, timeout=300)
    (wheel,) = dist.glob("socialfeed_lite-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    code = _INSTALLED_CHECK.format(site=str(site))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_reply_and_repost_fields_round_trip(lite: LiteStore) -> None:
    # without a SocialStore of its own the suite skips this; the fields still live in its rows
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    photo = socialfeed.Media("c" * 64, "image/png", 10)
    tweets = [
        socialfeed.Tweet(10, 1, "original", t0, (photo,)),
        socialfeed.Tweet(11, 2, "", t0, repost_of=reference(10)),
        socialfeed.Tweet(12, 3, "re", t0, reply_to=10, reply_to_author_id=1),
    ]
    for t in tweets:
        lite.put_tweet(t)
    assert lite.get_tweets([10, 11, 12]) == {t.id: t for t in tweets}
    assert lite.mark_deleted(11) == tweets[1]
    lite.put_tweet(tweets[1])  # a retried write of what was stored and deleted: a no-op
    assert lite.get_tweets([11]) == {}
