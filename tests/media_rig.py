"""Helpers of the media tests: sample files of every supported type, a generator-backed file
object, and a moto S3 server on loopback (pytest fixtures ``s3_server`` and ``s3fs_factory``)."""

from __future__ import annotations

import io
import struct
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, cast

import pytest

from services import require
from socialfeed.testing.data import png_bytes

__all__ = [
    "StreamFile",
    "gif_bytes",
    "jpeg_bytes",
    "mov_bytes",
    "mp4_bytes",
    "mp4_chunks",
    "png_bytes",
    "s3_server",
    "s3fs_factory",
    "webm_bytes",
    "webp_bytes",
]

S3_KEY = "socialfeed-test"


def jpeg_bytes(seed: int = 0) -> bytes:
    """A JPEG framing: SOI, a JFIF APP0 segment, a comment (the seed), EOI."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = str(seed).encode()
    com = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return b"\xff\xd8" + app0 + com + b"\xff\xd9"


def gif_bytes() -> bytes:
    """A 1x1 transparent GIF."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
        b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def webp_bytes(payload: bytes = b"\x2f\x00\x00\x00\x00\x00\x00") -> bytes:
    """A RIFF/WEBP container with one VP8L chunk (padded to even length)."""
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def mp4_chunks(
    payload_size: int, brand: bytes = b"isom", chunk: int = 1 << 20, seed: int = 0
) -> Iterator[bytes]:
    """An ISO BMFF file (ftyp, moov, mdat of ``payload_size`` bytes) generated in chunks."""
    yield struct.pack(">I", 20) + b"ftyp" + brand + b"\x00\x00\x02\x00" + b"isom"
    yield struct.pack(">I", 16) + b"moov" + struct.pack(">Q", seed)
    yield struct.pack(">I", 8 + payload_size) + b"mdat"
    block = bytes(range(256)) * (chunk // 256)
    left = payload_size
    n = 0
    while left > 0:
        part = block if left >= len(block) else block[:left]
        # vary the bytes so the hash covers real content, without building a new block each time
        yield struct.pack(">Q", n) + part[8:] if len(part) > 8 else part
        left -= len(part)
        n += 1


def mp4_bytes(payload_size: int = 64, seed: int = 0) -> bytes:
    """A small MP4."""
    return b"".join(mp4_chunks(payload_size, seed=seed))


def mov_bytes(payload_size: int = 64) -> bytes:
    """A small QuickTime movie (major brand ``qt  ``)."""
    return b"".join(mp4_chunks(payload_size, brand=b"qt  "))


def webm_bytes(payload: bytes = b"\xec\x81\x00", doctype: bytes = b"webm") -> bytes:
    """An EBML header (DocType ``webm``) and a Segment of known size holding ``payload``."""
    children = b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    header = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(children)]) + children
    segment = b"\x18\x53\x80\x67" + b"\x01" + len(payload).to_bytes(7, "big") + payload
    return header + segment


class StreamFile(io.RawIOBase):
    """A read-only binary file object over an iterable of chunks; counts what was read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buf = memoryview(b"")
        self.bytes_read = 0

    @property
    def io(self) -> IO[bytes]:
        """This object, typed as the ``IO[bytes]`` the upload APIs take."""
        return cast(IO[bytes], self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buf:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buf))
        buffer[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self.bytes_read += n
        return n


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server on loopback (in a thread of this process); yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the installation
        require("s3", False, f"moto[server] is not installed ({exc})")
        raise
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
        mp.setenv("AWS_SECRET_ACCESS_KEY", S3_KEY)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3fs_factory(s3_server: str) -> Iterator[Callable[..., Any]]:
    """Builds S3FileSystem clients for the moto server; the server's state is reset after."""
    import s3fs

    def make(**kwargs: Any) -> Any:
        options: dict[str, Any] = {
            "endpoint_url": s3_server,
            "key": S3_KEY,
            "secret": S3_KEY,
            "skip_instance_cache": True,
        }
        options.update(kwargs)
        return s3fs.S3FileSystem(**options)

    yield make
    request = urllib.request.Request(f"{s3_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def new_bucket(fs: Any) -> str:
    """Create a bucket with a unique name; return it."""
    name = f"sf-{uuid.uuid4().hex[:12]}"
    fs.mkdir(name)
    return name
