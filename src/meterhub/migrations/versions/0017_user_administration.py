"""user administration: a party's Local Security Officers, temporary passwords that must be
changed at the next login, sessions ended by a reset or a disable, and each user's last login

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-01 16:02:32.199329
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0017"
down_revision = "0011"
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


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("sessions_revoked_at")
        batch_op.drop_column("password_change_required")
        batch_op.drop_column("local_security_officer")
