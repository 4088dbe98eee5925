"""The settlement ledger, its invoice lines and the dated unit rates they are priced at.

Energy is held in watt-hours and rates in pence per MWh, as integers: both databases add
integers exactly, and a kWh with three decimals (what a theft estimate carries) is a whole Wh.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base


class UnitRate(Base):
    """The unit rate theft energy is invoiced at from ``effective_from`` until the next rate."""

    __tablename__ = "settlement_unit_rate"

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    pence_per_mwh: Mapped[int]
    set_at: Mapped[datetime]


class EnergyAdjustment(Base):
    """One posting to the settlement ledger: ``energy_wh`` added to the shipper's energy at the
    MPRN for the period (negative: a reversal, which names the posting it reverses).

    ``posting_key`` is the caller's name for the posting (the theft claim's share, e.g.
    ``SUT-000123/BGT``): a second posting with the same key is the same posting, never a
    second one."""

    __tablename__ = "settlement_adjustment"

    id: Mapped[int] = mapped_column(primary_key=True)
    posting_key: Mapped[str] = mapped_column(String(120), unique=True)
    mprn: Mapped[str] = mapped_column(String(13), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    energy_wh: Mapped[int] = mapped_column(BigInteger)
    # The shipper (a party; a foreign key into parties' table, the one cross-domain link here).
    shipper_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_adjustment.id"), unique=True, default=None
    )
    reason: Mapped[str] = mapped_column(String(200), default="")
    posted_at: Mapped[datetime]


class InvoiceLine(Base):
    """What the shipper is charged for one posting: its energy at the unit rate in force on the
    posting day (a reversal's line credits the original's amount at the original's rate)."""

    __tablename__ = "settlement_invoice_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    adjustment_id: Mapped[int] = mapped_column(ForeignKey("settlement_adjustment.id"), unique=True)
    shipper_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    charge_type: Mapped[str] = mapped_column(String(16))
    energy_wh: Mapped[int] = mapped_column(BigInteger)
    pence_per_mwh: Mapped[int]
    rate_effective_from: Mapped[date | None] = mapped_column(Date, default=None)
    amount_pence: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
