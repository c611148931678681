"""Media through the facade: upload, attach, read back, media_url per region, garbage collection."""

from __future__ import annotations

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
    mp4_bytes,
    new_bucket,
    png_bytes,
    s3_server,
    s3fs_factory,
    webm_bytes,
)
from socialfeed.backends.fsspec import FsspecMediaStore
from socialfeed.errors import NotFound, ValidationError

__all__ = ["s3_server", "s3fs_factory"]  # fixtures used here


@pytest.fixture(params=["memory", "file", pytest.param("s3", marks=pytest.mark.s3)])
def media(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """What to pass as ``connect(media=...)``: a URL, or a ready store for S3."""
    if request.param == "memory":
        return "memory://"
    if request.param == "file":
        return f"file://{tmp_path}/media"
    fs = request.getfixturevalue("s3fs_factory")()
    return FsspecMediaStore(fs, f"{new_bucket(fs)}/media")


@pytest.fixture
def open_feed(media: Any) -> Iterator[Callable[..., socialfeed.SocialFeed]]:
    opened: list[socialfeed.SocialFeed] = []

    def make(**settings: Any) -> socialfeed.SocialFeed:
        sf = socialfeed.connect(media=media, settings=socialfeed.Settings(**settings))
        opened.append(sf)
        return sf

    yield make
    for sf in opened:
        sf.close()


def test_media_come_back_in_order_everywhere(
    open_feed: Callable[..., socialfeed.SocialFeed],
) -> None:
    sf = open_feed()
    a = sf.upload_media(png_bytes(1))
    b = sf.upload_media(jpeg_bytes(2), "image/jpeg")
    c = sf.upload_media(StreamFile([mp4_bytes(4000)]).io, "video/mp4")
    d = sf.upload_media(webm_bytes())
    sf.follow(1, 2)
    t = sf.create_tweet(2, "four", media=[c, a.id, d, b.id])
    assert t.media == (c, a, d, b)
    sf.drain()
    assert sf.get_tweet(t.id).media == (c, a, d, b)
    assert sf.get_feed(1).items[0].media == (c, a, d, b)
    assert sf.get_feed(2).items[0].media == (c, a, d, b)
    assert sf.user_timeline(2).items[0].media == (c, a, d, b)
    with sf.open_media(c.id) as f:
        assert f.read() == mp4_bytes(4000)


def test_unknown_media_ids_are_rejected(open_feed: Callable[..., socialfeed.SocialFeed]) -> None:
    sf = open_feed()
    real = sf.upload_media(gif_bytes())
    ghost = socialfeed.Media("0" * 64, "image/png", 10)
    for media in (["0" * 64], [real.id, "../../etc/passwd"], [ghost], ["nope"]):
        with pytest.raises(ValidationError, match="unknown media id") as info:
            sf.create_tweet(1, "x", media=media)
        assert info.value.field == "media"
    assert sf.user_timeline(1).items == ()
    with pytest.raises(NotFound):
        sf.open_media("0" * 64)
    with pytest.raises(NotFound):
        sf.media_url("../../etc/passwd")


def test_upload_limits_come_from_settings(open_feed: Callable[..., socialfeed.SocialFeed]) -> None:
    sf = open_feed(max_image_bytes=60, max_video_bytes=500)
    with pytest.raises(ValidationError, match="max_image_bytes=60"):
        sf.upload_media(png_bytes(3, width=3000))
    with pytest.raises(ValidationError, match="max_video_bytes=500"):
        sf.upload_media(mp4_bytes(1000))
    assert sf.upload_media(mp4_bytes(100)).content_type == "video/mp4"
    assert list(sf.media_store.list_media(datetime.now(UTC) + timedelta(minutes=1))) == [
        sf.upload_media(mp4_bytes(100)).id
    ]


def test_media_url_per_region(open_feed: Callable[..., socialfeed.SocialFeed]) -> None:
    cdn = {None: "https://cdn.example.com/m/", "eu": "https://eu.cdn.example.com"}
    sf = open_feed(cdn_base_urls=cdn)
    m = sf.upload_media(png_bytes(4))
    assert sf.media_url(m, "eu") == f"https://eu.cdn.example.com/{m.id}"
    assert sf.media_url(m.id, "us") == f"https://cdn.example.com/m/{m.id}"
    assert sf.media_url(m) == f"https://cdn.example.com/m/{m.id}"

    regional_only = open_feed(cdn_base_urls={"eu": "https://eu.cdn.example.com"})
    m2 = regional_only.upload_media(png_bytes(5))
    assert regional_only.media_url(m2, "eu") == f"https://eu.cdn.example.com/{m2.id}"
    assert regional_only.media_url(m2, "us") == regional_only.media_store.url(m2.id)

    no_cdn = open_feed()
    m3 = no_cdn.upload_media(png_bytes(6))
    own = no_cdn.media_url(m3, "eu")
    assert own == no_cdn.media_url(m3) == no_cdn.media_store.url(m3.id)
    assert own.startswith(("memory://", "file://", "http://127.0.0.1:"))


def test_garbage_collection_keeps_referenced_media(
    open_feed: Callable[..., socialfeed.SocialFeed],
) -> None:
    sf = open_feed()
    kept, shared, orphan, freed = (sf.upload_media(png_bytes(10 + i)) for i in range(4))
    t1 = sf.create_tweet(1, "keep", media=[kept, shared])
    t2 = sf.create_tweet(2, "delete me", media=[shared, freed])
    sf.delete_tweet(t2.id, user_id=2)
    # an upload younger than the cut-off is kept even though no tweet uses it yet
    assert sf.collect_garbage(datetime.now(UTC) - timedelta(hours=1)) == []
    removed = sf.collect_garbage(datetime.now(UTC) + timedelta(seconds=1))
    assert sorted(removed) == sorted([orphan.id, freed.id])
    left = sf.media_store.get([kept.id, shared.id, orphan.id, freed.id])
    assert set(left) == {kept.id, shared.id}
    assert sf.get_tweet(t1.id).media == (kept, shared)
    with sf.open_media(shared.id) as f:
        assert f.read() == png_bytes(11)
    with pytest.raises(NotFound):
        sf.open_media(orphan.id)
    assert sf.collect_garbage(datetime.now(UTC) + timedelta(seconds=1)) == []
    # an id that was collected can be uploaded again
    assert sf.upload_media(png_bytes(12)) == orphan


@pytest.mark.memory
def test_connect_defaults_to_a_private_memory_store() -> None:
    with socialfeed.connect() as sf:
        store = sf.media_store
        assert isinstance(store, FsspecMediaStore)
        m = sf.upload_media(png_bytes(20))
        assert sf.media_url(m).startswith(f"memory://{store.root}/")
    assert store.get([m.id]) == {}  # close() freed it


class _UnreachableMedia(FsspecMediaStore):
    """A real media store that fails every read once ``down`` is set (the store is away)."""

    down = False

    def get(self, media_ids: Any) -> Any:
        if self.down:
            raise AssertionError("media_url with a CDN read the media store")
        return super().get(media_ids)

    def url(self, media_id: str) -> str:
        if self.down:
            raise AssertionError("media_url with a CDN asked the media store")
        return super().url(media_id)


def test_media_url_with_a_cdn_does_no_io(tmp_path: Path) -> None:
    store = _UnreachableMedia.from_url(f"file://{tmp_path}/media")
    assert isinstance(store, _UnreachableMedia)
    with socialfeed.connect(
        media=store, settings=socialfeed.Settings(cdn_base_urls={None: "https://cdn.example/m"})
    ) as sf:
        m = sf.upload_media(png_bytes(7))
        store.down = True
        assert sf.media_url(m) == sf.media_url(m.id) == f"https://cdn.example/m/{m.id}"
        with pytest.raises(NotFound):
            sf.media_url("not a media id")


def test_get_media(open_feed: Callable[..., socialfeed.SocialFeed]) -> None:
    sf = open_feed()
    m = sf.upload_media(png_bytes(8))
    assert sf.get_media(m.id) == m
    assert m.to_dict() == {"id": m.id, "content_type": "image/png", "size": m.size}
    for unknown in ("0" * 64, "../etc/passwd", ""):
        with pytest.raises(NotFound):
            sf.get_media(unknown)
