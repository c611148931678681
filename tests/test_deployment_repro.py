"""Reproductions of the deployment-safety findings that need no server (each failed on 0.1):
duplicate ids re-minted, the worker's configuration, settings that disagree, media GC racing a
post, and inputs that escaped ValidationError. The server-side ones live in tests/redis and
tests/sql (test_*_deployment.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import socialfeed
from socialfeed.backends.memory import MemoryStore
from socialfeed.errors import DuplicateId, ValidationError
from socialfeed.models import Tweet
from socialfeed.testing.data import png_bytes

pytestmark = pytest.mark.memory


class CollidingStore(MemoryStore):
    """Holds another process's tweet under the next id the facade mints (item 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def write_tweet(self, tweet: Tweet, event: int, idempotency_key: str | None) -> Tweet:
        if not self.refused:
            self.refused += 1
            super().put_tweet(Tweet(tweet.id, 999, "another process's tweet", tweet.created_at))
        return super().write_tweet(tweet, event, idempotency_key)


def test_a_duplicate_id_is_refused_and_re_minted() -> None:
    store = CollidingStore()
    with socialfeed.connect(store=store) as sf:
        tweet = sf.create_tweet(1, "mine")
        theirs = store.author_tweet_ids(999, None, 5)
        assert store.refused == 1 and len(theirs) == 1 and tweet.id != theirs[0]
        assert sf.get_tweet(tweet.id).author_id == 1  # both tweets kept, each under its own id
        assert sf.get_tweet(theirs[0]).text == "another process's tweet"
        sf.delete_tweet(tweet.id, user_id=1)  # the author can delete their own tweet
    with pytest.raises(DuplicateId):
        store.put_tweet(Tweet(theirs[0], 1, "overwrite", tweet.created_at))


def _worker(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socialfeed", "worker", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ((), {}, "--store (or SOCIALFEED_STORE) is required"),
        (("--store", "memory://"), {}, "lives in this process only"),
        (
            ("--store", "sqlite:////tmp/x.db", "--cache", "memory://"),
            {"SOCIALFEED_QUEUE": "redis://127.0.0.1:1/0"},
            "--cache memory:// lives in this process only",
        ),
        (
            ("--cache", "redis://h/0", "--queue", "inline"),
            {"SOCIALFEED_STORE": "sqlite:///x"},
            "--queue inline lives in this process only",
        ),
    ],
)
def test_the_worker_refuses_a_store_of_its_own(
    args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    done = _worker(*args, env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("socialfeed worker: "), done.stderr
    assert says in lines[0] and "Traceback" not in done.stderr


def test_processes_that_disagree_on_feed_settings_are_refused() -> None:
    store = MemoryStore()  # the deployment's store, shared by three "processes"
    first = socialfeed.connect(store=store, settings=socialfeed.Settings(celebrity_threshold=50))
    with pytest.raises(ValidationError) as info:
        socialfeed.connect(store=store, settings=socialfeed.Settings(celebrity_threshold=70))
    assert "Settings.celebrity_threshold" in str(info.value) and "50" in str(info.value)
    assert "70" in str(info.value)
    worker = socialfeed.connect(store=store)  # passes none: adopts the deployment's
    assert worker.settings.celebrity_threshold == 50
    assert worker.strategy.name == first.strategy.name == "hybrid"
    with pytest.raises(ValidationError, match="strategy"):
        socialfeed.connect(store=store, strategy="push")
    tweaked = socialfeed.connect(store=store, settings=socialfeed.Settings(max_text_length=500))
    assert tweaked.settings.celebrity_threshold == 50  # left at its default: the record wins
    for sf in (first, worker, tweaked):
        sf.close()


def test_garbage_collection_and_a_post_cannot_race() -> None:
    with socialfeed.connect() as sf:
        media = sf.upload_media(png_bytes(1))
        posted: list[Any] = []
        delete = sf.media_store.delete

        def delete_while_someone_posts(media_id: str) -> None:
            try:  # a post attaching the media lands between the GC's check and its delete
                posted.append(sf.create_tweet(1, "look", media=[media]))
            except ValidationError as exc:
                posted.append(exc)
            delete(media_id)

        sf.media_store.delete = delete_while_someone_posts  # type: ignore[method-assign]
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert sf.collect_garbage(older_than=later) == [media.id]
        [outcome] = posted
        assert isinstance(outcome, ValidationError) and "being deleted" in str(outcome)
        assert sf.get_feed(1).items == ()  # no live tweet points at bytes that are gone
        again = sf.upload_media(png_bytes(1))
        assert sf.create_tweet(1, "now", media=[again]).media == (again,)


class Evil(int):
    def __format__(self, spec: str) -> str:
        return "*"

    def __index__(self) -> int:
        return 1


class Long(str):
    def __len__(self) -> int:
        return 3


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda sf: sf.create_tweet(10**5000, "x"), "user_id"),
        (lambda sf: sf.get_feed(1, limit=10**5000), "limit"),
        (lambda sf: sf.create_tweet(1, Long("x" * 5000)), "text"),
        (lambda sf: sf.create_tweet(1, "\u200b\u200d\u2060\ufeff \x01\u3164"), "text"),
        (lambda sf: sf.create_tweet(1, "x", media=["f" * 10_000_000]), "media"),
        (lambda sf: sf.media_url("g" * 10_000_000), None),
        (lambda sf: sf.create_tweet(1, "x", idempotency_key="k" * 10_000), "idempotency_key"),
    ],
)
def test_inputs_that_escaped_validation(call: Any, field: str | None) -> None:
    with socialfeed.connect() as sf, pytest.raises(socialfeed.SocialFeedError) as info:
        call(sf)
    if field is not None:
        assert isinstance(info.value, ValidationError) and info.value.field == field
    assert len(str(info.value)) < 300  # at most ~100 characters of the offending value


def test_subclassed_ints_and_strs_are_normalised() -> None:
    with socialfeed.connect() as sf:
        tweet = sf.create_tweet(Evil(7), Long("hello"))
        assert type(tweet.author_id) is int and tweet.author_id == 7
        assert type(tweet.text) is str and tweet.text == "hello"
        assert sf.get_feed(Evil(7)).items == (tweet,)


def test_a_strided_memoryview_uploads() -> None:
    doubled = bytes(b for byte in png_bytes(3) for b in (byte, 0))
    with socialfeed.connect() as sf:
        media = sf.upload_media(memoryview(doubled)[::2])
        assert media == sf.upload_media(png_bytes(3))
