/*M!999999\- enable the sandbox mode */ 
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `socialfeed_follows` (
  `follower_id` bigint(20) NOT NULL,
  `followee_id` bigint(20) NOT NULL,
  PRIMARY KEY (`follower_id`,`followee_id`),
  UNIQUE KEY `socialfeed_follows_reverse` (`followee_id`,`follower_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
/*!40101 SET character_set_client = @saved_cs_client */;
INSERT INTO `socialfeed_follows` VALUES
(1,2),
(2,1),
(3,2);
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `socialfeed_meta` (
  `component` varchar(32) NOT NULL,
  `schema_version` int(11) NOT NULL,
  PRIMARY KEY (`component`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
/*!40101 SET character_set_client = @saved_cs_client */;
INSERT INTO `socialfeed_meta` VALUES
('store',1);
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `socialfeed_tweet_media` (
  `tweet_id` bigint(20) NOT NULL,
  `position` smallint(6) NOT NULL,
  `media_id` varchar(255) NOT NULL,
  `content_type` varchar(255) NOT NULL,
  `size` bigint(20) NOT NULL,
  PRIMARY KEY (`tweet_id`,`position`),
  KEY `socialfeed_tweet_media_media` (`media_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
/*!40101 SET character_set_client = @saved_cs_client */;
INSERT INTO `socialfeed_tweet_media` VALUES
(1002,0,'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','video/mp4',2000),
(1002,1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','image/png',100);
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `socialfeed_tweets` (
  `id` bigint(20) NOT NULL,
  `author_id` bigint(20) NOT NULL,
  `text` longtext NOT NULL,
  `created_at` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `socialfeed_tweets_author_id` (`author_id`,`id` DESC)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
/*!40101 SET character_set_client = @saved_cs_client */;
INSERT INTO `socialfeed_tweets` VALUES
(1001,1,'hello from 0.1','2026-11-20 12:00:00.000000'),
(1002,2,'two pictures','2026-11-20 12:00:01.000000'),
(1003,2,'ünïcode 👩‍👩‍👧','2026-11-20 12:00:02.000000');
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `socialfeed_user_counts` (
  `user_id` bigint(20) NOT NULL,
  `followers` bigint(20) NOT NULL DEFAULT 0,
  `following` bigint(20) NOT NULL DEFAULT 0,
  PRIMARY KEY (`user_id`),
  KEY `socialfeed_user_counts_followers` (`followers`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
/*!40101 SET character_set_client = @saved_cs_client */;
INSERT INTO `socialfeed_user_counts` VALUES
(1,1,1),
(2,2,1),
(3,0,1);
