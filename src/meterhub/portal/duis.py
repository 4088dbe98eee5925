"""The gateway's pages: ``/portal/requests`` (and ``.csv``), one request's timeline, the alerts
inbox, and the user's callback URL under ``/portal/settings/callback``.

Requests and alerts are the *party's* (every user's of it): an operations team works them
together. The callback URL is the logged-in *user's*, because responses and alerts are owed to,
pushed to and polled by the user who sent the request. Every read goes through
``gateway.queries``, scoped to the user's party, so another party's request or alert is the
portal's 404 page; the callback URL changes through ``gateway.callbacks``, as on the API.

Lists are GET forms (bookmarkable, no JavaScript) with keyset pages: "Next" follows the query's
cursor; "Previous" lists oldest-first from the first row shown and turns the page round, so both
stay exact however deep the user pages. A filter the hub cannot read (a bad device ID, a day
range the wrong way round) shows the form again with the message and no rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from meterhub.api.deps import DbSession, RowId
from meterhub.audit.service import Actor
from meterhub.config import Settings
from meterhub.db.session import session_scope
from meterhub.errors import InvalidInput
from meterhub.gateway import callbacks, queries
from meterhub.gateway.codes import ResponseCode
from meterhub.gateway.models import OutboundMessage, ServiceRequest
from meterhub.kit.clock import today, utcnow
from meterhub.kit.spreadsheet import spreadsheet_safe
from meterhub.portal.sessions import check_csrf
from meterhub.portal.web import (
    SECURITY_HEADERS,
    CurrentUser,
    CurrentWebSession,
    PortalUser,
    redirect,
    render,
)

router = APIRouter()

REQUESTS_PATH = "/portal/requests"
ALERTS_PATH = "/portal/alerts"
CALLBACK_PATH = "/portal/settings/callback"
PAGE_SIZES = (10, 25, 50, 100, 250, 500, 1000)
CSV_BATCH = 1000
REQUEST_FILTERS = ("srv", "device_id", "received_from", "received_to", "outcome", "response_code")
ALERT_FILTERS = ("code", "device_id")
STAMP = "%Y-%m-%d %H:%M:%S"

#: (field, CSV heading): the CSV has every list column, spelt out, and the reasons.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("received_at", "Received (UTC)"),
    ("request_id", "RequestID"),
    ("srv", "SRV"),
    ("srv_name", "SRV name"),
    ("device_id", "Device ID"),
    ("ack_code", "Acknowledgement"),
    ("outcome", "State"),
    ("response_code", "Response code"),
    ("responded_at", "Responded (UTC)"),
    ("rtt_ms", "RTT (ms)"),
    ("failure_reason", "Failure reason"),
    ("refusal_reason", "Refusal reason"),
)


@dataclass(frozen=True)
class ListQuery:
    """What the user asked a list for, read from the query string and kept in every link."""

    path: str
    filters: dict[str, str]
    size: int
    after: str | None = None
    before: str | None = None

    def query_string(self, **changes: Any) -> str:
        q = replace(self, **changes)
        params: dict[str, str] = dict(q.filters)
        params["size"] = str(q.size)
        if q.after:
            params["after"] = q.after
        if q.before:
            params["before"] = q.before
        return urlencode(params)

    def url(self, **changes: Any) -> str:
        return f"{self.path}?{self.query_string(**changes)}"

    @property
    def first(self) -> ListQuery:
        return replace(self, after=None, before=None)


def read_list_query(request: Request, path: str, names: tuple[str, ...]) -> ListQuery:
    settings: Settings = request.app.state.settings
    params = request.query_params
    raw_size = params.get("size", "").strip()
    size = settings.page_size_default
    if raw_size:
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= settings.page_size_max:
            raise InvalidInput(
                f"page size must be a number from 1 to {settings.page_size_max}",
                code="bad_page_size",
            )
        size = int(raw_size)
    return ListQuery(
        path=path,
        filters={n: params[n].strip() for n in names if params.get(n, "").strip()},
        size=size,
        after=params.get("after") or None,
        before=params.get("before") or None,
    )


def page_sizes(request: Request, size: int) -> list[int]:
    settings: Settings = request.app.state.settings
    return sorted({s for s in PAGE_SIZES if s <= settings.page_size_max} | {size})


def _day(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"the {label} day {value!r} is not a date (YYYY-MM-DD)", code="bad_date"
        ) from None


def request_filter(q: ListQuery) -> queries.RequestFilter:
    f = q.filters
    return queries.RequestFilter(
        srv=f.get("srv"),
        device_id=f.get("device_id"),
        received_from=_day(f.get("received_from"), "'from'"),
        received_to=_day(f.get("received_to"), "'to'"),
        outcome=f.get("outcome"),
        response_code=f.get("response_code"),
    ).checked()


T = TypeVar("T")


@dataclass(frozen=True)
class Shown(Generic[T]):
    items: list[T]
    next_cursor: str | None
    previous_cursor: str | None


def keyset_page(
    q: ListQuery,
    fetch: Callable[[str | None, bool], tuple[list[T], str | None]],
    cursor_at: Callable[[T], str],
) -> Shown[T]:
    """One page forwards from ``after``, or backwards from ``before`` turned the right way round.

    ``fetch(cursor, oldest_first)`` returns (rows, next cursor) in the order asked for.
    """
    if q.before:
        back, more = fetch(q.before, True)
        if back:
            items = list(reversed(back))
            return Shown(
                items=items,
                next_cursor=cursor_at(items[-1]),
                previous_cursor=cursor_at(items[0]) if more else None,
            )
        q = q.first
    items, next_cursor = fetch(q.after, False)
    previous = cursor_at(items[0]) if q.after and items else None
    return Shown(items=items, next_cursor=next_cursor, previous_cursor=previous)


def pager(q: ListQuery, shown: Shown[Any]) -> dict[str, str | None]:
    return {
        "next_url": q.url(after=shown.next_cursor, before=None) if shown.next_cursor else None,
        "previous_url": (
            q.url(before=shown.previous_cursor, after=None) if shown.previous_cursor else None
        ),
        "first_url": q.first.url() if (q.after or q.before) else None,
    }


# ---------------------------------------------------------------- my requests


def request_row(row: ServiceRequest) -> dict[str, Any]:
    outcome = queries.outcome_of(row)
    return {
        "id": row.id,
        "received_at": row.received_at.strftime(STAMP),
        "request_id": row.request_id,
        "srv": row.srv or "",
        "srv_name": queries.srv_name(row.srv),
        "device_id": row.device_id or "",
        "ack_code": row.ack_code,
        "outcome": outcome,
        "outcome_label": queries.OUTCOMES.get(outcome, outcome),
        "response_code": row.response_code or "",
        "responded_at": row.responded_at.strftime(STAMP) if row.responded_at else "",
        "rtt_ms": "" if row.rtt_ms is None else str(row.rtt_ms),
        "rtt": queries.format_rtt(row.rtt_ms),
        "failure_reason": (row.failure_reason or "").replace("_", " "),
        "refusal_reason": row.refusal_reason or "",
    }


def fetch_requests(
    session: Session, actor: Actor, q: ListQuery, flt: queries.RequestFilter
) -> Shown[ServiceRequest]:
    def fetch(cursor: str | None, oldest_first: bool) -> tuple[list[ServiceRequest], str | None]:
        page = queries.list_requests(
            session,
            actor=actor,
            flt=flt,
            limit=q.size,
            cursor=cursor,
            oldest_first=oldest_first,
        )
        return page.items, page.next_cursor

    return keyset_page(q, fetch, queries.request_cursor)


@router.get("/requests")
def requests_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's service requests under the chosen filters, newest first, a page at a time."""
    q = read_list_query(request, REQUESTS_PATH, REQUEST_FILTERS)
    error = ""
    rows: list[dict[str, Any]] = []
    links: dict[str, str | None] = {}
    try:
        flt = request_filter(q)
        shown = fetch_requests(db, me.actor, q, flt)
        rows = [request_row(r) for r in shown.items]
        links = pager(q, shown)
    except InvalidInput as exc:
        error = exc.message
    catalogue_srvs = queries.srvs_used(db, actor=me.actor)
    chosen_srv = q.filters.get("srv")
    if chosen_srv and chosen_srv not in catalogue_srvs and not error:
        catalogue_srvs.append(chosen_srv)
    return render(
        request,
        "requests.html",
        {
            "nav": "requests",
            "q": q,
            "rows": rows,
            "error": error,
            "srvs": [(s, queries.srv_name(s)) for s in catalogue_srvs],
            "outcomes": queries.OUTCOMES,
            "response_codes": [c.value for c in ResponseCode],
            "page_sizes": page_sizes(request, q.size),
            "csv_url": f"{REQUESTS_PATH}.csv?{q.first.query_string()}",
            "filtered": bool(q.filters),
            **links,
        },
        status_code=422 if error else 200,
    )


