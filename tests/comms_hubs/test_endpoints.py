"""``/api/v1/hubs``: orders, consignments and returns over HTTP, as each party; another party's
order or consignment is a 404 on every route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.inventory import service as inventory
from meterhub.notifications import service as notifications
from tests.comms_hubs.conftest import HubsWorld, guids, next_month
from tests.factories import Login


def order_body(**changes: Any) -> dict[str, Any]:
    return {
        "csp_region": "Central",
        "variant": "CS-SM",
        "quantity": 2,
        "delivery_month": next_month(),
        "delivery_location": "Bay 9, Magna Park, Lutterworth",
    } | changes


def place(client: TestClient, login: Login, **changes: Any) -> dict[str, Any]:
    r = client.post("/api/v1/hubs/orders", json=order_body(**changes), headers=login.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def through_to_shipped(client: TestClient, hubs: HubsWorld, ids: list[str]) -> dict[str, Any]:
    order = place(client, hubs.a_login, quantity=len(ids))
    r = client.post(f"/api/v1/hubs/orders/{order['id']}/confirm", headers=hubs.dcc_login.headers)
    assert r.status_code == 200 and r.json()["state"] == "confirmed", r.text
    r = client.post(
        "/api/v1/hubs/consignments",
        json={"order_id": order["id"], "asn_reference": "ASN-77", "guids": ids},
        headers=hubs.dcc_login.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


class TestOrdersAndDeliveries:
    def test_order_confirm_ship_and_accept_over_the_api(
        self, client: TestClient, session: Session, hubs: HubsWorld
    ) -> None:
        ids = guids(3)
        consignment = through_to_shipped(client, hubs, ids)
        assert consignment["state"] == "shipped" and consignment["lines"] == {"shipped": 3}
        assert [x["guid"] for x in consignment["items"]] == ids

        r = client.post(
            f"/api/v1/hubs/consignments/{consignment['id']}/settle",
            json={"rejections": [{"guid": ids[2], "reason": "water damage"}]},
            headers=hubs.a_login.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["lines"] == {"accepted": 2, "rejected": 1}

        r = client.get(
            "/api/v1/devices",
            params={"status": "Pending", "device_type": "CHF"},
            headers=hubs.a_login.headers,
        )
        assert sorted(d["device_id"] for d in r.json()["items"]) == ids[:2]
        order = client.get(
            f"/api/v1/hubs/orders/{consignment['order_id']}", headers=hubs.a_login.headers
        )
        assert order.json()["outstanding"] == 1

    def test_variants_are_listed_with_their_regions(
        self, client: TestClient, hubs: HubsWorld
    ) -> None:
        r = client.get("/api/v1/hubs/variants", headers=hubs.b_login.headers)
        assert {v["code"]: v["csp_regions"] for v in r.json()}["CS-SM"] == ["Central", "South"]

    def test_a_bad_asn_is_a_422_naming_each_position(
        self, client: TestClient, hubs: HubsWorld
    ) -> None:
        order = place(client, hubs.a_login, quantity=5)
        client.post(f"/api/v1/hubs/orders/{order['id']}/confirm", headers=hubs.dcc_login.headers)
        ids = guids(2)
        r = client.post(
            "/api/v1/hubs/consignments",
            json={
                "order_id": order["id"],
                "asn_reference": "ASN-1",
                "guids": [ids[0], ids[1], ids[0]],
            },
            headers=hubs.dcc_login.headers,
        )
        assert r.status_code == 422
        error = r.json()["error"]
        assert error["code"] == "bad_asn" and error["details"][0]["line"] == 3
        assert (
            client.get("/api/v1/hubs/consignments", headers=hubs.dcc_login.headers).json()["items"]
            == []
        )

    def test_only_the_dcc_confirms(self, client: TestClient, hubs: HubsWorld) -> None:
        order = place(client, hubs.a_login)
        r = client.post(f"/api/v1/hubs/orders/{order['id']}/confirm", headers=hubs.a_login.headers)
        assert r.status_code == 403

    def test_pages_of_orders_follow_the_cursor(self, client: TestClient, hubs: HubsWorld) -> None:
        made = [place(client, hubs.a_login)["id"] for _ in range(3)]
        first = client.get(
            "/api/v1/hubs/orders", params={"limit": 2}, headers=hubs.a_login.headers
        ).json()
        rest = client.get(
            "/api/v1/hubs/orders",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=hubs.a_login.headers,
        ).json()
        assert [o["id"] for o in first["items"] + rest["items"]] == made[::-1]
        assert rest["next_cursor"] is None


class TestAnotherPartysObjectsAreNotFound:
    @pytest.fixture
    def theirs(self, client: TestClient, hubs: HubsWorld) -> dict[str, Any]:
        return through_to_shipped(client, hubs, guids(2))

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/api/v1/hubs/orders/{order}", None),
            ("POST", "/api/v1/hubs/orders/{order}/confirm", None),
            ("POST", "/api/v1/hubs/orders/{order}/decline", {"reason": "no"}),
            ("GET", "/api/v1/hubs/consignments?order_id={order}", None),
            ("GET", "/api/v1/hubs/consignments/{consignment}", None),
            ("POST", "/api/v1/hubs/consignments/{consignment}/settle", {"rejections": []}),
            (
                "POST",
                "/api/v1/hubs/consignments",
                {"order_id": "{order}", "asn_reference": "X", "guids": ["00-DB-AA-00-00-00-00-09"]},
            ),
        ],
    )
    def test_as_the_other_supplier_and_as_an_agent(
        self,
        client: TestClient,
        hubs: HubsWorld,
        theirs: dict[str, Any],
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        ids = {"order": theirs["order_id"], "consignment": theirs["id"]}
        if body is not None and body.get("order_id") == "{order}":
            body = body | {"order_id": ids["order"]}
        for login in (hubs.b_login, hubs.agent_login):
            r = client.request(method, path.format(**ids), json=body, headers=login.headers)
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"]["code"] == "not_found"

    def test_lists_show_none_of_them(
        self, client: TestClient, hubs: HubsWorld, theirs: dict[str, Any]
    ) -> None:
        for path in ("/api/v1/hubs/orders", "/api/v1/hubs/consignments"):
            assert client.get(path, headers=hubs.b_login.headers).json()["items"] == []
            assert len(client.get(path, headers=hubs.a_login.headers).json()["items"]) == 1

    def test_a_hub_of_theirs_is_not_returned(
        self, client: TestClient, session: Session, hubs: HubsWorld, theirs: dict[str, Any]
    ) -> None:
        client.post(
            f"/api/v1/hubs/consignments/{theirs['id']}/settle",
            json={},
            headers=hubs.a_login.headers,
        )
        hub = theirs["items"][0]["guid"]
        r = client.post(
            "/api/v1/hubs/returns",
            json={"device_id": hub, "kind": "fault"},
            headers=hubs.b_login.headers,
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "hub_not_returnable"
        session.expire_all()
        assert inventory.device_by_id(session, device_id=hub).status == "Pending"  # type: ignore[union-attr]
        assert notifications.unread_count(session, actor=hubs.actor(hubs.a_login)) == 2
