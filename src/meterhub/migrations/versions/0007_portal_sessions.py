"""portal sessions: one row per logged-in browser, so logout, a password change and idleness
end a session on the server, not only in the browser

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", meterhub.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_portal_session_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_session_token_hash")),
    )
    op.create_index(op.f("ix_portal_session_user_id"), "portal_session", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_session_user_id"), table_name="portal_session")
    op.drop_table("portal_session")
