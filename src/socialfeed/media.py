"""The media policy: what an upload must be, how it is streamed into a byte-only
:class:`~socialfeed.interfaces.MediaStore`, where viewers fetch it, and what garbage collection
may delete.

:func:`upload` reads the data in chunks of :data:`CHUNK_BYTES` (a 300 MB video never sits in
memory), sniffs the type from the first bytes (:mod:`socialfeed.sniff`; a declared type must
agree), enforces the per-type size limit while reading, checks that the file is complete, hashes
it (the media id is the hex sha256 of the bytes) and streams it into the store's writer, which
commits it under that id. Any failure aborts the writer: a rejected upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import IO, TYPE_CHECKING

from socialfeed.abilities import complete_media
from socialfeed.errors import NotFound, ValidationError, show
from socialfeed.interfaces import Backends, CompleteStore, MediaStore
from socialfeed.models import Media
from socialfeed.settings import Settings
from socialfeed.sniff import (
    HEAD_BYTES,
    IMAGE_TYPES,
    check_declared,
    checker_for,
    parse_declared,
    sniff,
)
from socialfeed.validation import is_media_id

__all__ = ["CHUNK_BYTES", "GC_CLAIM", "MediaCalls", "collect_garbage", "media_url", "upload"]

CHUNK_BYTES = 1024 * 1024
"""How much of an upload is read (and held in memory) at a time."""

_GC_BATCH = 500


class _Reader:
    """Reads an upload (bytes-like or a binary file object) in chunks, never past what is asked."""

    def __init__(self, data: object) -> None:
        if isinstance(data, (bytes, bytearray, memoryview)):
            view = memoryview(data)
            if not view.c_contiguous:  # e.g. a strided slice: copy it into one run of bytes
                view = memoryview(view.tobytes())
            self._view: memoryview | None = view.cast("B")
            self._read: Callable[[int], object] | None = None
        elif callable(getattr(data, "read", None)):
            self._view = None
            self._read = data.read  # type: ignore[attr-defined]
        else:
            raise ValidationError("data", "must be bytes or a binary file object")
        self._pos = 0

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end."""
        if n <= 0:
            return b""
        if self._view is not None:
            part = bytes(self._view[self._pos : self._pos + n])
            self._pos += len(part)
            return part
        assert self._read is not None
        got = self._read(n)
        chunk = bytes(got) if isinstance(got, (bytearray, memoryview)) else got
        if not isinstance(chunk, bytes):
            raise ValidationError(
                "data",
                f"the file object returned {type(chunk).__name__}, not bytes; "
                "open it in binary mode",
            )
        self._pos += len(chunk)
        return chunk

    def read_full(self, n: int) -> bytes:
        """Exactly ``n`` bytes unless the data ends first (file objects may return short reads)."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = self.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)


def upload(
    store: MediaStore,
    data: bytes | bytearray | memoryview | IO[bytes],
    content_type: str | None,
    *,
    max_image_bytes: int,
    max_video_bytes: int,
) -> Media:
    """Check ``data`` and stream it into ``store`` under its content id (see the module docs).

    :class:`~socialfeed.errors.ValidationError` (with nothing stored) for empty data, an
    unsupported type, a declared type that disagrees with the bytes, a truncated file, or a size
    over ``max_image_bytes`` / ``max_video_bytes``.
    """
    declared = parse_declared(content_type)
    reader = _Reader(data)
    head = reader.read_full(HEAD_BYTES)
    if not head:
        raise ValidationError("data", "is empty")
    sniffed = sniff(head)
    if sniffed is None:
        raise ValidationError(
            "data",
            "is not a supported media type (JPEG, PNG, GIF, WebP, MP4, QuickTime, WebM, Matroska)",
        )
    check_declared(declared, sniffed)
    if sniffed in IMAGE_TYPES:
        limit, limit_name = max_image_bytes, "max_image_bytes"
    else:
        limit, limit_name = max_video_bytes, "max_video_bytes"
    too_big = ValidationError(
        "data", f"{sniffed} is larger than the limit {limit_name}={limit} bytes"
    )
    if len(head) > limit:
        raise too_big
    checker = checker_for(sniffed, head)
    digest = hashlib.sha256()
    writer = store.open_writer()
    try:
        total = 0
        chunk = head
        while chunk:
            total += len(chunk)
            if total > limit:
                raise too_big
            digest.update(chunk)
            checker.feed(chunk)
            writer.write(chunk)
            chunk = reader.read(min(CHUNK_BYTES, limit - total + 1))
        checker.finish(total)
        media = Media(digest.hexdigest(), sniffed, total)
        writer.commit(media)
        return media
    except BaseException:
        writer.abort()
        raise


def media_url(
    store: MediaStore, cdn_base_urls: Mapping[str | None, str], media_id: str, region: str | None
) -> str:
    """The URL viewers in ``region`` fetch ``media_id`` from: the region's CDN (else the default
    CDN, key ``None``), else the media store's own URL. A CDN URL is built without I/O (the id
    is only checked for its form); the store's own URL is :class:`NotFound` for an unknown id."""
    if region is not None and not isinstance(region, str):
        raise ValidationError("region", f"must be a region name (str) or None, got {show(region)}")
    base = cdn_base_urls.get(region) if region in cdn_base_urls else cdn_base_urls.get(None)
    if not is_media_id(media_id) or (base is None and not store.get([media_id])):
        raise NotFound(f"media {show(media_id)} does not exist")
    if base is not None:
        return f"{base.rstrip('/')}/{media_id}"
    return store.url(media_id)


