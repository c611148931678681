"""FsspecMediaStore on memory://, a local directory (file://) and S3 (moto server + s3fs)."""

from __future__ import annotations

import hashlib
import itertools
import threading
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import socialfeed
from media_rig import (
    StreamFile,
    gif_bytes,
    jpeg_bytes,
    mov_bytes,
    mp4_bytes,
    new_bucket,
    png_bytes,
    s3_server,
    s3fs_factory,
    webm_bytes,
    webp_bytes,
)
from socialfeed.backends.fsspec import FsspecMediaStore
from socialfeed.errors import BackendError, NotFound, ValidationError
from socialfeed.media import upload
from socialfeed.testing import MediaStoreContract

__all__ = ["s3_server", "s3fs_factory"]  # fixtures used here

LIMITS = {"max_image_bytes": 1 << 20, "max_video_bytes": 1 << 22}
SOON = timedelta(minutes=1)


def _memory() -> FsspecMediaStore:
    return FsspecMediaStore.from_url("memory://", socialfeed.Settings())


class TestMemoryMediaContract(MediaStoreContract):
    pytestmark = pytest.mark.memory

    @pytest.fixture
    def media_store(self) -> Iterator[FsspecMediaStore]:
        store = _memory()
        yield store
        store.close()


class TestFileMediaContract(MediaStoreContract):
    @pytest.fixture
    def media_store(self, tmp_path: Path) -> Iterator[FsspecMediaStore]:
        store = FsspecMediaStore.from_url(f"file://{tmp_path}/media", socialfeed.Settings())
        yield store
        store.close()


@pytest.mark.s3
class TestS3MediaContract(MediaStoreContract):
    @pytest.fixture
    def media_store(self, s3fs_factory: Callable[..., Any]) -> Iterator[FsspecMediaStore]:
        fs = s3fs_factory()
        store = FsspecMediaStore(fs, f"{new_bucket(fs)}/media")
        yield store
        store.close()


