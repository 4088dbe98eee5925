"""Core statements run straight on the database driver, for the gateway's hottest path.

Executing a prepared Core statement through SQLAlchemy costs about 100 µs of Python on this
machine; the same statement on the driver's cursor costs under 20. The DUIS intake runs five
per request, so that difference is a large share of what a request costs. ``Direct`` keeps the
statement written once in Core (tables, columns and types stay the models' own), compiles it
once per dialect, and runs it on the session's own driver connection, inside the session's
transaction:

* parameters go through the same bind processors SQLAlchemy would apply (UTC timestamps,
  JSON), so what is stored is byte for byte what the ORM would store;
* rows come back as the driver gives them, as tuples with the statement's column names as
  attributes (or as the named tuple type given, whose fields are those names): fine for
  integers and strings, which is all the hot path selects (a timestamp column would come back
  unconverted on SQLite, so ``Direct`` refuses statements selecting one).

Only for statements the session's transaction already covers; everything else uses the session.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Date, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    processors: Mapping[str, Callable[[Any], Any]]
    row: type[tuple[Any, ...]] | None


def _row_type(names: tuple[str, ...]) -> Any:
    """A tuple type whose fields are the statement's column names."""
    return namedtuple("Row", names)


def driver_connection(session: Session) -> Any:
    """The DBAPI connection under the session's transaction (begun if it was not); looked up
    once per transaction (``session.connection()`` costs as much as a small query)."""
    transaction = session.get_transaction()
    cached = session.info.get("direct_driver")
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]
    conn = session.connection().connection.driver_connection
    session.info["direct_driver"] = (session.get_transaction(), conn)
    return conn


class Direct:
    """One Core statement, compiled once per dialect, executed on the driver's cursor.

    ``row``: the named tuple type its rows come back as (a service's public row type, so a
    caller in another domain gets typed rows without reading the tables), its fields the
    statement's column names in order."""

    def __init__(
        self, statement: ClauseElement, *, row: type[tuple[Any, ...]] | None = None
    ) -> None:
        self.statement = statement
        self._row = row
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is not None:
            return found
        compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
        row: Any = None
        columns = getattr(self.statement, "selected_columns", None)
        if columns is not None and len(columns):
            for column in columns:
                if isinstance(column.type, DateTime | Date) or isinstance(
                    getattr(column.type, "impl", None), DateTime | Date
                ):
                    raise TypeError(f"Direct returns driver values; {column} is a timestamp")
            selected = tuple(c.key for c in columns)
            row = self._row or _row_type(selected)
            fields = getattr(row, "_fields", None)
            if fields != selected:
                raise TypeError(f"{row.__name__} has fields {fields}, not the columns {selected}")
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        found = _Compiled(
            sql=compiled.string,
            names=names,
            positional=positional,
            processors=cast(dict[str, Callable[[Any], Any]], dict(compiled._bind_processors)),
            row=row,
        )
        self._by_dialect[dialect.name] = found
        return found

    def execute(self, session: Session, params: Mapping[str, Any], conn: Any = None) -> Any:
        """Run on the session's driver connection (``conn`` if the caller already has it);
        returns the driver's cursor."""
        compiled = self._compiled(session.get_bind().dialect)
        processors = compiled.processors
        values = {}
        for name in compiled.names:
            value = params[name]
            process = processors.get(name)
            values[name] = process(value) if process is not None and value is not None else value
        conn = conn if conn is not None else driver_connection(session)
        cursor = conn.cursor()
        if compiled.positional:
            cursor.execute(compiled.sql, tuple(values[n] for n in compiled.names))
        else:
            cursor.execute(compiled.sql, values)
        return cursor

    def first(self, session: Session, params: Mapping[str, Any], conn: Any = None) -> Any:
        """The first row (with column names as attributes), or None."""
        cursor = self.execute(session, params, conn)
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        if raw is None:
            return None
        row = self._by_dialect[session.get_bind().dialect.name].row
        return row(*raw) if row is not None else raw

    def all(self, session: Session, params: Mapping[str, Any], conn: Any = None) -> list[Any]:
        cursor = self.execute(session, params, conn)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        row = self._by_dialect[session.get_bind().dialect.name].row
        return [row(*r) for r in rows] if row is not None else list(rows)
