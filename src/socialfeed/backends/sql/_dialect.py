"""Statements whose spelling differs between PostgreSQL, SQLite and MySQL/MariaDB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Table, any_, bindparam
from sqlalchemy.dialects import mysql, postgresql, sqlite

__all__ = ["insert_ignore", "one_of", "upsert_add", "upsert_set"]


def insert_ignore(dialect: str, table: Table) -> Any:
    """``INSERT`` that skips rows whose key exists (rowcount counts only new rows)."""
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:
        stmt = mysql.insert(table).prefix_with("IGNORE")
    return stmt.execution_options(preserve_rowcount=True)


def _upsert(dialect: str, table: Table, keys: Sequence[str], values: Any) -> Any:
    c = table.c
    if dialect in ("postgresql", "sqlite"):
        mod: Any = postgresql if dialect == "postgresql" else sqlite
        ins = mod.insert(table)
        return ins.on_conflict_do_update(
            index_elements=[c[k] for k in keys], set_=values(c, ins.excluded)
        )
    ins = mysql.insert(table)
    return ins.on_duplicate_key_update(values(c, ins.inserted))


def upsert_add(dialect: str, table: Table, keys: Sequence[str], columns: Sequence[str]) -> Any:
    """``INSERT`` a row, or add its values of ``columns`` to the existing row's.

    With zero deltas this is how a row is created-or-locked in one statement.
    """
    return _upsert(dialect, table, keys, lambda c, new: {n: c[n] + new[n] for n in columns})


def upsert_set(dialect: str, table: Table, keys: Sequence[str], columns: Sequence[str]) -> Any:
    """``INSERT`` a row, or overwrite ``columns`` of the existing row with its values."""
    return _upsert(dialect, table, keys, lambda c, new: {n: new[n] for n in columns})


def one_of(dialect: str, column: Any, name: str, type_: Any = None) -> ColumnElement[bool]:
    """``column IN (:name...)``; on PostgreSQL ``column = ANY(:name)`` with one array parameter,
    so the statement text does not change with the list's length (and is prepared once)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(type_ or BigInteger)))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]
