"""Engines and sessions.

Services never commit: the request, the CLI command or the job that opened the session commits
once (``session_scope``), so a failure anywhere leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _synchronous() -> str:
    """FULL unless configured otherwise (``METERHUB_SQLITE_SYNCHRONOUS``; the tests use NORMAL,
    as their PostgreSQL runs with fsync off)."""
    from meterhub.config import get_settings

    return get_settings().sqlite_synchronous


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin (needed for SAVEPOINT).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA synchronous={_synchronous()}")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("sqlite_write_lock")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(session: Session) -> None:
    """Start the session's transaction holding SQLite's write lock (nothing on PostgreSQL).

    In WAL mode a transaction that has read and then tries to write while another connection
    holds the write lock fails at once with "database is locked" (waiting could not help: its
    snapshot may be stale). A unit of work that will write therefore takes the lock before its
    first read, and then simply queues for up to ``busy_timeout``. Call it before anything else.
    """
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={"sqlite_write_lock": True})


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


@lru_cache(maxsize=16)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str, *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit if the block finishes, roll back if it raises. ``write=False``
    for long read-only work (a CSV download), which must not hold SQLite's write lock."""
    session = get_sessionmaker(url)()
    try:
        if write:
            begin_write(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
