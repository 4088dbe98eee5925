"""The marketplace's portal pages through the TestClient: listing stock through the form,
requesting from another party's listing, the rule and the log, and every page scoped to the
logged-in party (another party's listing steps and withdrawn listings are the 404 page)."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.kit.clock import today
from tests.factories import make_login
from tests.hub_market.conftest import hold_hubs
from tests.portal.conftest import TwoSuppliers, csrf_from, log_in

SOON = (today() + timedelta(days=2)).isoformat()
FORM = {
    "quantity": "4",
    "manufacturer": "Acme",
    "model": "ACME-1",
    "firmware_version": "1.0.0",
    "csp_region": "North",
    "location": "Unit 4, Leeds",
    "available_from": SOON,
}


def list_stock(client: TestClient, **changes: str) -> object:
    page = client.get("/portal/market/listings")
    assert page.status_code == 200
    return client.post(
        "/portal/market/listings",
        data={**FORM, **changes, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def listing_id_of(answer: object) -> int:
    found = re.search(r"/portal/market/listings/(\d+)", answer.headers["location"])  # type: ignore[attr-defined]
    assert found
    return int(found.group(1))


def test_a_holder_lists_stock_and_another_party_requests_it(
    client: TestClient, session: Session, world: TwoSuppliers
) -> None:
    hold_hubs(session, owner=world.a, count=5)  # 6 with the world's own
    session.commit()
    log_in(client, world.login_a)
    home = client.get("/portal/")
    assert 'href="/portal/market"' in home.text
    stock = client.get("/portal/market/listings")
    assert "<td>6</td>" in stock.text  # held, in the Pending hubs table
    too_many = list_stock(client, quantity="7")
    assert too_many.status_code == 409
    assert "at most 6 can be listed" in too_many.text
    made = list_stock(client)
    assert made.status_code == 303
    listing_id = listing_id_of(made)
    page = client.get(f"/portal/market/listings/{listing_id}?done=listed")
    assert "every ordering party can see it" in page.text
    assert "Amend listing" in page.text

    client.cookies.clear()
    log_in(client, world.login_b)
    market = client.get("/portal/market", params={"firmware_version": "1.0.0"})
    assert f'data-listing="{listing_id}"' in market.text
    assert "4 of 4" in market.text
    assert (
        f'data-listing="{listing_id}"'
        not in client.get("/portal/market", params={"firmware_version": "2.0.0"}).text
    )
    asked = client.post(
        f"/portal/market/listings/{listing_id}/request",
        data={"quantity": "3", "listing_version": "1", "csrf_token": csrf_from(market.text)},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    outcome = client.get(asked.headers["location"])
    assert re.search(r"3 of 3 allocated as transfer TR-\d{6}", outcome.text)
    log = client.get("/portal/market/log")
    assert re.search(r"<td>[A-Z0-9]+</td><td>[A-Z0-9]+</td>", log.text)
    assert world.a.code in log.text and world.b.code in log.text
    public = client.get("/portal/market/log?view=public")
    assert "Party A" in public.text and world.a.code not in public.text

    client.cookies.clear()
    log_in(client, world.login_a)
    mine = client.get(f"/portal/market/listings/{listing_id}")
    assert "3 of 4" in mine.text
    assert "Amend listing" not in mine.text
    refused = client.post(
        f"/portal/market/listings/{listing_id}/withdraw",
        data={"csrf_token": csrf_from(mine.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 409
    assert "can no longer be withdrawn" in refused.text


def test_another_partys_listing_steps_are_the_404_page(
    client: TestClient, session: Session, world: TwoSuppliers
) -> None:
    log_in(client, world.login_a)
    listing_id = listing_id_of(list_stock(client, quantity="1"))
    token = csrf_from(client.get("/portal/market/listings").text)
    withdrawn = client.post(
        f"/portal/market/listings/{listing_id}/withdraw",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303

    client.cookies.clear()
    log_in(client, world.login_b)
    token = csrf_from(client.get("/portal/market").text)
    for path, data in (
        (f"/portal/market/listings/{listing_id}/amend", {"quantity": "1"}),
        (f"/portal/market/listings/{listing_id}/withdraw", {}),
        (f"/portal/market/listings/{listing_id}/request", {"quantity": "1"}),
    ):
        answer = client.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 404, path
        assert "text/html" in answer.headers["content-type"]
    assert client.get(f"/portal/market/listings/{listing_id}").status_code == 404
    assert client.get("/portal/market/listings/999999").status_code == 404
    # The listing page of another party's request outcome shows nothing of it.
    assert "Request 1:" not in client.get("/portal/market/requests?done=1").text


def test_a_party_that_orders_no_hubs_has_no_marketplace(
    client: TestClient, session: Session, world: TwoSuppliers
) -> None:
    agent = make_login(session, party=world.agent)
    session.commit()
    log_in(client, agent)
    assert 'href="/portal/market"' not in client.get("/portal/").text
    answer = client.get("/portal/market")
    assert answer.status_code == 403
    assert "not_an_ordering_party" in answer.text


def test_the_rule_page_shows_the_rule_in_force(client: TestClient, world: TwoSuppliers) -> None:
    log_in(client, world.login_b)
    page = client.get("/portal/market/rule")
    assert page.status_code == 200
    assert "In force: version 1, First come, first served" in page.text
    assert "in the order the hub receives them" in page.text


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, world: TwoSuppliers) -> None:
    log_in(client, world.login_a)
    answer = client.post("/portal/market/listings", data=FORM)
    assert answer.status_code == 403
    assert client.get("/portal/market/listings").text.count('data-listing="') == 0
