"""Portal test helpers: a world of two suppliers, logging in through the real form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.inventory.models import Device
from meterhub.parties.models import Party
from tests.factories import Login, make_login
from tests.worlds import make_held_hub, make_supplied_meter, make_world

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def login_form_token(client: TestClient) -> str:
    page = client.get("/portal/login")
    assert page.status_code == 200
    return csrf_from(page.text)


def post_login(client: TestClient, username: str, password: str, *, next_path: str = "") -> Any:
    token = login_form_token(client)
    return client.post(
        "/portal/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def log_in(client: TestClient, login: Login) -> None:
    response = post_login(client, login.user.username, login.password)
    assert response.status_code == 303, response.text


@dataclass
class TwoSuppliers:
    """Supplier A (with an agent appointment) and supplier B, each with meters and a hub."""

    a: Party
    b: Party
    agent: Party
    login_a: Login
    login_b: Login
    devices_a: list[Device]
    devices_b: list[Device]


@pytest.fixture
def world(session: Session) -> TwoSuppliers:
    parties = make_world(
        session,
        suppliers=2,
        supplier_names=("Alpha Energy", "Bravo Power"),
        agent=True,
        agent_name="Charlie Metering",
        appointed_from=date(2024, 1, 1),
    )
    a, b = parties.suppliers
    assert parties.agent is not None
    agent = parties.agent
    devices_a: list[Device] = []
    devices_b: list[Device] = []
    for i in range(6):
        devices_a.append(
            make_supplied_meter(
                session,
                supplier=a,
                network=parties.network,
                mpan_number=100 + i,
                model="ACME-1" if i % 2 else "ACME-2",
                firmware_version="1.0.0" if i < 3 else "2.0.0",
                status="Commissioned" if i < 4 else "Suspended",
                csp_region="North" if i < 5 else "South",
            )
        )
        devices_b.append(
            make_supplied_meter(
                session,
                supplier=b,
                network=parties.network,
                mpan_number=200 + i,
                model="BRAVO-X",
                manufacturer="Bravo",
            )
        )
    devices_a.append(make_held_hub(session, owner=a))
    devices_b.append(make_held_hub(session, owner=b))
    login_a = make_login(session, party=a)
    login_b = make_login(session, party=b)
    session.commit()
    return TwoSuppliers(
        a=a,
        b=b,
        agent=agent,
        login_a=login_a,
        login_b=login_b,
        devices_a=devices_a,
        devices_b=devices_b,
    )
