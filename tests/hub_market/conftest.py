"""The marketplace's test world: three suppliers (A holds Pending hubs), a network operator
(not an ordering party) and the DCC operator, each with an API login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from meterhub.audit.service import Actor
from meterhub.hub_market import service
from meterhub.hub_market.models import Listing
from meterhub.parties import service as parties
from meterhub.parties.models import Party
from tests.factories import Login, make_api_login, make_device
from tests.worlds import make_world

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STOCK = {
    "manufacturer": "Acme",
    "model": "ACME-1",
    "firmware_version": "1.0.0",
    "csp_region": "North",
}


def actor(login: Login) -> Actor:
    return parties.actor_for(login.user, "api")


def hold_hubs(
    session: Session, *, owner: Party, count: int, status: str = "Pending", **stock: str
) -> None:
    """``count`` Communications Hubs of ``stock`` (STOCK by default) held by ``owner``."""
    kind = {**STOCK, **stock}
    for _ in range(count):
        make_device(
            session, device_type="CHF", owner=owner, status=status, smets_version="CHTS", **kind
        )


@dataclass
class Market:
    a: Party
    b: Party
    c: Party
    network: Party
    dcc: Party
    login_a: Login
    login_b: Login
    login_c: Login
    login_network: Login
    login_dcc: Login

    def list_stock(self, session: Session, quantity: int = 10, **changes: object) -> Listing:
        fields: dict[str, object] = {
            **STOCK,
            "quantity": quantity,
            "location": "Warehouse 1, Leeds",
            "available_from": date(2026, 12, 7),
        }
        fields.update(changes)
        return service.create_listing(session, actor=actor(self.login_a), now=NOW, **fields)  # type: ignore[arg-type]


@pytest.fixture
def market(session: Session) -> Market:
    world = make_world(session, suppliers=("ALPHA", "BRAVO", "CHARL"), network="DNO1", dcc=True)
    a, b, c = world.suppliers
    assert world.dcc is not None
    hold_hubs(session, owner=a, count=12)
    logins = [make_api_login(session, party=p) for p in (a, b, c, world.network, world.dcc)]
    session.commit()
    return Market(a, b, c, world.network, world.dcc, *logins)