def requests_csv_lines(
    database_url: str, actor: Actor, flt: queries.RequestFilter
) -> Iterator[str]:
    """Every matching request as CSV, a batch at a time, in its own read session (the request's
    session is gone while a long download still streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in CSV_COLUMNS])
    with session_scope(database_url, write=False) as session:
        cursor: str | None = None
        while True:
            page = queries.list_requests(
                session, actor=actor, flt=flt, limit=CSV_BATCH, cursor=cursor
            )
            for row in page.items:
                shown = request_row(row)
                writer.writerow([spreadsheet_safe(str(shown[field])) for field, _ in CSV_COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            session.expunge_all()
            cursor = page.next_cursor
            if cursor is None:
                return


@router.get("/requests.csv")
def requests_csv(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """Every request matching the current filters, newest first, as a CSV download."""
    settings: Settings = request.app.state.settings
    q = read_list_query(request, REQUESTS_PATH, REQUEST_FILTERS).first
    flt = request_filter(q)  # a bad filter is an error page, before any byte is streamed
    filename = f"meterhub-requests-{me.party_code.lower()}-{date.isoformat(today())}.csv"
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        requests_csv_lines(settings.database_url, me.actor, flt),
        media_type="text/csv; charset=utf-8",
        headers=headers,
    )


def message_view(m: OutboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "code": m.code,
        "meaning": queries.code_meaning(m.code),
        "device_id": m.device_id or "",
        "request_id": m.request_id or "",
        "service_request_id": m.service_request_id,
        "created_at": m.created_at.strftime(STAMP),
        "push_state": m.push_state,
        "push_meaning": queries.PUSH_STATES.get(m.push_state, ""),
        "attempts": m.attempts,
        "delivered_at": m.delivered_at.strftime(STAMP) if m.delivered_at else "",
        "next_attempt_at": m.next_attempt_at.strftime(STAMP) if m.next_attempt_at else "",
        "last_error": m.last_error or "",
        "xml": m.xml,
    }


@router.get("/requests/{ref}")
def request_page(ref: str, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """One request's life, its stored XML, and every message it caused with its delivery."""
    timeline = queries.request_timeline(db, actor=me.actor, ref=ref)
    row = timeline.request
    return render(
        request,
        "request.html",
        {
            "nav": "requests",
            "r": request_row(row),
            "raw": row.raw,
            "role": row.role or "",
            "originator": row.originator or "",
            "sender": timeline.sender,
            "steps": timeline.steps,
            "messages": [message_view(m) for m in timeline.messages],
            "stamp": STAMP,
        },
    )


