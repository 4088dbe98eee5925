"""Bodies for hub orders, consignments (advance shipment notices) and returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from meterhub.comms_hubs.orders import (
    ASN_REFERENCE_LENGTH,
    LOCATION_LENGTH,
    MAX_ORDER_QUANTITY,
    REASON_LENGTH,
)
from meterhub.comms_hubs.service import RETURN_REASON_LENGTH
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.kit.schema import RequestBody, Strict


class VariantOut(Strict):
    code: str = Field(description="What an order names, e.g. N-SM")
    title: str
    manufacturer: str
    model: str
    firmware_version: str
    chts_version: str
    csp_regions: list[str] = Field(description="The CSP regions the variant is made for")


class OrderIn(RequestBody):
    csp_region: str = Field(description="North, Central, South, North4G, Central4G or South4G")
    variant: str = Field(description="A hub variant's code (GET /hubs/variants)")
    quantity: int = Field(ge=1, le=MAX_ORDER_QUANTITY, description="How many hubs")
    delivery_month: str = Field(
        description="A month that has not begun, YYYY-MM", examples=["2027-03"]
    )
    delivery_location: str = Field(
        max_length=LOCATION_LENGTH, description="Where the hubs are to be delivered (one line)"
    )


class OrderOut(Strict):
    id: int
    party: str = Field(description="Code of the ordering party")
    csp_region: str
    variant: str
    quantity: int
    outstanding: int = Field(description="Hubs not yet shipped (rejected lines count again)")
    delivery_month: str
    delivery_location: str
    state: str = Field(description="placed, confirmed or declined")
    decline_reason: str
    placed_by: str
    placed_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class OrderPageOut(Strict):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next (older) page")


class DeclineIn(RequestBody):
    reason: str = Field(max_length=REASON_LENGTH, description="Why the DCC declines the order")


class ConsignmentIn(RequestBody):
    order_id: int = Field(ge=1, le=MAX_ROW_ID, description="The confirmed order it delivers")
    asn_reference: str = Field(
        max_length=ASN_REFERENCE_LENGTH, description="The advance shipment notice's reference"
    )
    guids: list[str] = Field(
        max_length=MAX_ORDER_QUANTITY,
        description="The GUIDs (Device IDs) of the hubs shipped, in the ASN's order; a refusal"
        " names them by position, from 1",
    )


class LineOut(Strict):
    line: int
    guid: str
    state: str = Field(description="shipped, accepted or rejected")
    reject_reason: str


class ConsignmentOut(Strict):
    id: int
    order_id: int
    asn_reference: str
    state: str = Field(description="shipped, or settled once the ordering party answered")
    recorded_by: str
    recorded_at: datetime
    settled_by: str | None
    settled_at: datetime | None
    lines: dict[str, int] = Field(description="How many lines are in each state")


class ConsignmentDetailOut(ConsignmentOut):
    items: list[LineOut]


class ConsignmentPageOut(Strict):
    items: list[ConsignmentOut]
    next_cursor: str | None


class Rejection(RequestBody):
    guid: str
    reason: str = Field(max_length=REASON_LENGTH)


class SettleIn(RequestBody):
    rejections: list[Rejection] = Field(
        default_factory=list,
        max_length=MAX_ORDER_QUANTITY,
        description="Lines rejected, each with its reason; every other line is accepted",
    )


class ReturnIn(RequestBody):
    device_id: str = Field(description="The hub's GUID (Device ID)")
    kind: str = Field(description="fault (8.14.3) or no_fault (8.14.4)")
    reason: str = Field(default="", max_length=RETURN_REASON_LENGTH)


class ReturnOut(Strict):
    id: int
    device_id: str
    kind: str
    holder: str = Field(description="The party charged: the hub's holder")
    requested_by: str = Field(description="The holder itself, or the RSA it appointed")
    reason: str
    charge_pence: int = Field(description="The explicit charge for the return")
    accepted_at: datetime
