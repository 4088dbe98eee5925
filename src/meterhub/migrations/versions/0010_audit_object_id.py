"""audit: an entry's object id holds 120 characters, as a username does (a user made with a
long username could not be audited on PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.alter_column(
            "object_id", existing_type=sa.String(64), type_=sa.String(120), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.alter_column(
            "object_id", existing_type=sa.String(120), type_=sa.String(64), existing_nullable=False
        )
