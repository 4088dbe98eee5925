"""``/api/v1/market`` as each party sees it: open listings for every ordering party, requests
and own logs scoped to their party (another party's is a 404), the rule readable by all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.kit.clock import today
from tests.hub_market.conftest import STOCK, Market

LISTING = {**STOCK, "quantity": 5, "location": "Warehouse 1, Leeds", "available_from": "2099-01-04"}


@pytest.fixture
def listed(client: TestClient, market: Market) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/market/listings",
        json={**LISTING, "available_from": _soon()},
        headers=market.login_a.headers,
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _soon() -> str:
    return (today() + timedelta(days=3)).isoformat()


class TestListingsOverTheApi:
    def test_list_see_filter_and_request(
        self, client: TestClient, market: Market, listed: dict[str, Any]
    ) -> None:
        assert (listed["holder"], listed["left"], listed["status"], listed["version"]) == (
            "ALPHA",
            5,
            "open",
            1,
        )
        seen = client.get(
            "/api/v1/market/listings",
            params={"model": "ACME-1", "csp_region": "north"},
            headers=market.login_c.headers,
        )
        assert [x["id"] for x in seen.json()["items"]] == [listed["id"]]
        none = client.get(
            "/api/v1/market/listings",
            params={"firmware_version": "9"},
            headers=market.login_c.headers,
        )
        assert none.json() == {"items": [], "next_cursor": None}
        asked = client.post(
            f"/api/v1/market/listings/{listed['id']}/requests",
            json={"quantity": 7, "listing_version": 1},
            headers=market.login_b.headers,
        )
        assert asked.status_code == 201, asked.text
        body = asked.json()
        assert (body["status"], body["allocated_quantity"], body["rule_version"]) == (
            "part_allocated",
            5,
            1,
        )
        assert body["transfer"].startswith("TR-")
        again = client.get(f"/api/v1/market/requests/{body['id']}", headers=market.login_b.headers)
        assert again.json() == body
        mine = client.get("/api/v1/market/my/requests", headers=market.login_b.headers).json()
        assert [r["id"] for r in mine["items"]] == [body["id"]]
        closed = client.get(
            f"/api/v1/market/listings/{listed['id']}", headers=market.login_c.headers
        ).json()
        assert (closed["status"], closed["left"], closed["allocated"]) == ("closed", 0, 5)

    def test_more_than_held_is_a_409_with_the_numbers(
        self, client: TestClient, market: Market
    ) -> None:
        answer = client.post(
            "/api/v1/market/listings",
            json={**LISTING, "quantity": 13, "available_from": _soon()},
            headers=market.login_a.headers,
        )
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "more_than_held"
        assert answer.json()["error"]["details"]["free"] == 12

    def test_amend_and_withdraw_until_allocated(
        self, client: TestClient, market: Market, listed: dict[str, Any]
    ) -> None:
        url = f"/api/v1/market/listings/{listed['id']}"
        amended = client.patch(
            url, json={"quantity": 4, "location": "Hull"}, headers=market.login_a.headers
        )
        assert (
            amended.json()["quantity"],
            amended.json()["location"],
            amended.json()["version"],
        ) == (4, "Hull", 2)
        stale = client.post(
            f"{url}/requests",
            json={"quantity": 1, "listing_version": 1},
            headers=market.login_b.headers,
        )
        assert stale.status_code == 409 and stale.json()["error"]["code"] == "listing_amended"
        client.post(f"{url}/requests", json={"quantity": 1}, headers=market.login_b.headers)
        refused = client.post(f"{url}/withdraw", json={}, headers=market.login_a.headers)
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "listing_allocated"

    def test_the_log_public_and_own(
        self, client: TestClient, market: Market, listed: dict[str, Any]
    ) -> None:
        client.post(
            f"/api/v1/market/listings/{listed['id']}/requests",
            json={"quantity": 2},
            headers=market.login_b.headers,
        )
        public = client.get("/api/v1/market/log", headers=market.login_c.headers).json()
        assert public["parties"] == "labelled"
        assert [(e["sender"], e["receiver"], e["quantity"]) for e in public["items"]] == [
            ("Party A", "Party B", 2)
        ]
        own = client.get("/api/v1/market/log/mine", headers=market.login_b.headers).json()
        assert [(e["sender"], e["receiver"]) for e in own["items"]] == [("ALPHA", "BRAVO")]
        assert (
            client.get("/api/v1/market/log/mine", headers=market.login_c.headers).json()["items"]
            == []
        )


class TestThePartyScope:
    def test_another_partys_objects_are_404_on_every_route(
        self, client: TestClient, session: Session, market: Market, listed: dict[str, Any]
    ) -> None:
        lid = listed["id"]
        asked = client.post(
            f"/api/v1/market/listings/{lid}/requests",
            json={"quantity": 1},
            headers=market.login_b.headers,
        ).json()
        other = market.login_c.headers
        # Another party's request, and amending or withdrawing another party's listing.
        assert (
            client.get(f"/api/v1/market/requests/{asked['id']}", headers=other).status_code == 404
        )
        assert (
            client.get(
                f"/api/v1/market/requests/{asked['id']}", headers=market.login_a.headers
            ).status_code
            == 404
        )
        assert (
            client.patch(
                f"/api/v1/market/listings/{lid}", json={"quantity": 2}, headers=other
            ).status_code
            == 404
        )
        assert (
            client.post(
                f"/api/v1/market/listings/{lid}/withdraw", json={}, headers=other
            ).status_code
            == 404
        )
        # A withdrawn listing is its holder's alone: read or requested by another, a 404.
        second = client.post(
            "/api/v1/market/listings",
            json={**LISTING, "quantity": 2, "available_from": _soon()},
            headers=market.login_a.headers,
        ).json()
        client.post(
            f"/api/v1/market/listings/{second['id']}/withdraw",
            json={"reason": "sold elsewhere"},
            headers=market.login_a.headers,
        )
        assert (
            client.get(f"/api/v1/market/listings/{second['id']}", headers=other).status_code == 404
        )
        assert (
            client.post(
                f"/api/v1/market/listings/{second['id']}/requests",
                json={"quantity": 1},
                headers=other,
            ).status_code
            == 404
        )
        assert (
            client.get(
                f"/api/v1/market/listings/{second['id']}", headers=market.login_a.headers
            ).json()["status"]
            == "withdrawn"
        )
        # My listings and my log hold only one's own.
        assert client.get("/api/v1/market/my/listings", headers=other).json()["items"] == []
        for missing in ("/api/v1/market/listings/999999", "/api/v1/market/requests/999999"):
            assert client.get(missing, headers=market.login_a.headers).status_code == 404

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/api/v1/market/listings", None),
            ("POST", "/api/v1/market/listings", "listing"),
            ("GET", "/api/v1/market/my/listings", None),
            ("GET", "/api/v1/market/my/requests", None),
            ("GET", "/api/v1/market/log", None),
            ("GET", "/api/v1/market/log/mine", None),
            ("POST", "/api/v1/market/listings/{id}/requests", {"quantity": 1}),
            ("GET", "/api/v1/market/listings/{id}", None),
        ],
    )
    def test_a_party_that_orders_no_hubs_is_refused(
        self,
        client: TestClient,
        market: Market,
        listed: dict[str, Any],
        method: str,
        path: str,
        body: Any,
    ) -> None:
        json = {**LISTING, "available_from": _soon()} if body == "listing" else body
        answer = client.request(
            method, path.format(id=listed["id"]), json=json, headers=market.login_network.headers
        )
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "not_an_ordering_party"

    def test_a_party_cannot_request_its_own_listing(
        self, client: TestClient, market: Market, listed: dict[str, Any]
    ) -> None:
        answer = client.post(
            f"/api/v1/market/listings/{listed['id']}/requests",
            json={"quantity": 1},
            headers=market.login_a.headers,
        )
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "own_listing"


class TestTheRuleOverTheApi:
    def test_everyone_reads_it_and_the_operator_announces(
        self, client: TestClient, market: Market
    ) -> None:
        rule = client.get("/api/v1/market/rule", headers=market.login_network.headers).json()
        assert (rule["in_force"]["version"], rule["in_force"]["code"], rule["upcoming"]) == (
            1,
            "fcfs",
            [],
        )
        new = {
            "code": "fcfs_whole",
            "title": "Whole requests",
            "text": "In full or not at all.",
            "effective_from": "2099-01-01",
        }
        assert (
            client.post(
                "/api/v1/market/rules", json=new, headers=market.login_b.headers
            ).status_code
            == 403
        )
        made = client.post("/api/v1/market/rules", json=new, headers=market.login_dcc.headers)
        assert made.status_code == 201, made.text
        assert (made.json()["version"], made.json()["in_force"]) == (2, False)
        rule = client.get("/api/v1/market/rule", headers=market.login_b.headers).json()
        assert [r["version"] for r in rule["upcoming"]] == [2]
        assert rule["in_force"]["version"] == 1
        soon = client.post(
            "/api/v1/market/rules",
            json={**new, "effective_from": _soon()},
            headers=market.login_dcc.headers,
        )
        assert soon.status_code == 422 and soon.json()["error"]["code"] == "too_little_notice"
