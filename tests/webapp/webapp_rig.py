"""Helpers of the web example's tests: the app in process (httpx over ASGI, inside its lifespan),
the app served by uvicorn in a thread on a free port, an SSE reader and a real PNG."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from examples.webapp.app import create_app
from fastapi import FastAPI

__all__ = ["Served", "api_client", "png", "read_events"]


def png(width: int = 96, height: int = 64, seed: int = 0) -> bytes:
    """A real RGB PNG (a colour gradient; a different ``seed``, different bytes), built with
    zlib and struct so browsers decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes(((x * 255) // width, (y * 255) // height, (seed * 53) % 256))
            for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@asynccontextmanager
async def api_client(**connect_kwargs: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A fresh app (memory backends unless told otherwise) inside its lifespan, and an httpx
    client that calls it in process."""
    app = create_app(**connect_kwargs)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://webapp.test") as client:
            yield app, client


class Served:
    """A fresh app served by uvicorn in a thread on a free loopback port (a context manager)."""

    def __init__(self, **connect_kwargs: Any) -> None:
        self.app = create_app(**connect_kwargs)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> Served:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(20)
        self._socket.close()


def read_events(lines: Iterator[str], count: int) -> list[tuple[str | None, dict[str, Any]]]:
    """The next ``count`` SSE events that carry data, as ``(id, parsed data)``; comments and
    ``retry:`` fields are skipped."""
    events: list[tuple[str | None, dict[str, Any]]] = []
    event_id: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                events.append((event_id, json.loads("\n".join(data))))
                if len(events) == count:
                    return events
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    raise AssertionError(f"the stream ended after {len(events)} of {count} events")
