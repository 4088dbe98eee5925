"""Contacts in a real browser (Chromium, JavaScript off) against a real ``meterhub serve``: a
network raises a Theft of Gas, the shipper's user picks it up from its queue and accepts it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from tests.factories import Login, make_login, make_party, make_registration
from tests.portal.test_browser import page, served_hub  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@dataclass
class Desks:
    network: Login
    shipper: Login


@pytest.fixture
def desks(session: Session) -> Desks:
    dn = make_party(
        session, code="DNNW", roles=("DN",), kind="gas_transporter", name="North West Gas"
    )
    shipper = make_party(session, code="SHPA", roles=("SHIPPER",), name="Shipper Alpha")
    supplier = make_party(session, code="GSUP", roles=("GS",))
    make_registration(
        session,
        mpxn="1234567",
        supplier=supplier,
        network=dn,
        shipper=shipper,
        effective_from=date(2024, 1, 1),
    )
    made = Desks(network=make_login(session, party=dn), shipper=make_login(session, party=shipper))
    make_login(session, party=shipper)  # a colleague, who does not pick it up
    session.commit()
    return made


@pytest.fixture
def server(settings: Settings, desks: Desks, tmp_path: Path) -> Iterator[str]:
    with served_hub(tmp_path) as base:
        yield base


def log_in(p: Page, server: str, login: Login) -> None:
    p.goto(f"{server}/portal/login")
    p.fill("#username", login.user.username)
    p.fill("#password", login.password)
    p.click("button:has-text('Log in')")


def test_network_raises_a_theft_of_gas_and_the_shipper_accepts_it(
    server: str,
    page: Page,  # noqa: F811
    desks: Desks,
    tmp_path: Path,
) -> None:
    p = page
    log_in(p, server, desks.network)
    p.click("nav.mainnav a:has-text('Contacts')")
    expect(p.locator("h1")).to_have_text("Contacts")
    p.click("a:has-text('Raise a Theft of Gas contact')")
    p.fill("#f_mprn", "1234567")
    p.fill("#f_suspected_from", "2024-05-01")
    p.select_option("#f_method", "meter_bypass")
    p.fill("#f_estimated_kwh", "12000")
    p.fill("#f_site_address", "1 Gasworks Lane, Wigan")
    p.fill("#f_description", "Bypass pipe found around the meter on a routine visit.")
    p.screenshot(path=tmp_path / "contact-form.png", full_page=True)
    p.click("button:has-text('Submit')")
    expect(p.locator("h1")).to_have_text("Theft of Gas TOG-000001")
    expect(p.locator(".contact-status")).to_have_text("Awaiting the shipper's acceptance")
    p.click("button:has-text('Log out')")

    log_in(p, server, desks.shipper)
    p.click("nav.mainnav a:has-text('Contacts')")
    row = p.locator("table.contacts tbody tr", has_text="TOG-000001")
    expect(row).to_contain_text("Awaiting the shipper's acceptance")
    expect(row).to_contain_text("nobody yet")
    p.screenshot(path=tmp_path / "shipper-queue.png", full_page=True)
    row.locator("button:has-text('Pick up')").click()
    p.click("nav.sections a:has-text('Awaiting us')")
    row = p.locator("table.contacts tbody tr", has_text="TOG-000001")
    expect(row).to_contain_text(desks.shipper.user.username)
    row.locator("a:has-text('TOG-000001')").click()
    expect(p.locator(".handler")).to_have_text(desks.shipper.user.username)
    p.click("button:has-text('Accept and investigate')")
    expect(p.locator(".contact-status")).to_have_text("Under investigation by the shipper")
    expect(p.locator("table.history")).to_contain_text("accept")
    expect(p.locator("table.history")).to_contain_text("picked up")
    p.screenshot(path=tmp_path / "contact.png", full_page=True)

    # Another party's contact is the 404 page, not an empty one.
    p.goto(f"{server}/portal/contacts/999999")
    expect(p.locator("main")).to_contain_text("404")
