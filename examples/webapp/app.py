"""A FastAPI app over :mod:`socialfeed.aio`: a JSON API, a live SSE stream and one HTML page.

Run it with ``uvicorn examples.webapp.app:app`` (see docs/webapp.md). The backends come from the
``SOCIALFEED_*`` environment variables, exactly as for :func:`socialfeed.connect`; or build an
app of your own with :func:`create_app`, which takes the arguments of ``connect``.

Every id is a decimal **string** in the JSON it returns (JavaScript numbers lose 64-bit ids); ids
it is given, in paths or bodies, may be strings or integers. socialfeed's errors map one to one
onto statuses: ``ValidationError`` 400 (naming the field), ``NotFound`` 404, ``PermissionDenied``
403, ``BackendError`` 503.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import IO, Any

import attrs
from fastapi import FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

import socialfeed
import socialfeed.aio
from socialfeed.aio import AsyncSocialFeed
from socialfeed.errors import BackendError, NotFound, PermissionDenied, ValidationError, show
from socialfeed.models import FeedPage, Media, Tweet

__all__ = ["KEEPALIVE_SECONDS", "MEDIA_PATH", "app", "create_app"]

MEDIA_PATH = "/media"
"""Where the app serves media; the default CDN base, so ``media_url`` points back at the app."""
KEEPALIVE_SECONDS = 15.0
"""An idle event stream sends a comment this often, so proxies keep the connection open."""
PAGE = Path(__file__).with_name("static") / "index.html"
_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 1024 * 1024
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (ValidationError, 400),
    (PermissionDenied, 403),
    (NotFound, 404),
    (BackendError, 503),
)


def _as_id(field: str, value: object) -> int:
    """An id given as a decimal string or an integer, as an int (the library checks its range)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 20:
        return int(value)
    raise ValidationError(
        field, f"must be a decimal id (a string or an integer), got {show(value)}"
    )


@contextmanager
def _named(**names: str) -> Iterator[None]:
    """Re-raise a :class:`ValidationError` on a library parameter under the API's name for it
    (``create_tweet``'s ``user_id`` is the body's ``author_id``, ``follow``'s ``followee_id`` the
    path's ``other_id``)."""
    try:
        yield
    except ValidationError as exc:
        if exc.field not in names:
            raise
        message = str(exc).removeprefix(f"{exc.field}: ")
        raise ValidationError(names[exc.field], message) from exc


_RELATION = {"follower_id": "user_id", "followee_id": "other_id", "target_id": "other_id"}
_RELATIONS = [("following", "follow", "unfollow"), ("blocks", "block", "unblock")]
_RELATIONS.append(("mutes", "mute", "unmute"))


def _relation_route(feed: _Feed, call: str) -> Callable[[str, str], Awaitable[Response]]:
    """The route of one relation call (``follow``, ``unblock``...): ``user_id`` acts on
    ``other_id``."""

    async def route(user_id: str, other_id: str) -> Response:
        with _named(**_RELATION):
            act = getattr(feed(), call)
            await act(_as_id("user_id", user_id), _as_id("other_id", other_id))
        return Response(status_code=204)

    route.__doc__ = f"``user_id`` {call}s ``other_id``."
    return route


def _as_limit(value: str | None) -> int:
    if value is None:
        return 20
    if value.isascii() and value.isdecimal() and len(value) <= 4:
        return int(value)
    raise ValidationError("limit", f"must be an integer in 1..200, got {show(value)}")


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body", "is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


def _error(request: Request, exc: Exception) -> JSONResponse:
    """socialfeed's exceptions as JSON: ``{"error": class name, "message", "field"?}``."""
    status = next(code for kind, code in _STATUS if isinstance(exc, kind))
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ValidationError):
        body["field"] = exc.field
    return JSONResponse(body, status_code=status)


def _request_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own request checks (a missing header, ...) as the same 400 body."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {}
    field = ".".join(str(part) for part in first.get("loc", ("request",)))
    message = f"{field}: {first.get('msg', 'is invalid')}"
    return JSONResponse(
        {"error": "ValidationError", "message": message, "field": field}, status_code=400
    )


def _with_cdn(settings: socialfeed.Settings | None) -> socialfeed.Settings:
    """``settings`` with the default CDN at the app's own media path, unless one is set."""
    settings = settings if settings is not None else socialfeed.Settings()
    if None in settings.cdn_base_urls:
        return settings
    return attrs.evolve(settings, cdn_base_urls={**settings.cdn_base_urls, None: MEDIA_PATH})


