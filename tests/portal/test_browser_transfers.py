"""A stock transfer's dispatch and receipt in a real browser (Chromium, JavaScript off) against
a real ``meterhub serve``, whose worker e-mails both sides to a real SMTP server on loopback.
The allocated transfer is made directly in the setup: allocation is the marketplace's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.inventory.models import Device, DeviceHistory
from tests.factories import Login, make_login
from tests.hub_market.transfer_world import TransferWorld, make_transfer_world
from tests.notifications.conftest import mail_settings  # noqa: F401  (fixture)
from tests.notifications.helpers import with_email
from tests.notifications.smtp import Mailbox, smtp_server  # noqa: F401  (fixture)
from tests.portal.test_browser import page, served_hub  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@dataclass
class Sides:
    world: TransferWorld
    sender: Login
    receiver: Login


@pytest.fixture
def sides(session: Session, mail_settings: Settings) -> Sides:  # noqa: F811
    world = make_transfer_world(session)
    made = Sides(
        world=world,
        sender=with_email(session, make_login(session, party=world.sender), "stock@send.example"),
        receiver=with_email(
            session, make_login(session, party=world.receiver), "stock@recv.example"
        ),
    )
    session.commit()
    return made


@pytest.fixture
def server(sides: Sides, tmp_path: Path) -> Iterator[str]:
    with served_hub(tmp_path) as base:
        yield base


def log_in(p: Page, base: str, login: Login) -> None:
    p.goto(f"{base}/portal/login")
    p.fill("#username", login.user.username)
    p.fill("#password", login.password)
    p.click("button:has-text('Log in')")
    expect(p.locator("nav.mainnav")).to_be_visible()


def test_dispatch_then_receipt_with_a_pasted_guid_list(
    server: str,
    page: Page,  # noqa: F811
    sides: Sides,
    session: Session,
    smtp_server: Mailbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    p = page
    world = sides.world
    # The sender finds the transfer under Transfers and confirms dispatch.
    log_in(p, server, sides.sender)
    p.click("nav.mainnav a:has-text('Transfers')")
    p.click("a:has-text('TR-000001')")
    expect(p.locator("#transfer-status")).to_have_text("allocated")
    p.fill("#dispatch-note", "Pallet 7, carrier XPO")
    p.click("button:has-text('Confirm dispatch')")
    expect(p.locator("#transfer-status")).to_have_text("dispatched")
    expect(p.locator(".timeline")).to_contain_text("Pallet 7, carrier XPO")
    p.click("button:has-text('Log out')")

    # The receiver pastes a list with a typo first: nothing moves, the line is named.
    log_in(p, server, sides.receiver)
    p.goto(f"{server}/portal/transfers/{world.transfer.id}")
    guids = [h.device_id for h in world.hubs]
    p.fill("#receipt-guids", "\n".join([*guids[:3], "00-DB-12-FF-FF-FF-FF-01"]))
    p.click("button:has-text('Confirm receipt of these hubs')")
    refused = p.locator(".step-receipt_refused")
    expect(refused).to_contain_text("Receipt refused: nothing moved")
    expect(refused.locator("tr.line-refused")).to_have_count(1)
    expect(refused.locator("tr.line-refused")).to_contain_text("unknown_guid")
    expect(p.locator("#transfer-status")).to_have_text("dispatched")
    p.screenshot(path=tmp_path / "receipt-refused.png", full_page=True)

    # The corrected list, pasted with commas and lower case, moves all four.
    p.fill("#receipt-guids", ", ".join(g.replace("-", "").lower() for g in guids))
    p.click("button:has-text('Confirm receipt of these hubs')")
    expect(p.locator("#transfer-status")).to_have_text("received")
    expect(p.locator("#received-quantity")).to_have_text("4")
    expect(p.locator(".step-received tr.line-accepted")).to_have_count(4)
    p.screenshot(path=tmp_path / "received.png", full_page=True)

    session.expire_all()
    ids = [h.device_id for h in world.hubs]
    owners = set(session.scalars(select(Device.owner_party_id).where(Device.device_id.in_(ids))))
    assert owners == {world.receiver.id}
    moved = session.scalars(
        select(DeviceHistory.new_value).where(DeviceHistory.field == "owner")
    ).all()
    assert moved == ["RECV"] * 4

    # Both sides were e-mailed of the dispatch, the refused receipt and the receipt.
    deadline = time.monotonic() + 30
    while len(smtp_server.messages()) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    got = sorted((m.rcpt_tos[0], m.message["Subject"]) for m in smtp_server.messages())
    assert got == sorted(
        (to, subject)
        for to in ("stock@send.example", "stock@recv.example")
        for subject in (
            "Stock transfer TR-000001 dispatched by SEND",
            "Stock transfer TR-000001: receipt refused, nothing moved",
            "Stock transfer TR-000001: 4 hubs received by RECV",
        )
    )
