"""Hub orders and deliveries in a real browser (Chromium, JavaScript off) against a real
``meterhub serve``: the supplier orders, the DCC confirms, the DCC's advance shipment notice is
recorded with ``meterhub hubs deliveries``, the supplier accepts the consignment rejecting one
line, and the accepted hubs are in its inventory as Pending."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from meterhub.cli.main import app
from meterhub.config import Settings
from tests.comms_hubs.conftest import guids, next_month
from tests.factories import Login, make_login
from tests.portal.test_browser import page, served_hub  # noqa: F401  (fixture)
from tests.worlds import make_world

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@dataclass(frozen=True)
class People:
    supplier: Login
    dcc: Login


@pytest.fixture
def people(session: Session) -> People:
    world = make_world(session, suppliers=("SUPA",), dcc=True)
    assert world.dcc is not None
    made = People(
        supplier=make_login(session, party=world.suppliers[0]),
        dcc=make_login(session, party=world.dcc),
    )
    session.commit()
    return made


@pytest.fixture
def hub_server(settings: Settings, people: People, tmp_path: Path) -> Iterator[str]:
    with served_hub(tmp_path) as base:
        yield base


def log_in(p: Page, base: str, login: Login) -> None:
    p.goto(f"{base}/portal/login")
    p.fill("#username", login.user.username)
    p.fill("#password", login.password)
    p.click("button:has-text('Log in')")
    expect(p.locator("nav.mainnav")).to_be_visible()


def test_order_asn_accept_and_the_hubs_are_pending_in_the_inventory(
    hub_server: str,
    page: Page,  # noqa: F811
    people: People,
    tmp_path: Path,
) -> None:
    p, base = page, hub_server
    log_in(p, base, people.supplier)
    p.click("nav.mainnav a:has-text('Hub orders')")
    expect(p.locator("h1")).to_have_text("Orders and deliveries")
    p.select_option("#csp-region", "North")
    p.select_option("#variant", "N-SM")
    p.fill("#quantity", "3")
    p.fill("#delivery-month", next_month())
    p.fill("#delivery-location", "Unit 4, Trafford Park, Manchester")
    p.click("button:has-text('Place order')")
    expect(p.locator("h1")).to_contain_text("Placed")
    found = re.search(r"/portal/hubs/orders/(\d+)$", p.url)
    assert found, p.url
    order_id = int(found.group(1))
    p.screenshot(path=tmp_path / "order.png")
    p.click("button:has-text('Log out')")

    log_in(p, base, people.dcc)
    p.goto(f"{base}/portal/hubs/orders?state=placed")
    p.click(f"a:has-text('Order {order_id}')")
    p.click("button:has-text('Confirm order')")
    expect(p.locator("h1")).to_contain_text("Confirmed")
    p.click("button:has-text('Log out')")

    ids = guids(3)
    asn = tmp_path / "asn.csv"
    asn.write_text(
        "asn_reference,order_id,guid\n" + "".join(f"ASN-B1,{order_id},{g}\n" for g in ids),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["hubs", "deliveries", str(asn)])
    assert result.exit_code == 0, result.stderr

    log_in(p, base, people.supplier)
    p.click("nav.mainnav a[href='/portal/inbox']")
    p.click("a:has-text('Consignment ASN-B1 shipped')")
    p.click("a.button:has-text('Open')")
    expect(p.locator("h1")).to_contain_text("Consignment ASN-B1")
    p.fill("#reject-3", "case crushed in transit")
    p.screenshot(path=tmp_path / "consignment.png", full_page=True)
    p.click("button:has-text('Accept consignment')")
    expect(p.locator("h1")).to_contain_text("Settled")
    expect(p.locator("table.lines tbody tr").nth(2)).to_contain_text("case crushed in transit")

    p.goto(f"{base}/portal/inventory?device_type=CHF&status=Pending")
    shown = [
        t.strip() for t in p.locator("table.devices tbody td:first-child code").all_inner_texts()
    ]
    assert shown == ids[:2]
    p.click(f"a:has-text('{ids[0]}')")
    expect(p.locator("main")).to_contain_text("Pending")
    expect(p.locator("a.button:has-text('Return this hub')")).to_be_visible()
    p.screenshot(path=tmp_path / "hub.png", full_page=True)
