"""A small estate for the charge tests: three hubs through October 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.comms_hubs import service as hubs
from meterhub.inventory import service as inventory
from meterhub.inventory.catalogue import StatusEvent
from meterhub.inventory.models import Device
from meterhub.parties.models import Party
from tests.factories import SYSTEM, make_party

OCT = "2026-10"
SET_AT = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def at(day: int, hour: int = 10, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def party_actor(party: Party) -> Actor:
    return Actor(name=f"clerk@{party.code.lower()}", party_id=party.id, interface="api")


def hub(session: Session, n: int, owner: Party, when: datetime) -> Device:
    return inventory.add_device(
        session,
        actor=SYSTEM,
        device_id=f"00-DB-12-00-00-00-01-{n:02X}",
        device_type="CHF",
        manufacturer="Acme",
        model="CH-1",
        firmware_version="1.0",
        smets_version="CHTS",
        csp_region="North",
        owner=owner.code,
        reason="delivered",
        now=when,
    )


@dataclass
class Estate:
    a: Party
    b: Party
    dcc: Party
    hubs: list[Device]


@pytest.fixture
def estate(session: Session) -> Estate:
    """October 2026: A receives three hubs on the 3rd; passes one to B on the 10th; installs
    one on the 15th; returns one (no fault) on the 20th. The stock charge is 1p a hub-day from
    the 1st and 2p from the 16th."""
    a = make_party(session, code="SUPA")
    b = make_party(session, code="SUPB")
    dcc = make_party(session, code="DCC", roles=("OPERATOR",))
    for day, millipence in ((date(2026, 10, 1), 1000), (date(2026, 10, 16), 2000)):
        hubs.set_tariff(
            session,
            actor=SYSTEM,
            kind="stock",
            effective_from=day,
            amount_millipence=millipence,
            reason="stock charge for 2026/27",
            now=SET_AT,
        )
    h1, h2, h3 = (hub(session, n, a, at(3)) for n in (1, 2, 3))
    inventory.change_owner(
        session, actor=SYSTEM, device_id=h1.device_id, owner=b.code, reason="MP140", now=at(10)
    )
    inventory.install_hub(
        session,
        actor=party_actor(a),
        device=h2,
        event=StatusEvent.INSTALL_AND_COMMISSION,
        mpxn=None,
        reason="8.14.1",
        now=at(15),
    )
    hubs.record_return(
        session,
        actor=party_actor(a),
        device=h3,
        kind="no_fault",
        reason="excess stock",
        request_id=None,
        dcc_party_id=dcc.id,
        now=at(20),
    )
    session.flush()
    return Estate(a=a, b=b, dcc=dcc, hubs=[h1, h2, h3])
