"""gateway: RequestID counters as 20 zero-padded digits, so every counter DUIS allows (up to
2^64-1) is stored; a signed 64-bit integer stopped at 2^63-1

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: (table, column, nullable)
_COUNTERS = (("duis_request_counter", "last_counter", False), ("service_request", "counter", True))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, column, nullable in _COUNTERS:
        if dialect == "postgresql":
            op.alter_column(
                table,
                column,
                type_=sa.String(length=20),
                existing_nullable=nullable,
                postgresql_using=f"lpad({column}::text, 20, '0')",
            )
            continue
        # SQLite: a column of integer affinity would turn the digits back into a (lossy)
        # number, so the table is rebuilt with a text column and the values then padded.
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                type_=sa.String(length=20),
                existing_type=sa.BigInteger(),
                existing_nullable=nullable,
            )
        op.execute(
            f"UPDATE {table} SET {column} = printf('%020d', CAST({column} AS INTEGER))"
            f" WHERE {column} IS NOT NULL"
        )


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for table, column, nullable in _COUNTERS:
        too_big = bind.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE {column} > '09223372036854775807'")
        ).scalar()
        if too_big:
            raise RuntimeError(
                f"{too_big} {table}.{column} values are above 2^63-1, which a BIGINT cannot hold"
            )
        if dialect == "postgresql":
            op.alter_column(
                table,
                column,
                type_=sa.BigInteger(),
                existing_nullable=nullable,
                postgresql_using=f"{column}::bigint",
            )
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                type_=sa.BigInteger(),
                existing_type=sa.String(length=20),
                existing_nullable=nullable,
            )
