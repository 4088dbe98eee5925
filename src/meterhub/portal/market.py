"""``/portal/market``: the MP140 stock transfer marketplace in the portal.

The marketplace (open listings, filtered by make, model, firmware and region, each with a
request form), my listings (list stock, amend, withdraw), my requests (what each got), the
allocation rule and the transaction log (the party's own in full, and the public one as the
operator configures it). Every page calls ``hub_market.service`` as the logged-in user's party,
so it shows what the API would; forms are plain POSTs with the CSRF token, no JavaScript. A form
the service refuses comes back with the reason and nothing of it applied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from meterhub.api.deps import DbSession
from meterhub.config import Settings
from meterhub.errors import Conflict, InvalidInput, NotFound
from meterhub.hub_market import service
from meterhub.hub_market.models import Listing
from meterhub.kit.clock import as_utc, utcnow
from meterhub.parties.service import party_codes
from meterhub.portal.sessions import check_csrf
from meterhub.portal.web import (
    CurrentUser,
    CurrentWebSession,
    PortalUser,
    redirect,
    render,
    templates,
)

router = APIRouter()

MARKET = "/portal/market"
PAGE_SIZE = 25
FILTERS = ("manufacturer", "model", "firmware_version", "csp_region")
#: Who sees the marketplace in the navigation: the ordering parties (and the operator).
templates.env.globals["market_roles"] = tuple(sorted(service.ORDERING_ROLES))


def _trades(me: PortalUser) -> bool:
    return not me.actor.is_operator and bool(set(me.party_roles) & service.ORDERING_ROLES)


def _number(raw: str, field: str) -> int:
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise InvalidInput(f"{field} must be a whole number", code="bad_quantity")
    return int(text)


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            f"available from {raw[:20]!r} is not a date (YYYY-MM-DD)", code="bad_date"
        ) from None


def _cursor(request: Request) -> str | None:
    return request.query_params.get("cursor") or None


def _attempt(db: Session, step: Callable[[], Any]) -> tuple[Any, InvalidInput | Conflict | None]:
    """Run a form's step in a savepoint: what it refuses leaves nothing behind, and comes back
    to be shown beside the form, with its status."""
    try:
        with db.begin_nested():
            return step(), None
    except (InvalidInput, Conflict) as exc:
        return None, exc


def _holders(db: Session, rows: list[Listing]) -> dict[int, str]:
    return party_codes(db, ids={r.holder_party_id for r in rows}) if rows else {}


def _page(
    request: Request, me: PortalUser, template: str, section: str, context: dict[str, Any]
) -> Response:
    status = context.pop("status", 200)
    full = {"nav": "market", "section": section, "trades": _trades(me), **context}
    return render(request, template, full, status_code=status)


# ---------------------------------------------------------------- the marketplace


def _marketplace(
    request: Request, db: Session, me: PortalUser, *, error: str = "", status: int = 200
) -> Response:
    params = request.query_params
    chosen = {f: params[f].strip() for f in FILTERS if params.get(f, "").strip()}
    flt = service.ListingFilter(**chosen)
    page = service.open_listings(
        db, actor=me.actor, flt=flt, limit=PAGE_SIZE, cursor=_cursor(request)
    )
    rule = service.rule_in_force(db, now=utcnow())
    return _page(
        request,
        me,
        "market.html",
        "market",
        {
            "rows": page.items,
            "holders": _holders(db, page.items),
            "chosen": chosen,
            "facets": service.listing_facets(db, actor=me.actor),
            "regions": service.REGIONS,
            "rule": rule,
            "next_url": f"{MARKET}?{urlencode({**chosen, 'cursor': page.next_cursor})}"
            if page.next_cursor
            else "",
            "error": error,
            "status": status,
        },
    )


@router.get("/market")
def marketplace(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """Open listings, newest first, under the chosen filters, each with a request form."""
    return _marketplace(request, db, me)


@router.post("/market/listings/{listing_id}/request")
def request_units(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    listing_id: int,
    quantity: Annotated[str, Form()] = "",
    listing_version: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Request units of a listing; the rule decides at once and "My requests" shows what."""
    check_csrf(session, csrf_token)
    service.get_listing(db, actor=me.actor, listing_id=listing_id)  # none, or not seen: a 404

    def step() -> service.Outcome:
        return service.request_units(
            db,
            actor=me.actor,
            listing_id=listing_id,
            quantity=_number(quantity, "quantity"),
            listing_version=_number(listing_version, "listing version")
            if listing_version
            else None,
            now=utcnow(),
        )

    outcome, error = _attempt(db, step)
    if error:
        return _marketplace(request, db, me, error=error.message, status=error.status)
    return redirect(request, f"{MARKET}/requests?done={outcome.request.id}")


