"""Bodies of the marketplace's API: listings, requests, the rule and the transaction log."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from meterhub.hub_market import service
from meterhub.kit.pagination import MAX_ROW_ID
from meterhub.kit.schema import IsoDate, RequestBody, Strict


class ListingIn(RequestBody):
    quantity: int = Field(
        ge=1,
        le=service.MAX_QUANTITY,
        description="Hubs offered: no more than you hold Pending and have not listed or promised",
    )
    manufacturer: str = Field(max_length=service.MANUFACTURER_LENGTH, examples=["Acme"])
    model: str = Field(max_length=service.MODEL_LENGTH, examples=["ACME-1"])
    firmware_version: str = Field(max_length=service.FIRMWARE_LENGTH, examples=["1.0.0"])
    csp_region: str = Field(description="North, Central, South, North4G, Central4G or South4G")
    location: str = Field(
        max_length=service.LOCATION_LENGTH, description="Where the hubs are collected from"
    )
    available_from: IsoDate = Field(description="First day the hubs can be dispatched")


class ListingAmend(RequestBody):
    """Only the fields given change; a listing with units allocated cannot be amended."""

    quantity: int | None = Field(default=None, ge=1, le=service.MAX_QUANTITY)
    manufacturer: str | None = Field(default=None, max_length=service.MANUFACTURER_LENGTH)
    model: str | None = Field(default=None, max_length=service.MODEL_LENGTH)
    firmware_version: str | None = Field(default=None, max_length=service.FIRMWARE_LENGTH)
    csp_region: str | None = None
    location: str | None = Field(default=None, max_length=service.LOCATION_LENGTH)
    available_from: IsoDate | None = None


class WithdrawIn(RequestBody):
    reason: str = Field(default="", max_length=500)


class ListingOut(Strict):
    id: int
    holder: str = Field(description="Party code of the holder offering the hubs")
    quantity: int
    allocated: int
    left: int = Field(description="Units still on offer")
    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str
    location: str
    available_from: date
    status: str = Field(description="open, withdrawn or closed (everything allocated)")
    version: int = Field(description="Rises with every amendment; a request may name it")
    created_at: datetime
    updated_at: datetime


class ListingPageOut(Strict):
    items: list[ListingOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end"
    )


class RequestIn(RequestBody):
    quantity: int = Field(ge=1, le=service.MAX_QUANTITY, description="Units wanted")
    listing_version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ROW_ID,
        description="The listing version you saw: refused with listing_amended if it changed",
    )


class RequestOut(Strict):
    id: int
    listing_id: int
    listing_version: int
    quantity: int
    allocated_quantity: int
    status: str = Field(description="allocated, part_allocated or refused")
    rule_version: int | None
    reason: str
    requested_at: datetime
    decided_at: datetime | None
    transfer: str | None = Field(description="The transfer's reference (TR-000042), if any")


class RequestPageOut(Strict):
    items: list[RequestOut]
    next_cursor: str | None


class RuleIn(RequestBody):
    code: str = Field(description="The algorithm: fcfs or fcfs_whole", examples=["fcfs"])
    title: str = Field(max_length=service.RULE_TITLE_LENGTH)
    text: str = Field(max_length=service.MAX_RULE_TEXT, description="What parties read")
    effective_from: IsoDate = Field(
        description="The day (from 00:00 UTC) it takes effect, at least the notice ahead"
    )


class RuleOut(Strict):
    version: int
    code: str
    title: str
    text: str
    effective_from: datetime
    announced_at: datetime
    in_force: bool = Field(description="Whether this version allocates now")


class RulesOut(Strict):
    in_force: RuleOut
    upcoming: list[RuleOut] = Field(description="Announced versions not yet in force")
    versions: list[RuleOut] = Field(description="Every version, the first first")


class LogEntryOut(Strict):
    reference: str
    allocated_at: datetime
    status: str
    quantity: int
    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str
    sender: str | None = Field(description="Party code, or label in the public log; null: hidden")
    receiver: str | None
    dispatched_at: datetime | None
    received_at: datetime | None
    received_quantity: int | None


class LogPageOut(Strict):
    parties: str = Field(description="How the parties are named: full, labelled, shown, hidden")
    items: list[LogEntryOut]
    next_cursor: str | None
