"""Test and benchmark data (the workloads of docs/performance.md): the "zipf-10k" follow graph,
tweet text and small valid images."""

from __future__ import annotations

import bisect
import itertools
import random
import struct
import zlib

__all__ = ["TEXT", "png_bytes", "zipf_graph"]

TEXT = "x" * 200
"""Tweet text of the benchmarks: 200 ASCII bytes."""


def zipf_graph(users: int = 10_000, follows: int = 100, seed: int = 42) -> list[tuple[int, int]]:
    """(follower, followee) edges: users 1..``users`` ranked by a seeded shuffle, the user at rank
    r drawn with weight 1/(r+1); each user follows ``follows`` distinct others."""
    rng = random.Random(seed)
    ranked = list(range(1, users + 1))
    rng.shuffle(ranked)
    cumulative = list(itertools.accumulate(1 / (r + 1) for r in range(users)))
    total = cumulative[-1]
    edges: list[tuple[int, int]] = []
    want = min(follows, users - 1)
    for u in range(1, users + 1):
        chosen: set[int] = set()
        while len(chosen) < want:
            v = ranked[bisect.bisect_left(cumulative, rng.random() * total)]
            if v != u:
                chosen.add(v)
        edges.extend((u, v) for v in sorted(chosen))
    return edges


def png_bytes(seed: int = 0, width: int = 1) -> bytes:
    """A small valid PNG image, ``width`` x 1 pixels (a different ``seed``, different bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes([seed % 256, (seed >> 8) % 256, 0]) * width)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
