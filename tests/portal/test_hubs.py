"""The portal's hub pages (TestClient): orders and deliveries, the DCC's confirm and decline,
accepting a consignment with a rejected line, returning a hub; another party's order or
consignment is the 404 page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.comms_hubs import orders
from meterhub.config import Settings
from meterhub.inventory import service as inventory
from meterhub.kit.clock import utcnow
from meterhub.notifications import service as notifications
from meterhub.parties.models import Party
from meterhub.parties.service import actor_for
from tests.comms_hubs.conftest import guids, lines_of, next_month
from tests.factories import Login, make_login, make_party
from tests.portal.conftest import csrf_from, log_in
from tests.worlds import make_held_hub, make_world


@dataclass(frozen=True)
class PortalHubs:
    a: Party
    dcc: Login
    supplier: Login
    other: Login
    agent: Login
    stranger: Login


@pytest.fixture
def people(session: Session) -> PortalHubs:
    world = make_world(
        session,
        suppliers=("SUPA", "SUPB"),
        dcc=True,
        agent="AGENT",
        appointed_from=date(2020, 1, 1),
    )
    assert world.dcc is not None and world.agent is not None
    stranger = make_party(session, code="STRANGER", roles=("RSA",))
    made = PortalHubs(
        a=world.suppliers[0],
        dcc=make_login(session, party=world.dcc),
        supplier=make_login(session, party=world.suppliers[0]),
        other=make_login(session, party=world.suppliers[1]),
        agent=make_login(session, party=world.agent),
        stranger=make_login(session, party=stranger),
    )
    session.commit()
    return made


@pytest.fixture
def browsers(settings: Settings) -> Iterator[list[TestClient]]:
    """Several clients, one per person logged in at once."""
    opened: list[TestClient] = []
    yield opened
    for c in opened:
        c.__exit__(None, None, None)


def as_user(settings: Settings, browsers: list[TestClient], login: Login) -> TestClient:
    c = TestClient(create_app(settings))
    c.__enter__()
    browsers.append(c)
    log_in(c, login)
    return c


def post_form(c: TestClient, page: str, action: str, data: dict[str, str]) -> object:
    token = csrf_from(c.get(page).text)
    return c.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def place(c: TestClient, quantity: str = "2") -> int:
    r = post_form(
        c,
        "/portal/hubs/orders",
        "/portal/hubs/orders",
        {
            "csp_region": "North",
            "variant": "N-DB",
            "quantity": quantity,
            "delivery_month": next_month(),
            "delivery_location": "Stores, Leeds",
        },
    )
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    found = re.search(r"/portal/hubs/orders/(\d+)$", r.headers["location"])  # type: ignore[attr-defined]
    assert found
    return int(found.group(1))


class TestOrdersAndDeliveries:
    def test_order_confirm_ship_accept_with_a_rejected_line(
        self, settings: Settings, session: Session, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        supplier = as_user(settings, browsers, people.supplier)
        order_id = place(supplier)
        page = supplier.get(f"/portal/hubs/orders/{order_id}")
        assert "Placed" in page.text and "Stores, Leeds" in page.text
        assert "Confirm order" not in page.text  # the DCC's, not the party's
        assert f'href="/portal/hubs/orders/{order_id}"' in supplier.get("/portal/hubs/orders").text

        dcc = as_user(settings, browsers, people.dcc)
        listing = dcc.get("/portal/hubs/orders?state=placed")
        assert f"Order {order_id}" in listing.text and "SUPA" in listing.text
        assert "Place an order" not in listing.text
        r = post_form(
            dcc, f"/portal/hubs/orders/{order_id}", f"/portal/hubs/orders/{order_id}/confirm", {}
        )
        assert r.status_code == 303  # type: ignore[attr-defined]
        assert "Confirmed" in dcc.get(f"/portal/hubs/orders/{order_id}").text

        ids = guids(2)
        consignment = orders.record_consignment(
            session,
            actor=actor_for(people.dcc.user, "cli"),
            order_id=order_id,
            asn_reference="ASN-P1",
            lines=lines_of(ids),
            now=utcnow(),
        )
        session.commit()
        inbox = supplier.get("/portal/inbox").text
        assert "Hub order" in inbox and "Consignment ASN-P1 shipped" in inbox

        path = f"/portal/hubs/consignments/{consignment.id}"
        assert "Accept consignment" in supplier.get(path).text
        r = post_form(supplier, path, f"{path}/settle", {"reject_2": "seal broken"})
        assert r.status_code == 303, r.text  # type: ignore[attr-defined]
        shown = supplier.get(path).text
        assert "Settled" in shown and "seal broken" in shown and "Accept consignment" not in shown

        device = supplier.get(f"/portal/devices/{ids[0]}").text
        assert "Pending" in device and "Return this hub" in device
        assert supplier.get(f"/portal/devices/{ids[1]}").status_code == 404

    def test_the_dcc_declines_with_a_reason(
        self, settings: Settings, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        supplier = as_user(settings, browsers, people.supplier)
        order_id = place(supplier)
        dcc = as_user(settings, browsers, people.dcc)
        post_form(
            dcc,
            f"/portal/hubs/orders/{order_id}",
            f"/portal/hubs/orders/{order_id}/decline",
            {"reason": "no stock in March"},
        )
        page = supplier.get(f"/portal/hubs/orders/{order_id}").text
        assert "Declined" in page and "no stock in March" in page

    def test_a_bad_order_is_the_error_page_with_its_reason(
        self, settings: Settings, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        supplier = as_user(settings, browsers, people.supplier)
        token = csrf_from(supplier.get("/portal/hubs/orders").text)
        r = supplier.post(
            "/portal/hubs/orders",
            data={
                "csrf_token": token,
                "csp_region": "South",
                "variant": "N-SM",
                "quantity": "5",
                "delivery_month": next_month(),
                "delivery_location": "x",
            },
        )
        assert r.status_code == 422 and "not made for South" in r.text

    def test_a_form_without_its_token_is_refused(
        self, settings: Settings, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        supplier = as_user(settings, browsers, people.supplier)
        r = supplier.post("/portal/hubs/orders", data={"csp_region": "North"})
        assert r.status_code == 403

    def test_another_partys_order_and_consignment_are_the_404_page(
        self, settings: Settings, session: Session, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        supplier = as_user(settings, browsers, people.supplier)
        order_id = place(supplier)
        orders.confirm_order(
            session, actor=actor_for(people.dcc.user, "cli"), order_id=order_id, now=utcnow()
        )
        consignment = orders.record_consignment(
            session,
            actor=actor_for(people.dcc.user, "cli"),
            order_id=order_id,
            asn_reference="ASN-X",
            lines=lines_of(guids(1)),
            now=utcnow(),
        )
        session.commit()
        other = as_user(settings, browsers, people.other)
        token = csrf_from(other.get("/portal/hubs/orders").text)
        for method, path in (
            ("GET", f"/portal/hubs/orders/{order_id}"),
            ("GET", f"/portal/hubs/consignments/{consignment.id}"),
            ("POST", f"/portal/hubs/orders/{order_id}/confirm"),
            ("POST", f"/portal/hubs/orders/{order_id}/decline"),
            ("POST", f"/portal/hubs/consignments/{consignment.id}/settle"),
        ):
            r = other.request(
                method,
                path,
                data={"csrf_token": token, "reason": "x"} if method == "POST" else None,
            )
            assert r.status_code == 404, (path, r.text)
            assert "text/html" in r.headers["content-type"]
        listing = other.get("/portal/hubs/orders").text
        assert f"Order {order_id}" not in listing and "ASN-X" not in listing


class TestReturnAHub:
    def test_an_appointed_agent_returns_the_suppliers_hub(
        self, settings: Settings, session: Session, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        hub = make_held_hub(session, owner=people.a)
        session.commit()
        agent = as_user(settings, browsers, people.agent)
        form = agent.get(f"/portal/hubs/returns?device={hub.device_id}").text
        assert f'value="{hub.device_id}"' in form
        r = post_form(
            agent,
            "/portal/hubs/returns",
            "/portal/hubs/returns",
            {"device_id": hub.device_id, "kind": "no_fault", "reason": "surplus"},
        )
        assert r.status_code == 200, r.text  # type: ignore[attr-defined]
        assert "Return accepted" in r.text and "on behalf of" in r.text  # type: ignore[attr-defined]
        session.expire_all()
        assert inventory.device_by_id(session, device_id=hub.device_id).status == "Withdrawn"  # type: ignore[union-attr]
        kinds = [
            n.kind
            for n in notifications.inbox(session, actor=actor_for(people.supplier.user, "portal"))
        ]
        assert kinds == ["hub.returned"]

    def test_an_agent_nobody_appointed_gets_the_reason(
        self, settings: Settings, session: Session, people: PortalHubs, browsers: list[TestClient]
    ) -> None:
        hub = make_held_hub(session, owner=people.a)
        session.commit()
        stranger = as_user(settings, browsers, people.stranger)
        r = post_form(
            stranger,
            "/portal/hubs/returns",
            "/portal/hubs/returns",
            {"device_id": hub.device_id, "kind": "fault"},
        )
        assert r.status_code == 404  # type: ignore[attr-defined]
        assert "appointed STRANGER as its agent" in r.text  # type: ignore[attr-defined]
        session.expire_all()
        assert inventory.device_by_id(session, device_id=hub.device_id).status == "Pending"  # type: ignore[union-attr]
