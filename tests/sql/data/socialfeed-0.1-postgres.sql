--
-- PostgreSQL database dump
--

\restrict sb7DvcDYh8A7r1lFLC19wkj9a1Rvrw8yfsBj0kc5to380JxuWdaQlIPioqFyx1U

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: socialfeed_follows; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.socialfeed_follows (
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL
);


--
-- Name: socialfeed_meta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.socialfeed_meta (
    component character varying(32) NOT NULL,
    schema_version integer NOT NULL
);


--
-- Name: socialfeed_tweet_media; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.socialfeed_tweet_media (
    tweet_id bigint NOT NULL,
    "position" smallint NOT NULL,
    media_id character varying(255) NOT NULL,
    content_type character varying(255) NOT NULL,
    size bigint NOT NULL
);


--
-- Name: socialfeed_tweets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.socialfeed_tweets (
    id bigint NOT NULL,
    author_id bigint NOT NULL,
    text text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: socialfeed_user_counts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.socialfeed_user_counts (
    user_id bigint NOT NULL,
    followers bigint DEFAULT '0'::bigint NOT NULL,
    following bigint DEFAULT '0'::bigint NOT NULL
);


--
-- Data for Name: socialfeed_follows; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.socialfeed_follows (follower_id, followee_id) FROM stdin;
1	2
3	2
2	1
\.


--
-- Data for Name: socialfeed_meta; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.socialfeed_meta (component, schema_version) FROM stdin;
store	1
\.


--
-- Data for Name: socialfeed_tweet_media; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.socialfeed_tweet_media (tweet_id, "position", media_id, content_type, size) FROM stdin;
1002	0	bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb	video/mp4	2000
1002	1	aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa	image/png	100
\.


--
-- Data for Name: socialfeed_tweets; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.socialfeed_tweets (id, author_id, text, created_at) FROM stdin;
1001	1	hello from 0.1	2026-11-20 12:00:00+00
1002	2	two pictures	2026-11-20 12:00:01+00
1003	2	ünïcode 👩‍👩‍👧	2026-11-20 12:00:02+00
\.


--
-- Data for Name: socialfeed_user_counts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.socialfeed_user_counts (user_id, followers, following) FROM stdin;
2	2	1
1	1	1
3	0	1
\.


--
-- Name: socialfeed_follows socialfeed_follows_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.socialfeed_follows
    ADD CONSTRAINT socialfeed_follows_pkey PRIMARY KEY (follower_id, followee_id);


--
-- Name: socialfeed_meta socialfeed_meta_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.socialfeed_meta
    ADD CONSTRAINT socialfeed_meta_pkey PRIMARY KEY (component);


--
-- Name: socialfeed_tweet_media socialfeed_tweet_media_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.socialfeed_tweet_media
    ADD CONSTRAINT socialfeed_tweet_media_pkey PRIMARY KEY (tweet_id, "position");


--
-- Name: socialfeed_tweets socialfeed_tweets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.socialfeed_tweets
    ADD CONSTRAINT socialfeed_tweets_pkey PRIMARY KEY (id);


--
-- Name: socialfeed_user_counts socialfeed_user_counts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.socialfeed_user_counts
    ADD CONSTRAINT socialfeed_user_counts_pkey PRIMARY KEY (user_id);


--
-- Name: socialfeed_follows_reverse; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX socialfeed_follows_reverse ON public.socialfeed_follows USING btree (followee_id, follower_id);


--
-- Name: socialfeed_tweet_media_media; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX socialfeed_tweet_media_media ON public.socialfeed_tweet_media USING btree (media_id);


--
-- Name: socialfeed_tweets_author_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX socialfeed_tweets_author_id ON public.socialfeed_tweets USING btree (author_id, id DESC);


--
-- Name: socialfeed_user_counts_followers; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX socialfeed_user_counts_followers ON public.socialfeed_user_counts USING btree (followers);


--
-- PostgreSQL database dump complete
--

\unrestrict sb7DvcDYh8A7r1lFLC19wkj9a1Rvrw8yfsBj0kc5to380JxuWdaQlIPioqFyx1U

