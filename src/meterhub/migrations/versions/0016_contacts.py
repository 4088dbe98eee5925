"""contacts: the Contact Management Service's contacts, their parts per involved party (status,
deadline, share), history, notes, attachments, handlers and reference counters

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-01 16:07:21.898976
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_reference_counter",
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_contact_reference_counter")),
    )
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_type", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("headline_status", sa.String(length=32), nullable=True),
        sa.Column("raising_party_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("next_due_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("awaiting_raiser", sa.Boolean(), nullable=False),
        sa.Column("awaiting_operator", sa.Boolean(), nullable=False),
        sa.Column("created_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["raising_party_id"], ["party.id"], name=op.f("fk_contact_raising_party_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("reference", name=op.f("uq_contact_reference")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_raiser", ["raising_party_id", "status"], unique=False)

    op.create_table(
        "contact_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_attachment_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_contact_attachment_party_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_attachment")),
    )
    with op.batch_alter_table("contact_attachment", schema=None) as batch_op:
        batch_op.create_index("ix_contact_attachment_contact", ["contact_id", "id"], unique=False)

    op.create_table(
        "contact_handler",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("picked_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_handler_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_contact_handler_party_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_contact_handler_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_handler")),
        sa.UniqueConstraint(
            "contact_id", "party_id", name=op.f("uq_contact_handler_contact_id_party_id")
        ),
    )
    op.create_table(
        "contact_involvement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("contact_type", sa.String(length=8), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("awaiting", sa.String(length=12), nullable=True),
        sa.Column("respond_by", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("share", sa.JSON(), nullable=False),
        sa.Column("updated_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_involvement_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_contact_involvement_party_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_involvement")),
        sa.UniqueConstraint(
            "contact_id", "party_id", name=op.f("uq_contact_involvement_contact_id_party_id")
        ),
    )
    with op.batch_alter_table("contact_involvement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_involvement_due",
            ["contact_type", "status", "respond_by", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contact_involvement_party", ["party_id", "awaiting"], unique=False
        )

    op.create_table(
        "contact_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.String(length=4000), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_note_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_contact_note_party_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_note")),
    )
    with op.batch_alter_table("contact_note", schema=None) as batch_op:
        batch_op.create_index("ix_contact_note_contact", ["contact_id", "id"], unique=False)

    op.create_table(
        "contact_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("involvement_id", sa.Integer(), nullable=True),
        sa.Column("at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_party_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_party_id"], ["party.id"], name=op.f("fk_contact_event_actor_party_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_event_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["involvement_id"],
            ["contact_involvement.id"],
            name=op.f("fk_contact_event_involvement_id_contact_involvement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_event")),
    )
    with op.batch_alter_table("contact_event", schema=None) as batch_op:
        batch_op.create_index("ix_contact_event_contact", ["contact_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contact_event", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_event_contact")

    op.drop_table("contact_event")
    with op.batch_alter_table("contact_note", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_note_contact")

    op.drop_table("contact_note")
    with op.batch_alter_table("contact_involvement", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_involvement_party")
        batch_op.drop_index("ix_contact_involvement_due")

    op.drop_table("contact_involvement")
    op.drop_table("contact_handler")
    with op.batch_alter_table("contact_attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_attachment_contact")

    op.drop_table("contact_attachment")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_raiser")

    op.drop_table("contact")
    op.drop_table("contact_reference_counter")