# ---------------------------------------------------------------- alerts


def alert_row(a: queries.AlertRow) -> dict[str, Any]:
    view = message_view(a.message)
    view["recipient"] = a.recipient
    view["own_request"] = a.own_request
    return view


@router.get("/alerts")
def alerts_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """Alerts owed to the party's users, newest first, filtered by code and device."""
    q = read_list_query(request, ALERTS_PATH, ALERT_FILTERS)
    error = ""
    rows: list[dict[str, Any]] = []
    links: dict[str, str | None] = {}
    try:
        flt = queries.AlertFilter(code=q.filters.get("code"), device_id=q.filters.get("device_id"))
        checked = flt.checked()

        def fetch(
            cursor: str | None, oldest_first: bool
        ) -> tuple[list[queries.AlertRow], str | None]:
            page = queries.list_alerts(
                db,
                actor=me.actor,
                flt=checked,
                limit=q.size,
                cursor=cursor,
                oldest_first=oldest_first,
            )
            return page.items, page.next_cursor

        shown = keyset_page(q, fetch, lambda a: queries.alert_cursor(a.message))
        rows = [alert_row(a) for a in shown.items]
        links = pager(q, shown)
    except InvalidInput as exc:
        error = exc.message
    codes = queries.alert_codes_used(db, actor=me.actor)
    return render(
        request,
        "alerts.html",
        {
            "nav": "alerts",
            "q": q,
            "rows": rows,
            "error": error,
            "codes": [(c, queries.code_meaning(c)) for c in codes],
            "page_sizes": page_sizes(request, q.size),
            "filtered": bool(q.filters),
            **links,
        },
        status_code=422 if error else 200,
    )


