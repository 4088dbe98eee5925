"""The marketplace in a real browser (Chromium, JavaScript off) against a real ``meterhub
serve``: one supplier lists stock, another requests part of it, and both see the allocation,
the transfer's reference and the notification on their own pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.kit.clock import today
from tests.factories import Login
from tests.hub_market.conftest import hold_hubs
from tests.portal.conftest import TwoSuppliers
from tests.portal.test_browser import page, served_hub  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def server(
    settings: Settings, session: Session, world: TwoSuppliers, tmp_path: Path
) -> Iterator[str]:
    """Supplier A holds seven Pending hubs of one kind (six here, one from the world)."""
    hold_hubs(session, owner=world.a, count=6)
    session.commit()
    with served_hub(tmp_path) as base:
        yield base


def log_in(p: Page, base: str, login: Login) -> None:
    p.context.clear_cookies()
    p.goto(f"{base}/portal/login")
    p.fill("#username", login.user.username)
    p.fill("#password", login.password)
    p.click("button:has-text('Log in')")
    expect(p.locator("nav.mainnav")).to_be_visible()


def test_list_as_one_party_request_as_another_and_both_see_the_allocation(
    server: str,
    page: Page,  # noqa: F811
    world: TwoSuppliers,
    tmp_path: Path,
) -> None:
    p = page
    log_in(p, server, world.login_a)
    p.click("nav.mainnav a:has-text('Marketplace')")
    p.click("nav.market a:has-text('My listings')")
    expect(p.locator("table.stock tbody tr")).to_contain_text(["7"])
    p.fill("#l-quantity", "5")
    p.fill("#l-manufacturer", "Acme")
    p.fill("#l-model", "ACME-1")
    p.fill("#l-firmware", "1.0.0")
    p.select_option("#l-region", "North")
    p.fill("#l-location", "Unit 4, Leeds")
    p.fill("#l-available", (today() + timedelta(days=2)).isoformat())
    p.click("button:has-text('List stock')")
    expect(p.locator(".notice")).to_contain_text("every ordering party can see it")
    listing_url = p.url.split("?")[0]
    p.screenshot(path=tmp_path / "listed.png", full_page=True)

    log_in(p, server, world.login_b)
    p.click("nav.mainnav a:has-text('Marketplace')")
    p.select_option("select[name=model]", "ACME-1")
    p.click("button:has-text('Show listings')")
    row = p.locator("table.listings tbody tr").first
    expect(row).to_contain_text("5 of 5")
    expect(row).to_contain_text(world.a.code)
    row.locator("input[name=quantity]").fill("3")
    row.locator("button:has-text('Request')").click()
    notice = p.locator(".notice")
    expect(notice).to_contain_text(re.compile(r"3 of 3 allocated as transfer TR-\d{6}"))
    reference = re.search(r"TR-\d{6}", notice.inner_text())
    assert reference is not None
    expect(p.locator("table.market-requests tbody tr").first).to_contain_text("allocated")
    expect(p.locator("nav.mainnav a[href='/portal/inbox']")).to_have_text("Inbox 1")
    p.click("nav.market a:has-text('Transaction log')")
    expect(p.locator(f"tr[data-reference='{reference.group(0)}']")).to_contain_text(world.a.code)
    p.screenshot(path=tmp_path / "requested.png", full_page=True)

    log_in(p, server, world.login_a)
    p.goto(listing_url)
    expect(p.locator("#listing-allocated")).to_have_text("3 of 5")
    expect(p.locator("form[aria-label='Amend listing']")).to_have_count(0)
    p.click("nav.market a:has-text('Transaction log')")
    expect(p.locator(f"tr[data-reference='{reference.group(0)}']")).to_contain_text(world.b.code)
    p.click("nav.mainnav a[href='/portal/inbox']")
    expect(p.locator("table.inbox tbody tr").first).to_contain_text(
        f"{reference.group(0)}: 3 of your hubs allocated to {world.b.code}"
    )
    p.screenshot(path=tmp_path / "holder.png", full_page=True)
