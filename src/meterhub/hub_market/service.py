"""The MP140 marketplace's rules: listings, requests, allocation by the published rule, and the
transaction log (business requirements 1 to 4 and 6; dispatch, receipt and disputes are
``transfers.py`` and ``disputes.py``).

Who trades: the parties that **order Communications Hubs** from the DCC, which are the
suppliers (a party holding a supplier role, IS, ES or GS: ``ORDERING_ROLES``). Only they hold
hub stock to offer, and only they may adopt it. They list, see and filter open listings,
request units and read the public log. The hub operator (DCC) runs the marketplace: it reads
everything, publishes the selection rule, and neither lists nor requests. Any other party
(network operators, agents, other users) is refused with ``not_an_ordering_party``.

What each sees: an open or fully allocated listing is the whole market's to read (the
marketplace exists to show it); a withdrawn one only its holder's. A listing request is its
requester's (and the operator's); another party's is a 404. A transfer is in its two parties'
own log in full, and in everyone's public log in the form the operator configures.

**A listing never offers more than its holder has**: ``Pending`` hubs of that make, model,
firmware and region (asked of the inventory), less what its other open listings still offer and
what it has been allocated away but not yet handed over (transfers not yet received).

**Allocation** happens when a request is made, by the rule in force at that moment (the
``AllocationRule`` version with the latest ``effective_from`` not after it). Each rule is a row
of ``SELECTION_RULES``. The units are taken from the listing by one conditional UPDATE (only
while that many are left), so however many parties request at once no listing is ever
over-allocated, on SQLite or PostgreSQL; the listing's check constraint stands behind it. A rule
is changed only by announcing a new version at least ``market_rule_notice_days`` ahead, and
every ordering party is told of the announcement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Generic, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, case, func, literal, select, text, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from meterhub.audit.service import Actor, record
from meterhub.db.base import text_length
from meterhub.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from meterhub.hub_market.models import AllocationRule, Listing, ListingRequest, Transfer
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import CspRegion
from meterhub.kit.clock import as_utc
from meterhub.kit.pagination import MAX_ROW_ID, decode_cursor, encode_cursor
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties
from meterhub.parties.roles import SUPPLIER_ROLES

#: The roles of a party that orders Communications Hubs, and so may trade on the marketplace.
ORDERING_ROLES: Final = frozenset(SUPPLIER_ROLES)
#: More hubs than this in one listing or request is a typing mistake (over a thousand pallets).
MAX_QUANTITY: Final = 1_000_000
#: How far ahead a listing's stock may be said to become available.
MAX_DAYS_AHEAD: Final = 366
MAX_RULE_TEXT: Final = 20_000
MAX_PAGE: Final = 200

MANUFACTURER_LENGTH: Final = text_length(Listing.__table__.c.manufacturer)
MODEL_LENGTH: Final = text_length(Listing.__table__.c.model)
FIRMWARE_LENGTH: Final = text_length(Listing.__table__.c.firmware_version)
LOCATION_LENGTH: Final = text_length(Listing.__table__.c.location)
RULE_TITLE_LENGTH: Final = text_length(AllocationRule.__table__.c.title)
REGIONS: Final = tuple(r.value for r in CspRegion)

OPEN, WITHDRAWN, CLOSED = "open", "withdrawn", "closed"
#: How the public log names the parties to a transfer (the operator's ``market_log_parties``).
LOG_PARTY_MODES: Final = ("labelled", "shown", "hidden")


# ---------------------------------------------------------------- the selection rules


@dataclass(frozen=True)
class SelectionRule:
    """An algorithm a published rule version may name by ``code``: given the units requested
    and the units left, how many the request gets now."""

    code: str
    summary: str
    grant: Callable[[int, int], int]


SELECTION_RULES: Final[dict[str, SelectionRule]] = {
    rule.code: rule
    for rule in (
        SelectionRule(
            "fcfs",
            "First come, first served: each request, in the order the hub receives it, gets "
            "what it asks for, or what is left when less is left.",
            lambda requested, left: min(requested, left),
        ),
        SelectionRule(
            "fcfs_whole",
            "First come, first served, whole requests only: a request for more than is left "
            "gets nothing, and what is left stays on offer.",
            lambda requested, left: requested if requested <= left else 0,
        ),
    )
}


# ---------------------------------------------------------------- who may trade


def _trading_party(session: Session, actor: Actor) -> int:
    """The actor's party, when it orders hubs; the operator and other parties are refused."""
    if actor.is_operator or actor.party_id is None:
        raise PermissionDenied(
            "the hub operator runs the marketplace and does not trade on it",
            code="operator_does_not_trade",
        )
    party = parties.party_by_id(session, actor.party_id)
    if party is None or not parties.party_roles(party) & ORDERING_ROLES:
        raise PermissionDenied(
            "only parties that order Communications Hubs (suppliers: IS, ES, GS) trade on "
            "the marketplace",
            code="not_an_ordering_party",
        )
    return party.id


