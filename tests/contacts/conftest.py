"""The gas world of the contact tests: a DN and an IGT, two shippers that held one MPRN one
after the other, a gas supplier, the hub operator and a party with no part in anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.contacts import service as contacts
from meterhub.contacts.models import Contact
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from tests.factories import Login, make_api_login, make_party, make_registration

MPRN = "1234567"
#: Monday 2 September 2024, mid-morning: a working day with no holiday near.
NOW = datetime(2024, 9, 2, 9, 30, tzinfo=UTC)


@dataclass
class GasWorld:
    dn: Party
    igt: Party
    shipper_a: Party
    shipper_b: Party
    supplier: Party
    operator: Party
    outsider: Party
    dn_login: Login
    igt_login: Login
    shipper_a_login: Login
    shipper_a_colleague: Login
    shipper_b_login: Login
    supplier_login: Login
    operator_login: Login
    outsider_login: Login

    def actor(self, login: Login) -> Actor:
        return actor_for(login.user, "api")


@pytest.fixture
def gas(session: Session) -> GasWorld:
    dn = make_party(
        session, code="DNNW", roles=("DN",), kind="gas_transporter", name="North West Gas"
    )
    igt = make_party(session, code="IGT1", roles=("IGT",), kind="gas_transporter")
    shipper_a = make_party(session, code="SHPA", roles=("SHIPPER",), name="Shipper Alpha")
    shipper_b = make_party(session, code="SHPB", roles=("SHIPPER",), name="Shipper Bravo")
    supplier = make_party(session, code="GSUP", roles=("GS",))
    operator = make_party(session, code="CDSP", roles=("OPERATOR",))
    outsider = make_party(session, code="OUTS", roles=("SHIPPER",))
    make_registration(
        session,
        mpxn=MPRN,
        supplier=supplier,
        network=dn,
        shipper=shipper_a,
        effective_from=date(2023, 1, 1),
        effective_to=date(2024, 6, 30),
    )
    make_registration(
        session,
        mpxn=MPRN,
        supplier=supplier,
        network=dn,
        shipper=shipper_b,
        effective_from=date(2024, 7, 1),
    )
    world = GasWorld(
        dn=dn,
        igt=igt,
        shipper_a=shipper_a,
        shipper_b=shipper_b,
        supplier=supplier,
        operator=operator,
        outsider=outsider,
        dn_login=make_api_login(session, party=dn),
        igt_login=make_api_login(session, party=igt),
        shipper_a_login=make_api_login(session, party=shipper_a),
        shipper_a_colleague=make_api_login(session, party=shipper_a),
        shipper_b_login=make_api_login(session, party=shipper_b),
        supplier_login=make_api_login(session, party=supplier),
        operator_login=make_api_login(session, party=operator),
        outsider_login=make_api_login(session, party=outsider),
    )
    session.commit()
    return world


@dataclass
class TheftWorld:
    """The gas world with RECCo, whose users log Supplier Theft of Gas claims."""

    gas: GasWorld
    recco: Party
    recco_login: Login

    def actor(self, login: Login) -> Actor:
        return self.gas.actor(login)


@pytest.fixture
def theft(session: Session, gas: GasWorld) -> TheftWorld:
    recco = make_party(session, code="RECCO", roles=("RECCO",), name="Retail Energy Code Co")
    world = TheftWorld(gas=gas, recco=recco, recco_login=make_api_login(session, party=recco))
    session.commit()
    return world


def tog_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "mprn": MPRN,
        "suspected_from": "2024-05-01",
        "method": "meter_bypass",
        "estimated_kwh": 12000,
        "site_address": "1 Gasworks Lane, Wigan",
        "description": "Bypass pipe found around the meter on a routine visit.",
    }
    values.update(overrides)
    return values


def raise_tog(
    session: Session, world: GasWorld, *, now: datetime = NOW, **overrides: Any
) -> Contact:
    """A TOG the DN saved and submitted at ``now``."""
    actor = world.actor(world.dn_login)
    draft = contacts.save_draft(
        session, actor=actor, contact_type_code="TOG", values=tog_values(**overrides), now=now
    )
    contact = contacts.submit(session, actor=actor, contact_id=draft.id, now=now)
    session.commit()
    return contact
