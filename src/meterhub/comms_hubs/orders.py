"""Communications Hub orders and deliveries (SEC Section F5).

A party orders hubs ahead: a quantity of one variant for one CSP region, for a delivery month
and a delivery location. The DCC confirms the order, or declines it with a reason. A
consignment against a confirmed order arrives with an advance shipment notice (ASN) listing the
GUIDs (Device IDs) of its hubs; the DCC records it. The ordering party then accepts the
consignment, rejecting any lines with a reason, and the hubs it accepted enter the inventory as
``Pending`` stock it holds, at the order's delivery location.

The steps, as one table each (``ORDER_STEPS``, ``CONSIGNMENT_STEPS``): an order is ``placed``,
then ``confirmed`` or ``declined``; a consignment is ``shipped``, then ``settled``. Every step
checks everything first and refuses with every bad line named, so nothing is half applied; it
writes an audit entry and tells the party's users (inbox and e-mail) of what the DCC did.

An order is its party's: another party's order or consignment is a 404, as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor, record
from meterhub.comms_hubs.models import (
    HubConsignment,
    HubConsignmentLine,
    HubOrder,
    HubStockLocation,
)
from meterhub.comms_hubs.variants import HubVariant, variant
from meterhub.db.base import text_length
from meterhub.errors import (
    Conflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import CspRegion, parse_enum
from meterhub.kit.ids import normalise_eui64
from meterhub.kit.pagination import MAX_ROW_ID, decode_cursor, encode_cursor
from meterhub.notifications import service as notifications
from meterhub.parties import service as parties

#: An order's workflow: (state, step) -> the state the step leads to.
ORDER_STEPS: Final = {
    ("placed", "confirm"): "confirmed",
    ("placed", "decline"): "declined",
}
#: A consignment's: the ordering party settles it once, accepting it and rejecting lines.
CONSIGNMENT_STEPS: Final = {("shipped", "settle"): "settled"}

#: The most hubs one order (and so one ASN) may carry: about 110 pallets of 896.
MAX_ORDER_QUANTITY: Final = 100_000
LOCATION_LENGTH: Final = text_length(HubOrder.__table__.c.delivery_location)
ASN_REFERENCE_LENGTH: Final = text_length(HubConsignment.__table__.c.asn_reference)
REASON_LENGTH: Final = 500
#: How many refused lines an error message names (``details`` carries them all).
NAMED_LINES: Final = 10

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def _step(table: Mapping[tuple[str, str], str], what: str, state: str, step: str) -> str:
    target = table.get((state, step))
    if target is None:
        allowed = sorted(s for (frm, s) in table if frm == state)
        raise InvalidTransition(
            f"{what} is {state}: it cannot be {step}ed"
            + (f" (it can be: {', '.join(allowed)})" if allowed else ""),
            code="invalid_transition",
            details={"from": state, "step": step},
        )
    return target


def _one_line(value: str, *, what: str, limit: int, code: str) -> str:
    text = value.strip()
    if not text or len(text) > limit or any(ord(c) < 32 for c in text):
        raise InvalidInput(f"{what} must be one line of 1-{limit} characters", code=code)
    return text


def _reason(value: str, *, what: str = "a reason") -> str:
    return _one_line(value, what=what, limit=REASON_LENGTH, code="reason_required")


def _month(value: str, now: datetime) -> str:
    found = _MONTH.fullmatch(value.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise InvalidInput(f"delivery month {value!r} is not YYYY-MM", code="bad_month")
    month = found.group(0)
    if month <= f"{now:%Y-%m}":
        raise InvalidInput(
            f"delivery month {month} has begun: hubs are ordered for a later month",
            code="month_begun",
        )
    return month


# ---------------------------------------------------------------- orders


def _visible_orders(actor: Actor) -> ColumnElement[bool]:
    if actor.is_operator:
        return true()
    return HubOrder.party_id == (actor.party_id if actor.party_id is not None else -1)


def place_order(
    session: Session,
    *,
    actor: Actor,
    csp_region: str,
    variant_code: str,
    quantity: int,
    delivery_month: str,
    delivery_location: str,
    now: datetime,
) -> HubOrder:
    """A party orders hubs for itself: they will be its stock when it accepts them."""
    if actor.party_id is None or actor.is_operator:
        raise PermissionDenied("hubs are ordered by the party that will hold them")
    region = parse_enum(CspRegion, csp_region, "region")
    chosen = variant(variant_code)
    if not chosen.offered_in(region):
        offered = ", ".join(sorted(r.value for r in chosen.regions))
        raise InvalidInput(
            f"hub variant {chosen.code} is not made for {region.value}; it is for {offered}",
            code="variant_not_in_region",
        )
    if not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise InvalidInput(f"quantity must be 1-{MAX_ORDER_QUANTITY} hubs", code="bad_quantity")
    order = HubOrder(
        party_id=actor.party_id,
        csp_region=region.value,
        variant=chosen.code,
        quantity=quantity,
        delivery_month=_month(delivery_month, now),
        delivery_location=_one_line(
            delivery_location,
            what="the delivery location",
            limit=LOCATION_LENGTH,
            code="bad_location",
        ),
        state="placed",
        decline_reason="",
        placed_by=actor.name,
        placed_at=now,
    )
    session.add(order)
    session.flush()
    record(
        session,
        actor=actor,
        action="hub_order.placed",
        object_type="hub_order",
        object_id=str(order.id),
        changes={
            "csp_region": order.csp_region,
            "variant": order.variant,
            "quantity": quantity,
            "delivery_month": order.delivery_month,
            "delivery_location": order.delivery_location,
        },
        now=now,
    )
    return order


def get_order(session: Session, *, actor: Actor, order_id: int) -> HubOrder:
    if not 0 < order_id <= MAX_ROW_ID:
        raise NotFound(f"no hub order {order_id}")
    order = session.scalar(select(HubOrder).where(HubOrder.id == order_id, _visible_orders(actor)))
    if order is None:
        raise NotFound(f"no hub order {order_id}")
    return order


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _after(cursor: str | None) -> int | None:
    if not cursor:
        return None
    values = decode_cursor(cursor)
    if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
        raise InvalidInput("cursor is not one this hub issued", code="bad_cursor")
    return values[0]


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500", code="bad_limit")


ORDER_STATES: Final = ("placed", "confirmed", "declined")


def list_orders(
    session: Session,
    *,
    actor: Actor,
    state: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[HubOrder]:
    """The orders the actor may see (its party's; the operator every party's), newest first."""
    _check_limit(limit)
    stmt = select(HubOrder).where(_visible_orders(actor))
    if state:
        if state not in ORDER_STATES:
            raise InvalidInput(
                f"no order state {state!r}; one of {', '.join(ORDER_STATES)}", code="bad_state"
            )
        stmt = stmt.where(HubOrder.state == state)
    after = _after(cursor)
    if after is not None:
        stmt = stmt.where(HubOrder.id < after)
    rows = list(session.scalars(stmt.order_by(HubOrder.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].id]) if more else None)


def _decide(
    session: Session, *, actor: Actor, order_id: int, step: str, reason: str, now: datetime
) -> HubOrder:
    order = get_order(session, actor=actor, order_id=order_id)
    if not actor.is_operator:
        raise PermissionDenied("the DCC confirms or declines hub orders")
    order.state = _step(ORDER_STEPS, f"hub order {order.id}", order.state, step)
    order.decided_by = actor.name
    order.decided_at = now
    order.decline_reason = reason
    record(
        session,
        actor=actor,
        action=f"hub_order.{order.state}",
        object_type="hub_order",
        object_id=str(order.id),
        changes={"state": order.state} | ({"reason": reason} if reason else {}),
        now=now,
    )
    what = f"{order.quantity} {order.variant} hubs for {order.csp_region}"
    when = f"delivery in {order.delivery_month} to {order.delivery_location}"
    if order.state == "confirmed":
        subject = f"Hub order {order.id} confirmed"
        body = f"The DCC confirmed your order {order.id}: {what}, {when}."
    else:
        subject = f"Hub order {order.id} declined"
        body = f"The DCC declined your order {order.id} ({what}, {when}).\nReason: {reason}"
    notifications.notify(
        session,
        party_id=order.party_id,
        kind=f"hub_order.{order.state}",
        subject=subject,
        body=body,
        link=f"/portal/hubs/orders/{order.id}",
        now=now,
    )
    return order


def confirm_order(session: Session, *, actor: Actor, order_id: int, now: datetime) -> HubOrder:
    """The DCC confirms a placed order: it will deliver it, in consignments with an ASN each."""
    return _decide(session, actor=actor, order_id=order_id, step="confirm", reason="", now=now)


def decline_order(
    session: Session, *, actor: Actor, order_id: int, reason: str, now: datetime
) -> HubOrder:
    """The DCC declines a placed order, saying why."""
    return _decide(
        session, actor=actor, order_id=order_id, step="decline", reason=_reason(reason), now=now
    )


def outstanding(session: Session, *, order: HubOrder) -> int:
    """Hubs of the order not yet shipped: the quantity less every line shipped or accepted
    (a rejected line does not count: the DCC ships it again)."""
    shipped = session.scalar(
        select(func.count())
        .select_from(HubConsignmentLine)
        .join(HubConsignment, HubConsignment.id == HubConsignmentLine.consignment_id)
        .where(HubConsignment.order_id == order.id, HubConsignmentLine.state != "rejected")
    )
    return order.quantity - (shipped or 0)


def order_variant(order: HubOrder) -> HubVariant:
    return variant(order.variant)


# ---------------------------------------------------------------- consignments


@dataclass(frozen=True)
class AsnLine:
    """One hub of an advance shipment notice: its GUID as written, and where it was written
    (the line of the ASN file, or the position in the list the API was sent, from 1)."""

    line: int
    guid: str


def _named(problems: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"line {p['line']}: {p['problem']}" for p in problems[:NAMED_LINES])
    more = len(problems) - NAMED_LINES
    return shown + (f"; and {more} more" if more > 0 else "")


def record_consignment(
    session: Session,
    *,
    actor: Actor,
    order_id: int,
    asn_reference: str,
    lines: Sequence[AsnLine],
    now: datetime,
) -> HubConsignment:
    """The DCC records a consignment shipped against a confirmed order, from its ASN.

    Every line is checked before anything is written: a GUID that is not an EUI-64, one listed
    twice, one already in the inventory or already on another consignment not rejected; and
    the ASN may not carry more hubs than the order has outstanding. One refusal names every bad
    line (``details``: line, GUID, problem), and nothing is recorded."""
    order = get_order(session, actor=actor, order_id=order_id)
    if not actor.is_operator:
        raise PermissionDenied("the DCC records advance shipment notices")
    if order.state != "confirmed":
        raise InvalidTransition(
            f"hub order {order.id} is {order.state}: only a confirmed order is delivered",
            code="order_not_confirmed",
        )
    reference = asn_reference.strip()
    if not _REFERENCE.fullmatch(reference) or len(reference) > ASN_REFERENCE_LENGTH:
        raise InvalidInput(
            f"ASN reference {asn_reference!r} must be 1-{ASN_REFERENCE_LENGTH} letters, digits"
            " or . _ / -",
            code="bad_asn_reference",
        )
    if session.scalar(select(HubConsignment.id).where(HubConsignment.asn_reference == reference)):
        raise Conflict(f"ASN {reference} is already recorded", code="asn_exists")
    if not lines:
        raise InvalidInput(f"ASN {reference} lists no hubs", code="empty_asn")

    problems: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    guids: list[str] = []
    for entry in lines:
        try:
            guid = normalise_eui64(entry.guid, field="guid")
        except InvalidInput:
            problems.append(
                {"line": entry.line, "guid": entry.guid, "problem": f"{entry.guid!r} is not a GUID"}
            )
            continue
        if guid in first_seen:
            problems.append(
                {
                    "line": entry.line,
                    "guid": guid,
                    "problem": f"{guid} is listed twice (first on line {first_seen[guid]})",
                }
            )
            continue
        first_seen[guid] = entry.line
        guids.append(guid)
    in_inventory = inventory.existing_device_ids(session, device_ids=guids)
    on_the_way = _on_other_consignments(session, guids)
    for guid in guids:
        if guid in in_inventory:
            problem = f"{guid} is already in the inventory"
        elif guid in on_the_way:
            problem = f"{guid} is already on consignment {on_the_way[guid]}"
        else:
            continue
        problems.append({"line": first_seen[guid], "guid": guid, "problem": problem})
    left = outstanding(session, order=order)
    if len(lines) > left:
        problems.append(
            {
                "line": lines[left].line if left >= 0 else lines[0].line,
                "guid": None,
                "problem": f"the ASN lists {len(lines)} hubs but order {order.id} has"
                f" {max(left, 0)} outstanding of {order.quantity} ordered",
            }
        )
    if problems:
        problems.sort(key=lambda p: p["line"])
        raise InvalidInput(
            f"ASN {reference} refused, nothing recorded: {_named(problems)}",
            code="bad_asn",
            details=problems,
        )

    consignment = HubConsignment(
        order_id=order.id,
        asn_reference=reference,
        state="shipped",
        recorded_by=actor.name,
        recorded_at=now,
    )
    session.add(consignment)
    session.flush()
    session.add_all(
        HubConsignmentLine(
            consignment_id=consignment.id,
            line=n,
            device_id=guid,
            state="shipped",
            reject_reason="",
        )
        for n, guid in enumerate(guids, 1)
    )
    record(
        session,
        actor=actor,
        action="hub_consignment.shipped",
        object_type="hub_consignment",
        object_id=reference,
        changes={"order": order.id, "hubs": len(guids)},
        now=now,
    )
    notifications.notify(
        session,
        party_id=order.party_id,
        kind="hub_consignment.shipped",
        subject=f"Consignment {reference} shipped: {len(guids)} hubs for order {order.id}",
        body=(
            f"The DCC shipped consignment {reference} against your order {order.id}:"
            f" {len(guids)} {order.variant} hubs for {order.csp_region}, to"
            f" {order.delivery_location}.\nAccept it, or reject lines with a reason, when it"
            " arrives: the hubs you accept join your stock as Pending."
        ),
        link=f"/portal/hubs/consignments/{consignment.id}",
        now=now,
    )
    return consignment


def _on_other_consignments(session: Session, guids: Sequence[str]) -> dict[str, str]:
    """GUID -> ASN reference, of these GUIDs already on a line not rejected."""
    found: dict[str, str] = {}
    for start in range(0, len(guids), 1000):
        chunk = list(guids[start : start + 1000])
        rows = session.execute(
            select(HubConsignmentLine.device_id, HubConsignment.asn_reference)
            .join(HubConsignment, HubConsignment.id == HubConsignmentLine.consignment_id)
            .where(HubConsignmentLine.device_id.in_(chunk), HubConsignmentLine.state != "rejected")
        )
        found.update({guid: ref for guid, ref in rows})
    return found


def _visible_consignments(actor: Actor) -> ColumnElement[bool]:
    if actor.is_operator:
        return true()
    return HubConsignment.order_id.in_(
        select(HubOrder.id).where(HubOrder.party_id == (actor.party_id or -1))
    )


def get_consignment(session: Session, *, actor: Actor, consignment_id: int) -> HubConsignment:
    if not 0 < consignment_id <= MAX_ROW_ID:
        raise NotFound(f"no consignment {consignment_id}")
    found = session.scalar(
        select(HubConsignment).where(
            HubConsignment.id == consignment_id, _visible_consignments(actor)
        )
    )
    if found is None:
        raise NotFound(f"no consignment {consignment_id}")
    return found


def list_consignments(
    session: Session,
    *,
    actor: Actor,
    order_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[HubConsignment]:
    """The consignments of the orders the actor may see, newest first; of one order, given."""
    _check_limit(limit)
    stmt = select(HubConsignment).where(_visible_consignments(actor))
    if order_id is not None:
        stmt = stmt.where(
            HubConsignment.order_id == get_order(session, actor=actor, order_id=order_id).id
        )
    after = _after(cursor)
    if after is not None:
        stmt = stmt.where(HubConsignment.id < after)
    rows = list(session.scalars(stmt.order_by(HubConsignment.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].id]) if more else None)


def consignment_lines(
    session: Session, *, actor: Actor, consignment_id: int
) -> list[HubConsignmentLine]:
    """The consignment's lines in ASN order."""
    consignment = get_consignment(session, actor=actor, consignment_id=consignment_id)
    return list(
        session.scalars(
            select(HubConsignmentLine)
            .where(HubConsignmentLine.consignment_id == consignment.id)
            .order_by(HubConsignmentLine.line)
        )
    )


