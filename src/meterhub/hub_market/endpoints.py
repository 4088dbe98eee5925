"""``/api/v1/market``: the MP140 stock transfer marketplace: listings, requests, the allocation
rule and the transaction log. Open listings are every ordering party's to see; a listing
request and a party's own log are its own (another party's request is a 404)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from meterhub.api.deps import CurrentActor, DbSession, RowId
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.config import Settings
from meterhub.hub_market import service
from meterhub.hub_market.models import AllocationRule, Listing
from meterhub.hub_market.schemas import (
    ListingAmend,
    ListingIn,
    ListingOut,
    ListingPageOut,
    LogEntryOut,
    LogPageOut,
    RequestIn,
    RequestOut,
    RequestPageOut,
    RuleIn,
    RuleOut,
    RulesOut,
    WithdrawIn,
)
from meterhub.kit.clock import as_utc, utcnow
from meterhub.parties.service import party_codes

router = APIRouter(prefix="/market", tags=["market"])

Limit = Query(default=50, ge=1, le=service.MAX_PAGE)
Cursor = Query(default=None, max_length=200, description="next_cursor of the previous page")


def listings_out(session: Session, rows: Sequence[Listing]) -> list[ListingOut]:
    codes = party_codes(session, ids={r.holder_party_id for r in rows}) if rows else {}
    return [
        ListingOut(
            id=r.id,
            holder=codes.get(r.holder_party_id, "?"),
            quantity=r.quantity,
            allocated=r.allocated,
            left=r.quantity - r.allocated if r.status == service.OPEN else 0,
            manufacturer=r.manufacturer,
            model=r.model,
            firmware_version=r.firmware_version,
            csp_region=r.csp_region,
            location=r.location,
            available_from=r.available_from,
            status=r.status,
            version=r.version,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in rows
    ]


def request_out(outcome: service.Outcome) -> RequestOut:
    r = outcome.request
    return RequestOut(
        id=r.id,
        listing_id=r.listing_id,
        listing_version=r.listing_version,
        quantity=r.quantity,
        allocated_quantity=r.allocated_quantity,
        status=r.status,
        rule_version=r.rule_version,
        reason=r.reason,
        requested_at=r.requested_at,
        decided_at=r.decided_at,
        transfer=outcome.transfer.reference if outcome.transfer else None,
    )


def rule_out(rule: AllocationRule, in_force: AllocationRule) -> RuleOut:
    return RuleOut(
        version=rule.version,
        code=rule.code,
        title=rule.title,
        text=rule.text,
        effective_from=rule.effective_from,
        announced_at=rule.announced_at,
        in_force=rule.version == in_force.version,
    )


def log_out(mode: str, page: service.Page[service.LogEntry]) -> LogPageOut:
    return LogPageOut(
        parties=mode,
        items=[
            LogEntryOut(
                reference=e.reference,
                allocated_at=e.allocated_at,
                status=e.status,
                quantity=e.quantity,
                manufacturer=e.manufacturer,
                model=e.model,
                firmware_version=e.firmware_version,
                csp_region=e.csp_region,
                sender=e.sender,
                receiver=e.receiver,
                dispatched_at=e.dispatched_at,
                received_at=e.received_at,
                received_quantity=e.received_quantity,
            )
            for e in page.items
        ],
        next_cursor=page.next_cursor,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---------------------------------------------------------------- listings


@router.get("/listings", response_model=ListingPageOut, responses=refusals(403))
def list_open_listings(
    session: DbSession,
    actor: CurrentActor,
    manufacturer: str | None = Query(default=None, max_length=service.MANUFACTURER_LENGTH),
    model: str | None = Query(default=None, max_length=service.MODEL_LENGTH),
    firmware_version: str | None = Query(default=None, max_length=service.FIRMWARE_LENGTH),
    csp_region: str | None = Query(default=None, description="North, Central, South, ..."),
    cursor: str | None = Cursor,
    limit: int = Limit,
) -> ListingPageOut:
    """Open listings, newest first, filtered by make, model, firmware and CSP region: every
    ordering party (supplier) and the operator sees them all."""
    flt = service.ListingFilter(
        manufacturer=manufacturer,
        model=model,
        firmware_version=firmware_version,
        csp_region=csp_region,
    )
    page = service.open_listings(session, actor=actor, flt=flt, limit=limit, cursor=cursor)
    return ListingPageOut(items=listings_out(session, page.items), next_cursor=page.next_cursor)


@router.post(
    "/listings",
    response_model=ListingOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 409)},
)
def create_listing(body: ListingIn, session: DbSession, actor: CurrentActor) -> ListingOut:
    """List Pending hubs you hold for transfer; more than you hold free of that make, model,
    firmware and region is refused (409 more_than_held, with the numbers)."""
    listing = service.create_listing(
        session,
        actor=actor,
        quantity=body.quantity,
        manufacturer=body.manufacturer,
        model=body.model,
        firmware_version=body.firmware_version,
        csp_region=body.csp_region,
        location=body.location,
        available_from=body.available_from,
        now=utcnow(),
    )
    return listings_out(session, [listing])[0]


@router.get("/my/listings", response_model=ListingPageOut, responses=refusals(403))
def list_my_listings(
    session: DbSession,
    actor: CurrentActor,
    cursor: str | None = Cursor,
    limit: int = Limit,
) -> ListingPageOut:
    """Your own listings in every status, newest first."""
    page = service.my_listings(session, actor=actor, limit=limit, cursor=cursor)
    return ListingPageOut(items=listings_out(session, page.items), next_cursor=page.next_cursor)


@router.get("/listings/{listing_id}", response_model=ListingOut, responses=refusals(403, 404))
def get_listing(listing_id: RowId, session: DbSession, actor: CurrentActor) -> ListingOut:
    """One listing; a withdrawn one is its holder's only."""
    return listings_out(
        session, [service.get_listing(session, actor=actor, listing_id=listing_id)]
    )[0]


