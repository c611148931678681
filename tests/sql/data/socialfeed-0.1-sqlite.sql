BEGIN TRANSACTION;
CREATE TABLE socialfeed_follows (
	follower_id BIGINT NOT NULL, 
	followee_id BIGINT NOT NULL, 
	PRIMARY KEY (follower_id, followee_id)
);
INSERT INTO "socialfeed_follows" VALUES(1,2);
INSERT INTO "socialfeed_follows" VALUES(3,2);
INSERT INTO "socialfeed_follows" VALUES(2,1);
CREATE TABLE socialfeed_meta (
	component VARCHAR(32) NOT NULL, 
	schema_version INTEGER NOT NULL, 
	PRIMARY KEY (component)
);
INSERT INTO "socialfeed_meta" VALUES('store',1);
CREATE TABLE socialfeed_tweet_media (
	tweet_id BIGINT NOT NULL, 
	position SMALLINT NOT NULL, 
	media_id VARCHAR(255) NOT NULL, 
	content_type VARCHAR(255) NOT NULL, 
	size BIGINT NOT NULL, 
	PRIMARY KEY (tweet_id, position)
);
INSERT INTO "socialfeed_tweet_media" VALUES(1002,0,'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','video/mp4',2000);
INSERT INTO "socialfeed_tweet_media" VALUES(1002,1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','image/png',100);
CREATE TABLE socialfeed_tweets (
	id BIGINT NOT NULL, 
	author_id BIGINT NOT NULL, 
	text TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "socialfeed_tweets" VALUES(1001,1,'hello from 0.1','2026-11-20 12:00:00.000000');
INSERT INTO "socialfeed_tweets" VALUES(1002,2,'two pictures','2026-11-20 12:00:01.000000');
INSERT INTO "socialfeed_tweets" VALUES(1003,2,'ünïcode 👩‍👩‍👧','2026-11-20 12:00:02.000000');
CREATE TABLE socialfeed_user_counts (
	user_id BIGINT NOT NULL, 
	followers BIGINT DEFAULT '0' NOT NULL, 
	following BIGINT DEFAULT '0' NOT NULL, 
	PRIMARY KEY (user_id)
);
INSERT INTO "socialfeed_user_counts" VALUES(1,1,1);
INSERT INTO "socialfeed_user_counts" VALUES(2,2,1);
INSERT INTO "socialfeed_user_counts" VALUES(3,0,1);
CREATE INDEX socialfeed_tweets_author_id ON socialfeed_tweets (author_id, id DESC);
CREATE INDEX socialfeed_tweet_media_media ON socialfeed_tweet_media (media_id);
CREATE UNIQUE INDEX socialfeed_follows_reverse ON socialfeed_follows (followee_id, follower_id);
CREATE INDEX socialfeed_user_counts_followers ON socialfeed_user_counts (followers);
COMMIT;
