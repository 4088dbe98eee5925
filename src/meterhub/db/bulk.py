"""Bulk loads: executemany into one table, in the connection of the session's transaction.

For the few loads that write hundreds of thousands of rows in one command (the demo estate,
docs/decisions/0010-demo-estate-bulk-load.md): on SQLite straight through the DBAPI cursor,
where SQLAlchemy's per-row work would cost more than the database itself, and through Core
``insert()`` elsewhere. Rows are tuples in the order of the columns named; dates and UTC
timestamps in them must already be encoded as ``encoders`` says, since on SQLite nothing
between the tuple and the database converts them. Each domain offers its own bulk load over
this, so only the owner of a table writes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, insert
from sqlalchemy.orm import Session

Row = tuple[Any, ...]


def _is_sqlite(session: Session) -> bool:
    return session.connection().dialect.name == "sqlite"


def write_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Row]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` with one executemany."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})"
        )
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
    else:
        connection.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def encoders(session: Session) -> tuple[Callable[[date], Any], Callable[[datetime], Any]]:
    """How dates and UTC timestamps go into bulk rows: as SQLAlchemy stores them on SQLite
    (text), or as objects the driver adapts."""
    if _is_sqlite(session):
        return (
            lambda d: d.isoformat(),
            lambda dt: dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
    return (lambda d: d, lambda dt: dt)


_key_tables = itertools.count(1)


@contextmanager
def key_table(session: Session, keys: Sequence[str], *, length: int = 80) -> Iterator[Table]:
    """A temporary table of one column ``key`` holding ``keys``, for the length of the block,
    in the session's transaction: a statement joins it instead of binding tens of thousands of
    parameters (SQLite binds at most 32,766, and compiling a long IN list costs more than the
    query). Dropped when the block ends."""
    table = Table(
        f"tmp_keys_{next(_key_tables)}",
        MetaData(),
        Column("key", String(length)),
        prefixes=["TEMPORARY"],
    )
    connection = session.connection()
    table.create(connection)
    try:
        write_rows(session, table, ("key",), [(k,) for k in keys])
        yield table
    finally:
        table.drop(connection)
