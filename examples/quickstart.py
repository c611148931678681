"""Follow, post, read: the home feed on the embedded default."""

import socialfeed

with socialfeed.connect() as sf:
    sf.follow(1, 2)
    sf.follow(1, 3)
    for n in range(5):
        sf.create_tweet(2, f"tweet {n} from user 2")
        sf.create_tweet(3, f"tweet {n} from user 3")

    page = sf.get_feed(1, limit=4)
    for tweet in page.items:
        print(tweet.author_id, tweet.text)

    # The cursor means "older than the last tweet I was given": new tweets never shift pages.
    sf.create_tweet(2, "a new tweet arrives meanwhile")
    older = sf.get_feed(1, limit=4, cursor=page.next_cursor)
    assert older.items[0].id < page.items[-1].id
    print("followers of 2:", sf.followers(2).ids)