def _check_reader(session: Session, actor: Actor) -> None:
    """The marketplace and its public log are for ordering parties and the operator."""
    if not actor.is_operator:
        _trading_party(session, actor)


# ---------------------------------------------------------------- checking input


def _text(value: str, *, field: str, limit: int) -> str:
    text = value.strip()
    if not text or len(text) > limit or any(ord(c) < 32 for c in text):
        raise InvalidInput(
            f"{field.replace('_', ' ')} must be one line of 1-{limit} characters",
            code=f"bad_{field}",
        )
    return text


def _quantity(value: int, *, field: str = "quantity") -> int:
    if isinstance(value, bool) or not 1 <= value <= MAX_QUANTITY:
        raise InvalidInput(
            f"{field} must be a whole number from 1 to {MAX_QUANTITY:,}", code="bad_quantity"
        )
    return value


def _region(value: str) -> str:
    for region in REGIONS:
        if region.lower() == value.strip().lower():
            return region
    raise InvalidInput(
        f"CSP region {value!r} is not one of {', '.join(REGIONS)}", code="bad_region"
    )


def _available_from(value: date, *, now: datetime) -> date:
    if value < now.date():
        raise InvalidInput(
            f"available from {value} is in the past; give today or a later day",
            code="available_from_past",
        )
    if value > now.date() + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput(
            f"available from {value} is more than {MAX_DAYS_AHEAD} days ahead",
            code="available_from_too_far",
        )
    return value


@dataclass(frozen=True)
class Stock:
    """One kind of hub: what a listing offers and a transfer moves."""

    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str

    @classmethod
    def checked(
        cls, *, manufacturer: str, model: str, firmware_version: str, csp_region: str
    ) -> Stock:
        return cls(
            manufacturer=_text(manufacturer, field="manufacturer", limit=MANUFACTURER_LENGTH),
            model=_text(model, field="model", limit=MODEL_LENGTH),
            firmware_version=_text(
                firmware_version, field="firmware_version", limit=FIRMWARE_LENGTH
            ),
            csp_region=_region(csp_region),
        )

    @classmethod
    def of(cls, row: Listing | Transfer) -> Stock:
        return cls(row.manufacturer, row.model, row.firmware_version, row.csp_region)

    def __str__(self) -> str:
        return (
            f"{self.manufacturer} {self.model} firmware {self.firmware_version}, {self.csp_region}"
        )


# ---------------------------------------------------------------- listings


class StockPosition(NamedTuple):
    """What a holder has of one kind of hub, and how much of it is already spoken for."""

    held: int
    listed: int  # still offered by its open listings
    promised: int  # allocated away, not yet received by the other side

    @property
    def free(self) -> int:
        return self.held - self.listed - self.promised


def _same_stock(model: type[Listing] | type[Transfer], stock: Stock) -> list[ColumnElement[bool]]:
    return [
        model.manufacturer == stock.manufacturer,
        model.model == stock.model,
        model.firmware_version == stock.firmware_version,
        model.csp_region == stock.csp_region,
    ]


def stock_position(
    session: Session, *, party_id: int, stock: Stock, excluding_listing: int | None = None
) -> StockPosition:
    """How many ``Pending`` hubs of ``stock`` the party holds (the inventory's answer), how
    many its open listings (but ``excluding_listing``) still offer, and how many it has been
    allocated away and not yet handed over."""
    held = inventory.pending_hubs_held(
        session,
        party_id=party_id,
        manufacturer=stock.manufacturer,
        model=stock.model,
        firmware_version=stock.firmware_version,
        csp_region=stock.csp_region,
    )
    listed_stmt = select(func.coalesce(func.sum(Listing.quantity - Listing.allocated), 0)).where(
        Listing.holder_party_id == party_id, Listing.status == OPEN, *_same_stock(Listing, stock)
    )
    if excluding_listing is not None:
        listed_stmt = listed_stmt.where(Listing.id != excluding_listing)
    promised_stmt = select(func.coalesce(func.sum(Transfer.quantity), 0)).where(
        Transfer.sender_party_id == party_id,
        Transfer.received_at.is_(None),
        *_same_stock(Transfer, stock),
    )
    return StockPosition(
        held=held,
        listed=int(session.scalar(listed_stmt) or 0),
        promised=int(session.scalar(promised_stmt) or 0),
    )


