"""What every command shares: the settings, one unit of work, and one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError
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
        except OperationalError as exc:
            first = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
            raise fail(f"database: {first} (did you run 'meterhub db upgrade'?)", 1) from None

    return wrapper


@contextmanager
def unit_of_work() -> Iterator[Session]:
    with session_scope(get_settings().database_url) as session:
        yield session
