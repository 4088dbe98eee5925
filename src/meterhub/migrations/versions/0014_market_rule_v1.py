"""hub market: publish version 1 of the allocation rule, first come, first served (MP140)

The marketplace allocates only under a published rule, so the first version is part of the
schema's history: in force from the November 2022 SEC release that brought MP140 in. Later
versions are announced by the operator (``meterhub market rule announce``), never edited here.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 16:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import meterhub.db.base

revision = "0014"
down_revision = "0017"
branch_labels = None
depends_on = None

FROM = datetime(2022, 11, 3, tzinfo=UTC)

TEXT = """\
Requests for units of a listing are allocated in the order the hub receives them: first come, \
first served.

1. Each request is decided the moment it is received. It gets the number of units it asks \
for, or, when fewer are left on the listing, every unit that is left.
2. A request that finds nothing left gets nothing; it is recorded as refused, with the reason.
3. Requests that arrive at the same moment are put in one order by the hub: no listing ever \
gives out more units than it offers.
4. A party cannot request units of its own listing.
5. The holder and the requester are both told the outcome at once, in the portal inbox and by \
e-mail; each allocation becomes a transfer (reference TR-nnnnnn) that the holder dispatches and \
the requester receives.

This rule changes only by the DCC announcing a new version, to every ordering party, before \
the day it takes effect."""

rule = sa.table(
    "hub_allocation_rule",
    sa.column("version", sa.Integer()),
    sa.column("code", sa.String()),
    sa.column("title", sa.String()),
    sa.column("text", sa.Text()),
    sa.column("effective_from", meterhub.db.base.UTCDateTime(timezone=True)),
    sa.column("announced_at", meterhub.db.base.UTCDateTime(timezone=True)),
    sa.column("created_by", sa.String()),
)


def upgrade() -> None:
    op.bulk_insert(
        rule,
        [
            {
                "version": 1,
                "code": "fcfs",
                "title": "First come, first served",
                "text": TEXT,
                "effective_from": FROM,
                "announced_at": FROM,
                "created_by": "migration 0014",
            }
        ],
    )


def downgrade() -> None:
    op.execute(rule.delete().where(rule.c.version == 1))
