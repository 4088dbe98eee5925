"""Request and response bodies of ``/api/v1/contacts`` and ``/api/v1/contact-types``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from meterhub.contacts.service import MAX_NOTE, MAX_REASON
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.kit.schema import RequestBody, Strict

#: A form's values: each field's text or number (a date as YYYY-MM-DD text), or null.
FormValue = str | int | None


class DraftIn(RequestBody):
    contact_type: str = Field(max_length=8, description="The contact type's code, e.g. TOG")
    values: dict[str, FormValue] = Field(
        description="The form's fields by name (see /contact-types); a draft may be incomplete",
        max_length=50,
    )


class DraftChange(RequestBody):
    values: dict[str, FormValue] = Field(
        description="The draft's fields, all of them (what is left out is emptied)", max_length=50
    )


class ActionIn(RequestBody):
    action: str = Field(max_length=32, description="A step of the type's workflow, e.g. accept")
    reason: str = Field(default="", max_length=MAX_REASON)
    involvement_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ROW_ID,
        description="Whose part the step is on; default: your own part, or the only one it fits",
    )
    values: dict[str, FormValue] = Field(
        default_factory=dict,
        max_length=10,
        description="The values the step takes (its inputs in /contact-types), e.g. the"
        " operator's amended_kwh when amending a Supplier Theft of Gas share",
    )


class NoteIn(RequestBody):
    text: str = Field(min_length=1, max_length=MAX_NOTE)


class FieldOut(Strict):
    name: str
    label: str
    kind: str
    required: bool
    max_length: int
    choices: dict[str, str] = Field(description="Code -> words, for a choice")
    minimum: int | None
    maximum: int | None
    help: str


class StatusOut(Strict):
    code: str
    words: str
    awaits: str | None = Field(description="raiser, involved, operator; null: finished")


class StepOut(Strict):
    action: str
    label: str
    from_status: str
    to_status: str
    by: str
    needs_reason: bool
    window: str | None
    inputs: list[FieldOut] = Field(description="Values the step takes besides its reason")


class ContactTypeOut(Strict):
    code: str
    title: str
    description: str
    reference_prefix: str
    raised_by: list[str]
    fields: list[FieldOut]
    statuses: list[StatusOut]
    initial_status: str
    workflow: list[StepOut]
    windows: dict[str, int] = Field(description="Response windows in GB business days")
    on_expiry: dict[str, str] = Field(description="Status -> the step applied when it is overdue")


class PartOut(Strict):
    id: int
    party: str
    role: str
    status: str
    status_words: str
    awaiting: str | None
    respond_by: datetime | None
    overdue: bool
    share: dict[str, Any]
    share_words: str = Field(description="The share in words (days held, energy), if any")


class EventOut(Strict):
    at: datetime
    actor: str
    party: str | None
    action: str
    from_status: str | None = Field(description="In words")
    to_status: str | None = Field(description="In words")
    changes: dict[str, Any]
    reason: str


class NoteOut(Strict):
    id: int
    author: str
    at: datetime
    text: str


class AttachmentOut(Strict):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    at: datetime


class ActionOut(Strict):
    involvement_id: int
    party: str
    action: str
    label: str
    needs_reason: bool
    leads_to: str
    takes: list[str] = Field(description="The names of the values the step takes")


class ContactOut(Strict):
    id: int
    reference: str | None = Field(description="Given on submit; null for a draft")
    contact_type: str
    type_title: str
    status: str = Field(description="draft, open or closed")
    status_words: str
    raised_by: str
    values: dict[str, Any]
    parts: list[PartOut]
    history: list[EventOut]
    notes: list[NoteOut]
    attachments: list[AttachmentOut]
    handlers: dict[str, str] = Field(description="Party -> the user who has picked it up")
    actions: list[ActionOut] = Field(description="The steps you may take now")
    created_at: datetime
    submitted_at: datetime | None
    closed_at: datetime | None


class QueueRowOut(Strict):
    id: int
    reference: str | None
    contact_type: str
    type_title: str
    status_words: str
    raised_by: str
    summary: str
    respond_by: datetime | None
    overdue: bool
    awaiting_you: bool
    handler: str | None
    created_at: datetime
    updated_at: datetime


class QueuePageOut(Strict):
    queue: str
    items: list[QueueRowOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: last")


class QueueCountsOut(Strict):
    counts: dict[str, int] = Field(description="Queue -> how many contacts it holds")