def _check_stock(
    session: Session, *, party_id: int, stock: Stock, quantity: int, excluding: int | None
) -> None:
    position = stock_position(session, party_id=party_id, stock=stock, excluding_listing=excluding)
    if quantity > position.free:
        raise Conflict(
            f"you hold {position.held} Pending hubs of {stock}; {position.listed} are offered "
            f"by your other open listings and {position.promised} are allocated to other "
            f"parties, so at most {max(position.free, 0)} can be listed, not {quantity}",
            code="more_than_held",
            details={
                "held": position.held,
                "listed": position.listed,
                "promised": position.promised,
                "free": max(position.free, 0),
            },
        )


#: The advisory lock of one holder's listings (class 140, for MP140; the holder's party id).
_TAKE_HOLDER_LOCK = text("SELECT pg_advisory_xact_lock(140, CAST(:holder AS integer))")


def _stock_lock(session: Session, party_id: int) -> None:
    """Hold the holder's listings still while one is checked against its stock: on
    PostgreSQL a transaction-scoped advisory lock per holder (two listings made at once could
    otherwise both pass the check); SQLite's write lock already serialises every writer."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_TAKE_HOLDER_LOCK, {"holder": party_id})


def create_listing(
    session: Session,
    *,
    actor: Actor,
    quantity: int,
    manufacturer: str,
    model: str,
    firmware_version: str,
    csp_region: str,
    location: str,
    available_from: date,
    now: datetime,
) -> Listing:
    """Offer ``quantity`` hubs for transfer (MP140 requirement 1), no more than the holder has
    free of that kind (see the module docstring)."""
    now = as_utc(now)
    party_id = _trading_party(session, actor)
    stock = Stock.checked(
        manufacturer=manufacturer,
        model=model,
        firmware_version=firmware_version,
        csp_region=csp_region,
    )
    quantity = _quantity(quantity)
    where = _text(location, field="location", limit=LOCATION_LENGTH)
    available = _available_from(available_from, now=now)
    _stock_lock(session, party_id)
    _check_stock(session, party_id=party_id, stock=stock, quantity=quantity, excluding=None)
    listing = Listing(
        holder_party_id=party_id,
        quantity=quantity,
        allocated=0,
        manufacturer=stock.manufacturer,
        model=stock.model,
        firmware_version=stock.firmware_version,
        csp_region=stock.csp_region,
        location=where,
        available_from=available,
        status=OPEN,
        version=1,
        created_by=actor.name[:120],
        created_at=now,
        updated_at=now,
    )
    session.add(listing)
    session.flush()
    record(
        session,
        actor=actor,
        action="market.listing_created",
        object_type="hub_listing",
        object_id=str(listing.id),
        changes={
            "quantity": quantity,
            "stock": str(stock),
            "location": where,
            "available_from": available.isoformat(),
        },
        now=now,
    )
    return listing


def _held_listing(session: Session, actor: Actor, listing_id: int) -> Listing:
    """One of the actor's own listings; anyone else's (or none) is a 404, whoever asks."""
    listing = session.get(Listing, listing_id) if 0 < listing_id <= MAX_ROW_ID else None
    if listing is None or actor.party_id is None or listing.holder_party_id != actor.party_id:
        raise NotFound(f"you have no listing {listing_id}")
    _trading_party(session, actor)
    return listing


def _refuse_change(listing: Listing, what: str) -> None:
    if listing.allocated:
        raise Conflict(
            f"{listing.allocated} units of listing {listing.id} are allocated: it can no longer "
            f"be {what}",
            code="listing_allocated",
        )
    if listing.status != OPEN:
        raise Conflict(
            f"listing {listing.id} is {listing.status}: it can no longer be {what}",
            code="listing_not_open",
        )


def _untouched(listing_id: int, version: int) -> list[ColumnElement[bool]]:
    """The listing as it was read: open, nothing allocated, not amended since."""
    return [
        Listing.id == listing_id,
        Listing.status == OPEN,
        Listing.allocated == 0,
        Listing.version == version,
    ]


def amend_listing(
    session: Session,
    *,
    actor: Actor,
    listing_id: int,
    now: datetime,
    quantity: int | None = None,
    manufacturer: str | None = None,
    model: str | None = None,
    firmware_version: str | None = None,
    csp_region: str | None = None,
    location: str | None = None,
    available_from: date | None = None,
) -> Listing:
    """Change a listing's terms while nothing is allocated from it. Its ``version`` rises, so
    a request made on the old terms is refused rather than served on the new ones."""
    now = as_utc(now)
    listing = _held_listing(session, actor, listing_id)
    _refuse_change(listing, "amended")
    stock = Stock.checked(
        manufacturer=listing.manufacturer if manufacturer is None else manufacturer,
        model=listing.model if model is None else model,
        firmware_version=listing.firmware_version if firmware_version is None else firmware_version,
        csp_region=listing.csp_region if csp_region is None else csp_region,
    )
    new_quantity = listing.quantity if quantity is None else _quantity(quantity)
    new_location = (
        listing.location
        if location is None
        else _text(location, field="location", limit=LOCATION_LENGTH)
    )
    new_available = (
        listing.available_from
        if available_from is None
        else _available_from(available_from, now=now)
    )
    _stock_lock(session, listing.holder_party_id)
    _check_stock(
        session,
        party_id=listing.holder_party_id,
        stock=stock,
        quantity=new_quantity,
        excluding=listing.id,
    )
    before = {
        "quantity": listing.quantity,
        "stock": str(Stock.of(listing)),
        "location": listing.location,
        "available_from": listing.available_from.isoformat(),
    }
    if (new_quantity, stock, new_location, new_available) == (
        listing.quantity,
        Stock.of(listing),
        listing.location,
        listing.available_from,
    ):
        return listing  # nothing to change: the terms, and so the version, stay
    result = session.execute(
        update(Listing)
        .where(*_untouched(listing.id, listing.version))
        .values(
            quantity=new_quantity,
            manufacturer=stock.manufacturer,
            model=stock.model,
            firmware_version=stock.firmware_version,
            csp_region=stock.csp_region,
            location=new_location,
            available_from=new_available,
            version=Listing.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(listing)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        _refuse_change(listing, "amended")
        raise Conflict(
            f"listing {listing.id} changed meanwhile; look again", code="listing_changed"
        )
    after = {
        "quantity": listing.quantity,
        "stock": str(Stock.of(listing)),
        "location": listing.location,
        "available_from": listing.available_from.isoformat(),
    }
    record(
        session,
        actor=actor,
        action="market.listing_amended",
        object_type="hub_listing",
        object_id=str(listing.id),
        changes={k: [before[k], after[k]] for k in before if before[k] != after[k]}
        | {"version": listing.version},
        now=now,
    )
    return listing


def withdraw_listing(
    session: Session, *, actor: Actor, listing_id: int, reason: str = "", now: datetime
) -> Listing:
    """Take a listing off the market while nothing is allocated from it."""
    now = as_utc(now)
    listing = _held_listing(session, actor, listing_id)
    _refuse_change(listing, "withdrawn")
    result = session.execute(
        update(Listing)
        .where(*_untouched(listing.id, listing.version))
        .values(status=WITHDRAWN, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(listing)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        _refuse_change(listing, "withdrawn")
        raise Conflict(
            f"listing {listing.id} changed meanwhile; look again", code="listing_changed"
        )
    record(
        session,
        actor=actor,
        action="market.listing_withdrawn",
        object_type="hub_listing",
        object_id=str(listing.id),
        changes={"reason": reason.strip()[:500]},
        now=now,
    )
    return listing


@dataclass(frozen=True)
class ListingFilter:
    """Open listings of one make, model, firmware or region (MP140 requirement 2)."""

    manufacturer: str | None = None
    model: str | None = None
    firmware_version: str | None = None
    csp_region: str | None = None


T = TypeVar("T")
S = TypeVar("S", bound=Select)  # type: ignore[type-arg]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first, and the cursor of the next (None at the end)."""

    items: list[T]
    next_cursor: str | None