@pytest.fixture(params=["memory", "file", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FsspecMediaStore]:
    """A fresh store on each kind of filesystem."""
    if request.param == "memory":
        made = _memory()
    elif request.param == "file":
        made = FsspecMediaStore.from_url(f"file://{tmp_path}/media")
    else:
        fs = request.getfixturevalue("s3fs_factory")()
        made = FsspecMediaStore(fs, f"{new_bucket(fs)}/prefix")
    yield made
    made.close()


def everything(store: FsspecMediaStore) -> list[str]:
    """Every object under the store's root, relative to it (``blobs/..``, ``meta/..``)."""
    try:
        found = store.fs.find(store.root)
    except FileNotFoundError:
        return []
    return sorted(p.removeprefix(store.root).lstrip("/") for p in found)


SAMPLES = [
    ("image/jpeg", jpeg_bytes(1)),
    ("image/png", png_bytes(1)),
    ("image/gif", gif_bytes()),
    ("image/webp", webp_bytes()),
    ("video/mp4", mp4_bytes(1000)),
    ("video/quicktime", mov_bytes(1000)),
    ("video/webm", webm_bytes()),
]


def test_round_trip_every_type(store: FsspecMediaStore) -> None:
    stored = {}
    for kind, data in SAMPLES:
        m = upload(store, data, None, **LIMITS)
        assert m.content_type == kind
        assert m.size == len(data)
        assert m.id == hashlib.sha256(data).hexdigest()
        assert upload(store, data, kind, **LIMITS) == m  # same bytes, same media
        assert upload(store, StreamFile([data[:3], data[3:]]).io, kind, **LIMITS) == m
        with store.open(m.id) as f:
            assert f.read() == data
        stored[m.id] = m
    assert store.get([*stored, "0" * 64, "../x"]) == stored
    blobs = [p for p in everything(store) if p.startswith("blobs/")]
    assert len(blobs) == len(SAMPLES)  # stored once each
    assert not [p for p in everything(store) if p.startswith("tmp/")]


def test_paths_are_content_derived_only(store: FsspecMediaStore) -> None:
    upload(store, png_bytes(2), "image/png; charset=binary", **LIMITS)
    names = everything(store)
    assert names
    for name in names:
        assert ".." not in name
        parts = name.split("/")
        assert parts[0] in {"blobs", "meta", "tmp"}
        assert all(c in "0123456789abcdef." or c.isalpha() for c in "".join(parts[1:]))


def test_url_is_the_stores_own(store: FsspecMediaStore) -> None:
    data = png_bytes(3)
    m = upload(store, data, None, **LIMITS)
    url = store.url(m.id)
    protocol = store.fs.protocol if isinstance(store.fs.protocol, str) else store.fs.protocol[0]
    if protocol in ("s3", "s3a"):
        assert url.startswith("http://127.0.0.1:")  # signed, on the endpoint
        assert "Signature=" in url or "X-Amz-Signature=" in url
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == data
    else:
        assert url.startswith(f"{protocol}://")
        import fsspec

        with fsspec.open(url, "rb") as f:
            assert f.read() == data
    with pytest.raises(NotFound):
        store.url("../../etc/passwd")


def test_list_delete_and_created_refresh(store: FsspecMediaStore) -> None:
    a = upload(store, png_bytes(4), None, **LIMITS)
    b = upload(store, png_bytes(5), None, **LIMITS)
    cut = datetime.now(UTC)
    c = upload(store, png_bytes(6), None, **LIMITS)
    assert set(store.list_media(cut)) == {a.id, b.id}
    assert set(store.list_media(cut + SOON)) == {a.id, b.id, c.id}
    upload(store, png_bytes(4), None, **LIMITS)  # uploading again refreshes the time
    assert set(store.list_media(cut)) == {b.id}
    store.delete(b.id)
    store.delete(b.id)
    store.delete("not-an-id")
    assert store.get([b.id]) == {}
    with pytest.raises(NotFound):
        store.open(b.id)
    with pytest.raises(NotFound):
        store.open("../meta")
    assert set(store.list_media(cut + SOON)) == {a.id, c.id}
    with pytest.raises(ValidationError):
        list(store.list_media(datetime.now()))  # naive datetime


HOSTILE: list[tuple[Any, Any, str, str]] = [
    (png_bytes(7), "image/jpeg", "content_type", "declared 'image/jpeg'"),
    (b"hello, I am text", "image/png", "data", "not a supported media type"),
    (b"hello, I am text", None, "data", "not a supported media type"),
    (b"\x89PNG\r\n\x1a\n", None, "data", "truncated"),
    (b"\xff\xd8", "image/jpeg", "data", "truncated"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", None, "data", "truncated"),
    (png_bytes(8)[:-5], None, "data", "truncated"),
    (mp4_bytes(500)[:-100], None, "data", "truncated"),
    (b"", None, "data", "empty"),
    (b"", "image/png", "data", "empty"),
    (StreamFile([]).io, None, "data", "empty"),
    (png_bytes(9), "../../etc/passwd", "content_type", "not a media type"),
    (png_bytes(9), "image/png; x=../", "content_type", "not a media type"),
    (png_bytes(9), "image/png\n", "content_type", ""),
    (png_bytes(9), "image/png\r\nX: y", "content_type", "not a media type"),
    (png_bytes(9), 42, "content_type", "must be a string"),
    ("a str, not bytes", None, "data", "bytes"),
    (12345, None, "data", "bytes"),
    (__import__("io").StringIO("text mode"), None, "data", "binary mode"),
]


@pytest.mark.parametrize(
    ("data", "content_type", "field", "message"),
    HOSTILE,
    ids=[f"{i}-{case[2]}-{case[3] or 'bad'}" for i, case in enumerate(HOSTILE)],
)
def test_hostile_uploads_write_nothing(
    store: FsspecMediaStore, data: Any, content_type: Any, field: str, message: str
) -> None:
    before = everything(store)
    with pytest.raises(ValidationError) as info:
        upload(store, data, content_type, **LIMITS)
    assert info.value.field == field
    assert message in str(info.value)
    assert everything(store) == before
    assert list(store.list_media(datetime.now(UTC) + SOON)) == []


@pytest.mark.parametrize(
    ("data", "limit_name"),
    [(png_bytes(10, width=2000), "max_image_bytes"), (mp4_bytes(5000), "max_video_bytes")],
)
def test_oversize_uploads_name_the_limit(
    store: FsspecMediaStore, data: bytes, limit_name: str
) -> None:
    limits = {"max_image_bytes": 60, "max_video_bytes": 2000}
    limit = limits[limit_name]
    assert len(data) > limit
    before = everything(store)
    pieces = [data[i : i + 100] for i in range(0, len(data), 100)]
    for payload in (data, StreamFile(pieces).io):
        with pytest.raises(ValidationError, match=f"{limit_name}={limit}") as info:
            upload(store, payload, None, **limits)
        assert info.value.field == "data"
    assert everything(store) == before
    # exactly at the limit is fine
    assert upload(store, data, None, **{**limits, limit_name: len(data)}).size == len(data)


def test_reading_stops_once_over_the_limit(store: FsspecMediaStore) -> None:
    endless = StreamFile(itertools.chain(mp4_chunks_head(), itertools.repeat(b"\0" * 65536)))
    with pytest.raises(ValidationError, match="max_video_bytes=100000"):
        upload(store, endless.io, "video/mp4", max_image_bytes=10, max_video_bytes=100_000)
    assert endless.bytes_read <= 100_001
    assert not [p for p in everything(store) if p.startswith("blobs/") or p.startswith("tmp/")]


def mp4_chunks_head() -> list[bytes]:
    """ftyp + moov + the header of an mdat box that claims 4 GB."""
    return [
        b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom",
        b"\x00\x00\x00\x08moov",
        b"\xff\xff\xff\xf0mdat",
    ]


def test_a_failing_reader_leaves_nothing(store: FsspecMediaStore) -> None:
    def chunks() -> Iterator[bytes]:
        yield png_bytes(11)[:40]
        yield b"\0" * 10_000
        raise OSError("client went away")

    before = everything(store)
    with pytest.raises(OSError, match="client went away"):
        upload(store, StreamFile(chunks()).io, None, **LIMITS)
    assert everything(store) == before


def test_concurrent_uploads_of_the_same_bytes(store: FsspecMediaStore) -> None:
    data = mp4_bytes(200_000, seed=3)
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def one() -> None:
        try:
            start.wait()
            results.append(upload(store, data, "video/mp4", **LIMITS))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1
    m = results[0]
    with store.open(m.id) as f:
        assert f.read() == data
    paths = everything(store)
    assert len([p for p in paths if p.startswith("blobs/")]) == 1
    assert len([p for p in paths if p.startswith("meta/")]) == 1
    assert not [p for p in paths if p.startswith("tmp/")]


def test_concurrent_readers_each_get_their_own_stream(store: FsspecMediaStore) -> None:
    data = mp4_bytes(50_000)
    m = upload(store, data, None, **LIMITS)
    a, b = store.open(m.id), store.open(m.id)
    try:
        assert a.read(10) == data[:10]
        assert b.read() == data
        assert a.read() == data[10:]
    finally:
        a.close()
        b.close()


@pytest.mark.memory
def test_each_memory_store_is_isolated_and_close_frees_it() -> None:
    one, two = _memory(), _memory()
    m = upload(one, png_bytes(12), None, **LIMITS)
    assert two.get([m.id]) == {}
    assert one.root != two.root
    assert one.root.startswith("/socialfeed-")
    with socialfeed.connect() as a, socialfeed.connect() as b:
        ma = a.upload_media(png_bytes(13))
        with pytest.raises(ValidationError, match="unknown media id"):
            b.create_tweet(1, "x", media=[ma.id])
    one.close()
    one.close()
    assert everything(one) == []
    assert two.get([m.id]) == {}
    two.close()


@pytest.mark.memory
def test_a_named_memory_root_is_shared_and_kept() -> None:
    name = f"memory://shared-{threading.get_ident()}/media"
    one, two = FsspecMediaStore.from_url(name), FsspecMediaStore.from_url(name)
    m = upload(one, png_bytes(14), None, **LIMITS)
    assert two.get([m.id]) == {m.id: m}
    one.close()
    assert two.get([m.id]) == {m.id: m}
    two.delete(m.id)


def test_file_store_layout(tmp_path: Path) -> None:
    store = FsspecMediaStore.from_url(f"file://{tmp_path}/srv/media")
    data = jpeg_bytes(5)
    m = upload(store, data, "image/jpg", **LIMITS)
    blob = tmp_path / "srv" / "media" / "blobs" / m.id[:2] / m.id
    assert blob.read_bytes() == data
    meta = tmp_path / "srv" / "media" / "meta" / m.id[:2] / f"{m.id}.json"
    assert '"content_type": "image/jpeg"' in meta.read_text()
    assert store.url(m.id) == f"file://{blob}"
    store.close()
    assert blob.exists()  # a file store keeps its bytes


def test_bad_urls() -> None:
    import fsspec

    with pytest.raises(ValidationError, match="root"):
        FsspecMediaStore(fsspec.filesystem("file"), "/")
    with pytest.raises(ValidationError, match="media"):
        FsspecMediaStore.from_url("nosuchprotocol-xyz://bucket/x")
    with pytest.raises(ValidationError, match="unknown scheme"):
        socialfeed.connect(media="ftpx://nowhere")


def test_filesystem_errors_become_backend_errors(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where the store wants a directory")
    store = FsspecMediaStore.from_url(f"file://{tmp_path}/blocked")
    with pytest.raises(BackendError) as info:
        upload(store, png_bytes(15), None, **LIMITS)
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.s3
def test_s3_errors_become_backend_errors(s3fs_factory: Callable[..., Any]) -> None:
    good = s3fs_factory()
    missing = FsspecMediaStore(good, "no-such-bucket-here/prefix")
    with pytest.raises(BackendError) as info:
        upload(missing, png_bytes(16), None, **LIMITS)
    assert info.value.__cause__ is not None
    dead = s3fs_factory(
        endpoint_url="http://127.0.0.1:9",
        config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 1},
    )
    store = FsspecMediaStore(dead, "bucket/prefix")
    for call in (
        lambda: upload(store, png_bytes(17), None, **LIMITS),
        lambda: store.get(["0" * 64]),
        lambda: list(store.list_media(datetime.now(UTC))),
        lambda: store.delete("0" * 64),
        lambda: store.open("0" * 64),
    ):
        with pytest.raises(BackendError) as info:
            call()
        assert info.value.__cause__ is not None


@pytest.mark.s3
def test_s3_from_url(s3_server: str, s3fs_factory: Callable[..., Any]) -> None:
    bucket = new_bucket(s3fs_factory())
    store = FsspecMediaStore.from_url(
        f"s3://{bucket}/media",
        storage_options={
            "endpoint_url": s3_server,
            "key": "socialfeed-test",
            "secret": "socialfeed-test",
            "skip_instance_cache": True,
        },
    )
    m = upload(store, mp4_bytes(3000), None, **LIMITS)
    assert store.get([m.id]) == {m.id: m}
    assert store.fs.exists(f"{bucket}/media/blobs/{m.id[:2]}/{m.id}")
    many = [upload(store, png_bytes(100 + i), None, **LIMITS) for i in range(5)]
    assert set(store.get([x.id for x in many])) == {x.id for x in many}


def test_sweep_uploads_removes_stale_temporary_objects(store: FsspecMediaStore) -> None:
    m = upload(store, png_bytes(30), None, **LIMITS)
    stale = f"{store.root}/tmp/{'f' * 32}"
    store.fs.pipe_file(stale, b"half an upload")
    assert store.sweep_uploads(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert store.sweep_uploads(datetime.now(UTC) + SOON) == 1
    assert not [p for p in everything(store) if p.startswith("tmp/")]
    assert store.get([m.id]) == {m.id: m}


def test_from_filesystem(tmp_path: Path) -> None:
    import fsspec

    mem = FsspecMediaStore.from_filesystem(fsspec.filesystem("memory"))
    m = upload(mem, png_bytes(31), None, **LIMITS)
    assert mem.get([m.id]) == {m.id: m}
    mem.close()
    assert everything(mem) == []
    with pytest.raises(ValidationError, match="bucket/prefix"):
        FsspecMediaStore.from_filesystem(fsspec.filesystem("file"))
    local = FsspecMediaStore.from_filesystem(fsspec.filesystem("file"), str(tmp_path / "m"))
    assert upload(local, png_bytes(31), None, **LIMITS) == m
