"""Helpers shared by the SQL backend tests (a uniquely named module: every test directory has a
``conftest``)."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete

from services import require

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root:@127.0.0.1:3306/test"


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


def backend_url(name: str, tmp: Any) -> str:
    """The URL of a backend's test database (skipping when its server is down)."""
    if name == "sqlite":
        return f"sqlite:///{tmp}/sf.db"
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
