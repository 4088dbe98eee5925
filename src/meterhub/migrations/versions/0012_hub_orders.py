"""hub orders: orders, consignments and their ASN lines, stock locations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 16:02:55.645198
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("csp_region", sa.String(length=16), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("delivery_month", sa.String(length=7), nullable=False),
        sa.Column("delivery_location", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=120), nullable=False),
        sa.Column("placed_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("decided_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_hub_order_party_id_party")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_order")),
    )
    with op.batch_alter_table("hub_order", schema=None) as batch_op:
        batch_op.create_index("ix_hub_order_party", ["party_id", "id"], unique=False)
        batch_op.create_index("ix_hub_order_state", ["state", "id"], unique=False)

    op.create_table(
        "hub_consignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("asn_reference", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_by", sa.String(length=120), nullable=True),
        sa.Column("settled_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["hub_order.id"], name=op.f("fk_hub_consignment_order_id_hub_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_consignment")),
        sa.UniqueConstraint("asn_reference", name=op.f("uq_hub_consignment_asn_reference")),
    )
    with op.batch_alter_table("hub_consignment", schema=None) as batch_op:
        batch_op.create_index("ix_hub_consignment_order", ["order_id", "id"], unique=False)

    op.create_table(
        "hub_consignment_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consignment_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=23), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reject_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id"],
            ["hub_consignment.id"],
            name=op.f("fk_hub_consignment_line_consignment_id_hub_consignment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_consignment_line")),
    )
    with op.batch_alter_table("hub_consignment_line", schema=None) as batch_op:
        batch_op.create_index("ix_hub_consignment_line_device", ["device_id"], unique=False)
        batch_op.create_index(
            "uq_hub_consignment_line_guid", ["consignment_id", "device_id"], unique=True
        )

    op.create_table(
        "hub_stock_location",
        sa.Column("device_id", sa.String(length=23), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=120), nullable=False),
        sa.Column("consignment_id", sa.Integer(), nullable=True),
        sa.Column("since", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignment_id"],
            ["hub_consignment.id"],
            name=op.f("fk_hub_stock_location_consignment_id_hub_consignment"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"], ["device.device_id"], name=op.f("fk_hub_stock_location_device_id_device")
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["party.id"], name=op.f("fk_hub_stock_location_party_id_party")
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_hub_stock_location")),
    )
    with op.batch_alter_table("hub_stock_location", schema=None) as batch_op:
        batch_op.create_index("ix_hub_stock_location_party", ["party_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_stock_location", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_stock_location_party")

    op.drop_table("hub_stock_location")
    with op.batch_alter_table("hub_consignment_line", schema=None) as batch_op:
        batch_op.drop_index("uq_hub_consignment_line_guid")
        batch_op.drop_index("ix_hub_consignment_line_device")

    op.drop_table("hub_consignment_line")
    with op.batch_alter_table("hub_consignment", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_consignment_order")

    op.drop_table("hub_consignment")
    with op.batch_alter_table("hub_order", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_order_state")
        batch_op.drop_index("ix_hub_order_party")

    op.drop_table("hub_order")
