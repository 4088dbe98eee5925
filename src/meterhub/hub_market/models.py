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
