"""``/api/v1/hubs``: Communications Hub orders, deliveries (advance shipment notices) and
returns, scoped to the caller's party: another party's order or consignment is a 404.

The DCC (the operator) confirms or declines orders and records consignments; the ordering
party places orders and accepts its consignments, rejecting lines with a reason. A return
(8.14.3 fault, 8.14.4 no fault) is the holder's, or an RSA's the holder appointed that day.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from meterhub.api.deps import CurrentActor, DbSession, RowId
from meterhub.api.responses import JSON_BODY, refusals
from meterhub.comms_hubs import orders, service
from meterhub.comms_hubs.models import HubConsignment, HubOrder, HubReturn
from meterhub.comms_hubs.schemas import (
    ConsignmentDetailOut,
    ConsignmentIn,
    ConsignmentOut,
    ConsignmentPageOut,
    DeclineIn,
    LineOut,
    OrderIn,
    OrderOut,
    OrderPageOut,
    ReturnIn,
    ReturnOut,
    SettleIn,
    VariantOut,
)
from meterhub.comms_hubs.variants import VARIANTS
from meterhub.kit.clock import utcnow
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.parties.service import party_codes

router = APIRouter(prefix="/hubs", tags=["hubs"])


def orders_out(session: Session, rows: Sequence[HubOrder]) -> list[OrderOut]:
    codes = party_codes(session, ids={r.party_id for r in rows}) if rows else {}
    return [
        OrderOut(
            id=r.id,
            party=codes.get(r.party_id, "?"),
            csp_region=r.csp_region,
            variant=r.variant,
            quantity=r.quantity,
            outstanding=orders.outstanding(session, order=r),
            delivery_month=r.delivery_month,
            delivery_location=r.delivery_location,
            state=r.state,
            decline_reason=r.decline_reason,
            placed_by=r.placed_by,
            placed_at=r.placed_at,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
        )
        for r in rows
    ]


def consignments_out(session: Session, rows: Sequence[HubConsignment]) -> list[ConsignmentOut]:
    counts = orders.line_counts(session, consignment_ids=[r.id for r in rows])
    return [
        ConsignmentOut(
            id=r.id,
            order_id=r.order_id,
            asn_reference=r.asn_reference,
            state=r.state,
            recorded_by=r.recorded_by,
            recorded_at=r.recorded_at,
            settled_by=r.settled_by,
            settled_at=r.settled_at,
            lines=counts.get(r.id, {}),
        )
        for r in rows
    ]


def consignment_detail(
    session: Session, actor: CurrentActor, row: HubConsignment
) -> ConsignmentDetailOut:
    [summary] = consignments_out(session, [row])
    lines = orders.consignment_lines(session, actor=actor, consignment_id=row.id)
    return ConsignmentDetailOut(
        **summary.model_dump(),
        items=[
            LineOut(line=x.line, guid=x.device_id, state=x.state, reject_reason=x.reject_reason)
            for x in lines
        ],
    )


def return_out(session: Session, row: HubReturn) -> ReturnOut:
    codes = party_codes(session, ids={row.holder_party_id, row.requested_by_party_id})
    return ReturnOut(
        id=row.id,
        device_id=row.device_id,
        kind=row.kind,
        holder=codes.get(row.holder_party_id, "?"),
        requested_by=codes.get(row.requested_by_party_id, "?"),
        reason=row.reason,
        charge_pence=row.charge_pence,
        accepted_at=row.created_at,
    )


@router.get("/variants", response_model=list[VariantOut])
def list_variants(actor: CurrentActor) -> list[VariantOut]:
    """The hub variants an order may name, with the CSP regions each is made for."""
    return [
        VariantOut(
            code=v.code,
            title=v.title,
            manufacturer=v.manufacturer,
            model=v.model,
            firmware_version=v.firmware_version,
            chts_version=v.chts_version,
            csp_regions=sorted(r.value for r in v.regions),
        )
        for v in VARIANTS
    ]


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403)},
)
def place_order(body: OrderIn, session: DbSession, actor: CurrentActor) -> OrderOut:
    """Order hubs for your party: a quantity of one variant for one CSP region, for a delivery
    month that has not begun and a delivery location. The DCC confirms or declines it."""
    row = orders.place_order(
        session,
        actor=actor,
        csp_region=body.csp_region,
        variant_code=body.variant,
        quantity=body.quantity,
        delivery_month=body.delivery_month,
        delivery_location=body.delivery_location,
        now=utcnow(),
    )
    return orders_out(session, [row])[0]


@router.get("/orders", response_model=OrderPageOut)
def list_orders(
    session: DbSession,
    actor: CurrentActor,
    state: str | None = Query(default=None, description="placed, confirmed or declined"),
    cursor: str | None = Query(default=None, description="next_cursor of the previous page"),
    limit: int = Query(default=50, ge=1, le=500),
) -> OrderPageOut:
    """Your party's orders (the DCC sees every party's), newest first."""
    page = orders.list_orders(session, actor=actor, state=state, cursor=cursor, limit=limit)
    return OrderPageOut(items=orders_out(session, page.items), next_cursor=page.next_cursor)


@router.get("/orders/{order_id}", response_model=OrderOut, responses=refusals(404))
def get_order(order_id: RowId, session: DbSession, actor: CurrentActor) -> OrderOut:
    """One order; another party's is a 404."""
    return orders_out(session, [orders.get_order(session, actor=actor, order_id=order_id)])[0]


