"""The store of socialfeed 0.1: tweets, their media, follow edges, per-user counts.

A database created by 0.1 has exactly these tables (and a ``meta`` row saying version 1); it is
stamped with this revision, then upgraded.
"""

import sqlalchemy as sa
from alembic import context, op

from socialfeed.backends.sql.schema import LONGTEXT, MYSQL_TABLE, UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the tables."""
    p = context.config.attributes["prefix"]
    op.create_table(
        f"{p}tweets",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("text", LONGTEXT, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index(f"{p}tweets_author_id", f"{p}tweets", ["author_id", sa.text("id DESC")])
    op.create_table(
        f"{p}tweet_media",
        sa.Column("tweet_id", sa.BigInteger, nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("media_id", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tweet_id", "position"),
        **MYSQL_TABLE,
    )
    op.create_index(f"{p}tweet_media_media", f"{p}tweet_media", ["media_id"])
    op.create_table(
        f"{p}follows",
        sa.Column("follower_id", sa.BigInteger, nullable=False),
        sa.Column("followee_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("follower_id", "followee_id"),
        **MYSQL_TABLE,
    )
    op.create_index(
        f"{p}follows_reverse", f"{p}follows", ["followee_id", "follower_id"], unique=True
    )
    op.create_table(
        f"{p}user_counts",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("followers", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("following", sa.BigInteger, nullable=False, server_default="0"),
        **MYSQL_TABLE,
    )
    op.create_index(f"{p}user_counts_followers", f"{p}user_counts", ["followers"])
