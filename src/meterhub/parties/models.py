"""Parties, users and what they may act as."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meterhub.db.base import Base
from meterhub.kit.clock import utcnow


class Party(Base):
    """A company that signed the code. ``code`` is its market participant ID, e.g. ``BGAS``."""

    __tablename__ = "party"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[PartyRole]] = relationship(
        back_populates="party", cascade="all, delete-orphan", lazy="selectin"
    )


class PartyRole(Base):
    """A user role the party signed up for (IS, ES, GS, ED, GT, RSA, OU, SHIPPER, ...)."""

    __tablename__ = "party_role"
    __table_args__ = (UniqueConstraint("party_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    party: Mapped[Party] = relationship(back_populates="roles")


class User(Base):
    """A person or system acting for a party. Portal logins use ``username`` and an argon2 hash.

    ``local_security_officer`` marks the party's own administrator (the CMS's Local Security
    Officer): it creates and disables the party's users, sets their roles and resets their
    passwords (``parties.service``, "user administration"). It is a flag, not a ``Role``: it is
    no market role a party signs up for, carries no DUIS user ID and every party may have one.
    """

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    #: Where the hub e-mails the user's notifications; None: the portal inbox only.
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    local_security_officer: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: Set by a password reset (the password is a temporary one): the portal lets the user do
    #: nothing but choose a new password until it is cleared by the change.
    password_change_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: Every portal session opened before this moment is over (set when the user is disabled or
    #: the password is reset), whichever interface made the change.
    sessions_revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    party: Mapped[Party] = relationship(lazy="joined")
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class UserRole(Base):
    """A role a user acts in, with the DUIS user ID (EUI-64) it sends service requests as."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    duis_user_id: Mapped[str | None] = mapped_column(String(23), unique=True)

    user: Mapped[User] = relationship(back_populates="roles")


class ApiToken(Base):
    """A bearer token for the REST API. Only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(lazy="joined")


class AgentAppointment(Base):
    """Supplier ``supplier_party_id`` appoints agent ``agent_party_id`` from ``valid_from``,
    optionally to ``valid_to`` (inclusive). Periods for the same pair never overlap."""

    __tablename__ = "agent_appointment"
    __table_args__ = (Index("ix_agent_appointment_pair", "supplier_party_id", "agent_party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    agent_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    supplier: Mapped[Party] = relationship(foreign_keys=[supplier_party_id], lazy="joined")
    agent: Mapped[Party] = relationship(foreign_keys=[agent_party_id], lazy="joined")
