"""Hybrid fan-out: a celebrity's tweets are merged at read time instead of fanned out."""

import socialfeed

settings = socialfeed.Settings(celebrity_threshold=100)
with socialfeed.connect(strategy="hybrid", settings=settings) as sf:
    for fan in range(2, 152):
        sf.follow(fan, 1)  # user 1 now has 150 followers: a celebrity
        sf.get_feed(fan)  # every fan is active
    sf.follow(2, 500)
    sf.create_tweet(500, "an ordinary tweet: fanned out to 1 follower")
    sf.create_tweet(1, "a celebrity tweet: stored once, merged into 150 feeds when read")

    print([t.text for t in sf.get_feed(2).items])
    print("celebrity feed list cached:", sf.cache.read("celebrity", 1, None, 10) is not None)
    assert len(sf.get_feed(2).items) == 2 and len(sf.get_feed(3).items) == 1