def _after_cursor(stmt: S, column: InstrumentedAttribute[int], cursor: str | None) -> S:
    """Newest first, after the cursor's id."""
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
            raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
        stmt = stmt.where(column < values[0])
    return stmt.order_by(column.desc())


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", code="bad_limit")
    return limit


def _page(rows: list[T], limit: int, key: Callable[[T], int]) -> Page[T]:
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(items=rows, next_cursor=encode_cursor([key(rows[-1])]))
    return Page(items=rows, next_cursor=None)


def open_listings(
    session: Session,
    *,
    actor: Actor,
    flt: ListingFilter = ListingFilter(),
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Listing]:
    """The open listings every ordering party sees, newest first, filtered by make, model,
    firmware and region (each an exact match; the region in any letter case)."""
    _check_reader(session, actor)
    limit = _check_limit(limit)
    stmt = select(Listing).where(Listing.status == OPEN)
    for name in ("manufacturer", "model", "firmware_version"):
        value = getattr(flt, name)
        if value is not None and value.strip():
            stmt = stmt.where(getattr(Listing, name) == value.strip())
    if flt.csp_region is not None and flt.csp_region.strip():
        stmt = stmt.where(Listing.csp_region == _region(flt.csp_region))
    rows = list(session.scalars(_after_cursor(stmt, Listing.id, cursor).limit(limit + 1)))
    return _page(rows, limit, lambda r: r.id)


def listing_facets(session: Session, *, actor: Actor) -> dict[str, list[str]]:
    """The makes, models and firmware versions on offer now (for the filter drop-downs)."""
    _check_reader(session, actor)
    facets: dict[str, list[str]] = {}
    for name in ("manufacturer", "model", "firmware_version"):
        column = getattr(Listing, name)
        stmt = select(column).where(Listing.status == OPEN).distinct().order_by(column).limit(500)
        facets[name] = list(session.scalars(stmt))
    return facets


