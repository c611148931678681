"""A 300 MB video streams through upload_media with a small, bounded memory peak."""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from pathlib import Path

import pytest

import socialfeed
from media_rig import StreamFile, mp4_chunks
from socialfeed.settings import MiB

SIZE = 300 * MiB


@pytest.mark.slow
def test_300_mb_upload_streams_in_bounded_memory(tmp_path: Path) -> None:
    expected = hashlib.sha256()
    for chunk in mp4_chunks(SIZE):
        expected.update(chunk)
    total = SIZE + 20 + 16 + 8

    with socialfeed.connect(media=f"file://{tmp_path}/media") as sf:
        source = StreamFile(mp4_chunks(SIZE))
        started = time.monotonic()
        tracemalloc.start()
        try:
            media = sf.upload_media(source.io, "video/mp4")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.monotonic() - started

        assert media.size == total == source.bytes_read
        assert media.id == expected.hexdigest()
        assert media.content_type == "video/mp4"
        assert peak < 50 * MiB, f"peak {peak / MiB:.1f} MiB"
        assert elapsed < 20, f"took {elapsed:.1f} s"

        back = hashlib.sha256()
        with sf.open_media(media.id) as f:
            while chunk := f.read(4 * MiB):
                back.update(chunk)
        assert back.hexdigest() == media.id
        print(f"300 MB upload: {elapsed:.2f} s, tracemalloc peak {peak / MiB:.2f} MiB")
