"""Media type sniffing and structure checks for uploads.

The store never trusts a declared ``Content-Type``: :func:`sniff` reads the first bytes, and a
:class:`Checker` fed every byte of the upload checks that the file is complete (a truncated
upload is rejected). Supported types: JPEG, PNG, GIF, WebP (images); MP4, QuickTime, WebM and
Matroska (videos).
"""

from __future__ import annotations

import re

from socialfeed.errors import ValidationError, show

__all__ = [
    "HEAD_BYTES",
    "IMAGE_TYPES",
    "SUPPORTED_TYPES",
    "VIDEO_TYPES",
    "Checker",
    "check_declared",
    "checker_for",
    "parse_declared",
    "sniff",
]

HEAD_BYTES = 4096
"""How many leading bytes :func:`sniff` and :func:`checker_for` look at."""

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
"""Image types; their size limit is ``Settings.max_image_bytes``."""

VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska"})
"""Video types; their size limit is ``Settings.max_video_bytes``."""

SUPPORTED_TYPES = IMAGE_TYPES | VIDEO_TYPES
"""Every type an upload may have."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_TRAILING_SLACK = 1024  # bytes tolerated after an image's end marker (padding, vendor trailers)

# ISO base media file format major brands accepted as video; "qt  " is QuickTime.
_MP4_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
        b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"cmfc",
        b"cmf2", b"msdh", b"msix", b"mmp4", b"MSNV", b"NDSC", b"NDSH", b"NDSM", b"NDSP",
        b"NDSS", b"NDXC", b"NDXH", b"NDXM", b"NDXP", b"NDXS", b"f4v ", b"XAVC",
    }
)  # fmt: skip
_QT_FIRST_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})

# Aliases clients send for the canonical types.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "video/x-m4v": "video/mp4",
    "video/x-quicktime": "video/quicktime",
    "video/mkv": "video/x-matroska",
}
# Declared types that mean "unknown": the sniffed type is used.
_UNSPECIFIED = frozenset({"application/octet-stream", "binary/octet-stream"})
# One container format under two names: a declared type in a group accepts any type of it.
_GROUPS = (frozenset({"video/mp4", "video/quicktime"}),)

_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}"
)
_PARAM = re.compile(
    rf"[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"(?:[^\"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*\")"
)
_MAX_DECLARED = 255


def parse_declared(content_type: object) -> str | None:
    """The essence (``type/subtype``, lower case, aliases resolved) of a declared content type;
    ``None`` when nothing useful was declared. Parameters (``; codecs=...``) are checked for
    syntax and ignored. A malformed value is a :class:`ValidationError` on ``content_type``."""
    if content_type is None:
        return None
    if not isinstance(content_type, str):
        raise ValidationError("content_type", "must be a string such as 'image/png' or None")
    if len(content_type) > _MAX_DECLARED:
        raise ValidationError("content_type", f"is longer than {_MAX_DECLARED} characters")
    text = content_type.strip(" \t")
    essence = _MEDIA_TYPE.match(text)
    rest = text[essence.end() :] if essence else ""
    while essence and rest:
        param = _PARAM.match(rest)
        if param is None:
            break
        rest = rest[param.end() :]
    if essence is None or rest.strip(" \t"):
        raise ValidationError(
            "content_type", f"{show(content_type)} is not a media type such as 'image/png'"
        )
    value = essence.group().lower()
    value = _ALIASES.get(value, value)
    return None if value in _UNSPECIFIED else value


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes (up to :data:`HEAD_BYTES`), or ``None``."""
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith(_PNG_SIGNATURE):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4" if brand in _MP4_BRANDS else None
    if head[4:8] in _QT_FIRST_ATOMS and len(head) >= 8:
        return "video/quicktime"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        doctype = _ebml_doctype(head)
        return {"webm": "video/webm", "matroska": "video/x-matroska"}.get(doctype or "")
    return None


