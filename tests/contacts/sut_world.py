"""Supplier Theft of Gas claims in the contact tests' gas world (``theft`` in conftest.py): a
claim spanning the change of shipper on 1 July 2024 (SHPA until 30 June, SHPB from 1 July)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from meterhub.contacts import service as contacts
from meterhub.contacts.models import Contact
from tests.contacts.conftest import MPRN, TheftWorld

#: Tuesday 20 August 2024: a response window of 10 business days runs over the summer bank
#: holiday (Monday 26 August) to the end of Wednesday 4 September.
LOGGED = datetime(2024, 8, 20, 10, 0, tzinfo=UTC)
#: The end of Wednesday 4 September 2024, UK time (BST): the deadline.
DEADLINE = datetime(2024, 9, 4, 23, 0, tzinfo=UTC)


def sut_values(**overrides: Any) -> dict[str, Any]:
    """A claim over June and July 2024: 30 days with SHPA, 31 with SHPB."""
    values: dict[str, Any] = {
        "mprn": MPRN,
        "theft_from": "2024-06-01",
        "theft_to": "2024-07-31",
        "estimated_kwh": 6100,
        "method": "meter_bypass",
        "evidence": "Bypass pipe photographed on the investigation visit of 2 August.",
        "reporting_supplier": "GSUP",
    }
    values.update(overrides)
    return values


def log_claim(
    session: Session, world: TheftWorld, *, now: datetime = LOGGED, **overrides: Any
) -> Contact:
    """A SUT claim RECCo saved and submitted at ``now``."""
    actor = world.actor(world.recco_login)
    draft = contacts.save_draft(
        session, actor=actor, contact_type_code="SUT", values=sut_values(**overrides), now=now
    )
    contact = contacts.submit(session, actor=actor, contact_id=draft.id, now=now)
    session.commit()
    return contact
