"""socialfeed 0.3, social semantics: replies and reposts on the tweets (three nullable columns
and their indexes), blocks and mutes, muted words, erasures under way, and an index of the
tombstones by author (an erasure removes a user's tombstones)."""

import sqlalchemy as sa
from alembic import context, op

from socialfeed.backends.sql.schema import MYSQL_TABLE

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Add the columns, indexes and tables (existing tweets are neither replies nor reposts)."""
    p = context.config.attributes["prefix"]
    for column in ("reply_to", "reply_to_author_id", "repost_of"):  # SQLite can add these too
        op.add_column(f"{p}tweets", sa.Column(column, sa.BigInteger, nullable=True))
    op.create_index(f"{p}tweets_repost_of", f"{p}tweets", ["repost_of", "author_id"])
    op.create_index(f"{p}tweets_reply_to", f"{p}tweets", ["reply_to", "id"])
    op.create_index(f"{p}deleted_tweets_author", f"{p}deleted_tweets", ["author_id", "id"])
    op.create_table(
        f"{p}relations",
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("target_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("kind", "user_id", "target_id"),
        **MYSQL_TABLE,
    )
    op.create_index(
        f"{p}relations_reverse", f"{p}relations", ["kind", "target_id", "user_id"], unique=True
    )
    op.create_table(
        f"{p}muted_words",
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("phrase", sa.String(400), nullable=False),
        sa.Column("whole_word", sa.Boolean, nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("user_id", "phrase"),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{p}erasures",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("watermark", sa.BigInteger, nullable=False),
        **MYSQL_TABLE,
    )
