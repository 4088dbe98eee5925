"""The inbox in a real browser (Chromium, JavaScript off) against a real ``meterhub serve``
whose own worker e-mails the same notifications to a real SMTP server on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from meterhub.kit.clock import utcnow
from meterhub.notifications import service as notifications
from tests.notifications.conftest import mail_settings  # noqa: F401  (fixture)
from tests.notifications.helpers import with_email
from tests.notifications.smtp import Mailbox, smtp_server  # noqa: F401  (fixture)
from tests.portal.conftest import TwoSuppliers
from tests.portal.test_browser import page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture
def seeded(session: Session, world: TwoSuppliers, mail_settings: Settings) -> TwoSuppliers:  # noqa: F811
    """Two steps told supplier A; its user has an e-mail address (the server sends to it)."""
    with_email(session, world.login_a, "stock@alpha.example")
    session.commit()
    for subject in ("Hub 00-DB-12 returned (fault) by RSA1", "Hub 00-DB-13 returned (no-fault)"):
        notifications.notify(
            session,
            party_id=world.a.id,
            kind="hub.returned",
            subject=subject,
            body=f"{subject}.\nAlpha Energy is charged £6.70 for it.",
            link="/portal/inventory",
            now=utcnow(),
        )
    session.commit()
    return world


def test_inbox_read_and_mark_read_while_the_server_mails_it(
    server: str,  # noqa: F811
    page: Page,  # noqa: F811
    seeded: TwoSuppliers,
    smtp_server: Mailbox,  # noqa: F811
    tmp_path: Path,
) -> None:
    p = page
    p.goto(f"{server}/portal/login")
    p.fill("#username", seeded.login_a.user.username)
    p.fill("#password", seeded.login_a.password)
    p.click("button:has-text('Log in')")

    inbox_link = p.locator("nav.mainnav a[href='/portal/inbox']")
    expect(inbox_link).to_have_text("Inbox 2")
    inbox_link.click()
    expect(p.locator("h1")).to_have_text("Inbox")
    rows = p.locator("table.inbox tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Hub 00-DB-13 returned")
    expect(p.locator("table.inbox tr.unread")).to_have_count(2)
    p.screenshot(path=tmp_path / "inbox.png")

    # Open the older one, read it in full, mark it read from its page.
    p.click("a:has-text('Hub 00-DB-12 returned (fault) by RSA1')")
    expect(p.locator(".inbox-body")).to_contain_text("charged £6.70")
    expect(p.locator("a.button:has-text('Open')")).to_have_attribute("href", "/portal/inventory")
    p.click("button:has-text('Mark read')")
    expect(p.locator("main")).to_contain_text("read ")
    expect(inbox_link).to_have_text("Inbox 1")

    # Back in the list: one unread left; "Mark all read" clears the count.
    inbox_link.click()
    expect(p.locator("table.inbox tr.unread")).to_have_count(1)
    p.click("button:has-text('Mark all read')")
    expect(p.locator("table.inbox tr.unread")).to_have_count(0)
    expect(inbox_link).to_have_text("Inbox")

    # An entry that is not this user's is the 404 page, not an empty one.
    p.goto(f"{server}/portal/inbox/999999")
    expect(p.locator("main")).to_contain_text("404")

    # Meanwhile the server's own worker e-mailed both to the SMTP server.
    deadline = time.monotonic() + 30
    while len(smtp_server.messages()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    got = sorted(m.message["Subject"] for m in smtp_server.messages())
    assert got == ["Hub 00-DB-12 returned (fault) by RSA1", "Hub 00-DB-13 returned (no-fault)"]
    assert all(m.rcpt_tos == ["stock@alpha.example"] for m in smtp_server.messages())
