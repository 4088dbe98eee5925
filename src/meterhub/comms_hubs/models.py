"""Hub returns and the explicit charge each one creates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base
from meterhub.kit.clock import utcnow


class HubReturn(Base):
    """A Communications Hub sent back to the DCC. The holder is charged (an explicit charge,
    about £6,000 per pallet of 896 hubs, so ``charge_pence`` per hub); ``requested_by`` is the
    holder itself or the RSA it appointed (SECMP0039)."""

    __tablename__ = "hub_return"
    __table_args__ = (Index("ix_hub_return_holder_at", "holder_party_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("device.device_id"))
    holder_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    requested_by_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    kind: Mapped[str] = mapped_column(String(16))  # fault | no_fault
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str | None] = mapped_column(String(80), default=None)
    charge_pence: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
