"""Reposts, replies, blocks, mutes, muted words and erasure on the embedded default."""

from datetime import UTC, datetime, timedelta

import socialfeed
from socialfeed import PermissionDenied

ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4

with socialfeed.connect() as sf:
    for followee in (BOB, CAROL, DAVE):
        sf.follow(ALICE, followee)
    sf.follow(BOB, CAROL)

    hello = sf.create_tweet(CAROL, "hello from Carol")
    boost = sf.repost(BOB, hello.id)  # a Tweet by Bob whose repost_of is Carol's tweet
    assert boost.repost_of == hello
    assert sf.repost(BOB, boost.id).id == boost.id  # reposting again returns the live repost

    # A reply shows in a home feed only to people who follow both sides.
    sf.create_tweet(BOB, "welcome, Carol!", reply_to=hello.id)
    print("replies:", [t.text for t in sf.replies(hello.id).items])

    sf.create_tweet(DAVE, "SPOILERS: the butler did it")
    sf.drain()
    # Alice follows Carol, so Carol's tweet shows once, as itself: Bob's repost gives way.
    print("Alice sees:", [(t.author_id, t.original.text) for t in sf.get_feed(ALICE).items])

    # Muting, blocking and muted words hide at once, before any worker runs.
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    sf.mute_word(ALICE, "spoilers", expires_at=tomorrow)  # matched after NFKC + casefolding
    sf.block(ALICE, BOB)  # removes the follows both ways
    shown = sf.get_feed(ALICE).items
    assert all(t.author_id != BOB and "butler" not in t.text for t in shown)
    try:
        sf.follow(BOB, ALICE)
    except PermissionDenied:
        print("Bob cannot follow Alice across the block")

    # Erasure: nothing Carol posted shows anywhere once the call returns; rows go via the queue.
    sf.delete_user(CAROL)
    assert sf.get_feed(ALICE).items == ()
    sf.drain()
    print("Alice follows:", sf.following(ALICE).ids, "muted:", sf.muted_words(ALICE))
