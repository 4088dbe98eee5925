"""The Users pages in a real browser (Chromium, JavaScript off) against a real ``meterhub
serve``: the Local Security Officer creates a user, the new user logs in with the temporary
password and must choose its own, then the officer disables it and it is logged out."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.kit.clock import utcnow
from meterhub.parties import service
from tests.factories import SYSTEM
from tests.portal.conftest import TwoSuppliers
from tests.portal.test_browser import page, server  # noqa: F401  (fixtures)
from tests.portal.test_browser_account import assert_fits, log_in

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

OWN_PASSWORD = "dee's own long passphrase"


@pytest.fixture
def seeded(session: Session, world: TwoSuppliers) -> TwoSuppliers:
    """Supplier A's login is its Local Security Officer."""
    service.set_user_permissions(
        session, actor=SYSTEM, user=world.login_a.user, local_security_officer=True, now=utcnow()
    )
    session.commit()
    return world


class TestUsersInABrowser:
    def test_the_officer_creates_a_user_who_sets_a_password_and_is_then_disabled(
        self,
        server: str,  # noqa: F811
        page: Page,  # noqa: F811
        seeded: TwoSuppliers,
        tmp_path: Path,
    ) -> None:
        p = page
        log_in(p, server, seeded.login_a.user.username, seeded.login_a.password)
        p.click("nav.mainnav a:has-text('Users')")
        expect(p.locator("h1")).to_contain_text("Users of Alpha Energy")
        assert_fits(p, tmp_path / "users.png")
        p.click("a:has-text('New user')")
        p.fill("#username", "dee@alpha")
        p.fill("#display-name", "Dee Field")
        p.fill("#email", "dee@alpha.example")
        p.locator("fieldset.roles input[name=roles]").first.check()
        p.click("button:has-text('Create user')")
        expect(p.locator("h1")).to_contain_text("User created")
        temporary = p.locator("#temporary-password").inner_text().strip()
        assert len(temporary) >= 12
        assert_fits(p, tmp_path / "user-created.png")

        browser = p.context.browser
        assert browser is not None
        desk = browser.new_context(java_script_enabled=False)
        try:
            dee = desk.new_page()
            log_in(dee, server, "dee@alpha", temporary)
            # Straight to the account page: nothing else opens with a temporary password.
            expect(dee.locator("#change-required")).to_be_visible()
            dee.goto(f"{server}/portal/inventory")
            expect(dee.locator("h1")).to_have_text("Your account")
            dee.fill("#current-password", temporary)
            dee.fill("#new-password", OWN_PASSWORD)
            dee.fill("#new-password-again", OWN_PASSWORD)
            dee.click("button:has-text('Change password')")
            expect(dee.locator(".notice")).to_contain_text("Password changed")
            dee.goto(f"{server}/portal/")
            expect(dee.locator("h1")).to_have_text("Alpha Energy")

            # The officer sees the login, and disables the user.
            p.click("a:has-text('Back to dee@alpha')")
            expect(p.locator("#user-status")).to_have_text("Active")
            assert_fits(p, tmp_path / "user.png")
            p.click("button:has-text('Disable user')")
            expect(p.locator(".notice")).to_contain_text("User disabled")
            expect(p.locator("#user-status")).to_have_text("Disabled")

            dee.reload()
            assert "/portal/login" in dee.url
            log_in(dee, server, "dee@alpha", OWN_PASSWORD)
            expect(dee.locator(".alert")).to_have_text("username or password is wrong")
        finally:
            desk.close()
