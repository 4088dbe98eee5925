"""An MP140 stock transfer end to end in a real browser (Chromium, JavaScript off) against a real
``meterhub serve`` whose worker e-mails a real SMTP server on loopback: supplier A lists stock,
supplier B requests part of it and the published rule allocates it, A confirms dispatch, B
confirms receipt with the GUIDs it got; the hubs, their custody and their stock charge are B's
from the receipt day, and both sides were e-mailed at every step."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.comms_hubs import service as hubs
from meterhub.comms_hubs import statements
from meterhub.config import Settings
from meterhub.inventory.models import Device
from meterhub.kit.clock import today, utcnow
from tests.factories import SYSTEM, Login
from tests.hub_market.conftest import hold_hubs
from tests.notifications.conftest import mail_settings  # noqa: F401  (fixture)
from tests.notifications.helpers import with_email
from tests.notifications.smtp import Mailbox, smtp_server  # noqa: F401  (fixture)
from tests.portal.conftest import TwoSuppliers
from tests.portal.test_browser import page, served_hub  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

#: The operator's stock charge in this test: 12.5p per hub per day held as stock.
STOCK_MILLIPENCE = 12_500


@pytest.fixture
def server(
    mail_settings: Settings,  # noqa: F811
    session: Session,
    world: TwoSuppliers,
    tmp_path: Path,
) -> Iterator[str]:
    """Supplier A holds seven Pending hubs of one kind (six here, one from the world); both
    suppliers' users have e-mail addresses; the operator charges for stock from today."""
    hold_hubs(session, owner=world.a, count=6)
    with_email(session, world.login_a, "stock@alpha.example")
    with_email(session, world.login_b, "stock@bravo.example")
    hubs.set_tariff(
        session,
        actor=SYSTEM,
        kind="stock",
        effective_from=today(),
        amount_millipence=STOCK_MILLIPENCE,
        reason="end-to-end test",
        now=utcnow(),
    )
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


def pending_of(session: Session, party_id: int) -> list[str]:
    session.rollback()  # end the read transaction, so the server's commits are seen
    return sorted(
        session.scalars(
            select(Device.device_id).where(
                Device.owner_party_id == party_id,
                Device.device_type == "CHF",
                Device.status == "Pending",
            )
        )
    )


def test_list_request_allocate_dispatch_receive_and_custody_and_charges_move(
    server: str,
    page: Page,  # noqa: F811
    world: TwoSuppliers,
    session: Session,
    smtp_server: Mailbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    p = page
    a_hubs = pending_of(session, world.a.id)
    assert len(a_hubs) == 7

    # A lists five of its seven hubs.
    log_in(p, server, world.login_a)
    p.click("nav.mainnav a:has-text('Marketplace')")
    p.click("nav.market a:has-text('My listings')")
    p.fill("#l-quantity", "5")
    p.fill("#l-manufacturer", "Acme")
    p.fill("#l-model", "ACME-1")
    p.fill("#l-firmware", "1.0.0")
    p.select_option("#l-region", "North")
    p.fill("#l-location", "Unit 4, Leeds")
    p.fill("#l-available", today().isoformat())
    p.click("button:has-text('List stock')")
    expect(p.locator(".notice")).to_contain_text("every ordering party can see it")

    # B finds it, asks for three, and the rule in force allocates them.
    log_in(p, server, world.login_b)
    p.click("nav.mainnav a:has-text('Marketplace')")
    p.select_option("select[name=model]", "ACME-1")
    p.click("button:has-text('Show listings')")
    row = p.locator("table.listings tbody tr").first
    expect(row).to_contain_text("5 of 5")
    row.locator("input[name=quantity]").fill("3")
    row.locator("button:has-text('Request')").click()
    notice = p.locator(".notice")
    expect(notice).to_contain_text(re.compile(r"3 of 3 allocated as transfer TR-\d{6}"))
    found = re.search(r"TR-\d{6}", notice.inner_text())
    assert found is not None
    reference = found.group(0)

    # A confirms dispatch from the transfer's page.
    log_in(p, server, world.login_a)
    p.click("nav.mainnav a:has-text('Transfers')")
    p.click(f"a:has-text('{reference}')")
    expect(p.locator("#transfer-status")).to_have_text("allocated")
    p.fill("#dispatch-note", "Pallet 1 of 1, own van")
    p.click("button:has-text('Confirm dispatch')")
    expect(p.locator("#transfer-status")).to_have_text("dispatched")
    transfer_url = p.url.split("?")[0]

    # B confirms receipt with the three GUIDs it got, pasted one per line.
    sent = a_hubs[:3]
    log_in(p, server, world.login_b)
    p.goto(transfer_url)
    p.fill("#receipt-guids", "\n".join(sent))
    p.click("button:has-text('Confirm receipt of these hubs')")
    expect(p.locator("#transfer-status")).to_have_text("received")
    expect(p.locator("#received-quantity")).to_have_text("3")
    expect(p.locator(".step-received tr.line-accepted")).to_have_count(3)
    p.screenshot(path=tmp_path / "received.png", full_page=True)

    # Ownership moved: the three are B's in the inventory and in the custody ledger from today.
    assert set(sent) <= set(pending_of(session, world.b.id))
    assert set(sent).isdisjoint(pending_of(session, world.a.id))
    day = today()
    for guid in sent:
        holding = hubs.holder_on(session, actor=SYSTEM, device_id=guid, day=day)
        assert holding is not None
        assert (holding.party, holding.in_stock) == (world.b.code, True)
        chain = hubs.custody_chain(session, actor=SYSTEM, device_id=guid)
        assert [(s.kind, s.party) for s in chain][-2:] == [
            ("delivery", world.a.code),
            ("transfer", world.b.code),
        ]
    held = hubs.holdings_on(session, actor=SYSTEM, party_id=world.b.id, day=day)
    assert set(sent) <= {h.device_id for h in held}

    # The stock charge moved with them: today's stock line is B's for its hubs plus these three,
    # and A's for the four it kept (the month's statement, drawn as if the month were over).
    month = f"{day:%Y-%m}"
    month_end = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    drawn = statements.statements_for_month(
        session, month=month, now=datetime.combine(month_end, datetime.min.time(), UTC)
    )
    today_stock = {
        s.party_code: next((ln for ln in s.lines if ln.section == "stock" and ln.day == day), None)
        for s in drawn
    }
    a_line, b_line = today_stock.get(world.a.code), today_stock.get(world.b.code)
    assert a_line is not None and b_line is not None
    b_pending = len(pending_of(session, world.b.id))
    assert (a_line.quantity, b_line.quantity) == (4, b_pending)
    assert b_line.amount_pence == hubs.pence_of(b_pending * STOCK_MILLIPENCE)

    # Both sides were e-mailed at each step: allocation, dispatch, receipt.
    want = {
        (to, step)
        for to in ("stock@alpha.example", "stock@bravo.example")
        for step in ("allocated", "dispatched", "received")
    }
    deadline = time.monotonic() + 30
    got: set[tuple[str, str]] = set()
    while not want <= got and time.monotonic() < deadline:
        got = {
            (m.rcpt_tos[0], step)
            for m in smtp_server.messages()
            for step in ("allocated", "dispatched", "received")
            if reference in m.message["Subject"] and step in m.message["Subject"]
        }
        time.sleep(0.2)
    assert want <= got, sorted(
        (m.rcpt_tos[0], m.message["Subject"]) for m in smtp_server.messages()
    )