@router.patch(
    "/listings/{listing_id}",
    response_model=ListingOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def amend_listing(
    listing_id: RowId, body: ListingAmend, session: DbSession, actor: CurrentActor
) -> ListingOut:
    """Amend your listing while nothing is allocated from it (409 listing_allocated after)."""
    listing = service.amend_listing(
        session,
        actor=actor,
        listing_id=listing_id,
        quantity=body.quantity,
        manufacturer=body.manufacturer,
        model=body.model,
        firmware_version=body.firmware_version,
        csp_region=body.csp_region,
        location=body.location,
        available_from=body.available_from,
        now=utcnow(),
    )
    return listings_out(session, [listing])[0]


@router.post(
    "/listings/{listing_id}/withdraw",
    response_model=ListingOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def withdraw_listing(
    listing_id: RowId, body: WithdrawIn, session: DbSession, actor: CurrentActor
) -> ListingOut:
    """Withdraw your listing while nothing is allocated from it."""
    listing = service.withdraw_listing(
        session, actor=actor, listing_id=listing_id, reason=body.reason, now=utcnow()
    )
    return listings_out(session, [listing])[0]


# ---------------------------------------------------------------- requests


@router.post(
    "/listings/{listing_id}/requests",
    response_model=RequestOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def request_units(
    listing_id: RowId, body: RequestIn, session: DbSession, actor: CurrentActor
) -> RequestOut:
    """Request units of another party's listing. The rule in force decides at once: the answer
    says what was allocated (and the transfer's reference), or why nothing was."""
    outcome = service.request_units(
        session,
        actor=actor,
        listing_id=listing_id,
        quantity=body.quantity,
        listing_version=body.listing_version,
        now=utcnow(),
    )
    return request_out(outcome)


@router.get("/my/requests", response_model=RequestPageOut, responses=refusals(403))
def list_my_requests(
    session: DbSession,
    actor: CurrentActor,
    cursor: str | None = Cursor,
    limit: int = Limit,
) -> RequestPageOut:
    """Your requests and what each got, newest first."""
    page = service.my_requests(session, actor=actor, limit=limit, cursor=cursor)
    return RequestPageOut(items=[request_out(o) for o in page.items], next_cursor=page.next_cursor)


@router.get("/requests/{request_id}", response_model=RequestOut, responses=refusals(403, 404))
def get_request(request_id: RowId, session: DbSession, actor: CurrentActor) -> RequestOut:
    """One of your requests; another party's is a 404."""
    return request_out(service.get_request(session, actor=actor, request_id=request_id))


# ---------------------------------------------------------------- the rule


@router.get("/rule", response_model=RulesOut, responses=refusals(409))
def get_rule(session: DbSession, actor: CurrentActor) -> RulesOut:
    """The published selection rule: the version in force, any announced to come, and every
    version since the first."""
    now = utcnow()
    in_force = service.rule_in_force(session, now=now)
    versions = service.rule_versions(session)
    return RulesOut(
        in_force=rule_out(in_force, in_force),
        upcoming=[rule_out(r, in_force) for r in versions if as_utc(r.effective_from) > now],
        versions=[rule_out(r, in_force) for r in versions],
    )


@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 409)},
)
def announce_rule(
    body: RuleIn, request: Request, session: DbSession, actor: CurrentActor
) -> RuleOut:
    """The operator announces a new rule version, in force from ``effective_from`` (at least
    ``METERHUB_MARKET_RULE_NOTICE_DAYS`` ahead); every ordering party is notified."""
    now = utcnow()
    rule = service.announce_rule(
        session,
        actor=actor,
        code=body.code,
        title=body.title,
        text=body.text,
        effective_from=datetime.combine(body.effective_from, time(), tzinfo=UTC),
        notice=timedelta(days=_settings(request).market_rule_notice_days),
        now=now,
    )
    return rule_out(rule, service.rule_in_force(session, now=now))


# ---------------------------------------------------------------- the transaction log


@router.get("/log", response_model=LogPageOut, responses=refusals(403))
def public_log(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    cursor: str | None = Cursor,
    limit: int = Limit,
) -> LogPageOut:
    """Every transfer, newest first, with the parties named as the operator configures
    (``parties``: labelled, shown or hidden)."""
    mode = _settings(request).market_log_parties
    page = service.public_log(session, actor=actor, parties_shown=mode, limit=limit, cursor=cursor)
    return log_out(mode, page)


@router.get("/log/mine", response_model=LogPageOut, responses=refusals(403))
def own_log(
    session: DbSession,
    actor: CurrentActor,
    cursor: str | None = Cursor,
    limit: int = Limit,
) -> LogPageOut:
    """The transfers your party sent or received, in full, newest first."""
    return log_out("full", service.own_log(session, actor=actor, limit=limit, cursor=cursor))
