"""Type sniffing, declared-type parsing and truncation checks (socialfeed.sniff)."""

from __future__ import annotations

import pytest

from media_rig import (
    gif_bytes,
    jpeg_bytes,
    mov_bytes,
    mp4_bytes,
    png_bytes,
    webm_bytes,
    webp_bytes,
)
from socialfeed.errors import ValidationError
from socialfeed.sniff import (
    HEAD_BYTES,
    check_declared,
    checker_for,
    parse_declared,
    sniff,
)

pytestmark = pytest.mark.memory

SAMPLES = {
    "image/jpeg": jpeg_bytes(),
    "image/png": png_bytes(1),
    "image/gif": gif_bytes(),
    "image/webp": webp_bytes(),
    "video/mp4": mp4_bytes(),
    "video/quicktime": mov_bytes(),
    "video/webm": webm_bytes(),
    "video/x-matroska": webm_bytes(doctype=b"matroska"),
}


def check(data: bytes, chunk: int = 7) -> str:
    """Sniff and run the checker over ``data`` fed in small chunks; return the type."""
    kind = sniff(data[:HEAD_BYTES])
    assert kind is not None
    checker = checker_for(kind, data[:HEAD_BYTES])
    for i in range(0, len(data), chunk):
        checker.feed(data[i : i + chunk])
    checker.finish(len(data))
    return kind


@pytest.mark.parametrize("expected", sorted(SAMPLES))
def test_every_supported_type_is_sniffed_and_complete(expected: str) -> None:
    assert check(SAMPLES[expected]) == expected
    assert check(SAMPLES[expected], chunk=1 << 20) == expected


@pytest.mark.parametrize("expected", sorted(SAMPLES))
def test_truncated_files_are_rejected(expected: str) -> None:
    data = SAMPLES[expected]
    for cut in sorted({1, 2, 8, len(data) // 2, len(data) - 1}):
        short = data[:cut]
        kind = sniff(short)
        if kind is None:
            continue  # too short to even be recognised: rejected as an unknown type
        checker = checker_for(kind, short)
        checker.feed(short)
        with pytest.raises(ValidationError, match="truncated or malformed") as info:
            checker.finish(len(short))
        assert info.value.field == "data"


@pytest.mark.parametrize(
    "data",
    [
        b"just some text",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"%PDF-1.7\n",
        b"\x00" * 64,
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
        b"\x00\x00\x00\x14ftypavif\x00\x00\x00\x00avif",  # AVIF image: unsupported
        b"\x00\x00\x00\x14ftypM4A \x00\x00\x00\x00M4A ",  # audio
        webm_bytes(doctype=b"other"),
    ],
)
def test_unknown_types(data: bytes) -> None:
    assert sniff(data) is None


def test_signature_only_and_soi_only() -> None:
    for data in (
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8",
        b"\xff\xd8\xff",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBP",
    ):
        kind = sniff(data)
        assert kind is not None
        checker = checker_for(kind, data)
        checker.feed(data)
        with pytest.raises(ValidationError):
            checker.finish(len(data))


def test_mp4_structure_errors() -> None:
    good = mp4_bytes(100)
    # trailing garbage is not a box
    kind = check(good)
    assert kind == "video/mp4"
    bad = good + b"\x01\x02\x03\x04\xff\xfe\xfd\xfc"
    checker = checker_for("video/mp4", bad)
    checker.feed(bad)
    with pytest.raises(ValidationError, match="invalid type"):
        checker.finish(len(bad))
    # no moov box
    no_moov = good.replace(b"moov", b"free")
    checker = checker_for("video/mp4", no_moov)
    checker.feed(no_moov)
    with pytest.raises(ValidationError, match="moov"):
        checker.finish(len(no_moov))
    # a box size smaller than its header
    tiny = good[:20] + b"\x00\x00\x00\x04moov"
    checker = checker_for("video/mp4", tiny)
    checker.feed(tiny)
    with pytest.raises(ValidationError, match="invalid size"):
        checker.finish(len(tiny))


def test_mp4_large_size_box_and_open_ended_box() -> None:
    ftyp = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom"
    moov = b"\x00\x00\x00\x08moov"
    large = b"\x00\x00\x00\x01mdat" + (16 + 5).to_bytes(8, "big") + b"12345"
    assert check(ftyp + moov + large, chunk=3) == "video/mp4"
    open_ended = b"\x00\x00\x00\x00mdat" + b"x" * 50
    assert check(ftyp + moov + open_ended) == "video/mp4"


def test_webp_size_must_match() -> None:
    data = webp_bytes()
    longer = data + b"junk"
    checker = checker_for("image/webp", longer)
    checker.feed(longer)
    with pytest.raises(ValidationError, match="after the RIFF data"):
        checker.finish(len(longer))


@pytest.mark.parametrize(
    ("declared", "essence"),
    [
        (None, None),
        ("image/png", "image/png"),
        (" IMAGE/PNG ", "image/png"),
        ("image/jpg", "image/jpeg"),
        ('video/mp4; codecs="avc1.42E01E, mp4a.40.2"', "video/mp4"),
        ("image/png; charset=binary", "image/png"),
        ("application/octet-stream", None),
    ],
)
def test_declared_types_parse(declared: str | None, essence: str | None) -> None:
    assert parse_declared(declared) == essence


@pytest.mark.parametrize(
    "declared",
    [
        "../../etc/passwd",
        "image/png; x=../",
        "image/png;",
        "image/png/../../x",
        "",
        "png",
        "image/png\r\nX-Evil: 1",
        "image/png\x00",
        "image/" + "a" * 300,
        "../image/png",
        'image/png; a="unterminated',
    ],
)
def test_weird_declared_types_are_rejected(declared: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_declared(declared)
    assert info.value.field == "content_type"


def test_non_string_declared_type() -> None:
    with pytest.raises(ValidationError, match="content_type"):
        parse_declared(b"image/png")


def test_declared_type_must_agree() -> None:
    check_declared(None, "image/png")
    check_declared("image/png", "image/png")
    check_declared("video/mp4", "video/quicktime")  # one container, two names
    with pytest.raises(ValidationError, match="declared 'image/jpeg' but the data is 'image/png'"):
        check_declared("image/jpeg", "image/png")
    with pytest.raises(ValidationError):
        check_declared("text/plain", "image/png")