# ---------------------------------------------------------------- my listings


def _my_listings(
    request: Request,
    db: Session,
    me: PortalUser,
    *,
    error: str = "",
    entered: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    page = service.my_listings(db, actor=me.actor, limit=PAGE_SIZE, cursor=_cursor(request))
    stock = service.my_stock(db, actor=me.actor)
    return _page(
        request,
        me,
        "market_listings.html",
        "listings",
        {
            "rows": page.items,
            "stock": stock,
            "regions": service.REGIONS,
            "entered": entered or {},
            "error": error,
            "done": request.query_params.get("done", ""),
            "next_url": f"{MARKET}/listings?cursor={page.next_cursor}" if page.next_cursor else "",
            "status": status,
        },
    )


@router.get("/market/listings")
def my_listings(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's listings, its Pending stock by kind, and the form to list some."""
    return _my_listings(request, db, me)


@router.post("/market/listings")
def create_listing(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    quantity: Annotated[str, Form()] = "",
    manufacturer: Annotated[str, Form()] = "",
    model: Annotated[str, Form()] = "",
    firmware_version: Annotated[str, Form()] = "",
    csp_region: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    available_from: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """List stock; a refusal (more than held, a bad date) is the form again with the reason."""
    check_csrf(session, csrf_token)
    entered = {
        "quantity": quantity,
        "manufacturer": manufacturer,
        "model": model,
        "firmware_version": firmware_version,
        "csp_region": csp_region,
        "location": location,
        "available_from": available_from,
    }

    def step() -> Listing:
        return service.create_listing(
            db,
            actor=me.actor,
            quantity=_number(quantity, "quantity"),
            manufacturer=manufacturer,
            model=model,
            firmware_version=firmware_version,
            csp_region=csp_region,
            location=location,
            available_from=_day(available_from),
            now=utcnow(),
        )

    listing, error = _attempt(db, step)
    if error:
        return _my_listings(
            request, db, me, error=error.message, entered=entered, status=error.status
        )
    return redirect(request, f"{MARKET}/listings/{listing.id}?done=listed")


DONE = {
    "listed": "Listed: every ordering party can see it on the marketplace now.",
    "amended": "Amended: requests from now on see the new terms.",
    "withdrawn": "Withdrawn: it is no longer on the marketplace.",
}


def _listing_page(
    request: Request,
    db: Session,
    me: PortalUser,
    listing_id: int,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    listing = service.get_listing(db, actor=me.actor, listing_id=listing_id)
    mine = listing.holder_party_id == me.actor.party_id
    return _page(
        request,
        me,
        "market_listing.html",
        "listings" if mine else "market",
        {
            "listing": listing,
            "holder": _holders(db, [listing]).get(listing.holder_party_id, "?"),
            "mine": mine,
            "changeable": mine and listing.status == service.OPEN and listing.allocated == 0,
            "regions": service.REGIONS,
            "done": DONE.get(request.query_params.get("done", ""), ""),
            "error": error,
            "status": status,
        },
    )


@router.get("/market/listings/{listing_id}")
def listing_page(request: Request, db: DbSession, me: CurrentUser, listing_id: int) -> Response:
    """One listing; its holder amends or withdraws it here while nothing is allocated."""
    return _listing_page(request, db, me, listing_id)


@router.post("/market/listings/{listing_id}/amend")
def amend_listing(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    listing_id: int,
    quantity: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    available_from: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change the quantity, location or availability date of one's own listing."""
    check_csrf(session, csrf_token)

    def step() -> Listing:
        return service.amend_listing(
            db,
            actor=me.actor,
            listing_id=listing_id,
            quantity=_number(quantity, "quantity") if quantity.strip() else None,
            location=location if location.strip() else None,
            available_from=_day(available_from) if available_from.strip() else None,
            now=utcnow(),
        )

    _, error = _attempt(db, step)
    if error:
        return _listing_page(request, db, me, listing_id, error=error.message, status=error.status)
    return redirect(request, f"{MARKET}/listings/{listing_id}?done=amended")


@router.post("/market/listings/{listing_id}/withdraw")
def withdraw_listing(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    listing_id: int,
    reason: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Take one's own listing off the market."""
    check_csrf(session, csrf_token)

    def step() -> Listing:
        return service.withdraw_listing(
            db, actor=me.actor, listing_id=listing_id, reason=reason, now=utcnow()
        )

    _, error = _attempt(db, step)
    if error:
        return _listing_page(request, db, me, listing_id, error=error.message, status=error.status)
    return redirect(request, f"{MARKET}/listings/{listing_id}?done=withdrawn")


# ---------------------------------------------------------------- my requests


@router.get("/market/requests")
def my_requests(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The party's requests, newest first, each with what it got and the transfer."""
    page = service.my_requests(db, actor=me.actor, limit=PAGE_SIZE, cursor=_cursor(request))
    done: service.Outcome | None = None
    raw = request.query_params.get("done", "")
    if raw.isascii() and raw.isdigit() and len(raw) < 10:
        try:
            done = service.get_request(db, actor=me.actor, request_id=int(raw))
        except NotFound:
            done = None
    return _page(
        request,
        me,
        "market_requests.html",
        "requests",
        {
            "rows": page.items,
            "done": done,
            "next_url": f"{MARKET}/requests?cursor={page.next_cursor}" if page.next_cursor else "",
        },
    )


# ---------------------------------------------------------------- the rule and the log


@router.get("/market/rule")
def rule_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """The selection rule in force, any announced to come, and every version before."""
    now = utcnow()
    in_force = service.rule_in_force(db, now=now)
    versions = list(service.rule_versions(db))
    return _page(
        request,
        me,
        "market_rule.html",
        "rule",
        {
            "rule": in_force,
            "upcoming": [r for r in versions if as_utc(r.effective_from) > now],
            "versions": versions[::-1],
        },
    )


LOG_MODES = {
    "labelled": "Parties are shown as Party A, Party B, ...: one label per party across the "
    "whole log, in the order they first appear.",
    "shown": "Parties are shown by their codes.",
    "hidden": "Parties are not shown.",
}


@router.get("/market/log")
def log_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """``?view=mine`` (the default for a trading party): its own transfers in full;
    ``?view=public``: every transfer, as the operator configures the public log."""
    settings: Settings = request.app.state.settings
    view = request.query_params.get("view", "mine" if _trades(me) else "public")
    if view not in ("mine", "public"):
        raise InvalidInput("view is mine or public", code="bad_view")
    mode = settings.market_log_parties
    if view == "mine":
        page = service.own_log(db, actor=me.actor, limit=PAGE_SIZE, cursor=_cursor(request))
    else:
        page = service.public_log(
            db, actor=me.actor, parties_shown=mode, limit=PAGE_SIZE, cursor=_cursor(request)
        )
    return _page(
        request,
        me,
        "market_log.html",
        "log",
        {
            "view": view,
            "rows": page.items,
            "mode": LOG_MODES[mode] if view == "public" else "",
            "next_url": f"{MARKET}/log?view={view}&cursor={page.next_cursor}"
            if page.next_cursor
            else "",
        },
    )