def line_counts(session: Session, *, consignment_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per consignment, how many lines are in each state (one query for a page of them)."""
    counts: dict[int, dict[str, int]] = {cid: {} for cid in consignment_ids}
    if not consignment_ids:
        return counts
    rows = session.execute(
        select(HubConsignmentLine.consignment_id, HubConsignmentLine.state, func.count())
        .where(HubConsignmentLine.consignment_id.in_(list(consignment_ids)))
        .group_by(HubConsignmentLine.consignment_id, HubConsignmentLine.state)
    )
    for cid, state, n in rows:
        counts[cid][state] = n
    return counts


def settle_consignment(
    session: Session,
    *,
    actor: Actor,
    consignment_id: int,
    rejections: Mapping[str, str],
    now: datetime,
) -> HubConsignment:
    """The ordering party accepts a consignment that arrived, rejecting the lines named in
    ``rejections`` (GUID -> reason). Each GUID rejected must be a line of this consignment
    and have a reason; the refusal names every bad one, and nothing changes. The hubs accepted
    enter the inventory as ``Pending``, held by the party, kept at the order's delivery
    location; rejected hubs never do."""
    consignment = get_consignment(session, actor=actor, consignment_id=consignment_id)
    order = get_order(session, actor=actor, order_id=consignment.order_id)
    if actor.party_id != order.party_id:
        raise PermissionDenied("the party that ordered the hubs accepts their delivery")
    target = _step(
        CONSIGNMENT_STEPS, f"consignment {consignment.asn_reference}", consignment.state, "settle"
    )
    lines = consignment_lines(session, actor=actor, consignment_id=consignment.id)
    by_guid = {line.device_id: line for line in lines}
    problems: list[dict[str, Any]] = []
    rejected: dict[str, str] = {}
    for n, (raw, why) in enumerate(rejections.items(), 1):
        try:
            guid = normalise_eui64(raw, field="guid")
        except InvalidInput:
            guid = None
        line = by_guid.get(guid) if guid else None
        if line is None:
            problems.append(
                {"line": n, "guid": raw, "problem": f"{raw} is not a line of this consignment"}
            )
            continue
        text = why.strip()
        if not text or len(text) > REASON_LENGTH or any(ord(c) < 32 for c in text):
            problems.append(
                {
                    "line": line.line,
                    "guid": line.device_id,
                    "problem": f"rejecting {line.device_id} needs a reason of one line,"
                    f" 1-{REASON_LENGTH} characters",
                }
            )
            continue
        rejected[line.device_id] = text
    if problems:
        raise InvalidInput(
            f"consignment {consignment.asn_reference} not settled, nothing changed:"
            f" {_named(problems)}",
            code="bad_rejection",
            details=problems,
        )
    accepted = [line.device_id for line in lines if line.device_id not in rejected]
    chosen = order_variant(order)
    if accepted:
        inventory.receive_hubs(
            session,
            actor=actor,
            device_ids=accepted,
            owner_party_id=order.party_id,
            manufacturer=chosen.manufacturer,
            model=chosen.model,
            firmware_version=chosen.firmware_version,
            smets_version=chosen.chts_version,
            csp_region=order.csp_region,
            reason=f"delivered in consignment {consignment.asn_reference} (order {order.id})",
            now=now,
        )
        session.add_all(
            HubStockLocation(
                device_id=guid,
                party_id=order.party_id,
                location=order.delivery_location,
                consignment_id=consignment.id,
                since=now,
            )
            for guid in accepted
        )
    for line in lines:
        if line.device_id in rejected:
            line.state = "rejected"
            line.reject_reason = rejected[line.device_id]
        else:
            line.state = "accepted"
    consignment.state = target
    consignment.settled_by = actor.name
    consignment.settled_at = now
    record(
        session,
        actor=actor,
        action="hub_consignment.settled",
        object_type="hub_consignment",
        object_id=consignment.asn_reference,
        changes={"accepted": len(accepted), "rejected": rejected},
        now=now,
    )
    session.flush()
    return consignment


# ---------------------------------------------------------------- stock locations


def stock_location(session: Session, *, device_id: str) -> HubStockLocation | None:
    """Where a hub held as stock is kept, if the hub came through a delivery."""
    return session.get(HubStockLocation, device_id)


def set_stock_location(
    session: Session, *, device_id: str, party_id: int, location: str, now: datetime
) -> HubStockLocation:
    """A hub's stock moved to another holder or place (a stock transfer's receipt)."""
    row = session.get(HubStockLocation, device_id)
    place = _one_line(location, what="a stock location", limit=LOCATION_LENGTH, code="bad_location")
    if row is None:
        row = HubStockLocation(device_id=device_id, party_id=party_id, location=place, since=now)
        session.add(row)
    else:
        row.party_id, row.location, row.since, row.consignment_id = party_id, place, now, None
    return row


def party_code(session: Session, party_id: int) -> str:
    return parties.party_codes(session, ids={party_id}).get(party_id, "?")
