"""SQL-specific behaviour: schema versioning, prefixes, URLs and engines, bad input, atomicity
of follows under concurrency, bulk import."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, inspect, update
from sqlhelpers import new_prefix

import socialfeed
from socialfeed.backends.sql import SQLFeedCache, SQLStore
from socialfeed.backends.sql.migrate import HEAD, version_table
from socialfeed.errors import BackendError, DuplicateId, ValidationError
from socialfeed.ids import MAX_ID
from socialfeed.models import Media, Tweet
from socialfeed.registry import resolve

NOW = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_newer_schema_is_refused(make_store: Any) -> None:
    store = make_store()
    store.create_schema()
    engine = store.engines()[0][0]
    versions = Table(version_table(store.prefix), MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(update(versions).values(version_num="0099"))
    other = SQLStore(engine, prefix=store.prefix)
    with pytest.raises(BackendError, match=r"revision '0099'.*newer than this socialfeed knows"):
        other.get_tweets([1])
    with engine.connect() as conn:  # nothing was altered
        assert not inspect(conn).has_table(f"{store.prefix}cache_lists")
    with engine.begin() as conn:
        conn.execute(update(versions).values(version_num=HEAD))


def test_prefixes_isolate(make_store: Any) -> None:
    a, b = make_store(), make_store()
    a.put_tweet(Tweet(1, 1, "in a", NOW))
    assert b.get_tweets([1]) == {}
    assert a.get_tweets([1])[1].text == "in a"


def test_ready_engine_and_from_url(url: str, make_store: Any) -> None:
    store = make_store()
    store.put_tweet(Tweet(5, 2, "x", NOW))
    engine = store.engines()[0][0]
    again = SQLStore(engine, prefix=store.prefix)
    assert again.get_tweets([5])[5].author_id == 2
    again.close()  # does not dispose an engine it did not create
    assert store.get_tweets([5])
    sep = "&" if "?" in url else "?"
    via_url = resolve("store", f"{url}{sep}socialfeed_prefix={store.prefix}", socialfeed.Settings())
    assert isinstance(via_url, SQLStore)
    assert via_url.get_tweets([5])[5].text == "x"
    via_url.close()
    cache = resolve("cache", f"{url}{sep}socialfeed_prefix={store.prefix}", socialfeed.Settings())
    assert isinstance(cache, SQLFeedCache)
    cache.touch(1, NOW)
    cache.drop_schema()
    cache.close()


@pytest.mark.parametrize(
    "text_value",
    [
        "x" * 100_000,
        "👩‍👩‍👧‍👦 family ZWJ",
        "مرحبا بالعالم RTL \u202e override",
        "e\u0301\u0301 combining",
        "\U0010ffff astral max",
        "tab\tnew\nline\r\n' \" \\ % _ ;--",
        " ",
    ],
)
def test_bad_input_round_trips(sql_store: SQLStore, text_value: str) -> None:
    media = (Media("m" * 200, "video/mp4", 2**40), Media("ü", "image/png", 1))
    tweet = Tweet(MAX_ID, MAX_ID, text_value, NOW, media)
    sql_store.put_tweet(tweet)
    assert sql_store.get_tweets([MAX_ID]) == {MAX_ID: tweet}
    assert sql_store.author_tweet_ids(MAX_ID, None, 5) == [MAX_ID]
    assert sql_store.add_follow(MAX_ID - 1, MAX_ID) == 1
    assert sql_store.home_tweet_ids(MAX_ID - 1, None, 5) == [MAX_ID]
    assert sql_store.followers(MAX_ID, None, 5) == [MAX_ID - 1]


def test_naive_and_other_timezones(sql_store: SQLStore) -> None:
    tz = datetime(2024, 5, 1, 14, 0, 0, 123456).astimezone()
    sql_store.put_tweet(Tweet(1, 1, "tz", tz))
    assert sql_store.get_tweets([1])[1].created_at == tz
    assert sql_store.get_tweets([1])[1].created_at.tzinfo == UTC


def test_follow_counts_are_atomic_under_concurrency(sql_store: SQLStore, backend: str) -> None:
    sql_store.create_schema()
    results: list[int | None] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            for f in range(2, 22):
                out = sql_store.add_follow(f, 1) if n % 2 == 0 else sql_store.add_follow(1, f)
                with lock:
                    results.append(out if n % 2 == 0 else None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    counts = sorted(r for r in results if r is not None)
    assert counts == list(range(1, 21))  # every edge added exactly once, counts exact
    assert sql_store.follower_count(1) == 20
    assert sql_store.following_count(1) == 20
    assert all(sql_store.follower_count(f) == 1 for f in range(2, 22))


def test_import_is_idempotent(sql_store: SQLStore) -> None:
    pairs = [(f, e) for f in range(1, 30) for e in range(1, 30) if f != e and (f * e) % 3 == 0]
    seen: list[int] = []
    assert sql_store.import_follows(pairs, batch_size=50, progress=seen.append) == len(pairs)
    assert seen[-1] == len(pairs) and seen == sorted(seen)
    assert sql_store.import_follows(pairs + pairs[:5], batch_size=37) == 0
    for u in (1, 3, 9):
        assert sql_store.follower_count(u) == sum(1 for _, e in pairs if e == u)
        assert sql_store.following_count(u) == sum(1 for f, _ in pairs if f == u)
    rows: list[Any] = [(i, i % 7 + 1, f"t{i}", NOW + timedelta(seconds=i)) for i in range(1, 301)]
    rows.append(Tweet(1000, 3, "with media", NOW, (Media("a", "image/png", 1),)))
    assert sql_store.import_tweets(rows, batch_size=64) == 301
    assert sql_store.import_tweets(rows, batch_size=64) == 301
    assert len(sql_store.get_tweets(list(range(1, 400)))) == 300
    assert sql_store.get_tweets([1000])[1000].media == (Media("a", "image/png", 1),)
    with pytest.raises(ValidationError):
        sql_store.import_follows([(1, 1)])
    with pytest.raises(ValidationError):
        sql_store.import_tweets([(0, 1, "x", NOW)])


def test_sqlite_memory_is_shared_by_threads() -> None:
    store = SQLStore("sqlite://", prefix=new_prefix())
    store.put_tweet(Tweet(1, 1, "x", NOW))
    found: list[Any] = []
    t = threading.Thread(target=lambda: found.append(store.get_tweets([1])))
    t.start()
    t.join()
    assert found[0][1].text == "x"
    store.close()


def test_driver_errors_become_backend_errors() -> None:
    store = SQLStore("postgresql+psycopg://postgres@127.0.0.1:1/none", prefix=new_prefix())
    with pytest.raises(BackendError) as info:
        store.get_tweets([1])
    assert info.value.__cause__ is not None
    store.close()


def test_create_tweet_with_media_is_atomic(sql_store: SQLStore, backend: str) -> None:
    # a media row that cannot be written (size out of BIGINT range) must take the tweet down too
    bad = Tweet(7, 1, "media", NOW, (Media("ok", "image/png", 1), Media("big", "image/png", 2**70)))
    with pytest.raises(BackendError):
        sql_store.put_tweet(bad)
    assert sql_store.get_tweets([7]) == {}
    assert sql_store.author_tweet_ids(1, None, 5) == []


def test_thread_queue_on_sql(url: str, sql_store: SQLStore) -> None:
    cache = SQLFeedCache(url, prefix=new_prefix())
    sf = socialfeed.connect(
        store=sql_store,
        cache=cache,
        queue="thread",
        workers=3,
        strategy="hybrid",
        settings=socialfeed.Settings(celebrity_threshold=5, max_feed_length=10),
    )
    try:
        for f in range(2, 9):
            sf.follow(f, 1)
        tweets = [sf.create_tweet(u, f"t{u}-{i}").id for i in range(4) for u in (1, 2, 3)]
        for f in range(2, 5):
            sf.unfollow(f, 1)
        sf.drain(60)
        for u in range(2, 9):
            expected = sorted(
                (t for t in tweets if sf.get_tweet(t).author_id in ({u, 1} if u >= 5 else {u})),
                reverse=True,
            )
            page = sf.get_feed(u, limit=50)
            assert [t.id for t in page.items] == expected
    finally:
        sf.close()
        cache.close()
    cache = SQLFeedCache(url, prefix=cache.prefix)
    cache.drop_schema()
    cache.close()


def test_from_url_takes_prefix_and_replicas(tmp_path: Any) -> None:
    db, other = tmp_path / "a.db", tmp_path / "b.db"
    url = f"sqlite:///{db}?socialfeed_prefix=p_&socialfeed_replica=sqlite:///{db}"
    store = SQLStore.from_url(f"{url}&socialfeed_replica=sqlite:///{other}", socialfeed.Settings())
    assert store.prefix == "p_"
    assert [e.url.database for e in store.engines()[0]] == [str(db), str(db), str(other)]
    store.close()


def test_fanout_graph_reads_in_chunks(make_store: Any) -> None:
    """followers_many/edges_among agree with followers/followers_among past the chunk sizes."""
    store = make_store()
    pairs = [(f, e) for e in range(1, 31) for f in range(1, 121) if f != e and (f * e) % 3 != 1]
    store.import_follows(pairs)
    pages = [(u, a) for u in range(1, 35) for a in (None, 7, 60, 119)] * 3  # > 200 pages
    got = store.followers_many(pages, 9)
    assert got == [store.followers(u, a, 9) for u, a in pages]
    asked = [(f, e) for e in range(1, 33) for f in range(1, 40) if f != e]  # > 1000 pairs
    assert store.edges_among([*asked, *asked[:50]]) == {p for p in asked if p in set(pairs)}
    store.remove_follow(*pairs[0])
    assert pairs[0] not in store.edges_among([pairs[0], pairs[1]])
    assert store.followers_many([], 5) == []


def test_put_tweet_without_media_is_one_statement(make_store: Any) -> None:
    from sqlalchemy import event

    store = make_store()
    store.create_schema()
    engines = {id(e): e for group in store.engines() for e in group}
    router = store.db.router
    if router.primary_reads is not None:
        engines[id(router.primary_reads)] = router.primary_reads
    statements: list[str] = []

    def count(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        statements.append(stmt)

    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", count)
    store.put_tweet(Tweet(77, 3, "one", NOW))
    for engine in engines.values():
        event.remove(engine, "before_cursor_execute", count)
    statements = [s for s in statements if not s.startswith("BEGIN")]  # SQLite's, in-process
    if store.engines()[0][0].dialect.name == "postgresql":
        assert statements == []  # one statement straight to psycopg on the autocommit pool
    else:  # the tombstone check, then the insert
        assert len(statements) == 2 and "INSERT" in statements[1]
    store.put_tweet(Tweet(77, 3, "one", NOW))  # the same tweet again: a no-op
    with pytest.raises(DuplicateId):
        store.put_tweet(Tweet(77, 3, "again", NOW))  # another tweet under its id: refused
    assert store.get_tweets([77])[77].text == "one"
    media = Media("m" * 64, "image/png", 10)
    store.put_tweet(Tweet(78, 3, "with media", NOW, (media,)))
    assert store.get_tweets([78])[78].media == (media,)
