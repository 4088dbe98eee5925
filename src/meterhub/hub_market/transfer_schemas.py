"""Request and response bodies of a stock transfer's dispatch, receipt, timeline and disputes."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from meterhub.hub_market import disputes
from meterhub.kit.schema import RequestBody, Strict


class DispatchIn(RequestBody):
    note: str = Field(default="", max_length=2000, description="Carrier, pallet labels, ...")


class ReceiptIn(RequestBody):
    guids: list[str] = Field(
        min_length=1,
        max_length=250_000,
        description="The hub GUIDs received (EUI-64, with or without dashes), one per line",
    )


class DisputeIn(RequestBody):
    kind: str = Field(description="What differs: " + ", ".join(disputes.KINDS))
    statement: str = Field(min_length=1, max_length=disputes.MAX_TEXT)


class AnswerIn(RequestBody):
    answer: str = Field(min_length=1, max_length=disputes.MAX_TEXT)


class ResolutionIn(RequestBody):
    outcome: str = Field(description="upheld or rejected")
    resolution: str = Field(min_length=1, max_length=disputes.MAX_TEXT)
    return_hubs: list[str] = Field(
        default_factory=list,
        max_length=250_000,
        description="Upheld: GUIDs the transfer moved that go back to the sender",
    )
    adjustment_party: str | None = Field(
        default=None, description="Upheld: sender or receiver, charged (or credited) below"
    )
    adjustment_pence: int = Field(
        default=0,
        ge=-100_000_000,
        le=100_000_000,
        description="Upheld: a charge adjustment in pence, negative for a credit; 0 for none",
    )


class StepOut(Strict):
    id: int
    at: datetime
    kind: str = Field(
        description="dispatched, receipt_refused, received, dispute_raised, dispute_answered,"
        " dispute_resolved"
    )
    party: str | None = Field(description="The side that acted; null: the operator")
    actor: str
    note: str
    accepted: int = Field(description="Hubs the step moved")
    refused: int = Field(description="GUID lines the step refused")
    dispute_id: int | None


class DisputeOut(Strict):
    id: int
    reference: str
    transfer_id: int
    raised_by: str = Field(description="The party that raised it")
    kind: str
    statement: str
    status: str = Field(description="open, answered or resolved")
    raised_at: datetime
    answer: str
    answered_at: datetime | None
    outcome: str | None
    resolution: str
    hubs_returned: int
    adjustment_party: str | None
    adjustment_pence: int | None
    resolved_at: datetime | None


class TransferOut(Strict):
    id: int
    reference: str
    sender: str
    receiver: str
    quantity: int
    manufacturer: str
    model: str
    firmware_version: str
    csp_region: str
    status: str = Field(description="allocated, dispatched, received or disputed")
    allocated_at: datetime
    dispatched_at: datetime | None
    received_at: datetime | None
    received_quantity: int | None


class TransferDetailOut(TransferOut):
    steps: list[StepOut]
    disputes: list[DisputeOut]


class TransferPageOut(Strict):
    items: list[TransferOut]
    next_before: int | None = Field(
        description="Pass as ``before`` for the next (older) page; null: this is the last"
    )


class LineOut(Strict):
    line_no: int
    guid: str
    device_id: str | None
    outcome: str = Field(description="accepted (the hub moved) or refused")
    reason: str = Field(description="Why refused: unknown_guid, foreign_holder, not_pending, ...")
    detail: str


class LinePageOut(Strict):
    items: list[LineOut]
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next lines; null: this is the last page"
    )


class ReceiptOut(Strict):
    transfer: TransferOut
    step_id: int
    moved: int
