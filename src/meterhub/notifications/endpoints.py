"""``/api/v1/inbox``: the caller's own notifications, newest first, and marking them read.

The inbox is the user's, not the party's: another user's entry is a 404, as another party's
object is everywhere else."""

from __future__ import annotations

from fastapi import APIRouter, Query

from meterhub.api.deps import CurrentActor, DbSession, RowId
from meterhub.api.responses import refusals
from meterhub.kit.clock import utcnow
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.notifications import service
from meterhub.notifications.models import Notification
from meterhub.notifications.schemas import InboxEntryOut, InboxPageOut, MarkedOut

router = APIRouter(tags=["inbox"])


def entry_out(row: Notification) -> InboxEntryOut:
    return InboxEntryOut.model_validate(row)


@router.get("/inbox", response_model=InboxPageOut)
def list_inbox(
    session: DbSession,
    actor: CurrentActor,
    unread: bool = Query(default=False, description="Only unread entries"),
    before: int | None = Query(
        default=None, ge=1, le=MAX_ROW_ID, description="Entries older than this id"
    ),
    limit: int = Query(default=50, ge=1, le=500),
) -> InboxPageOut:
    """Your inbox: what steps that concerned your party told you, newest first."""
    rows = service.inbox(
        session, actor=actor, unread_only=unread, before_id=before, limit=limit + 1
    )
    more = len(rows) > limit
    shown = rows[:limit]
    return InboxPageOut(
        items=[entry_out(r) for r in shown],
        unread=service.unread_count(session, actor=actor),
        next_before=shown[-1].id if more and shown else None,
    )


@router.get(
    "/inbox/entries/{notification_id}", response_model=InboxEntryOut, responses=refusals(404)
)
def get_entry(notification_id: RowId, session: DbSession, actor: CurrentActor) -> InboxEntryOut:
    return entry_out(service.entry(session, actor=actor, notification_id=notification_id))


@router.post(
    "/inbox/entries/{notification_id}/read", response_model=InboxEntryOut, responses=refusals(404)
)
def mark_read(notification_id: RowId, session: DbSession, actor: CurrentActor) -> InboxEntryOut:
    """Mark one entry read (again: no change, it keeps the first time)."""
    row = service.mark_read(session, actor=actor, notification_id=notification_id, now=utcnow())
    return entry_out(row)


@router.post("/inbox/read", response_model=MarkedOut)
def mark_all_read(session: DbSession, actor: CurrentActor) -> MarkedOut:
    """Mark every unread entry of your inbox read."""
    return MarkedOut(marked=service.mark_all_read(session, actor=actor, now=utcnow()))
