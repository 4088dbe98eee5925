"""One ``Base`` for every domain's tables, with a naming convention so migrations are stable.

Only types that SQLite and PostgreSQL both have are used: strings, integers, dates, UTC
timestamps, JSON. Enumerations are stored as strings and validated at the boundary; numbers
beyond a signed 64-bit integer (DUIS RequestID counters) as fixed-width digit strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, DateTime, MetaData, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

from meterhub.kit.clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC when read back, on either database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; meterhub stores UTC only")
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Unsigned64(TypeDecorator[int]):
    """An integer from 0 to 2^64-1, such as a DUIS RequestID counter.

    Both databases' largest integer is signed 64-bit and stops at 2^63-1, so the number is
    stored as its 20 decimal digits, zero-padded. Strings of digits of one length order as the
    numbers do (byte by byte on SQLite, and in any collation PostgreSQL offers, none of which
    ignores or reorders digits), so ``<`` in SQL still compares the numbers."""

    impl = String(20)
    cache_ok = True
    DIGITS = 20
    MAX = 2**64 - 1

    def process_bind_param(self, value: int | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not 0 <= value <= self.MAX:
            raise ValueError(f"{value} is outside 0..2^64-1")
        return f"{value:0{self.DIGITS}d}"

    def process_result_value(self, value: str | None, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


def text_length(column: ColumnElement[Any]) -> int:
    """How many characters a text column holds: the one number its service checks input
    against and its documentation quotes, so neither can drift from the schema."""
    if not isinstance(column.type, String) or column.type.length is None:
        raise TypeError(f"{column} is not a text column of fixed length")
    return column.type.length


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}
