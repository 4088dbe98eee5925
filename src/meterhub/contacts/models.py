"""The Contact Management Service's tables: contacts, the parties each involves, their history,
notes and attachments, the reference counters, and who in each organisation has picked a contact up.

A contact's deadlines are columns (``contact_involvement.respond_by``), so the sweep finds what
falls due with one indexed query; each organisation's work queue is read from the same rows
(an involved party's from its involvement, the raiser's from the contact's summary columns).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from meterhub.db.base import Base


class Contact(Base):
    """A case raised by one party about something other parties must act on (a suspected theft
    of gas). ``status`` is the engine's: ``draft`` (saved, no reference, seen only by the
    raising organisation), ``open`` (submitted: it has its reference) or ``closed`` (every
    involved party's part is finished). The words a user reads come from the contact type's
    definition (``headline_status``: the status every involvement shares, or none when they
    differ). ``next_due_at``, ``awaiting_raiser`` and ``awaiting_operator`` summarise the
    involvements for the raiser's and the operator's queues."""

    __tablename__ = "contact"
    __table_args__ = (Index("ix_contact_raiser", "raising_party_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_type: Mapped[str] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(String(24), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(12))
    headline_status: Mapped[str | None] = mapped_column(String(32), default=None)
    raising_party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    created_by: Mapped[str] = mapped_column(String(120))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    next_due_at: Mapped[datetime | None] = mapped_column(default=None)
    awaiting_raiser: Mapped[bool] = mapped_column(Boolean, default=False)
    awaiting_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class ContactInvolvement(Base):
    """One party's part in a contact: its role, its own status in the type's workflow, whose
    move it is (``awaiting``: ``involved``, ``raiser``, ``operator``, or None when its part is
    finished), its deadline and, where the type splits something, its share (a theft claim's
    days held and energy). A theft of gas has one shipper; a supplier theft claim one
    involvement per shipper registered over the theft period, each answering for itself."""

    __tablename__ = "contact_involvement"
    __table_args__ = (
        UniqueConstraint("contact_id", "party_id"),
        Index("ix_contact_involvement_party", "party_id", "awaiting"),
        Index("ix_contact_involvement_due", "contact_type", "status", "respond_by", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    contact_type: Mapped[str] = mapped_column(String(8))
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    awaiting: Mapped[str | None] = mapped_column(String(12), default=None)
    respond_by: Mapped[datetime | None] = mapped_column(default=None)
    share: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]


class ContactEvent(Base):
    """One line of a contact's history: who did what, when, and what it changed. Written by
    every step, the sweep's included (as the system, "deadline passed")."""

    __tablename__ = "contact_event"
    __table_args__ = (Index("ix_contact_event_contact", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    involvement_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_involvement.id", ondelete="CASCADE"), default=None
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    actor_party_id: Mapped[int | None] = mapped_column(ForeignKey("party.id"), default=None)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32), default=None)
    to_status: Mapped[str | None] = mapped_column(String(32), default=None)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")


class ContactNote(Base):
    """A note any of the contact's parties adds; every party of the contact reads it."""

    __tablename__ = "contact_note"
    __table_args__ = (Index("ix_contact_note_contact", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    author: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(String(4000))


class ContactAttachment(Base):
    """Evidence attached to a contact, stored in the database (so a backup holds it and no
    file can be reached except through the contact's scoping), with its checked type."""

    __tablename__ = "contact_attachment"
    __table_args__ = (Index("ix_contact_attachment_contact", "contact_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ContactHandler(Base):
    """Who in an organisation has picked a contact up: one user per party per contact. Any
    user of the organisation may pick it up (taking it over from a colleague)."""

    __tablename__ = "contact_handler"
    __table_args__ = (UniqueConstraint("contact_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    party_id: Mapped[int] = mapped_column(ForeignKey("party.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str] = mapped_column(String(120))
    picked_at: Mapped[datetime]


class ContactReferenceCounter(Base):
    """The last number handed out for a reference prefix (``TOG``). Raised by one atomic
    ``UPDATE ... RETURNING`` in the submitting transaction: concurrent submits queue on the
    counter's row and get different numbers, and a number is only ever held by a contact that
    committed with it (a submit that rolls back takes its number back with it)."""

    __tablename__ = "contact_reference_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)