def check_declared(declared: str | None, sniffed: str) -> None:
    """Raise :class:`ValidationError` when a declared essence disagrees with the sniffed type."""
    if declared is None or declared == sniffed:
        return
    if any(declared in group and sniffed in group for group in _GROUPS):
        return
    raise ValidationError("content_type", f"declared {show(declared)} but the data is {sniffed!r}")


class Checker:
    """Fed every byte of an upload in order; :meth:`finish` says whether the file is complete.

    The base class accepts anything; subclasses check one format's framing.
    """

    kind = "file"

    def feed(self, chunk: bytes) -> None:
        """Look at the next bytes."""

    def problem(self, total: int) -> str | None:
        """Why the file (``total`` bytes) is truncated or malformed, or ``None`` if it is fine."""
        return None

    def finish(self, total: int) -> None:
        """Raise :class:`ValidationError` (field ``data``) if the file is not complete."""
        why = self.problem(total)
        if why is not None:
            raise ValidationError("data", f"truncated or malformed {self.kind}: {why}")


class _Tail(Checker):
    """Keeps the last bytes of the file."""

    keep = _TRAILING_SLACK + 16

    def __init__(self) -> None:
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        if len(chunk) >= self.keep:
            self.tail = bytes(chunk[-self.keep :])
        else:
            self.tail = (self.tail + chunk)[-self.keep :]


class _Jpeg(_Tail):
    kind = "JPEG"

    def __init__(self, head: bytes) -> None:
        super().__init__()
        self.head_ok = head.startswith(b"\xff\xd8\xff")

    def problem(self, total: int) -> str | None:
        if not self.head_ok:
            return "no marker after start-of-image"
        if b"\xff\xd9" not in self.tail[-(_TRAILING_SLACK + 2) :] or total < 4:
            return "no end-of-image marker"
        return None


class _Png(_Tail):
    kind = "PNG"

    def __init__(self, head: bytes) -> None:
        super().__init__()
        self.head_ok = head[12:16] == b"IHDR" and head[8:12] == b"\x00\x00\x00\x0d"

    def problem(self, total: int) -> str | None:
        if not self.head_ok:
            return "no IHDR chunk after the signature"
        if _PNG_END not in self.tail[-(_TRAILING_SLACK + len(_PNG_END)) :] or total < 57:
            return "no IEND chunk"
        return None


class _Gif(_Tail):
    kind = "GIF"

    def problem(self, total: int) -> str | None:
        if total < 14 or not self.tail.rstrip(b"\x00").endswith(b";"):
            return "no trailer byte"
        return None


class _Webp(Checker):
    kind = "WebP"

    def __init__(self, head: bytes) -> None:
        self.riff_size = int.from_bytes(head[4:8], "little") if len(head) >= 8 else -1
        self.chunk_ok = head[12:15] == b"VP8"

    def problem(self, total: int) -> str | None:
        if not self.chunk_ok:
            return "no VP8 chunk"
        expected = self.riff_size + 8
        if total < expected:
            return f"the RIFF header announces {expected} bytes, got {total}"
        if total > expected + (self.riff_size & 1):
            return f"{total - expected} bytes after the RIFF data"
        return None


