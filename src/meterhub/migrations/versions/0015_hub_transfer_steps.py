"""hub transfers: the timeline, the GUID lines of each receipt, disputes (MP140 5 and 7)

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-01 16:02:13.227212
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_transfer_dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("raised_by_party_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transfer_status_before", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=120), nullable=False),
        sa.Column("raised_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("answered_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("hubs_returned", sa.Integer(), nullable=False),
        sa.Column("adjustment_party_id", sa.Integer(), nullable=True),
        sa.Column("adjustment_pence", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("resolved_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["adjustment_party_id"],
            ["party.id"],
            name=op.f("fk_hub_transfer_dispute_adjustment_party_id_party"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_party_id"],
            ["party.id"],
            name=op.f("fk_hub_transfer_dispute_raised_by_party_id_party"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["hub_transfer.id"],
            name=op.f("fk_hub_transfer_dispute_transfer_id_hub_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_transfer_dispute")),
    )
    with op.batch_alter_table("hub_transfer_dispute", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hub_transfer_dispute_transfer", ["transfer_id", "id"], unique=False
        )

    op.create_table(
        "hub_transfer_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_hub_transfer_event_party_id_party")
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["hub_transfer.id"],
            name=op.f("fk_hub_transfer_event_transfer_id_hub_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_transfer_event")),
    )
    with op.batch_alter_table("hub_transfer_event", schema=None) as batch_op:
        batch_op.create_index("ix_hub_transfer_event_transfer", ["transfer_id", "id"], unique=False)

    op.create_table(
        "hub_transfer_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("guid", sa.String(length=80), nullable=False),
        sa.Column("device_id", sa.String(length=23), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["hub_transfer_event.id"],
            name=op.f("fk_hub_transfer_line_event_id_hub_transfer_event"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["hub_transfer.id"],
            name=op.f("fk_hub_transfer_line_transfer_id_hub_transfer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_transfer_line")),
    )
    with op.batch_alter_table("hub_transfer_line", schema=None) as batch_op:
        batch_op.create_index("ix_hub_transfer_line_event", ["event_id", "line_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_transfer_line", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_transfer_line_event")

    op.drop_table("hub_transfer_line")
    with op.batch_alter_table("hub_transfer_event", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_transfer_event_transfer")

    op.drop_table("hub_transfer_event")
    with op.batch_alter_table("hub_transfer_dispute", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_transfer_dispute_transfer")

    op.drop_table("hub_transfer_dispute")
