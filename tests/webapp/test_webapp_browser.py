"""The web example's page in headless Chromium (Playwright), against the app served by uvicorn.

Skips when Chromium (/usr/bin/chromium) or the playwright package is missing, except under
SOCIALFEED_REQUIRE_SERVICES=1. With SOCIALFEED_SAVE_SCREENSHOT=1 the screenshot it takes is also
copied to docs/webapp.png.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest
from webapp_rig import Served, png

from services import require

pytestmark = [pytest.mark.webapp, pytest.mark.browser, pytest.mark.memory]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def test_page_shows_the_feed_live_with_images_and_exact_ids(tmp_path: Path) -> None:
    require("chromium", CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM}")
    has_playwright = importlib.util.find_spec("playwright") is not None
    require("playwright", has_playwright, "the playwright Python package is not installed")
    from playwright.sync_api import FilePayload, sync_playwright

    timings: dict[str, float] = {}
    started = time.perf_counter()
    with Served() as served, httpx.Client(base_url=served.url, timeout=10) as api:
        api.post("/users/1/following/2")
        for n in range(22):  # more than one page: "Load older" has something to load
            api.post("/tweets", json={"author_id": 2, "text": f"older tweet {n}"})
        media = api.post("/media", content=png(160, 90), headers={"Content-Type": "image/png"})
        picture = api.post(
            "/tweets",
            json={"author_id": "2", "text": "a sunset, as a PNG", "media": [media.json()["id"]]},
        ).json()
        timings["setup"] = time.perf_counter() - started

        with sync_playwright() as p:
            t = time.perf_counter()
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            timings["launch"] = time.perf_counter() - t
            try:
                page = browser.new_page(viewport={"width": 720, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                t = time.perf_counter()
                page.goto(f"{served.url}/?user=1")
                page.wait_for_selector(f'article[data-id="{picture["id"]}"]')
                page.wait_for_selector("#status.live")  # the EventSource is open
                timings["load"] = time.perf_counter() - t
                assert page.locator("article").count() == 20

                image = page.locator(f'article[data-id="{picture["id"]}"] img')
                image.wait_for()
                page.wait_for_function(
                    "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
                )
                assert image.evaluate("(img) => img.naturalWidth") == 160

                page.evaluate("window.notReloaded = true")
                t = time.perf_counter()
                live = api.post("/tweets", json={"author_id": "2", "text": "live, no reload"})
                live_id = live.json()["id"]
                assert int(live_id) > 2**53  # more than a JavaScript number holds exactly
                article = page.locator("#feed > article").first
                page.wait_for_selector(f'article[data-id="{live_id}"]')
                timings["live"] = time.perf_counter() - t
                assert page.evaluate("window.notReloaded") is True
                assert article.get_attribute("data-id") == live_id  # prepended at the top
                assert article.locator("code.id").inner_text() == live_id
                assert article.locator(".text").inner_text() == "live, no reload"

                page.click("#more")
                page.wait_for_function("document.querySelectorAll('article').length === 24")
                assert page.locator("#more").is_hidden()  # nothing older left
                texts = page.locator("article .text").all_inner_texts()
                assert texts[-1] == "older tweet 0"

                # the page's own composer: upload, post, and the tweet comes back on the stream
                upload: FilePayload = {
                    "name": "dot.png",
                    "mimeType": "image/png",
                    "buffer": png(48, 48, 3),
                }
                page.set_input_files("#compose input[type=file]", files=[upload])
                page.fill("#compose textarea", "posted from the page")
                page.click("#post")
                mine = page.locator("#feed > article").first
                page.wait_for_function(
                    "document.querySelector('#feed > article .text').textContent"
                    " === 'posted from the page'"
                )
                page.wait_for_function(
                    "(img) => img.complete && img.naturalWidth === 48",
                    arg=mine.locator("img").element_handle(),
                )
                newest = api.get("/users/1/feed", params={"limit": 1}).json()["items"][0]
                assert newest["author_id"] == "1" and newest["text"] == "posted from the page"
                assert mine.get_attribute("data-id") == newest["id"]

                page.evaluate("window.scrollTo(0, 0)")
                shot = tmp_path / "webapp.png"
                page.screenshot(path=str(shot))
                assert not errors, errors
            finally:
                browser.close()
    timings["total"] = time.perf_counter() - started
    print("browser test timings (s):", {k: round(v, 2) for k, v in timings.items()})
    if os.environ.get("SOCIALFEED_SAVE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "webapp.png")
