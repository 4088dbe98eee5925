"""``/portal/inbox``: the logged-in user's notifications, one entry's page, and marking read.

The inbox is the user's own (``notifications.service`` scopes every read to it), so another
user's entry, in this party or another, is the portal's 404 page. Marking read is a POST form
with the CSRF token that sends the user back where it was: no JavaScript needed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from meterhub.api.deps import DbSession
from meterhub.errors import InvalidInput
from meterhub.kit.clock import utcnow
from meterhub.notifications import service as notifications
from meterhub.portal.sessions import check_csrf
from meterhub.portal.web import CurrentUser, CurrentWebSession, redirect, render

router = APIRouter()

INBOX_PATH = "/portal/inbox"
PAGE_SIZE = 25


def _back(target: str, notification_id: int | None = None) -> str:
    """Where a mark-read form returns to: the inbox (with its filter) or the entry's page."""
    if target == "entry" and notification_id is not None:
        return f"{INBOX_PATH}/{notification_id}"
    if target == "unread":
        return f"{INBOX_PATH}?unread=1"
    return INBOX_PATH


@router.get("/inbox")
def inbox_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The inbox, newest first, ``PAGE_SIZE`` a page; ``?unread=1`` shows only unread ones."""
    unread_only = request.query_params.get("unread") == "1"
    raw_before = request.query_params.get("before", "")
    if raw_before and not (raw_before.isascii() and raw_before.isdigit()):
        raise InvalidInput("before must be an entry number", code="bad_cursor")
    before = int(raw_before) if raw_before else None
    rows = notifications.inbox(
        db, actor=me.actor, unread_only=unread_only, before_id=before, limit=PAGE_SIZE + 1
    )
    shown = rows[:PAGE_SIZE]
    query = "unread=1&" if unread_only else ""
    return render(
        request,
        "inbox.html",
        {
            "nav": "inbox",
            "rows": shown,
            "unread_only": unread_only,
            "back": "unread" if unread_only else "all",
            "next_url": f"{INBOX_PATH}?{query}before={shown[-1].id}"
            if len(rows) > PAGE_SIZE
            else "",
            "first_url": f"{INBOX_PATH}?{query}".rstrip("?&") if before else "",
        },
    )


@router.get("/inbox/{notification_id}")
def entry_page(request: Request, db: DbSession, me: CurrentUser, notification_id: int) -> Response:
    """One entry in full, with its link to act on."""
    row = notifications.entry(db, actor=me.actor, notification_id=notification_id)
    return render(request, "inbox_entry.html", {"nav": "inbox", "entry": row})


@router.post("/inbox/read")
def mark_all(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Mark every unread entry read."""
    check_csrf(session, csrf_token)
    notifications.mark_all_read(db, actor=me.actor, now=utcnow())
    return redirect(request, INBOX_PATH)


@router.post("/inbox/{notification_id}/read")
def mark_one(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    notification_id: int,
    csrf_token: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "all",
) -> Response:
    """Mark one entry read and go back to where the form was."""
    check_csrf(session, csrf_token)
    notifications.mark_read(db, actor=me.actor, notification_id=notification_id, now=utcnow())
    return redirect(request, _back(back, notification_id))
