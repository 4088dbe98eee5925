"""The hub logistics world: the DCC, two suppliers, the first supplier's appointed agent and an
agent nobody appointed, each with an API user; and helpers to take an order through its steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.comms_hubs import orders
from meterhub.comms_hubs.models import HubConsignment, HubOrder
from meterhub.kit.clock import utcnow
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from tests.factories import Login, make_api_login, make_party
from tests.worlds import make_world


@dataclass(frozen=True)
class HubsWorld:
    dcc: Party
    a: Party
    b: Party
    agent: Party
    stranger_agent: Party
    dcc_login: Login
    a_login: Login
    b_login: Login
    agent_login: Login
    stranger_login: Login

    def actor(self, login: Login) -> Actor:
        return actor_for(login.user, "api")


@pytest.fixture
def hubs(session: Session) -> HubsWorld:
    world = make_world(
        session,
        suppliers=("SUPA", "SUPB"),
        dcc=True,
        agent="AGENT",
        appointed_from=date(2020, 1, 1),
    )
    assert world.dcc is not None and world.agent is not None
    stranger = make_party(session, code="STRANGER", roles=("RSA",))
    a, b = world.suppliers
    made = HubsWorld(
        dcc=world.dcc,
        a=a,
        b=b,
        agent=world.agent,
        stranger_agent=stranger,
        dcc_login=make_api_login(session, party=world.dcc),
        a_login=make_api_login(session, party=a),
        b_login=make_api_login(session, party=b),
        agent_login=make_api_login(session, party=world.agent),
        stranger_login=make_api_login(session, party=stranger),
    )
    session.commit()
    return made


def next_month(now: datetime | None = None) -> str:
    now = now or utcnow()
    return f"{now.year + now.month // 12}-{now.month % 12 + 1:02d}"


def guids(n: int, start: int = 1, prefix: str = "00-DB-AA-00-00") -> list[str]:
    numbers = range(start, start + n)
    return [f"{prefix}-{k // 65536:02X}-{k // 256 % 256:02X}-{k % 256:02X}" for k in numbers]


def lines_of(values: Sequence[str]) -> list[orders.AsnLine]:
    return [orders.AsnLine(line=n, guid=g) for n, g in enumerate(values, 1)]


def placed(
    session: Session, hubs: HubsWorld, *, quantity: int = 3, login: Login | None = None
) -> HubOrder:
    return orders.place_order(
        session,
        actor=hubs.actor(login or hubs.a_login),
        csp_region="North",
        variant_code="N-SM",
        quantity=quantity,
        delivery_month=next_month(),
        delivery_location="Unit 4, Trafford Park, Manchester",
        now=utcnow(),
    )


def confirmed(
    session: Session, hubs: HubsWorld, *, quantity: int = 3, login: Login | None = None
) -> HubOrder:
    order = placed(session, hubs, quantity=quantity, login=login)
    return orders.confirm_order(
        session, actor=hubs.actor(hubs.dcc_login), order_id=order.id, now=utcnow()
    )


def shipped(
    session: Session,
    hubs: HubsWorld,
    *,
    order: HubOrder | None = None,
    hub_ids: Sequence[str] | None = None,
    reference: str = "ASN-0001",
) -> HubConsignment:
    order = order or confirmed(session, hubs)
    return orders.record_consignment(
        session,
        actor=hubs.actor(hubs.dcc_login),
        order_id=order.id,
        asn_reference=reference,
        lines=lines_of(hub_ids if hub_ids is not None else guids(order.quantity)),
        now=utcnow(),
    )
