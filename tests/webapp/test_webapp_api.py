"""The web example's JSON API and SSE stream, on the real app and the memory backends."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from examples.webapp.app import create_app
from webapp_rig import Served, api_client, png, read_events

pytestmark = [pytest.mark.webapp, pytest.mark.memory]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def post_tweet(client: httpx.AsyncClient, author: int | str, text: str, **extra: Any) -> Any:
    response = await client.post("/tweets", json={"author_id": author, "text": text, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def feed_ids(client: httpx.AsyncClient, user: int, **params: Any) -> list[str]:
    response = await client.get(f"/users/{user}/feed", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.anyio
async def test_index_page_is_served() -> None:
    async with api_client() as (_, client):
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "EventSource" in response.text and "Load older" in response.text
    assert "http://" not in response.text and "https://" not in response.text  # no CDN


@pytest.mark.anyio
async def test_follow_post_feed_and_unfollow() -> None:
    async with api_client() as (_, client):
        assert (await client.post("/users/1/following/2")).status_code == 204
        assert (await client.post("/users/1/following/2")).status_code == 204  # idempotent
        tweet = await post_tweet(client, 2, "hello from 2")
        assert tweet["author_id"] == "2" and tweet["text"] == "hello from 2"
        assert tweet["media"] == [] and tweet["reply_to"] is None and tweet["repost_of"] is None
        assert await feed_ids(client, 1) == [tweet["id"]]
        assert await feed_ids(client, 2) == [tweet["id"]]  # your own write shows at once
        assert (await client.delete("/users/1/following/2")).status_code == 204
        assert await feed_ids(client, 1) == []


@pytest.mark.anyio
async def test_ids_are_accepted_as_strings_or_integers_and_returned_as_strings() -> None:
    async with api_client() as (_, client):
        await client.post("/users/1/following/2")
        by_int = await post_tweet(client, 2, "an int author")
        by_str = await post_tweet(client, "2", "a string author")
        reply = await post_tweet(client, 1, "a reply", reply_to=int(by_int["id"]))
        assert reply["reply_to"] == by_int["id"] and reply["reply_to_author_id"] == "2"
        body = (await client.get("/users/1/feed")).json()
        for item in body["items"]:
            assert all(isinstance(item[k], str) for k in ("id", "author_id"))
        assert [i["id"] for i in body["items"]] == [reply["id"], by_str["id"], by_int["id"]]
        assert isinstance(body["prev_cursor"], str) and body["next_cursor"] is None


@pytest.mark.anyio
async def test_a_64_bit_tweet_id_survives_as_an_exact_string() -> None:
    async with api_client() as (app, client):
        response = await client.post("/tweets", json={"author_id": "7", "text": "big id"})
        raw_id = json.loads(response.text)["id"]
        tweet = await app.state.socialfeed.get_tweet(int(raw_id))
        assert tweet.id > 2**53  # beyond what a JavaScript number holds exactly
        assert raw_id == str(tweet.id)
        assert f'"id":"{tweet.id}"' in response.text.replace(" ", "")
        fetched = await client.get(f"/tweets/{raw_id}")
        assert fetched.json()["id"] == str(tweet.id)
        assert (await client.get("/users/7/timeline")).json()["items"][0]["id"] == str(tweet.id)


@pytest.mark.anyio
async def test_a_63_bit_user_id_round_trips_as_a_string() -> None:
    big = str(2**63 - 1)
    async with api_client() as (_, client):
        assert (await client.post(f"/users/1/following/{big}")).status_code == 204
        tweet = await post_tweet(client, big, "from the largest user id")
        assert tweet["author_id"] == big
        assert (await client.get("/users/1/feed")).json()["items"][0]["author_id"] == big
        too_big = await client.post("/tweets", json={"author_id": 2**63, "text": "no"})
        assert too_big.status_code == 400 and too_big.json()["field"] == "author_id"


@pytest.mark.anyio
async def test_reply_and_repost() -> None:
    async with api_client() as (_, client):
        await client.post("/users/1/following/2")
        await client.post("/users/1/following/3")
        original = await post_tweet(client, 3, "original")
        reply = await post_tweet(client, 2, "a reply", reply_to=original["id"])
        assert reply["reply_to"] == original["id"] and reply["reply_to_author_id"] == "3"
        response = await client.post(f"/tweets/{original['id']}/reposts", json={"user_id": "2"})
        assert response.status_code == 201, response.text
        repost = response.json()
        assert repost["author_id"] == "2" and repost["text"] == ""
        assert repost["repost_of"]["id"] == original["id"]
        timeline = (await client.get("/users/2/timeline")).json()["items"]
        assert [i["id"] for i in timeline] == [repost["id"], reply["id"]]
        # one item per original: user 1 sees the original once, at its first appearance
        assert await feed_ids(client, 1) == [reply["id"], original["id"]]


@pytest.mark.anyio
async def test_delete_tweet_only_by_its_author() -> None:
    async with api_client() as (_, client):
        tweet = await post_tweet(client, 4, "mine")
        denied = await client.delete(f"/tweets/{tweet['id']}", params={"user_id": "5"})
        assert denied.status_code == 403 and denied.json()["error"] == "PermissionDenied"
        assert (await client.delete(f"/tweets/{tweet['id']}?user_id=4")).status_code == 204
        gone = await client.get(f"/tweets/{tweet['id']}")
        assert gone.status_code == 404 and gone.json()["error"] == "NotFound"


@pytest.mark.anyio
async def test_block_and_mute() -> None:
    async with api_client() as (_, client):
        await client.post("/users/1/following/2")
        await client.post("/users/1/following/3")
        from_2 = await post_tweet(client, 2, "from 2")
        from_3 = await post_tweet(client, 3, "from 3")
        assert (await client.post("/users/1/mutes/3")).status_code == 204
        assert await feed_ids(client, 1) == [from_2["id"]]
        assert (await client.delete("/users/1/mutes/3")).status_code == 204
        assert await feed_ids(client, 1) == [from_3["id"], from_2["id"]]

        assert (await client.post("/users/2/blocks/1")).status_code == 204
        assert await feed_ids(client, 1) == [from_3["id"]]
        refollow = await client.post("/users/1/following/2")
        assert refollow.status_code == 403, refollow.text
        timeline = await client.get("/users/2/timeline", params={"viewer_id": "1"})
        assert timeline.status_code == 403
        assert (await client.delete("/users/2/blocks/1")).status_code == 204
        assert (await client.post("/users/1/following/2")).status_code == 204
        assert await feed_ids(client, 1) == [from_3["id"], from_2["id"]]
        assert (await client.get("/users/2/timeline?viewer_id=1")).status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/users/abc/feed", None, "user_id"),
        ("GET", "/users/0/feed", None, "user_id"),
        ("GET", "/users/1/feed?limit=0", None, "limit"),
        ("GET", "/users/1/feed?limit=x", None, "limit"),
        ("GET", "/users/1/feed?cursor=not-a-cursor", None, "cursor"),
        ("GET", "/users/1/timeline?viewer_id=-1", None, "viewer_id"),
        ("POST", "/users/1/following/1", None, "other_id"),
        ("POST", "/users/1/blocks/1", None, "other_id"),
        ("POST", "/users/1/mutes/x", None, "other_id"),
        ("DELETE", "/users/1/following/99999999999999999999", None, "other_id"),
        ("POST", "/tweets", {"author_id": 1}, "text"),
        (
            "POST",
            "/tweets",
            {"author_id": 1, "text": "hi", "idempotency_key": 5},
            "idempotency_key",
        ),
        ("POST", "/tweets", {"author_id": 1, "text": "hi", "reply_to": "r"}, "reply_to"),
        ("POST", "/tweets", {"author_id": 1, "text": "x" * 281}, "text"),
        ("POST", "/tweets", {"author_id": "1.5", "text": "hi"}, "author_id"),
        ("POST", "/tweets", {"author_id": True, "text": "hi"}, "author_id"),
        ("POST", "/tweets", {"author_id": 1, "text": "hi", "media": "m"}, "media"),
        ("POST", "/tweets", {"author_id": 1, "text": "hi", "media": ["nope"]}, "media"),
        ("POST", "/tweets", [1, 2], "body"),
        ("POST", "/tweets/1/reposts", {}, "user_id"),
        ("GET", "/users/1/stream?cursor=garbage", None, "cursor"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    method: str, path: str, body: Any, field: str | None
) -> None:
    async with api_client() as (_, client):
        response = await client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error"] == "ValidationError" and error["message"]
    assert isinstance(error["field"], str) and error["field"]
    if field is not None:
        assert error["field"] == field


@pytest.mark.anyio
async def test_invalid_json_is_400() -> None:
    async with api_client() as (_, client):
        response = await client.post(
            "/tweets", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400 and response.json()["field"] == "body"


@pytest.mark.anyio
async def test_not_found_is_404() -> None:
    async with api_client() as (_, client):
        assert (await client.get("/tweets/12345")).status_code == 404
        assert (await client.post("/tweets/12345/reposts", json={"user_id": 1})).status_code == 404
        reply = await client.post("/tweets", json={"author_id": 1, "text": "r", "reply_to": "99"})
        assert reply.status_code == 404
        assert (await client.get("/media/" + "0" * 64)).status_code == 404
        assert (await client.get("/media/not-an-id")).status_code == 404


@pytest.mark.anyio
async def test_backend_error_is_503() -> None:
    """Outside its lifespan the app has no open feed: that is a BackendError, so 503."""
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://webapp.test") as client:
        response = await client.get("/users/1/feed")
    assert response.status_code == 503
    assert response.json()["error"] == "BackendError"


@pytest.mark.anyio
async def test_next_cursor_pages_older_and_prev_cursor_pages_newer() -> None:
    async with api_client() as (_, client):
        old = [(await post_tweet(client, 1, f"old {n}"))["id"] for n in range(5)]
        seen: list[str] = []
        cursor: str | None = None
        first: dict[str, Any] | None = None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/users/1/feed", params=params)).json()
            first = first or page
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == old[::-1]
        assert first is not None and [i["id"] for i in first["items"]] == [old[4], old[3]]

        caught_up = await client.get(f"/users/1/feed?cursor={first['prev_cursor']}")
        assert caught_up.json()["items"] == []
        new = [(await post_tweet(client, 1, f"new {n}"))["id"] for n in range(3)]
        forward = (
            await client.get("/users/1/feed", params={"limit": 2, "cursor": first["prev_cursor"]})
        ).json()
        assert [i["id"] for i in forward["items"]] == [new[1], new[0]]  # immediately newer
        rest = (await client.get(f"/users/1/feed?limit=2&cursor={forward['prev_cursor']}")).json()
        assert [i["id"] for i in rest["items"]] == [new[2]]  # fewer than limit: caught up
        empty = (await client.get(f"/users/1/feed?cursor={rest['prev_cursor']}")).json()
        assert empty["items"] == [] and isinstance(empty["prev_cursor"], str)

        timeline = (await client.get("/users/1/timeline?limit=3")).json()
        assert [i["id"] for i in timeline["items"]] == new[::-1]
        older = (await client.get(f"/users/1/timeline?cursor={timeline['next_cursor']}")).json()
        assert [i["id"] for i in older["items"]] == old[::-1]


@pytest.mark.anyio
async def test_media_upload_raw_and_multipart_and_serving() -> None:
    image = png(seed=1)
    async with api_client() as (_, client):
        raw = await client.post("/media", content=image, headers={"Content-Type": "image/png"})
        assert raw.status_code == 201, raw.text
        media = raw.json()
        assert media["content_type"] == "image/png" and media["size"] == len(image)
        assert media["url"] == f"/media/{media['id']}"  # the default CDN is the app itself

        multipart = await client.post("/media", files={"file": ("a.png", image, "image/png")})
        assert multipart.status_code == 201, multipart.text
        assert multipart.json()["id"] == media["id"]  # same bytes, same id
        undeclared = await client.post("/media", content=png(seed=2))
        assert undeclared.status_code == 201 and undeclared.json()["content_type"] == "image/png"

        served = await client.get(f"/media/{media['id']}")
        assert served.status_code == 200 and served.content == image
        assert served.headers["content-type"] == "image/png"
        assert served.headers["content-length"] == str(len(image))

        tweet = await post_tweet(client, 1, "a picture", media=[media["id"]])
        assert tweet["media"] == [media]
        item = (await client.get("/users/1/feed")).json()["items"][0]
        assert item["media"][0]["url"] == media["url"]
        assert (await client.get(item["media"][0]["url"])).content == image

        bad = await client.post(
            "/media", content=b"plain text", headers={"Content-Type": "text/plain"}
        )
        assert bad.status_code == 400 and bad.json()["field"] in ("data", "content_type")
        lying = await client.post("/media", content=image, headers={"Content-Type": "image/gif"})
        assert lying.status_code == 400
        empty = await client.post("/media", files={"other": ("x.txt", b"", "text/plain")})
        assert empty.status_code == 400


def test_stream_sends_each_new_page_and_resumes_from_last_event_id() -> None:
    with Served() as served, httpx.Client(base_url=served.url, timeout=10) as client:
        client.post("/users/1/following/2")
        start = client.get("/users/1/feed").json()["prev_cursor"]
        stream_url = f"/users/1/stream?cursor={start}"
        with client.stream("GET", stream_url) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            first = client.post("/tweets", json={"author_id": "2", "text": "one"}).json()
            [(first_event_id, page)] = read_events(lines, 1)
            assert [i["id"] for i in page["items"]] == [first["id"]]
            assert first_event_id == page["prev_cursor"]
            second = client.post("/tweets", json={"author_id": "1", "text": "two"}).json()
            [(_, page)] = read_events(lines, 1)
            assert [i["id"] for i in page["items"]] == [second["id"]]

        # a reconnecting EventSource sends the last id it saw: that wins over ?cursor=
        third = client.post("/tweets", json={"author_id": "2", "text": "three"}).json()
        headers = {"Last-Event-ID": str(first_event_id)}
        seen: list[str] = []  # oldest first; a tweet shows once it settled (a page or two)
        with client.stream("GET", stream_url, headers=headers) as stream:
            lines = stream.iter_lines()
            while len(seen) < 2:
                [(_, page)] = read_events(lines, 1)
                seen.extend(reversed([i["id"] for i in page["items"]]))
        assert seen == [second["id"], third["id"]]
