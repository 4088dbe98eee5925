"""The bases for every request and response body: unknown fields are refused, not ignored; and
a request body's values must have the type its schema says (``"installs": "12"`` is refused,
not read as 12).

FastAPI validates a JSON body after decoding it, as Python values, and strict validation of
Python values takes a date only as a ``date`` object. JSON has no dates, only text, so a date
field of a request body is an ``IsoDate``: text written ``YYYY-MM-DD``, exactly what strict
validation of JSON itself accepts, and nothing else (not a number, not a timestamp).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class RequestBody(Strict):
    """A body the API is sent: strict about types as well as about fields."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, strict=True)


_DATE = TypeAdapter(date)


def _date_from_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # a date object passes strict validation; anything else is refused there
    try:
        return _DATE.validate_strings(value, strict=True)
    except ValidationError:
        raise ValueError(f"{value[:40]!r} is not a date written YYYY-MM-DD") from None


#: A date in a request body, sent as JSON text ``YYYY-MM-DD``.
IsoDate = Annotated[date, BeforeValidator(_date_from_json)]
