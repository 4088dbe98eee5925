"""Opaque cursors for keyset pagination: stable under inserts, cheap at any depth."""

from __future__ import annotations

import base64
import json
from typing import Any

from meterhub.errors import InvalidInput

#: The largest integer SQLite and PostgreSQL hold (signed 64-bit): no row id, cursor position or
#: count stored in either lies beyond it, and SQLite cannot even bind a larger one.
MAX_SQL_INT = 2**63 - 1

#: The largest row id: every table's id is an INTEGER column, which PostgreSQL holds as 32 bits
#: (SQLite would go further, PostgreSQL refuses to compare with a larger number). An id or a
#: cursor position past it names nothing on either database.
MAX_ROW_ID = 2**31 - 1


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor is not one this hub issued", code="bad_cursor") from exc
    if not isinstance(values, list) or any(
        isinstance(v, int) and not -MAX_ROW_ID - 1 <= v <= MAX_ROW_ID for v in values
    ):
        raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
    return values
