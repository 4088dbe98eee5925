"""What the gateway keeps: every service request it was sent, the per-originator counters, and
every message (response or alert) it owes a user, with its delivery state.

A request is stored and committed before its acknowledgement leaves the hub, so nothing
acknowledged is ever lost. The device network's answer is decided when the request is accepted
(deterministically from the seed and the RequestID) and *released* when it falls due; releasing
and creating the outbound message happen in one transaction, so a crash never emits it twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base, Unsigned64
from meterhub.kit.clock import utcnow


class RequestCounter(Base):
    """The highest RequestID counter accepted from each originator (DUIS user ID): any number
    the schema allows, 0 to 2^64-1 (``Unsigned64``)."""

    __tablename__ = "duis_request_counter"

    originator: Mapped[str] = mapped_column(String(23), primary_key=True)
    last_counter: Mapped[int] = mapped_column(Unsigned64)


class ServiceRequest(Base):
    """One DUIS service request as received, with its acknowledgement and (later) response."""

    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_request_id", "request_id"),
        Index("ix_service_request_party_received", "party_id", "received_at"),
        Index("ix_service_request_state_due", "state", "due_at"),
        Index("ix_service_request_device", "device_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80))
    originator: Mapped[str | None] = mapped_column(String(23))
    target: Mapped[str | None] = mapped_column(String(23))
    counter: Mapped[int | None] = mapped_column(Unsigned64)
    srv: Mapped[str | None] = mapped_column(String(16))
    service_reference: Mapped[str | None] = mapped_column(String(16))
    command_variant: Mapped[int | None] = mapped_column(Integer)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str | None] = mapped_column(String(8))
    device_id: Mapped[str | None] = mapped_column(String(23))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_code: Mapped[str] = mapped_column(String(8))
    refusal_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # refused | queued (waiting on the device network) | responded
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    planned: Mapped[dict[str, Any]] = mapped_column(default=dict)
    response_code: Mapped[str | None] = mapped_column(String(8), default=None)
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    rtt_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    failure_reason: Mapped[str | None] = mapped_column(String(120), default=None)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[str] = mapped_column(Text, default="")
    # When the lake exporter wrote this request's finished life to the event lake.
    exported_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class OutboundMessage(Base):
    """A response or alert owed to a user. ``id`` is the polling cursor.

    Push states: ``none`` (no callback registered: polling only), ``pending`` (to push at
    ``next_attempt_at``), ``pushing`` (a POST is in flight), ``delivered``, ``held`` (retries
    exhausted, or a crash left the push in doubt: kept for polling, never pushed twice).
    """

    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_message_user_id", "user_id", "id"),
        Index("ix_outbound_message_push", "push_state", "next_attempt_at"),
        Index("ix_outbound_message_request", "service_request_id"),
        Index("ix_outbound_message_unexported", "kind", "service_request_id", "exported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    kind: Mapped[str] = mapped_column(String(16))  # response | alert
    service_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id"), default=None
    )
    request_id: Mapped[str | None] = mapped_column(String(80), default=None)
    code: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(23), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    xml: Mapped[str] = mapped_column(Text)
    push_state: Mapped[str] = mapped_column(String(16), default="none")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    # When the push now in flight was claimed: a sweep holds one stuck ``pushing`` too long.
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Alerts no request raised (power outages): the role they are addressed to (ED, IS), and
    # when the lake exporter wrote them (request alerts go to the lake with their request).
    recipient_role: Mapped[str | None] = mapped_column(String(8), default=None)
    exported_at: Mapped[datetime | None] = mapped_column(default=None)


class Callback(Base):
    """The URL a user's responses and alerts are pushed to."""

    __tablename__ = "duis_callback"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FirmwareDelivery(Base):
    """11.1 Update Firmware sent to a device: tracked until 11.3 activates it (DOMAIN.md: the
    image must reach every relevant hub within 5 days)."""

    __tablename__ = "firmware_delivery"
    __table_args__ = (Index("ix_firmware_delivery_party_state", "party_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80))
    device_id: Mapped[str] = mapped_column(ForeignKey("device.device_id"))
    party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"))
    firmware_version: Mapped[str] = mapped_column(String(40))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16))  # delivering | delivered | activated | failed


class PowerOutage(Base):
    """One premises in one simulated power outage: its comms hub lost power at ``started_at``
    (AD1 raised then) and its electricity meter reports the supply back at ``restore_at``
    (device alert 0x8F35), or never (``restore_at`` empty).

    State: ``out`` (waiting for ``restore_at``), ``restored`` (0x8F35 raised), ``unrestored``
    (no restoration alert will ever come: what MP176 reports on)."""

    __tablename__ = "power_outage"
    __table_args__ = (
        UniqueConstraint("outage_key", "comms_hub_id"),
        Index("ix_power_outage_state_restore", "state", "restore_at"),
        Index("ix_power_outage_hub", "comms_hub_id", "restore_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outage_key: Mapped[str] = mapped_column(String(40))
    csp_region: Mapped[str] = mapped_column(String(16))
    comms_hub_id: Mapped[str] = mapped_column(ForeignKey("device.device_id"))
    meter_id: Mapped[str] = mapped_column(ForeignKey("device.device_id"))
    mpxn: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column()
    restore_at: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutageClock(Base):
    """How far the worker has raised power outages: every outage starting at or before
    ``raised_until`` has been raised, none after. One row, moved forward in the same transaction
    that raises the outages, so a restart neither repeats nor skips one."""

    __tablename__ = "power_outage_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    raised_until: Mapped[datetime] = mapped_column()
