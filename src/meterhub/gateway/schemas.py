"""JSON bodies of the gateway's polling, batch and callback endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from meterhub.kit.schema import RequestBody, Strict


class DuisJsonRequest(RequestBody):
    """The JSON form of a DUIS request: the same header fields and the body's values."""

    request_id: str = Field(description="originatorEUI64:targetEUI64:counter")
    srv: str = Field(description="Service Reference Variant, e.g. 8.14.3")
    service_reference: str
    command_variant: int = 1
    body_name: str = Field(description="The element under Body, e.g. CHFFaultReturn")
    body: dict[str, Any] = Field(default_factory=dict)


class SubmissionOut(Strict):
    request_id: str
    accepted: bool
    response_code: str
    reason: str | None
    xml: str


class BatchIn(RequestBody):
    requests: list[DuisJsonRequest] = Field(min_length=1, max_length=1000)


class BatchOut(Strict):
    results: list[SubmissionOut]


class MessageOut(Strict):
    id: int
    kind: str
    request_id: str | None
    code: str
    device_id: str | None
    created_at: datetime
    xml: str


class MessagesOut(Strict):
    items: list[MessageOut]
    next_cursor: int = Field(description="Pass as ?after= to get what came since")


class RequestStatusOut(Strict):
    request_id: str
    srv: str | None
    received_at: datetime
    acknowledgement: str
    refusal_reason: str | None
    state: str
    response_code: str | None
    responded_at: datetime | None
    rtt_ms: int | None
    failure_reason: str | None
    messages: list[MessageOut]


class CallbackIn(RequestBody):
    url: str = Field(min_length=8, max_length=500, pattern=r"^https?://")


class CallbackOut(Strict):
    url: str | None