class _IsoBoxes(Checker):
    """Walks the top-level boxes of an ISO base media file (MP4, MOV): their sizes must add up to
    the file size, and a ``moov`` box must be present."""

    max_boxes = 1_000_000

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.skip = 0  # bytes left in the current box
        self.header = bytearray()
        self.types: set[bytes] = set()
        self.boxes = 0
        self.open_ended = False  # a box of size 0 runs to the end of the file
        self.error: str | None = None

    def feed(self, chunk: bytes) -> None:
        i, n = 0, len(chunk)
        while i < n and not self.open_ended and self.error is None:
            if self.skip:
                step = min(self.skip, n - i)
                self.skip -= step
                i += step
                continue
            large = len(self.header) >= 4 and self.header[:4] == b"\x00\x00\x00\x01"
            need = 16 if large else 8
            take = min(need - len(self.header), n - i)
            self.header += chunk[i : i + take]
            i += take
            if len(self.header) < need or (not large and self.header[:4] == b"\x00\x00\x00\x01"):
                continue
            self._box()

    def _box(self) -> None:
        size = int.from_bytes(self.header[:4], "big")
        box_type = bytes(self.header[4:8])
        length = 8
        if size == 1:
            size, length = int.from_bytes(self.header[8:16], "big"), 16
        self.header.clear()
        self.boxes += 1
        if not all(32 <= b < 127 or b == 0xA9 for b in box_type):
            self.error = f"box {self.boxes} has an invalid type {box_type!r}"
        elif self.boxes > self.max_boxes:
            self.error = f"more than {self.max_boxes} top-level boxes"
        elif size == 0:
            self.types.add(box_type)
            self.open_ended = True
        elif size < length:
            self.error = f"box {box_type.decode('latin-1')!r} has an invalid size {size}"
        else:
            self.types.add(box_type)
            self.skip = size - length

    def problem(self, total: int) -> str | None:
        if self.error is not None:
            return self.error
        if self.skip or self.header:
            return "the last box is cut short"
        if b"moov" not in self.types and not self.open_ended:
            return "no 'moov' box"
        return None


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``pos``: (value, next position), value -1 if unknown."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    if not keep_marker and value == (1 << (7 * length)) - 1:
        value = -1
    return value, pos + length


def _ebml_header(head: bytes) -> tuple[str | None, int] | None:
    """(DocType, end of the EBML header element) or ``None`` if it does not parse."""
    ident = _vint(head, 0, keep_marker=True)
    if ident is None or ident[0] != 0x1A45DFA3:
        return None
    size = _vint(head, ident[1], keep_marker=False)
    if size is None or size[0] < 0:
        return None
    pos, end = size[1], size[1] + size[0]
    doctype: str | None = None
    while pos < min(end, len(head)):
        child = _vint(head, pos, keep_marker=True)
        length = _vint(head, child[1], keep_marker=False) if child else None
        if child is None or length is None or length[0] < 0:
            return None
        if child[0] == 0x4282:
            doctype = head[length[1] : length[1] + length[0]].rstrip(b"\x00").decode("latin-1")
        pos = length[1] + length[0]
    return doctype, end


def _ebml_doctype(head: bytes) -> str | None:
    parsed = _ebml_header(head)
    return parsed[0] if parsed else None


class _Ebml(Checker):
    """WebM/Matroska: the EBML header must be followed by a Segment whose announced size (when
    known) fits the file."""

    def __init__(self, kind: str, head: bytes) -> None:
        self.kind = kind
        self.segment_end: int | None = None
        self.error: str | None = None
        parsed = _ebml_header(head)
        if parsed is None:
            self.error = "the EBML header does not parse"
            return
        segment = _vint(head, parsed[1], keep_marker=True)
        size = _vint(head, segment[1], keep_marker=False) if segment else None
        if segment is None or size is None:
            self.error = "no Segment after the EBML header"
        elif segment[0] != 0x18538067:
            self.error = "the element after the EBML header is not a Segment"
        elif size[0] >= 0:
            self.segment_end = size[1] + size[0]
        elif size[1] >= len(head):
            self.error = "the Segment is empty"

    def problem(self, total: int) -> str | None:
        if self.error is not None:
            return self.error
        if self.segment_end is not None and total < self.segment_end:
            return f"the Segment announces {self.segment_end} bytes, got {total}"
        return None


def checker_for(content_type: str, head: bytes) -> Checker:
    """A :class:`Checker` for a sniffed type, given the file's first bytes."""
    if content_type == "image/jpeg":
        return _Jpeg(head)
    if content_type == "image/png":
        return _Png(head)
    if content_type == "image/gif":
        return _Gif()
    if content_type == "image/webp":
        return _Webp(head)
    if content_type == "video/mp4":
        return _IsoBoxes("MP4")
    if content_type == "video/quicktime":
        return _IsoBoxes("QuickTime")
    if content_type == "video/webm":
        return _Ebml("WebM", head)
    if content_type == "video/x-matroska":
        return _Ebml("Matroska", head)
    return Checker()