class _Feed:
    """The one :class:`AsyncSocialFeed` of the app, open while its lifespan runs."""

    def __init__(self) -> None:
        self.sf: AsyncSocialFeed | None = None

    def __call__(self) -> AsyncSocialFeed:
        if self.sf is None:
            raise BackendError("the feed is not open (the app's lifespan has not started)")
        return self.sf

    async def tweet(self, tweet: Tweet) -> dict[str, Any]:
        """``tweet.to_dict()`` with each media's URL (``url``) added."""
        return await self._urls(tweet.to_dict())

    async def page(self, page: FeedPage) -> dict[str, Any]:
        """``page.to_dict()`` with each media's URL added."""
        body = page.to_dict()
        body["items"] = [await self._urls(item) for item in body["items"]]
        return body

    async def media(self, media: Media) -> dict[str, Any]:
        """``media.to_dict()`` with its URL added."""
        return {**media.to_dict(), "url": await self().media_url(media)}

    async def _urls(self, item: dict[str, Any]) -> dict[str, Any]:
        for media in item["media"]:
            media["url"] = await self().media_url(media["id"])
        if item.get("repost_of") is not None:
            await self._urls(item["repost_of"])
        return item


async def _spool(request: Request, limit: int) -> IO[bytes]:
    """The request body in a temporary file (in memory up to 1 MiB), at most ``limit`` bytes."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 (returned)
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise ValidationError("data", f"is larger than the limit of {limit} bytes")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _multipart_file(content_type: str, body: bytes) -> tuple[bytes, str | None]:
    """The file part of a ``multipart/form-data`` body (field ``file``, or the first part with
    a filename, or the only part) and its declared type."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    chosen = [p for p in parts if p.get_param("name", header="content-disposition") == "file"]
    chosen = chosen or [p for p in parts if p.get_filename()] or (parts if len(parts) == 1 else [])
    if not chosen:
        raise ValidationError("data", "multipart body has no file part (name it 'file')")
    part = chosen[0]
    payload = part.get_payload(decode=True)
    declared = part.get_content_type() if part["Content-Type"] is not None else None
    return payload if isinstance(payload, bytes) else b"", declared