@router.post(
    "/orders/{order_id}/confirm", response_model=OrderOut, responses=refusals(403, 404, 409)
)
def confirm_order(order_id: RowId, session: DbSession, actor: CurrentActor) -> OrderOut:
    """The DCC confirms a placed order; the ordering party is told."""
    row = orders.confirm_order(session, actor=actor, order_id=order_id, now=utcnow())
    return orders_out(session, [row])[0]


@router.post(
    "/orders/{order_id}/decline",
    response_model=OrderOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def decline_order(
    order_id: RowId, body: DeclineIn, session: DbSession, actor: CurrentActor
) -> OrderOut:
    """The DCC declines a placed order with a reason; the ordering party is told."""
    row = orders.decline_order(
        session, actor=actor, order_id=order_id, reason=body.reason, now=utcnow()
    )
    return orders_out(session, [row])[0]


@router.post(
    "/consignments",
    response_model=ConsignmentDetailOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def record_consignment(
    body: ConsignmentIn, session: DbSession, actor: CurrentActor
) -> ConsignmentDetailOut:
    """The DCC records a consignment from its advance shipment notice. Every GUID is checked
    first (well formed, listed once, not in the inventory, not on another consignment, no more
    than the order has outstanding): a refusal names every bad position and records nothing.
    The ordering party is told the consignment shipped."""
    row = orders.record_consignment(
        session,
        actor=actor,
        order_id=body.order_id,
        asn_reference=body.asn_reference,
        lines=[orders.AsnLine(line=n, guid=g) for n, g in enumerate(body.guids, 1)],
        now=utcnow(),
    )
    return consignment_detail(session, actor, row)


@router.get("/consignments", response_model=ConsignmentPageOut, responses=refusals(404))
def list_consignments(
    session: DbSession,
    actor: CurrentActor,
    order_id: int | None = Query(
        default=None, ge=1, le=MAX_ROW_ID, description="Only this order's"
    ),
    cursor: str | None = Query(default=None, description="next_cursor of the previous page"),
    limit: int = Query(default=50, ge=1, le=500),
) -> ConsignmentPageOut:
    """Consignments of your party's orders, newest first; another party's order is a 404."""
    page = orders.list_consignments(
        session, actor=actor, order_id=order_id, cursor=cursor, limit=limit
    )
    return ConsignmentPageOut(
        items=consignments_out(session, page.items), next_cursor=page.next_cursor
    )


@router.get(
    "/consignments/{consignment_id}", response_model=ConsignmentDetailOut, responses=refusals(404)
)
def get_consignment(
    consignment_id: RowId, session: DbSession, actor: CurrentActor
) -> ConsignmentDetailOut:
    """One consignment with its lines; another party's is a 404."""
    row = orders.get_consignment(session, actor=actor, consignment_id=consignment_id)
    return consignment_detail(session, actor, row)


@router.post(
    "/consignments/{consignment_id}/settle",
    response_model=ConsignmentDetailOut,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def settle_consignment(
    consignment_id: RowId, body: SettleIn, session: DbSession, actor: CurrentActor
) -> ConsignmentDetailOut:
    """Accept a consignment that arrived, rejecting the lines named with a reason each. The
    hubs accepted join your stock as Pending at the order's delivery location; a bad rejection
    is refused with every bad line named, and nothing changes."""
    rejections: dict[str, str] = {}
    for r in body.rejections:
        rejections[r.guid] = r.reason
    row = orders.settle_consignment(
        session,
        actor=actor,
        consignment_id=consignment_id,
        rejections=rejections,
        now=utcnow(),
    )
    return consignment_detail(session, actor, row)


@router.post(
    "/returns",
    response_model=ReturnOut,
    status_code=201,
    responses={**JSON_BODY, **refusals(403, 404, 409)},
)
def return_hub(
    body: ReturnIn, request: Request, session: DbSession, actor: CurrentActor
) -> ReturnOut:
    """Return a hub to the DCC: ``fault`` (8.14.3) or ``no_fault`` (8.14.4), by its holder or
    by an RSA the holder appointed today (SECMP0039). The answer is the acceptance, with the
    explicit charge to the holder, or the validation failure with its reason: a hub you may
    not return is a 404 like an unknown one; a hub whose status allows no return is a 409."""
    row = service.return_hub(
        session,
        actor=actor,
        device_id=body.device_id,
        kind=body.kind,
        reason=body.reason,
        dcc_party_code=request.app.state.settings.dcc_party_code,
        now=utcnow(),
    )
    return return_out(session, row)