def my_listings(
    session: Session, *, actor: Actor, limit: int = 50, cursor: str | None = None
) -> Page[Listing]:
    """The actor's own listings in every status, newest first."""
    party_id = _trading_party(session, actor)
    limit = _check_limit(limit)
    stmt = select(Listing).where(Listing.holder_party_id == party_id)
    rows = list(session.scalars(_after_cursor(stmt, Listing.id, cursor).limit(limit + 1)))
    return _page(rows, limit, lambda r: r.id)


def _listing_seen_by(session: Session, actor: Actor, listing_id: int) -> Listing:
    listing = session.get(Listing, listing_id) if 0 < listing_id <= MAX_ROW_ID else None
    if listing is None or (
        listing.status == WITHDRAWN
        and not actor.is_operator
        and listing.holder_party_id != actor.party_id
    ):
        raise NotFound(f"there is no listing {listing_id}")
    return listing


def get_listing(session: Session, *, actor: Actor, listing_id: int) -> Listing:
    """A listing: an open or fully allocated one to every ordering party, a withdrawn one to
    its holder (and the operator) only. One that does not exist is a 404 to anyone; a party
    that does not trade is refused an existing one."""
    listing = _listing_seen_by(session, actor, listing_id)
    _check_reader(session, actor)
    return listing


def my_stock(session: Session, *, actor: Actor) -> list[tuple[inventory.HubStock, StockPosition]]:
    """The actor's Pending hubs by kind, each with what is already listed or promised: what
    the "list stock" form offers."""
    party_id = _trading_party(session, actor)
    out = []
    for held in inventory.pending_hub_stock(session, party_id=party_id):
        stock = Stock(held.manufacturer, held.model, held.firmware_version, held.csp_region)
        out.append((held, stock_position(session, party_id=party_id, stock=stock)))
    return out


# ---------------------------------------------------------------- the rule


def rule_in_force(session: Session, *, now: datetime) -> AllocationRule:
    """The rule version allocating at ``now``: the latest ``effective_from`` not after it."""
    rule = session.scalar(
        select(AllocationRule)
        .where(AllocationRule.effective_from <= as_utc(now))
        .order_by(AllocationRule.effective_from.desc(), AllocationRule.version.desc())
        .limit(1)
    )
    if rule is None:  # migration 0014 publishes version 1 from the start of MP140
        raise Conflict("no allocation rule is in force: the marketplace is closed", code="no_rule")
    return rule


def rule_versions(session: Session) -> Sequence[AllocationRule]:
    """Every published version, the first first, including any announced but not yet in force."""
    return session.scalars(select(AllocationRule).order_by(AllocationRule.version)).all()


def announce_rule(
    session: Session,
    *,
    actor: Actor,
    code: str,
    title: str,
    text: str,
    effective_from: datetime,
    notice: timedelta,
    now: datetime,
) -> AllocationRule:
    """Publish a new version of the selection rule, taking effect at ``effective_from``, at
    least ``notice`` from now (MP140: the selection "should remain consistent and not be subject
    to change, unless prior notice is given"). Only the operator announces; every ordering
    party's users are told at once. No version is ever edited or withdrawn."""
    now = as_utc(now)
    if not actor.is_operator:
        raise PermissionDenied(
            "only the hub operator publishes the allocation rule", code="operator_only"
        )
    code = code.strip()
    if code not in SELECTION_RULES:
        raise InvalidInput(
            f"no selection rule {code!r}; one of {', '.join(SELECTION_RULES)}", code="bad_rule_code"
        )
    title = _text(title, field="title", limit=RULE_TITLE_LENGTH)
    body = text.strip()
    if not body or len(body) > MAX_RULE_TEXT:
        raise InvalidInput(f"the rule's text must be 1-{MAX_RULE_TEXT} characters", code="bad_text")
    effective_from = as_utc(effective_from)
    if effective_from < now + notice:
        raise InvalidInput(
            f"a new rule takes effect at least {notice.days} days after it is announced: "
            f"{(now + notice):%Y-%m-%d %H:%M} UTC or later",
            code="too_little_notice",
        )
    latest = session.scalar(select(AllocationRule).order_by(AllocationRule.version.desc()).limit(1))
    if latest is not None and effective_from <= as_utc(latest.effective_from):
        raise Conflict(
            f"version {latest.version} takes effect {as_utc(latest.effective_from):%Y-%m-%d}: a "
            "new version must take effect after it",
            code="rule_out_of_order",
        )
    rule = AllocationRule(
        version=(latest.version + 1) if latest is not None else 1,
        code=code,
        title=title,
        text=body,
        effective_from=effective_from,
        announced_at=now,
        created_by=actor.name[:120],
    )
    try:
        with session.begin_nested():
            session.add(rule)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "another rule version was announced at the same time; look at it first",
            code="concurrent_announcement",
        ) from None
    record(
        session,
        actor=actor,
        action="market.rule_announced",
        object_type="hub_allocation_rule",
        object_id=str(rule.version),
        changes={"code": code, "title": title, "effective_from": effective_from.isoformat()},
        now=now,
    )
    for party_id, roles in sorted(parties.party_role_lists(session).items()):
        if ORDERING_ROLES & set(roles):
            notifications.notify(
                session,
                party_id=party_id,
                kind="market.rule_announced",
                subject=f"Marketplace allocation rule version {rule.version} from "
                f"{effective_from:%Y-%m-%d}",
                body=(
                    f"The DCC has announced version {rule.version} of the rule that allocates "
                    f"Communications Hubs requested on the stock transfer marketplace: {title}.\n"
                    f"It takes effect at {effective_from:%Y-%m-%d %H:%M} UTC; until then the "
                    "rule in force stays.\n\n" + body
                ),
                link="/portal/market/rule",
                now=now,
            )
    return rule


