"""Listings, requests, transfers and the versioned allocation rule of the MP140 marketplace."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base
from meterhub.kit.clock import utcnow


class Listing(Base):
    """Stock a holder offers for transfer (MP140 requirement 1): ``quantity`` hubs of one make,
    model and firmware in one CSP region, at ``location``, available from ``available_from``.

    ``allocated`` counts the units the allocation rule has given out; it never exceeds
    ``quantity`` (a check constraint, so even a wrong code path cannot over-allocate). ``status``
    is ``open``, ``withdrawn`` (by the holder, only while nothing is allocated) or ``closed``
    (everything allocated). ``version`` rises with every amendment so a request names the terms
    it saw."""

    __tablename__ = "hub_listing"
    __table_args__ = (
        CheckConstraint("allocated >= 0 AND allocated <= quantity", name="allocated_within"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_hub_listing_open", "status", "csp_region", "manufacturer", "model"),
        Index("ix_hub_listing_holder", "holder_party_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    manufacturer: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(80))
    firmware_version: Mapped[str] = mapped_column(String(40))
    csp_region: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(200))
    available_from: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AllocationRule(Base):
    """One published version of the selection rule that allocates requested units (MP140
    requirement 4). The rule in force at a moment is the version with the latest
    ``effective_from`` not after it; a new version is announced (``announced_at``) before it
    takes effect, and no version is ever edited. ``code`` names the algorithm the service runs
    (``fcfs``: first come, first served); ``text`` is what parties read."""

    __tablename__ = "hub_allocation_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    code: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[datetime]
    announced_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))


class ListingRequest(Base):
    """A party's request for ``quantity`` units of a listing (MP140 requirement 3), and what the
    rule in force gave it: ``allocated_quantity`` (0 when refused) under ``rule_version``.
    ``status``: ``allocated``, ``part_allocated``, ``refused`` or ``cancelled``."""

    __tablename__ = "hub_listing_request"
    __table_args__ = (
        Index("ix_hub_listing_request_listing", "listing_id", "id"),
        Index("ix_hub_listing_request_requester", "requester_party_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("hub_listing.id"))
    listing_version: Mapped[int] = mapped_column(Integer)
    requester_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    allocated_quantity: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    rule_version: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(120))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class Transfer(Base):
    """Units allocated from one listing to one receiver, and their journey (MP140 requirement
    5): ``allocated`` → ``dispatched`` (the sender confirms) → ``received`` (the receiver
    confirms with the GUIDs it got; custody and the stock charge move from ``received_at``'s
    day) and, where what arrived differs, ``disputed`` until the operator resolves it.
    ``reference`` is the readable name both sides quote (``TR-000042``). The make, model,
    firmware and region are the listing's at allocation, so an amendment cannot rewrite them."""

    __tablename__ = "hub_transfer"
    __table_args__ = (
        Index("ix_hub_transfer_sender", "sender_party_id", "id"),
        Index("ix_hub_transfer_receiver", "receiver_party_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("hub_listing.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("hub_listing_request.id"), unique=True)
    sender_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    receiver_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    manufacturer: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(80))
    firmware_version: Mapped[str] = mapped_column(String(40))
    csp_region: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="allocated")
    allocated_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    dispatched_by: Mapped[str | None] = mapped_column(String(120), default=None)
    received_at: Mapped[datetime | None] = mapped_column(default=None)
    received_by: Mapped[str | None] = mapped_column(String(120), default=None)
    received_quantity: Mapped[int | None] = mapped_column(Integer, default=None)


class TransferEvent(Base):
    """One step of a transfer's timeline, as both sides read it on the transfer's page:
    ``dispatched``, ``receipt_refused`` (a receipt with a refused GUID line: nothing moved),
    ``received``, ``dispute_raised``, ``dispute_answered``, ``dispute_resolved``. The
    allocation itself is the transfer's ``allocated_at``. ``accepted`` and ``refused`` count a
    receipt's GUID lines (its ``TransferLine`` rows); ``party_id`` is the side that acted (None
    for the operator)."""

    __tablename__ = "hub_transfer_event"
    __table_args__ = (Index("ix_hub_transfer_event_transfer", "transfer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("hub_transfer.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"), default=None)
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    dispute_id: Mapped[int | None] = mapped_column(Integer, default=None)


class TransferLine(Base):
    """One GUID line of a submitted receipt (``event_id``), as the receiver wrote it (``guid``)
    and, when it reads as an EUI-64, normalised (``device_id``). ``outcome`` is ``accepted``
    (the hub moved to the receiver) or ``refused`` with a machine ``reason`` (``unknown_guid``,
    ``foreign_holder``, ``not_pending``, ``duplicate``, ``over_quantity``, ...) and a
    ``detail`` for a person. The accepted lines of the ``received`` event are the hubs the
    transfer moved, which a dispute's outcome may move back."""

    __tablename__ = "hub_transfer_line"
    __table_args__ = (Index("ix_hub_transfer_line_event", "event_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("hub_transfer.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("hub_transfer_event.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    guid: Mapped[str] = mapped_column(String(80))
    device_id: Mapped[str | None] = mapped_column(String(23), default=None)
    outcome: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32), default="")
    detail: Mapped[str] = mapped_column(String(200), default="")


class TransferDispute(Base):
    """A dispute over a transfer (MP140 requirement 7): what arrived differs from what was
    allocated in ``kind`` (``quantity``, ``manufacturer``, ``model`` or ``firmware``). Raised by
    either side, ``answered`` by the other, ``resolved`` by the operator with an ``outcome``:
    ``rejected`` (custody stands) or ``upheld``, when ``hubs_returned`` hubs went back to the
    sender and ``adjustment_pence`` was charged (or, negative, credited) to
    ``adjustment_party_id``. The transfer is ``disputed`` while the dispute is open and goes
    back to ``transfer_status_before`` when it is resolved."""

    __tablename__ = "hub_transfer_dispute"
    __table_args__ = (Index("ix_hub_transfer_dispute_transfer", "transfer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("hub_transfer.id"))
    raised_by_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    kind: Mapped[str] = mapped_column(String(16))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    transfer_status_before: Mapped[str] = mapped_column(String(16))
    raised_by: Mapped[str] = mapped_column(String(120))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[str | None] = mapped_column(String(120), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")
    hubs_returned: Mapped[int] = mapped_column(Integer, default=0)
    adjustment_party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"), default=None)
    adjustment_pence: Mapped[int | None] = mapped_column(Integer, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(120), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def reference(self) -> str:
        """The name both sides and the operator quote (``DS-000007``)."""
        return f"DS-{self.id:06d}"
