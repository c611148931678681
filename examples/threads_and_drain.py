"""Fan-out on worker threads: writes return at once, drain() waits for the feeds to catch up."""

import socialfeed

with socialfeed.connect(queue="thread", workers=4, strategy="push") as sf:
    for follower in range(2, 1002):
        sf.follow(follower, 1)
        sf.get_feed(follower)  # mark active: fan-out only reaches recently active users
    tweet = sf.create_tweet(1, "to a thousand feeds")
    sf.drain(timeout=30)  # all queued fan-out applied
    assert all(sf.get_feed(f, limit=1).items == (tweet,) for f in range(2, 1002))
    print("delivered to", sf.follower_count(1), "feeds")
