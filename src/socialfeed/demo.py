"""``socialfeed demo``: a few thousand users on the embedded default, with a report."""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime

import socialfeed
from socialfeed.bench.harness import percentile
from socialfeed.errors import ValidationError
from socialfeed.models import Tweet
from socialfeed.testing.data import png_bytes, zipf_graph

__all__ = ["run_demo"]

_WORDS = [
    "coffee",
    "launch",
    "ship",
    "deploy",
    "cats",
    "rain",
    "football",
    "chess",
    "jazz",
    "sunrise",
    "release",
    "bug",
    "fix",
    "train",
    "trip",
    "garden",
    "pasta",
    "review",
    "paper",
    "idea",
    "meetup",
    "code",
]


def _progress(label: str, done: int, total: int) -> None:
    if done == total or done % max(1, total // 20) == 0:
        print(
            f"\r  {label}: {done:,}/{total:,}", end="\n" if done == total else "", file=sys.stderr
        )


def _ago(tweet: Tweet, now: datetime) -> str:
    seconds = max(0, int((now - tweet.created_at).total_seconds()))
    return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m"


def run_demo(users: int = 3_000, tweets: int = 30_000, seed: int = 1) -> None:
    """Build a skewed follow network, post, read, and print a report. ``users`` must be in
    2..1,000,000 and ``tweets`` in 1..100,000,000 (else a :class:`~socialfeed.ValidationError`)."""
    for name, value, low, high in (("users", users, 2, 10**6), ("tweets", tweets, 1, 10**8)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(
                name, f"must be a whole number in {low:,}..{high:,}, got {value!r}"
            )
    rng = random.Random(seed)
    follows_each = min(50, users - 1)
    settings = socialfeed.Settings(
        celebrity_threshold=max(2, users // 20),
        cdn_base_urls={
            None: "https://cdn.example.com/media",
            "in": "https://in.cdn.example.com/media",
        },
    )
    media_dir = tempfile.mkdtemp(prefix="socialfeed-demo-media-")
    with socialfeed.connect(media=f"file://{media_dir}", settings=settings) as sf:
        print(
            f"socialfeed demo: {users:,} users, {tweets:,} tweets (embedded, hybrid)",
            file=sys.stderr,
        )
        edges = zipf_graph(users, follows_each, seed)
        for n, (follower, followee) in enumerate(edges, 1):
            sf.follow(follower, followee)
            _progress("follows", n, len(edges))
        for u in range(1, users + 1):
            if rng.random() < 0.9:  # 10% of users stay inactive: their feeds are built on read
                sf.get_feed(u, limit=1)
        images = [sf.upload_media(png_bytes(i, width=8)) for i in range(3)]

        start = time.perf_counter()
        for n in range(1, tweets + 1):
            author = rng.randint(1, users)
            text = " ".join(rng.choices(_WORDS, k=rng.randint(3, 9)))
            media = [images[n % 3]] if n % 500 == 0 else []
            sf.create_tweet(author, text, media=media)
            _progress("tweets", n, tweets)
        sf.drain()
        post_s = time.perf_counter() - start

        readers = [rng.randint(1, users) for _ in range(5_000)]
        latencies = []
        for n, u in enumerate(readers, 1):
            t0 = time.perf_counter()
            sf.get_feed(u, limit=20)
            latencies.append((time.perf_counter() - t0) * 1e6)
            _progress("feed reads", n, len(readers))

        celebrities = sum(
            1 for u in range(1, users + 1) if sf.follower_count(u) >= settings.celebrity_threshold
        )
        top = max(range(1, users + 1), key=sf.follower_count)
        viewer = readers[0]
        now = datetime.now(UTC)
        print(f"\nHome feed of user {viewer} (follows {sf.following_count(viewer)}):")
        for t in sf.get_feed(viewer, limit=8).items:
            pics = f"  [{len(t.media)} image]" if t.media else ""
            print(f"  @user{t.author_id} · {_ago(t, now)}  {t.text}{pics}")
        print("\nImages attached to tweets, by viewer region:")
        for m in images[:2]:
            print(f"  {m.id[:20]}… {m.content_type} {m.size} B")
            for region in ("in", "us"):
                print(f"    {region}: {sf.media_url(m, region=region)}")
        print("\nReport")
        print(f"  users {users:,}  follows {len(edges):,}  tweets {tweets:,}")
        print(f"  most followed: user {top} with {sf.follower_count(top):,} followers")
        print(
            f"  celebrities (>= {settings.celebrity_threshold} followers, merged at read time): "
            f"{celebrities}"
        )
        print(f"  posting: {tweets / post_s:,.0f} tweets/s (fan-out included)")
        print(
            f"  get_feed(limit=20): p50 {percentile(latencies, 50):,.0f} us, "
            f"p99 {percentile(latencies, 99):,.0f} us over {len(latencies):,} reads"
        )