GC_CLAIM = 600.0
"""Seconds a media claimed for deletion is refused to new posts (far longer than a delete)."""


def collect_garbage(store: MediaStore, tweets: CompleteStore, older_than: datetime) -> list[str]:
    """Delete media stored before ``older_than`` that no live tweet references; return their
    ids. Then let the store sweep what uploads that died half way left behind.

    Each batch is first *claimed* in the tweet store (:meth:`claim_unused_media`), which a post
    attaching one of those media meets under the same lock: the post is refused, or the claim
    skips the media. So no live tweet ever points at deleted bytes.
    """
    removed: list[str] = []
    batch: list[str] = []

    def sweep() -> None:
        claimed = tweets.claim_unused_media(batch, GC_CLAIM)
        for media_id in claimed:
            store.delete(media_id)
            removed.append(media_id)
        tweets.release_media_claims(claimed)
        batch.clear()

    for media_id in store.list_media(older_than):
        batch.append(media_id)
        if len(batch) >= _GC_BATCH:
            sweep()
    sweep()
    complete_media(store).sweep_uploads(older_than)
    return removed


class MediaCalls:
    """The media calls of the facade (a base of ``SocialFeed``)."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by SocialFeed
        media_store: MediaStore
        settings: Settings

        @property
        def backends(self) -> Backends: ...  # noqa: D102

    def upload_media(
        self, data: bytes | bytearray | memoryview | IO[bytes], content_type: str | None = None
    ) -> Media:
        """Store an image or video (``bytes`` or a binary file object, read in chunks)."""
        return upload(
            self.media_store,
            data,
            content_type,
            max_image_bytes=self.settings.max_image_bytes,
            max_video_bytes=self.settings.max_video_bytes,
        )

    def media_url(self, media: Media | str, region: str | None = None) -> str:
        """The URL viewers in ``region`` fetch the media from: the region's CDN (else the default
        CDN, key ``None``), else the media store's own URL."""
        media_id = media.id if isinstance(media, Media) else media
        return media_url(self.media_store, self.settings.cdn_base_urls, media_id, region)

    def get_media(self, media_id: str) -> Media:
        """The uploaded media ``media_id`` (its content type and size); ``NotFound`` if none."""
        found = self.media_store.get([media_id]) if is_media_id(media_id) else {}
        if media_id not in found:
            raise NotFound(f"media {show(media_id)} does not exist")
        return found[media_id]

    def open_media(self, media_id: str) -> IO[bytes]:
        """Stream a media's bytes (what a CDN origin serves)."""
        self.get_media(media_id)
        return self.media_store.open(media_id)

    def collect_garbage(self, older_than: datetime) -> list[str]:
        """Delete media stored before ``older_than`` that no live tweet references; return their
        ids. Media younger than that are kept, so an upload about to be posted is safe."""
        return collect_garbage(self.media_store, self.backends.truth.store, older_than)
