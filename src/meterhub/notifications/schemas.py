"""Response bodies for the inbox."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from meterhub.kit.schema import Strict


class InboxEntryOut(Strict):
    id: int
    kind: str = Field(description="The step that caused it, in dotted words: hub.returned")
    subject: str
    body: str
    link: str = Field(description="The portal page to act on (a path), or empty")
    created_at: datetime
    read_at: datetime | None = Field(description="When you marked it read; null: unread")


class InboxPageOut(Strict):
    items: list[InboxEntryOut]
    unread: int = Field(description="How many entries of your whole inbox are unread")
    next_before: int | None = Field(
        description="Pass as ``before`` for the next (older) page; null: this is the last"
    )


class MarkedOut(Strict):
    marked: int = Field(description="How many entries were unread and are now read")
