"""The hub operator's report pages in a real browser (JavaScript off): it lands on a party's
reports, labelled as its view of that party, and picks another party from the list."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.portal.reports_world import ReportParties, report_files

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

from tests.portal.test_browser import page  # noqa: E402
from tests.portal.test_browser_reports import parties, server, summary_cells  # noqa: E402

__all__ = ["page", "parties", "report_files", "server"]


class TestOperatorReportsInABrowser:
    def test_the_operator_picks_a_party_and_sees_its_view_labelled(
        self, server: str, page: Page, parties: ReportParties, tmp_path: Path
    ) -> None:
        p = page
        p.goto(f"{server}/portal/login")
        p.fill("#username", parties.operator.user.username)
        p.fill("#password", parties.operator.password)
        p.click("button:has-text('Log in')")
        p.click("nav a:has-text('Reports')")
        expect(p.locator("h1")).to_have_text("Customer Analytics: ESUP6")
        expect(p.locator(".operator-view")).to_contain_text("Viewing as ESUP6 (operator view)")

        p.fill("form.filters input[name=from]", "2024-06-03")
        p.fill("form.filters input[name=to]", "2024-06-05")
        p.click("button:has-text('Show report')")
        p.select_option("select[name=party]", "ESUP2")
        p.click(".party-picker button:has-text('View')")
        assert p.url.endswith("/portal/reports/ESUP2?from=2024-06-03&to=2024-06-05")
        expect(p.locator(".operator-view")).to_contain_text("Viewing as ESUP2 (operator view)")
        shown = summary_cells(p)
        assert shown[0][:2] == ["own", "ESUP2"]
        assert [r[1].split(" ")[0] for r in shown[2:]] == ["Supplier"] * 5
        assert p.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        p.screenshot(path=tmp_path / "operator-reports.png")

        p.click('a:has-text("ESUP2\'s monthly reports")')
        expect(p.locator(".operator-view")).to_contain_text("Viewing as ESUP2 (operator view)")
        expect(p.locator("a:has-text('ESUP2-2024-06.pdf')")).to_have_count(1)
