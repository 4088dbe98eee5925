"""Meter points and their registration periods."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meterhub.db.base import Base
from meterhub.parties.models import Party


class MeterPoint(Base):
    """An MPAN core (electricity) or MPRN (gas)."""

    __tablename__ = "meter_point"

    mpxn: Mapped[str] = mapped_column(String(13), primary_key=True)
    fuel: Mapped[str] = mapped_column(String(12))
    postcode_area: Mapped[str | None] = mapped_column(String(4), default=None)


class Registration(Base):
    """From ``effective_from`` to ``effective_to`` (inclusive; open when None) the meter point was
    registered to this supplier (and, for gas, shipper) and served by this network operator.
    A meter point's periods never overlap."""

    __tablename__ = "registration"
    __table_args__ = (
        Index("ix_registration_mpxn_from", "mpxn", "effective_from"),
        Index("ix_registration_supplier", "supplier_party_id", "effective_to"),
        Index("ix_registration_network", "network_operator_party_id", "effective_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mpxn: Mapped[str] = mapped_column(ForeignKey("meter_point.mpxn"))
    supplier_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    shipper_party_id: Mapped[int | None] = mapped_column(
        ForeignKey("party.id"), default=None, index=True
    )
    network_operator_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date, default=None)

    supplier: Mapped[Party] = relationship(foreign_keys=[supplier_party_id], lazy="joined")
    shipper: Mapped[Party | None] = relationship(foreign_keys=[shipper_party_id], lazy="joined")
    network_operator: Mapped[Party] = relationship(
        foreign_keys=[network_operator_party_id], lazy="joined"
    )
