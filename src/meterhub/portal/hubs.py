"""``/portal/hubs``: Communications Hub orders and deliveries, and hub returns.

* ``/portal/hubs/orders``: "Orders and deliveries": place an order, see the party's orders and
  consignments (the DCC sees every party's, and confirms or declines placed orders from an
  order's page);
* ``/portal/hubs/consignments/{id}``: a consignment's lines; the ordering party accepts it,
  rejecting lines with a reason typed beside them;
* ``/portal/hubs/returns``: "Return a hub" (8.14.3 fault, 8.14.4 no fault), by the holder or
  an RSA it appointed; the device page of a hub links here.

Every page calls the same services as ``/api/v1/hubs``, as the logged-in user, so another
party's order or consignment is the portal's 404 page. Forms are plain POSTs with the CSRF
token; no JavaScript.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from meterhub.api.deps import DbSession, RowId
from meterhub.comms_hubs import orders, service
from meterhub.comms_hubs.service import RETURN_EVENTS
from meterhub.comms_hubs.variants import VARIANTS
from meterhub.errors import InvalidInput
from meterhub.inventory.catalogue import CspRegion
from meterhub.parties.service import party_codes
from meterhub.portal.sessions import check_csrf
from meterhub.portal.web import CurrentUser, CurrentWebSession, portal_now, redirect, render

router = APIRouter()

ORDERS_PATH = "/portal/hubs/orders"
RETURNS_PATH = "/portal/hubs/returns"
PAGE_SIZE = 25


async def form_fields(request: Request) -> dict[str, str]:
    """Every text field of the posted form (a consignment's form has one per line)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


@router.get("/hubs/orders")
def orders_page(request: Request, db: DbSession, me: CurrentUser) -> Response:
    """Orders and deliveries: the order form, the orders, the consignments."""
    params = request.query_params
    state = params.get("state", "").strip() or None
    page = orders.list_orders(
        db, actor=me.actor, state=state, cursor=params.get("after") or None, limit=PAGE_SIZE
    )
    shipped = orders.list_consignments(db, actor=me.actor, limit=PAGE_SIZE)
    ids = {o.party_id for o in page.items}
    codes = party_codes(db, ids=ids) if ids else {}
    now = portal_now(request)
    return render(
        request,
        "hubs_orders.html",
        {
            "nav": "hubs",
            "orders": page.items,
            "codes": codes,
            "outstanding": {o.id: orders.outstanding(db, order=o) for o in page.items},
            "consignments": shipped.items,
            "counts": orders.line_counts(db, consignment_ids=[c.id for c in shipped.items]),
            "state": state or "",
            "states": orders.ORDER_STATES,
            "next_url": (
                f"{ORDERS_PATH}?{'state=' + state + '&' if state else ''}after={page.next_cursor}"
                if page.next_cursor
                else ""
            ),
            "variants": VARIANTS,
            "regions": [r.value for r in CspRegion],
            "first_month": f"{now.year + (now.month // 12)}-{now.month % 12 + 1:02d}",
            "may_order": not me.actor.is_operator,
        },
    )


@router.post("/hubs/orders")
def place_order(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
    csp_region: Annotated[str, Form()] = "",
    variant: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    delivery_month: Annotated[str, Form()] = "",
    delivery_location: Annotated[str, Form()] = "",
) -> Response:
    """Place an order; its page follows."""
    check_csrf(session, csrf_token)
    amount = quantity.strip()
    if not (amount.isascii() and amount.isdigit()) or len(amount) > 7:
        raise InvalidInput("the quantity is a whole number of hubs", code="bad_quantity")
    order = orders.place_order(
        db,
        actor=me.actor,
        csp_region=csp_region,
        variant_code=variant,
        quantity=int(amount),
        delivery_month=delivery_month,
        delivery_location=delivery_location,
        now=portal_now(request),
    )
    return redirect(request, f"{ORDERS_PATH}/{order.id}")


@router.get("/hubs/orders/{order_id}")
def order_page(order_id: RowId, request: Request, db: DbSession, me: CurrentUser) -> Response:
    """One order, its consignments, and for the DCC the confirm and decline forms."""
    order = orders.get_order(db, actor=me.actor, order_id=order_id)
    shipped = orders.list_consignments(db, actor=me.actor, order_id=order.id, limit=500)
    return render(
        request,
        "hubs_order.html",
        {
            "nav": "hubs",
            "order": order,
            "party": party_codes(db, ids={order.party_id}).get(order.party_id, "?"),
            "outstanding": orders.outstanding(db, order=order),
            "variant": orders.order_variant(order),
            "consignments": shipped.items,
            "counts": orders.line_counts(db, consignment_ids=[c.id for c in shipped.items]),
            "may_decide": me.actor.is_operator and order.state == "placed",
        },
    )


@router.post("/hubs/orders/{order_id}/confirm")
def confirm_order(
    order_id: RowId,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    orders.confirm_order(db, actor=me.actor, order_id=order_id, now=portal_now(request))
    return redirect(request, f"{ORDERS_PATH}/{order_id}")


@router.post("/hubs/orders/{order_id}/decline")
def decline_order(
    order_id: RowId,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(session, csrf_token)
    orders.decline_order(
        db, actor=me.actor, order_id=order_id, reason=reason, now=portal_now(request)
    )
    return redirect(request, f"{ORDERS_PATH}/{order_id}")


@router.get("/hubs/consignments/{consignment_id}")
def consignment_page(
    consignment_id: RowId, request: Request, db: DbSession, me: CurrentUser
) -> Response:
    """A consignment's lines; while it is shipped, the ordering party's accept form."""
    consignment = orders.get_consignment(db, actor=me.actor, consignment_id=consignment_id)
    order = orders.get_order(db, actor=me.actor, order_id=consignment.order_id)
    lines = orders.consignment_lines(db, actor=me.actor, consignment_id=consignment.id)
    return render(
        request,
        "hubs_consignment.html",
        {
            "nav": "hubs",
            "consignment": consignment,
            "order": order,
            "lines": lines,
            "may_settle": consignment.state == "shipped" and me.actor.party_id == order.party_id,
        },
    )


@router.post("/hubs/consignments/{consignment_id}/settle")
def settle_consignment(
    consignment_id: RowId,
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    fields: FormFields,
) -> Response:
    """Accept the consignment; a line with a reason typed beside it is rejected."""
    check_csrf(session, fields.get("csrf_token", ""))
    lines = orders.consignment_lines(db, actor=me.actor, consignment_id=consignment_id)
    rejections = {
        line.device_id: fields[f"reject_{line.line}"]
        for line in lines
        if fields.get(f"reject_{line.line}", "").strip()
    }
    orders.settle_consignment(
        db,
        actor=me.actor,
        consignment_id=consignment_id,
        rejections=rejections,
        now=portal_now(request),
    )
    return redirect(request, f"/portal/hubs/consignments/{consignment_id}")


@router.get("/hubs/returns")
def returns_page(request: Request, me: CurrentUser) -> Response:
    """The return form (``?device=`` fills in the hub, as the device page's link does)."""
    return render(
        request,
        "hubs_return.html",
        {
            "nav": "hubs",
            "device_id": request.query_params.get("device", "")[:40],
            "kinds": list(RETURN_EVENTS),
        },
    )


@router.post("/hubs/returns")
def return_hub(
    request: Request,
    db: DbSession,
    me: CurrentUser,
    session: CurrentWebSession,
    csrf_token: Annotated[str, Form()] = "",
    device_id: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Return the hub: the acceptance is this page, a validation failure the error page with
    its reason."""
    check_csrf(session, csrf_token)
    hub_return = service.return_hub(
        db,
        actor=me.actor,
        device_id=device_id,
        kind=kind,
        reason=reason,
        dcc_party_code=request.app.state.settings.dcc_party_code,
        now=portal_now(request),
    )
    codes = party_codes(db, ids={hub_return.holder_party_id, hub_return.requested_by_party_id})
    return render(
        request,
        "hubs_returned.html",
        {
            "nav": "hubs",
            "hub_return": hub_return,
            "holder": codes.get(hub_return.holder_party_id, "?"),
            "requested_by": codes.get(hub_return.requested_by_party_id, "?"),
        },
    )
