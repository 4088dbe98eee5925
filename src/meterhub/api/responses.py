"""What the OpenAPI document says about refusals: the error body every status carries, and which
statuses each route answers (``responses=refusals(...)`` beside the route).

The API renders every refusal as ``{"error": {"code", "message", "details"}}``
(``api.errors``); a status a route answers but does not document is a broken promise to the
client generated from the document, so the fuzz test (``tests/api/test_openapi_fuzz.py``) fails
on one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine code, e.g. not_found, invalid_transition")
    message: str = Field(description="What went wrong, for a person")
    details: Any = Field(default=None, description="Field-level problems, or the partial results")


class ErrorOut(BaseModel):
    error: ErrorDetail


MEANINGS = {
    400: "Malformed: the body is not valid JSON (malformed_json)",
    401: "No, an unknown or a revoked bearer token",
    403: "Your party or role may not do this",
    404: "No such object, or another party's (they look the same)",
    409: "Conflicts with what is held: an overlapping period, a disallowed step, a duplicate",
    413: "The body is larger than the hub accepts",
    422: "The request does not match the schema or the rules (invalid_input, unknown_field, ...)",
    503: "The hub is shutting down and took nothing; try again",
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may refuse with these statuses."""
    return {status: {"model": ErrorOut, "description": MEANINGS[status]} for status in statuses}


# Every route answers an unauthenticated call with 401 and a request that breaks its schema
# with 422 (which replaces FastAPI's default 422 body, a shape this API never sends).
EVERY_ROUTE = refusals(401, 422)
# Every route with a JSON body: 400 for malformed JSON, 413 for an oversized body.
JSON_BODY = refusals(400, 413)
