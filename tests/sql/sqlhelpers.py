"""Helpers shared by the SQL backend tests (a uniquely named module: every test directory has a
``conftest``)."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete

from services import require

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
"""The machine's PostgreSQL server: tests create databases of their own on it, never write here."""
MARIADB_URL = "mysql+pymysql://root:@127.0.0.1:3306/mysql"
"""The machine's MariaDB server (tests create databases of their own on it)."""


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite, id="sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres, id="postgres"),
    pytest.param("mariadb", marks=pytest.mark.mariadb, id="mariadb"),
]


def require_server(name: str) -> str:
    """The URL of a backend's server (skipping, or failing in CI, when it is down)."""
    if name == "postgres":
        require("postgres", _reachable("127.0.0.1", 5432), "PostgreSQL on 127.0.0.1:5432")
        return PG_URL
    require("mariadb", _reachable("127.0.0.1", 3306), "MariaDB on 127.0.0.1:3306")
    return MARIADB_URL


def new_prefix() -> str:
    """A table prefix of its own, so parallel tests never collide."""
    return f"t{uuid.uuid4().hex[:10]}_"


def wipe(engine: Engine, tables: Any) -> None:
    """Empty every table of a store or cache (faster than recreating them per example)."""
    with engine.begin() as conn:
        for table in tables.metadata.sorted_tables:
            if table is not tables.meta:
                conn.execute(delete(table))


def admin_engine(url: str = PG_URL) -> Engine:
    """An autocommit engine for CREATE/DROP DATABASE and pg_terminate_backend."""
    return create_engine(url, isolation_level="AUTOCOMMIT")
