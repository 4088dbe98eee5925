"""Install forecasts, kept with their history: a resubmission supersedes, never overwrites."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meterhub.db.base import Base
from meterhub.kit.clock import utcnow
from meterhub.parties.models import Party


class InstallForecast(Base):
    """How many installs (successful 8.14.1) supplier ``supplier_party_id`` predicts it will
    send in ``role`` during ``month`` (``YYYY-MM``) in CSP region ``csp_region``.

    A new submission for the same supplier, role, month and region supersedes the one in force:
    the old row gets ``superseded_at`` and stays, the new row points back at it through
    ``supersedes_id``. So the table says what was predicted, when, and by whom (the supplier
    itself, an agent it appointed, or the DCC loading a file). At most one row per key is in
    force (``superseded_at`` null), which a partial unique index holds on both databases.
    """

    __tablename__ = "install_forecast"
    __table_args__ = (
        Index(
            "uq_install_forecast_in_force",
            "supplier_party_id",
            "role",
            "month",
            "csp_region",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
        Index("ix_install_forecast_month", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    role: Mapped[str] = mapped_column(String(4))
    month: Mapped[str] = mapped_column(String(7))
    csp_region: Mapped[str] = mapped_column(String(16))
    installs: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"))
    submitted_by: Mapped[str] = mapped_column(String(120))
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("install_forecast.id"), default=None
    )

    supplier: Mapped[Party] = relationship(foreign_keys=[supplier_party_id], lazy="joined")
    submitted_by_party: Mapped[Party | None] = relationship(
        foreign_keys=[submitted_by_party_id], lazy="joined"
    )
