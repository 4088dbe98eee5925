"""user administration: a party's Local Security Officers, temporary passwords that must be
changed at the next login, sessions ended by a reset or a disable, and each user's last login;
settlement: the ledger of theft energy adjustments, their invoice lines and the dated unit rates

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-01 16:02:32.199329
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0017"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "local_security_officer", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "password_change_required", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "sessions_revoked_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("last_login_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "settlement_unit_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("pence_per_mwh", sa.Integer(), nullable=False),
        sa.Column("set_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_unit_rate")),
        sa.UniqueConstraint("effective_from", name=op.f("uq_settlement_unit_rate_effective_from")),
    )
    op.create_table(
        "settlement_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("posting_key", sa.String(length=120), nullable=False),
        sa.Column("mprn", sa.String(length=13), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("shipper_party_id", sa.Integer(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("posted_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["settlement_adjustment.id"],
            name=op.f("fk_settlement_adjustment_reverses_id_settlement_adjustment"),
        ),
        sa.ForeignKeyConstraint(
            ["shipper_party_id"],
            ["party.id"],
            name=op.f("fk_settlement_adjustment_shipper_party_id_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_adjustment")),
        sa.UniqueConstraint("posting_key", name=op.f("uq_settlement_adjustment_posting_key")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_settlement_adjustment_reverses_id")),
    )
    with op.batch_alter_table("settlement_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_adjustment_mprn"), ["mprn"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_settlement_adjustment_shipper_party_id"),
            ["shipper_party_id"],
            unique=False,
        )

    op.create_table(
        "settlement_invoice_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adjustment_id", sa.Integer(), nullable=False),
        sa.Column("shipper_party_id", sa.Integer(), nullable=False),
        sa.Column("charge_type", sa.String(length=16), nullable=False),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("pence_per_mwh", sa.Integer(), nullable=False),
        sa.Column("rate_effective_from", sa.Date(), nullable=True),
        sa.Column("amount_pence", sa.BigInteger(), nullable=False),
        sa.Column("created_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["adjustment_id"],
            ["settlement_adjustment.id"],
            name=op.f("fk_settlement_invoice_line_adjustment_id_settlement_adjustment"),
        ),
        sa.ForeignKeyConstraint(
            ["shipper_party_id"],
            ["party.id"],
            name=op.f("fk_settlement_invoice_line_shipper_party_id_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_invoice_line")),
        sa.UniqueConstraint("adjustment_id", name=op.f("uq_settlement_invoice_line_adjustment_id")),
    )
    with op.batch_alter_table("settlement_invoice_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_invoice_line_shipper_party_id"),
            ["shipper_party_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_invoice_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_invoice_line_shipper_party_id"))

    op.drop_table("settlement_invoice_line")
    with op.batch_alter_table("settlement_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_adjustment_shipper_party_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_adjustment_mprn"))

    op.drop_table("settlement_adjustment")
    op.drop_table("settlement_unit_rate")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("sessions_revoked_at")
        batch_op.drop_column("password_change_required")
        batch_op.drop_column("local_security_officer")
