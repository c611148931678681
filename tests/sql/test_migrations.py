"""Databases created by socialfeed 0.1 open and are upgraded in place.

The fixtures in ``data/`` are dumps of real 0.1 stores (made by the 0.1 code, commit 680b754, on
SQLite, PostgreSQL and MariaDB: three tweets, one with two media in order, one deleted, follows
with an unfollow). Each is loaded into a database of the test's own, opened by today's store
(migrated by Alembic from revision 0001), and checked row by row. A 0.2 store (revision 0002,
built by Alembic itself) is upgraded to 0.3 (revision 0003: replies, reposts, the social
tables) the same way.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import make_url
from sqlhelpers import require_server

from socialfeed.backends.sql import SQLStore
from socialfeed.backends.sql._db import make_engine
from socialfeed.backends.sql.migrate import HEAD, _config, version_table
from socialfeed.backends.sql.schema import store_tables
from socialfeed.interfaces import Event, reference
from socialfeed.models import Media, Tweet
from socialfeed.testing.servers import temp_database

DATA = Path(__file__).with_name("data")
T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
A, B = Media("a" * 64, "image/png", 100), Media("b" * 64, "video/mp4", 2000)


def _load(backend: str, url: str) -> None:
    dump = DATA / f"socialfeed-0.1-{backend}.sql"
    u = make_url(url)
    if backend == "sqlite":
        with sqlite3.connect(str(u.database)) as conn:
            conn.executescript(dump.read_text())
        return
    tool = "psql" if backend == "postgres" else "mariadb"
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    if backend == "postgres":
        args = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(u.host), "-U", str(u.username)]
        args += ["-d", str(u.database), "-f", str(dump)]
    else:
        args = ["mariadb", "--default-character-set=utf8mb4", "-h", str(u.host), "-u"]
        args += [str(u.username), str(u.database)]
    with dump.open() as f:
        subprocess.run(args, stdin=None if backend == "postgres" else f, check=True)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    backend = str(request.param)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        _load(backend, url)
        yield backend, url
        return
    with temp_database(require_server(backend)) as url:
        _load(backend, url)
        yield backend, url


def test_a_0_1_store_is_upgraded_in_place(old_database: tuple[str, str]) -> None:
    _, url = old_database
    store = SQLStore(url)
    try:
        assert store.get_tweets([1001, 1002, 1003, 1004]) == {
            1001: Tweet(1001, 1, "hello from 0.1", T),
            1002: Tweet(1002, 2, "two pictures", T.replace(second=1), (B, A)),
            1003: Tweet(1003, 2, "ünïcode 👩\u200d👩\u200d👧", T.replace(second=2)),
        }
        assert store.author_tweet_ids(2, None, 10) == [1003, 1002]
        assert store.followers(2, None, 10) == [1, 3] and store.following(1, None, 10) == [2]
        assert (store.follower_count(2), store.following_count(1)) == (2, 1)
        assert (store.follower_count(3), store.following_count(3)) == (0, 1)
        assert store.home_tweet_ids(1, None, 10) == [1003, 1002, 1001]
        assert store.media_in_use([A.id, B.id, "c" * 64]) == {A.id, B.id}  # refs backfilled
        # the new abilities work on the upgraded database
        assert store.write_tweet(Tweet(2000, 1, "after the upgrade", T), 5000, "k") == Tweet(
            2000, 1, "after the upgrade", T
        )
        assert store.pending_events(10) == [Event(5000, "tweet", 1, 2000)]
        assert store.claim_unused_media([A.id, "c" * 64], 60) == ["c" * 64]
        with store.db.primary.connect() as conn:
            revision = conn.execute(text(f"SELECT version_num FROM {version_table('socialfeed_')}"))
            assert revision.scalar() == HEAD
            assert inspect(conn).has_table("socialfeed_events")
    finally:
        store.close()


def test_processes_upgrading_at_once_migrate_once(old_database: tuple[str, str]) -> None:
    _, url = old_database
    stores = [SQLStore(url) for _ in range(3)]
    errors: list[BaseException] = []

    def open_it(store: SQLStore) -> None:
        try:
            store.create_schema()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert all(len(s.get_tweets([1001, 1002, 1003])) == 3 for s in stores)
    finally:
        for s in stores:
            s.close()


def test_the_migrations_build_exactly_the_tables_the_code_uses(
    old_database: tuple[str, str],
) -> None:
    """Alembic's comparison of the migrated database (a database of the test's own) with
    ``store_tables``: a table, column or index that the code declares but no revision creates,
    or the reverse, is a difference."""
    _, url = old_database
    store = SQLStore(url)
    try:
        store.create_schema()
        with store.db.primary.connect() as conn:
            opts = {"version_table": version_table("socialfeed_"), "compare_type": False}
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts=opts), store.tables.metadata
            )
        assert diffs == []
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_0_2(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0002 (socialfeed 0.2) holding a tweet with a medium and a
    tombstone."""
    backend = str(request.param)

    def build(url: str) -> str:
        engine = make_engine(url)
        t = store_tables()
        try:
            with engine.begin() as conn:
                command.upgrade(_config(conn, "socialfeed_"), "0002")
                conn.execute(
                    insert(t.tweets).values(id=1001, author_id=1, text="from 0.2", created_at=T)
                )
                media = {"tweet_id": 1001, "position": 0, "media_id": A.id}
                conn.execute(
                    insert(t.tweet_media).values(**media, content_type=A.content_type, size=A.size)
                )
                conn.execute(insert(t.media_refs).values(media_id=A.id, refs=1, claimed_until=0))
                conn.execute(insert(t.deleted).values(id=1000, author_id=1, deleted_at=T))
        finally:
            engine.dispose()
        return url

    if backend == "sqlite":
        yield build(f"sqlite:///{tmp_path / 'old-0.2.db'}")
        return
    with temp_database(require_server(backend)) as url:
        yield build(url)


def test_a_0_2_store_is_upgraded_to_0_3(database_0_2: str) -> None:
    store = SQLStore(database_0_2)
    try:
        assert store.get_tweets([1001]) == {1001: Tweet(1001, 1, "from 0.2", T, (A,))}
        assert store.deleted_authors([1000]) == {1000: 1}
        repost = Tweet(1002, 2, "", T, repost_of=reference(1001))
        reply = Tweet(1003, 3, "re", T, reply_to=1001, reply_to_author_id=1)
        store.put_tweet(repost)
        store.put_tweet(reply)
        assert store.get_tweets([1002, 1003]) == {1002: repost, 1003: reply}
        assert store.reposts_by([1001], [2]) == [(1002, 2, 1001)]
        assert store.reply_ids(1001, None, 5) == [1003]
        assert store.set_relation("block", 1, 2, True)
        store.begin_erasure(1, 2000, 0)
        store.end_erasure(1, 2000)
        assert store.deleted_authors([1000]) == {}
        with store.db.primary.connect() as conn:
            revision = conn.execute(text(f"SELECT version_num FROM {version_table('socialfeed_')}"))
            assert revision.scalar() == HEAD == "0003"
            opts = {"version_table": version_table("socialfeed_"), "compare_type": False}
            diffs = compare_metadata(
                MigrationContext.configure(conn, opts=opts), store.tables.metadata
            )
        meta = store.tables.meta  # shared with the cache; a store made by Alembic has none
        assert [d for d in diffs if not (d[0] == "add_table" and d[1].name == meta.name)] == []
    finally:
        store.close()
