"""The bases for every request and response body: unknown fields are refused, not ignored; and
a request body's values must have the type its schema says (``"installs": "12"`` is refused,
not read as 12).

FastAPI validates a JSON body after decoding it, as Python values, and strict validation of
Python values takes a date only as a ``date`` object. JSON has no dates, only text, so a date
field of a request body is an ``IsoDate``: text written ``YYYY-MM-DD``, exactly what strict
validation of JSON itself accepts, and nothing else (not a number, not a timestamp).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class RequestBody(Strict):
    """A body the API is sent: strict about types as well as about fields."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, strict=True)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_from_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # a date object passes strict validation; anything else is refused there
    # pydantic reads "0" or "86400" as a day of the Unix epoch even in strict mode: only the
    # calendar form is a date here.
    if _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value[:40]!r} is not a date written YYYY-MM-DD")


#: A date in a request body or query, sent as text ``YYYY-MM-DD`` (never a number of seconds).
IsoDate = Annotated[date, BeforeValidator(_date_from_json)]