# ---------------------------------------------------------------- requests and allocation


class Outcome(NamedTuple):
    """A request and the transfer it got (None when refused)."""

    request: ListingRequest
    transfer: Transfer | None


def _take_units(
    session: Session, *, listing_id: int, requested: int, rule: SelectionRule, now: datetime
) -> tuple[int, str]:
    """Take what the rule grants from the listing in one conditional UPDATE, which matches
    only while at least that many are left and the listing is open: a concurrent request that
    took units first makes it match nothing, and the grant is worked out again from what is left
    now (at most once per competing grant, since each leaves fewer). Returns the units taken and,
    when none, why."""
    while True:
        status, quantity, allocated = session.execute(
            select(Listing.status, Listing.quantity, Listing.allocated).where(
                Listing.id == listing_id
            )
        ).one()
        left = quantity - allocated if status == OPEN else 0
        granted = rule.grant(requested, left)
        if granted <= 0:
            if status == WITHDRAWN:
                return 0, "the listing was withdrawn"
            if left == 0:
                return 0, "every unit of the listing was allocated to earlier requests"
            return (
                0,
                f"{requested} requested, {left} left, and the rule ({rule.code}) allocates "
                "whole requests only",
            )
        result = session.execute(
            update(Listing)
            .where(
                Listing.id == listing_id,
                Listing.status == OPEN,
                Listing.quantity - Listing.allocated >= granted,
            )
            .values(
                allocated=Listing.allocated + granted,
                status=case(
                    (Listing.allocated + granted >= Listing.quantity, literal(CLOSED)),
                    else_=Listing.status,
                ),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return granted, ""


def request_units(
    session: Session,
    *,
    actor: Actor,
    listing_id: int,
    quantity: int,
    now: datetime,
    listing_version: int | None = None,
) -> Outcome:
    """Ask for ``quantity`` units of another party's listing (MP140 requirement 3); the rule in
    force allocates at once (requirement 4). A grant creates the transfer (``TR-000042``,
    status ``allocated``); both sides are told the outcome, the requester even when it got
    nothing. ``listing_version``, when given, is the version the requester saw: a listing
    amended since is refused (``listing_amended``) rather than served on terms not seen."""
    now = as_utc(now)
    listing = _listing_seen_by(session, actor, listing_id)
    party_id = _trading_party(session, actor)
    quantity = _quantity(quantity)
    if listing.holder_party_id == party_id:
        raise Conflict("a party cannot request units of its own listing", code="own_listing")
    if listing.status == WITHDRAWN:
        raise Conflict(f"listing {listing.id} was withdrawn", code="listing_not_open")
    if listing_version is not None and listing_version != listing.version:
        raise Conflict(
            f"listing {listing.id} was amended since you saw it (version {listing_version}, now "
            f"{listing.version}); look at its terms again",
            code="listing_amended",
        )
    rule_row = rule_in_force(session, now=now)
    rule = SELECTION_RULES[rule_row.code]
    request = ListingRequest(
        listing_id=listing.id,
        listing_version=listing.version,
        requester_party_id=party_id,
        quantity=quantity,
        allocated_quantity=0,
        status="refused",
        rule_version=rule_row.version,
        reason="",
        requested_by=actor.name[:120],
        requested_at=now,
    )
    session.add(request)
    session.flush()
    granted, why = _take_units(
        session, listing_id=listing.id, requested=quantity, rule=rule, now=now
    )
    session.refresh(listing)
    request.allocated_quantity = granted
    request.status = (
        "refused" if granted == 0 else "allocated" if granted == quantity else "part_allocated"
    )
    request.reason = why or (
        f"rule version {rule_row.version} ({rule.code}): {granted} of {quantity} allocated"
    )
    request.decided_at = now
    transfer = None
    if granted:
        transfer = Transfer(
            reference=f"TR-R{request.id}",  # the real one needs the row's id, just below
            listing_id=listing.id,
            request_id=request.id,
            sender_party_id=listing.holder_party_id,
            receiver_party_id=party_id,
            quantity=granted,
            manufacturer=listing.manufacturer,
            model=listing.model,
            firmware_version=listing.firmware_version,
            csp_region=listing.csp_region,
            status="allocated",
            allocated_at=now,
        )
        session.add(transfer)
        session.flush()
        transfer.reference = transfer_reference(transfer.id)
    session.flush()
    record(
        session,
        actor=actor,
        action="market.requested",
        object_type="hub_listing_request",
        object_id=str(request.id),
        changes={
            "listing": listing.id,
            "quantity": quantity,
            "allocated": granted,
            "rule_version": rule_row.version,
            "transfer": transfer.reference if transfer else None,
        },
        now=now,
    )
    _tell_both_sides(
        session, listing=listing, request=request, transfer=transfer, rule=rule_row, now=now
    )
    return Outcome(request=request, transfer=transfer)


def transfer_reference(transfer_id: int) -> str:
    """The name both sides quote: ``TR-000042``."""
    return f"TR-{transfer_id:06d}"


def _tell_both_sides(
    session: Session,
    *,
    listing: Listing,
    request: ListingRequest,
    transfer: Transfer | None,
    rule: AllocationRule,
    now: datetime,
) -> None:
    codes = parties.party_codes(session, ids={listing.holder_party_id, request.requester_party_id})
    holder = codes.get(listing.holder_party_id, "?")
    requester = codes.get(request.requester_party_id, "?")
    stock = Stock.of(listing)
    rule_line = f"Allocated under rule version {rule.version}: {rule.title}."
    if transfer is None:
        notifications.notify(
            session,
            party_id=request.requester_party_id,
            kind="market.request_refused",
            subject=f"Marketplace request {request.id}: no hubs allocated",
            body=(
                f"Your request {request.id} for {request.quantity} hubs ({stock}) from listing "
                f"{listing.id} of {holder} got nothing: {request.reason}.\n{rule_line}"
            ),
            link="/portal/market/requests",
            now=now,
        )
        return
    part = "" if request.status == "allocated" else f" of the {request.quantity} you asked for"
    notifications.notify(
        session,
        party_id=request.requester_party_id,
        kind="market.allocated",
        subject=f"{transfer.reference}: {transfer.quantity} hubs allocated to you by {holder}",
        body=(
            f"{transfer.quantity} Communications Hubs{part} ({stock}) from listing {listing.id} "
            f"of {holder}, at {listing.location}, available from {listing.available_from}, are "
            f"allocated to {requester} as transfer {transfer.reference}.\n{rule_line}\n"
            f"{holder} confirms dispatch; you confirm receipt with the hubs' GUIDs."
        ),
        link="/portal/market/requests",
        now=now,
    )
    notifications.notify(
        session,
        party_id=listing.holder_party_id,
        kind="market.allocated",
        subject=f"{transfer.reference}: {transfer.quantity} of your hubs allocated to {requester}",
        body=(
            f"{transfer.quantity} Communications Hubs ({stock}) of your listing {listing.id} "
            f"are allocated to {requester} as transfer {transfer.reference}; "
            f"{listing.quantity - listing.allocated} of {listing.quantity} remain on offer.\n"
            f"{rule_line}\nConfirm dispatch when the hubs leave {listing.location}."
        ),
        link=f"/portal/market/listings/{listing.id}",
        now=now,
    )


def my_requests(
    session: Session, *, actor: Actor, limit: int = 50, cursor: str | None = None
) -> Page[Outcome]:
    """The actor's own requests (every request, for the operator), newest first, each with
    the transfer it got."""
    if not actor.is_operator:
        party_id = _trading_party(session, actor)
    limit = _check_limit(limit)
    stmt = select(ListingRequest, Transfer).outerjoin(
        Transfer, Transfer.request_id == ListingRequest.id
    )
    if not actor.is_operator:
        stmt = stmt.where(ListingRequest.requester_party_id == party_id)
    rows = [
        Outcome(r, t)
        for r, t in session.execute(_after_cursor(stmt, ListingRequest.id, cursor).limit(limit + 1))
    ]
    return _page(rows, limit, lambda o: o.request.id)


def get_request(session: Session, *, actor: Actor, request_id: int) -> Outcome:
    """One request, its requester's (or the operator's); anyone else's is a 404."""
    found = None
    if 0 < request_id <= MAX_ROW_ID:
        found = session.execute(
            select(ListingRequest, Transfer)
            .outerjoin(Transfer, Transfer.request_id == ListingRequest.id)
            .where(ListingRequest.id == request_id)
        ).one_or_none()
    if found is None or not (actor.is_operator or found[0].requester_party_id == actor.party_id):
        raise NotFound(f"you have no marketplace request {request_id}")
    return Outcome(found[0], found[1])


# ---------------------------------------------------------------- the transaction log


@dataclass(frozen=True)
class LogEntry:
    """One transfer as a log shows it; ``sender`` and ``receiver`` are party codes in a
    party's own log and in the operator's, and what the operator configures in the public one
    (``None`` when hidden)."""

    reference: str
    allocated_at: datetime
    status: str
    quantity: int
    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str
    sender: str | None
    receiver: str | None
    dispatched_at: datetime | None
    received_at: datetime | None
    received_quantity: int | None
    transfer_id: int


def _entry(t: Transfer, sender: str | None, receiver: str | None) -> LogEntry:
    return LogEntry(
        reference=t.reference,
        allocated_at=t.allocated_at,
        status=t.status,
        quantity=t.quantity,
        manufacturer=t.manufacturer,
        model=t.model,
        firmware_version=t.firmware_version,
        csp_region=t.csp_region,
        sender=sender,
        receiver=receiver,
        dispatched_at=t.dispatched_at,
        received_at=t.received_at,
        received_quantity=t.received_quantity,
        transfer_id=t.id,
    )


def own_log(
    session: Session, *, actor: Actor, limit: int = 50, cursor: str | None = None
) -> Page[LogEntry]:
    """The transfers the actor's party sent or received, in full, newest first (every
    transfer, for the operator)."""
    if not actor.is_operator:
        party_id = _trading_party(session, actor)
    limit = _check_limit(limit)
    stmt = select(Transfer)
    if not actor.is_operator:
        stmt = stmt.where(
            (Transfer.sender_party_id == party_id) | (Transfer.receiver_party_id == party_id)
        )
    rows = list(session.scalars(_after_cursor(stmt, Transfer.id, cursor).limit(limit + 1)))
    page = _page(rows, limit, lambda t: t.id)
    ids = {t.sender_party_id for t in page.items} | {t.receiver_party_id for t in page.items}
    codes = parties.party_codes(session, ids=ids) if ids else {}
    return Page(
        items=[
            _entry(t, codes.get(t.sender_party_id), codes.get(t.receiver_party_id))
            for t in page.items
        ],
        next_cursor=page.next_cursor,
    )


def party_label(n: int) -> str:
    """``Party A`` ... ``Party Z``, ``Party AA`` ...: the ``n``-th party (from 0) to appear."""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Party {letters}"


def public_labels(session: Session) -> dict[int, str]:
    """Each party's label in the public log: in the order parties first appear in it (on the
    same transfer, the sender first), so a label never changes as the log grows."""
    appearances = union_all(
        select(Transfer.sender_party_id.label("party"), (Transfer.id * 2).label("at")),
        select(Transfer.receiver_party_id.label("party"), (Transfer.id * 2 + 1).label("at")),
    ).subquery()
    first = func.min(appearances.c.at)
    rows = session.execute(
        select(appearances.c.party).group_by(appearances.c.party).order_by(first)
    ).scalars()
    return {party_id: party_label(n) for n, party_id in enumerate(rows)}


def public_log(
    session: Session,
    *,
    actor: Actor,
    parties_shown: str,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[LogEntry]:
    """Every transfer, newest first, with its parties as the operator configures
    (``market_log_parties``): ``labelled`` (``Party A``, one label per party across the whole
    log), ``shown`` (party codes) or ``hidden``. MP140: the record of transactions is
    "publicly accessible" to the Supplier Parties, with "security in place so that unauthorised
    Users will not be able to access the log"."""
    _check_reader(session, actor)
    if parties_shown not in LOG_PARTY_MODES:
        raise InvalidInput(f"no log mode {parties_shown!r}", code="bad_log_mode")
    limit = _check_limit(limit)
    rows = list(
        session.scalars(_after_cursor(select(Transfer), Transfer.id, cursor).limit(limit + 1))
    )
    page = _page(rows, limit, lambda t: t.id)
    names: dict[int, str] = {}
    if parties_shown == "labelled":
        names = public_labels(session)
    elif parties_shown == "shown":
        ids = {t.sender_party_id for t in page.items} | {t.receiver_party_id for t in page.items}
        names = parties.party_codes(session, ids=ids) if ids else {}
    return Page(
        items=[
            _entry(t, names.get(t.sender_party_id), names.get(t.receiver_party_id))
            for t in page.items
        ],
        next_cursor=page.next_cursor,
    )
