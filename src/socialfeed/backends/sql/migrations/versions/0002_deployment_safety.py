"""socialfeed 0.2, deployment safety: the outbox of events, tombstones of deleted tweets,
idempotency keys, worker-id leases, the deployment's settings, and media references (counted
from the media rows of the live tweets)."""

import sqlalchemy as sa
from alembic import context, op

from socialfeed.backends.sql.schema import MYSQL_TABLE, UTCDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    """Create the tables and count the references of the media in use."""
    p = context.config.attributes["prefix"]
    op.create_table(
        f"{p}events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("actor", sa.BigInteger, nullable=False),
        sa.Column("target", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=True),
        sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{p}deleted_tweets",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", UTCDateTime, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{p}idempotency_keys",
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("idem_key", sa.String(255), nullable=False),
        sa.Column("tweet_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("author_id", "idem_key"),
        **MYSQL_TABLE,
    )
    op.create_index(f"{p}idempotency_keys_tweet", f"{p}idempotency_keys", ["tweet_id"])
    leases = op.create_table(
        f"{p}worker_leases",
        sa.Column("worker_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(255), nullable=True),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
        sa.Column("last_ms", sa.BigInteger, nullable=False),
        **MYSQL_TABLE,
    )
    op.bulk_insert(  # one row per worker id: a lease is taken by locking rows, never inserting
        leases,
        [{"worker_id": n, "holder": None, "expires_ms": 0, "last_ms": -1} for n in range(1024)],
    )
    op.create_table(
        f"{p}settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        **MYSQL_TABLE,
    )
    op.create_table(
        f"{p}media_refs",
        sa.Column("media_id", sa.String(255), primary_key=True),
        sa.Column("refs", sa.BigInteger, nullable=False),
        sa.Column("claimed_until", sa.BigInteger, nullable=False, server_default="0"),
        **MYSQL_TABLE,
    )
    op.execute(
        f"INSERT INTO {p}media_refs (media_id, refs, claimed_until)"
        f" SELECT media_id, COUNT(*), 0 FROM {p}tweet_media GROUP BY media_id"
    )