@router.get("/alerts/{message_id}")
def alert_page(message_id: RowId, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """One alert: what it means, whom it was owed to, its delivery, and its XML."""
    found = queries.get_alert(db, actor=me.actor, message_id=message_id)
    return render(request, "alert.html", {"nav": "alerts", "a": alert_row(found)})


# ---------------------------------------------------------------- callback URL

DONE_MESSAGES = {
    "set": "Callback URL saved: new responses and alerts will be pushed to it.",
    "cleared": "Callback URL removed: responses and alerts now wait to be polled.",
    "unchanged": "There was no callback URL to remove.",
}


def _callback_page(
    request: Request,
    db: Session,
    me: PortalUser,
    *,
    entered: str = "",
    error: str = "",
    done: str = "",
    status: int = 200,
) -> Response:
    current = queries.callback_url(db, actor=me.actor)
    return render(
        request,
        "callback.html",
        {
            "nav": "callback",
            "current": current,
            "entered": entered if error else (current or ""),
            "error": error,
            "done": DONE_MESSAGES.get(done, ""),
            "max_length": callbacks.CALLBACK_MAX_LENGTH,
            "changes": [
                {
                    "at": e.at.strftime(STAMP),
                    "action": "Set" if e.action == "callback.set" else "Cleared",
                    "old": (e.changes.get("url") or [None, None])[0],
                    "new": (e.changes.get("url") or [None, None])[1],
                    "interface": e.interface,
                }
                for e in queries.recent_callback_changes(db, actor=me.actor)
            ],
        },
        status_code=status,
    )


@router.get("/settings/callback")
def callback_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """Where the logged-in user's responses and alerts are pushed, and the form to change it."""
    return _callback_page(request, db, me, done=request.query_params.get("done", ""))


@router.post("/settings/callback")
def callback_set(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    url: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set the URL; a URL the hub cannot push to is the form again with the reason."""
    check_csrf(session, csrf_token)
    try:
        callbacks.set_callback(db, actor=me.actor, url=url, now=utcnow())
    except InvalidInput as exc:
        return _callback_page(request, db, me, entered=url, error=exc.message, status=422)
    return redirect(request, f"{CALLBACK_PATH}?done=set")


@router.post("/settings/callback/clear")
def callback_clear(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Remove the URL: from now on responses and alerts are only polled."""
    check_csrf(session, csrf_token)
    cleared = callbacks.clear_callback(db, actor=me.actor, now=utcnow())
    return redirect(request, f"{CALLBACK_PATH}?done={'cleared' if cleared else 'unchanged'}")