def create_app(**connect_kwargs: Any) -> FastAPI:
    """The web app: one :func:`socialfeed.aio.connect` (with ``connect_kwargs``, else the
    ``SOCIALFEED_*`` environment) opened in the lifespan and closed at shutdown.

    Unless ``settings.cdn_base_urls`` names a default CDN (key ``None``), media URLs point at
    the app's own ``/media/<id>``.
    """
    settings = _with_cdn(connect_kwargs.pop("settings", None))
    upload_limit = max(settings.max_image_bytes, settings.max_video_bytes)
    feed = _Feed()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with socialfeed.aio.connect(settings=settings, **connect_kwargs) as sf:
            feed.sf = app.state.socialfeed = sf
            try:
                yield
            finally:
                feed.sf = app.state.socialfeed = None

    app = FastAPI(title="socialfeed web example", lifespan=lifespan)
    for kind, _ in _STATUS:
        app.add_exception_handler(kind, _error)
    app.add_exception_handler(RequestValidationError, _request_error)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        """The one page: a user's home timeline, live."""
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    # follows, blocks, mutes: POST makes the relation, DELETE removes it (all idempotent)
    for path, make, undo in _RELATIONS:
        for method, call in (("POST", make), ("DELETE", undo)):
            app.add_api_route(
                f"/users/{{user_id}}/{path}/{{other_id}}",
                _relation_route(feed, call),
                methods=[method],
                status_code=204,
                name=call,
            )

    # tweets
    @app.post("/tweets", status_code=201)
    async def create_tweet(request: Request) -> JSONResponse:
        """Post ``{"author_id", "text", "media"?: [media ids], "reply_to"?,
        "idempotency_key"?}``; returns the tweet."""
        body = await _json_object(request)
        media = body.get("media", [])
        if not isinstance(media, list):
            raise ValidationError("media", "must be a list of media ids")
        reply_to = body.get("reply_to")
        text: Any = body.get("text")  # the library checks it is a str within the limit
        with _named(user_id="author_id"):
            tweet = await feed().create_tweet(
                _as_id("author_id", body.get("author_id")),
                text,
                media,
                reply_to=None if reply_to is None else _as_id("reply_to", reply_to),
                idempotency_key=body.get("idempotency_key"),
            )
        return JSONResponse(await feed.tweet(tweet), status_code=201)

    @app.get("/tweets/{tweet_id}")
    async def get_tweet(tweet_id: str) -> JSONResponse:
        """One tweet (404 if absent or deleted)."""
        return JSONResponse(await feed.tweet(await feed().get_tweet(_as_id("tweet_id", tweet_id))))

    @app.delete("/tweets/{tweet_id}", status_code=204)
    async def delete_tweet(tweet_id: str, user_id: str) -> Response:
        """Delete a tweet as ``?user_id=`` (403 unless they wrote it)."""
        await feed().delete_tweet(_as_id("tweet_id", tweet_id), user_id=_as_id("user_id", user_id))
        return Response(status_code=204)

    @app.post("/tweets/{tweet_id}/reposts", status_code=201)
    async def repost(tweet_id: str, request: Request) -> JSONResponse:
        """Repost as ``{"user_id"}``; returns the repost."""
        body = await _json_object(request)
        item = await feed().repost(
            _as_id("user_id", body.get("user_id")), _as_id("tweet_id", tweet_id)
        )
        return JSONResponse(await feed.tweet(item), status_code=201)

    # media
    @app.post("/media", status_code=201)
    async def upload_media(request: Request) -> JSONResponse:
        """Upload an image or video: the raw bytes with their Content-Type, or a
        ``multipart/form-data`` body with a ``file`` part. Returns the Media dict (plus ``url``)."""
        declared = request.headers.get("content-type")
        spool = await _spool(request, upload_limit)
        try:
            data: bytes | IO[bytes] = spool
            if declared is not None and declared.lower().startswith("multipart/"):
                data, declared = _multipart_file(declared, spool.read())
            if declared is not None and declared.split(";")[0].strip().lower() in (
                "application/octet-stream",
                "application/x-www-form-urlencoded",
            ):
                declared = None  # nothing declared: the bytes say what they are
            media = await feed().upload_media(data, declared)
        finally:
            spool.close()
        return JSONResponse(await feed.media(media), status_code=201)

    @app.get(MEDIA_PATH + "/{media_id}")
    async def get_media(media_id: str) -> StreamingResponse:
        """A media's bytes, with its content type (what the default CDN URL points at)."""
        media = await feed().get_media(media_id)
        source = await feed().open_media(media_id)

        def chunks() -> Iterator[bytes]:  # a plain iterator: Starlette reads it in a thread
            with source:
                while chunk := source.read(_CHUNK):
                    yield chunk

        return StreamingResponse(
            chunks(),
            media_type=media.content_type,
            headers={
                "Content-Length": str(media.size),
                "Cache-Control": "public, max-age=31536000, immutable",  # ids are content hashes
                "ETag": f'"{media.id}"',
            },
        )

    # reads
    @app.get("/users/{user_id}/feed")
    async def get_feed(
        user_id: str, limit: str | None = None, cursor: str | None = None
    ) -> JSONResponse:
        """A page of the home feed: ``next_cursor`` pages to older items, ``prev_cursor`` (passed
        as ``cursor``) to newer ones."""
        page = await feed().get_feed(_as_id("user_id", user_id), _as_limit(limit), cursor)
        return JSONResponse(await feed.page(page))

    @app.get("/users/{user_id}/timeline")
    async def user_timeline(
        user_id: str,
        limit: str | None = None,
        cursor: str | None = None,
        viewer_id: str | None = None,
    ) -> JSONResponse:
        """A page of one author's own tweets and reposts, as ``viewer_id`` may see them."""
        page = await feed().user_timeline(
            _as_id("user_id", user_id),
            _as_limit(limit),
            cursor,
            viewer_id=None if viewer_id is None else _as_id("viewer_id", viewer_id),
        )
        return JSONResponse(await feed.page(page))

    @app.get("/users/{user_id}/stream")
    async def stream(
        user_id: str,
        cursor: str | None = None,
        last_event_id: str | None = Header(default=None),
    ) -> StreamingResponse:
        """Server-sent events: one ``data: <FeedPage JSON>`` per arrival of newer items, with
        ``id:`` the page's ``prev_cursor``. A reconnecting EventSource sends that back as
        ``Last-Event-ID``, which wins over ``?cursor=``; with neither, the stream starts now."""
        sf, uid = feed(), _as_id("user_id", user_id)
        position = last_event_id or cursor
        if position is not None:
            await sf.get_feed(uid, 1, position)  # a bad cursor is a 400 before the stream starts
        return StreamingResponse(
            _events(feed, sf, uid, position),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


async def _events(
    feed: _Feed, sf: AsyncSocialFeed, user_id: int, cursor: str | None
) -> AsyncIterator[str]:
    """The event stream of :func:`create_app`'s ``/users/{id}/stream``."""
    updates = aiter(sf.subscribe(user_id, cursor=cursor))
    pending: asyncio.Future[FeedPage] | None = None
    try:
        yield "retry: 2000\n\n"  # sent at once: the client knows the stream is open
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(updates))
            done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                page = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            data = json.dumps(await feed.page(page), separators=(",", ":"))
            yield f"id: {page.prev_cursor}\ndata: {data}\n\n"
    finally:
        if pending is not None:
            pending.cancel()
            with suppress(BaseException):
                await pending
        aclose = getattr(updates, "aclose", None)
        if aclose is not None:
            with suppress(Exception):
                await aclose()


app = create_app()
"""The app of ``uvicorn examples.webapp.app:app``: backends from the ``SOCIALFEED_*`` variables."""
