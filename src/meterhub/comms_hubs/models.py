"""Hub orders, consignments (ASN lines), stock locations, and returns with their explicit charge."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
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


class HubOrder(Base):
    """A party's order for Communications Hubs (SEC Section F5): ``quantity`` hubs of one
    variant for one CSP region, to be delivered in ``delivery_month`` (``YYYY-MM``) to
    ``delivery_location``. ``state`` is ``placed`` until the DCC ``confirmed`` or ``declined``
    it (with ``decline_reason``)."""

    __tablename__ = "hub_order"
    __table_args__ = (
        Index("ix_hub_order_party", "party_id", "id"),
        Index("ix_hub_order_state", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    csp_region: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer)
    delivery_month: Mapped[str] = mapped_column(String(7))
    delivery_location: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16), default="placed")
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    placed_by: Mapped[str] = mapped_column(String(120))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(120), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class HubConsignment(Base):
    """One delivery against an order, announced by the DCC's advance shipment notice (ASN,
    ``asn_reference``) listing the hubs' GUIDs. ``state`` is ``shipped`` until the ordering
    party settles it (``settled``): it accepts the consignment, rejecting lines with a reason."""

    __tablename__ = "hub_consignment"
    __table_args__ = (Index("ix_hub_consignment_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("hub_order.id"))
    asn_reference: Mapped[str] = mapped_column(String(40), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="shipped")
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_by: Mapped[str | None] = mapped_column(String(120), default=None)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)


class HubConsignmentLine(Base):
    """One hub of a consignment, by GUID (its Device ID), in the ASN's order (``line``, from 1).
    ``state`` is ``shipped``, then ``accepted`` (the hub entered the inventory) or ``rejected``
    (with ``reject_reason``; the hub never entered it)."""

    __tablename__ = "hub_consignment_line"
    __table_args__ = (
        Index("ix_hub_consignment_line_device", "device_id"),
        Index("uq_hub_consignment_line_guid", "consignment_id", "device_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consignment_id: Mapped[int] = mapped_column(ForeignKey("hub_consignment.id"))
    line: Mapped[int] = mapped_column(Integer)
    device_id: Mapped[str] = mapped_column(String(23))
    state: Mapped[str] = mapped_column(String(16), default="shipped")
    reject_reason: Mapped[str] = mapped_column(Text, default="")


class HubStockLocation(Base):
    """Where a hub held as stock is kept: the delivery location of the consignment it came in,
    for the party that accepted it. The inventory's device record has no location; this is the
    logistics' own fact about the hub."""

    __tablename__ = "hub_stock_location"
    __table_args__ = (Index("ix_hub_stock_location_party", "party_id"),)

    device_id: Mapped[str] = mapped_column(ForeignKey("device.device_id"), primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    location: Mapped[str] = mapped_column(String(120))
    consignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("hub_consignment.id"), default=None
    )
    since: Mapped[datetime] = mapped_column(default=utcnow)


class HubTariff(Base):
    """One dated figure of the hub charges, in force from ``effective_from`` (a UTC day) until a
    later row of the same ``kind`` takes over. Rows are only ever added: a change of tariff is
    a new row from a day not yet past, so no statement already issued can change.

    ``kind`` is ``stock`` (per hub per day held as stock before installation), ``fault_return``
    or ``no_fault_return`` (per hub returned). Amounts are thousandths of a penny, so a stock
    charge of a fraction of a penny a day, and £6,000 over a pallet of 896, are held exactly."""

    __tablename__ = "hub_tariff"
    __table_args__ = (Index("ix_hub_tariff_kind_effective_from", "kind", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[date] = mapped_column(Date)
    amount_millipence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChargeAdjustment(Base):
    """A correction to a party's hub charges (after a dispute, say), in pence: positive charges
    more, negative credits. It appears in the statement of the month it is recorded in, which
    is always a month not yet issued: a statement once issued is never rewritten."""

    __tablename__ = "hub_charge_adjustment"
    __table_args__ = (Index("ix_hub_charge_adjustment_party_at", "party_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    amount_pence: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(80), default="")
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
