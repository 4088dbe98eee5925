"""What every command shares: the settings, one unit of work, and one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from meterhub.config import get_settings
from meterhub.db.session import session_scope
from meterhub.errors import MeterhubError

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a refusal into one line on stderr and exit status 2 (1 for database trouble)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MeterhubError as exc:
            raise fail(f"{exc.code}: {exc.message}", 2) from None
        except DBAPIError as exc:
            raise fail(database_trouble(exc), 1) from None

    return wrapper


#: SQLSTATEs of a missing table or column (PostgreSQL), and of a lock not had in time.
_MISSING_SCHEMA_STATES = frozenset({"42P01", "42703"})
_BUSY_STATES = frozenset({"55P03", "40P01"})


def database_trouble(exc: DBAPIError) -> str:
    """The one line for a database error. Only a missing table or column sends the operator to
    ``meterhub db upgrade``; a database another writer kept locked past the wait every writer
    allows (``busy_timeout``) is busy, not unmigrated, and trying again is the remedy."""
    first = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]
    state = getattr(exc.orig, "sqlstate", None)
    lowered = first.lower()
    if state in _BUSY_STATES or "database is locked" in lowered or "database is busy" in lowered:
        return (
            f"database: {first}: another writer held it longer than a writer waits;"
            " nothing was changed, try again"
        )
    if state in _MISSING_SCHEMA_STATES or lowered.startswith(("no such table", "no such column")):
        return f"database: {first} (did you run 'meterhub db upgrade'?)"
    return f"database: {first}"


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction that writes, committed if the block finishes: it takes the write lock
    first and queues behind the hub's other writers, as a request to the server does."""
    with session_scope(get_settings().database_url) as session:
        yield session
