"""Devices and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base
from meterhub.kit.clock import utcnow


class Device(Base):
    """One device on the DCC network, keyed by its EUI-64 Device ID.

    ``owner_party_id`` is the party holding a Communications Hub (it ordered or received it);
    meters are seen by the parties registered to their ``mpxn``. ``comms_hub_id`` is the hub the
    device joined.
    """

    __tablename__ = "device"
    __table_args__ = (
        Index("ix_device_mpxn", "mpxn"),
        Index("ix_device_owner", "owner_party_id"),
        Index("ix_device_comms_hub", "comms_hub_id"),
        Index("ix_device_filters", "device_type", "status", "csp_region"),
    )

    device_id: Mapped[str] = mapped_column(String(23), primary_key=True)
    device_type: Mapped[str] = mapped_column(String(8))
    manufacturer: Mapped[str] = mapped_column(String(80))
    model: Mapped[str] = mapped_column(String(80))
    firmware_version: Mapped[str] = mapped_column(String(40))
    smets_version: Mapped[str] = mapped_column(String(16))
    csp_region: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    owner_party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"), default=None)
    mpxn: Mapped[str | None] = mapped_column(ForeignKey("meter_point.mpxn"), default=None)
    comms_hub_id: Mapped[str | None] = mapped_column(ForeignKey("device.device_id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceHistory(Base):
    """Append-only: one row per change of status, owner or link, with who, when and why."""

    __tablename__ = "device_history"
    __table_args__ = (Index("ix_device_history_device_at", "device_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.device_id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(80))
    new_value: Mapped[str | None] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")
