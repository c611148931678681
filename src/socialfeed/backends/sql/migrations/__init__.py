"""The store's Alembic migrations (run by :mod:`socialfeed.backends.sql.migrate`)."""
