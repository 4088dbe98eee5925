"""The report pages in a real browser (Debian's Chromium via Playwright, JavaScript off):
log in, filter by period and dimension, download a table as CSV, fetch a frozen file, and
find another party's report is not there."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from meterhub.config import Settings
from tests.portal.reports_world import SECRET, ReportParties, make_report_parties, report_files

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

from tests.portal.test_browser import keep_for_docs, page, served_hub  # noqa: E402

__all__ = ["page", "report_files"]


@pytest.fixture
def parties(session: Session) -> ReportParties:
    return make_report_parties(session)


@pytest.fixture
def server(
    settings: Settings,
    parties: ReportParties,
    report_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """``meterhub serve`` on a free port with the lake, its cube and the frozen runs."""
    lake, reports = report_files
    monkeypatch.setenv("METERHUB_LAKE_DIR", str(lake))
    monkeypatch.setenv("METERHUB_REPORTS_DIR", str(reports))
    monkeypatch.setenv("METERHUB_REPORT_SECRET", SECRET)
    with served_hub(tmp_path) as base:
        yield base


def summary_cells(p: Page) -> list[list[str]]:
    rows = p.locator("table[data-table=summary] tbody tr")
    return [
        [c.strip() for c in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


class TestReportsInABrowser:
    def test_filter_download_and_frozen_files(
        self, server: str, page: Page, parties: ReportParties, tmp_path: Path
    ) -> None:
        p = page
        p.goto(f"{server}/portal/reports/ESUP1")
        assert "/portal/login" in p.url
        p.fill("#username", parties.login_1.user.username)
        p.fill("#password", parties.login_1.password)
        p.click("button:has-text('Log in')")
        expect(p.locator("h1")).to_have_text("Customer Analytics: ESUP1")
        expect(p.locator("nav.mainnav a[aria-current=page]")).to_have_text("Reports")

        # June, ACME-1 meters only, broken down by firmware.
        p.fill("input[name=from]", "2024-06-01")
        p.fill("input[name=to]", "2024-06-30")
        p.select_option("select[name=model]", "ACME-1")
        p.select_option("select[name=breakdown]", "firmware_version")
        p.click("button:has-text('Show report')")
        assert "model=ACME-1" in p.url and "breakdown=firmware_version" in p.url
        shown = summary_cells(p)
        # Three reads and three timeouts, and one refusal, all from the ACME-1 meter.
        assert shown[0][:6] == ["own", "ESUP1", "7", "3", "4", "42.9"]
        assert shown[1][1] == "Industry"
        assert [r[1].split(" ")[0] for r in shown[2:]] == ["Supplier"] * 5
        expect(p.locator("svg.chart")).to_have_count(3)
        p.screenshot(path=tmp_path / "reports.png", full_page=True)
        keep_for_docs(tmp_path / "reports.png", "reports.png")

        # The summary's CSV is exactly the table on screen.
        with p.expect_download() as info:
            p.click("#table-summary a:has-text('Download CSV')")
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)
        assert saved.name == "meterhub-report-esup1-summary-2024-06-01-2024-06-30.csv"
        with saved.open(newline="") as f:
            header, *rows = list(csv.reader(f))
        assert header[:3] == ["Series", "Party", "Requests"]
        assert rows == shown

        # The league tables are a section of their own, under the same filters.
        p.click("nav.sections a:has-text('League tables')")
        assert "model=ACME-1" in p.url and "section=league" in p.url
        expect(p.locator("table[data-table=league]")).to_have_count(1)
        expect(p.locator("table[data-table=summary]")).to_have_count(0)
        p.click("nav.sections a:has-text('Business processes')")
        expect(p.locator("table[data-table=summary]")).to_have_count(1)

        # Narrowed to a model only one other supplier has: no industry, no peers.
        p.select_option("select[name=model]", "RARE-9")
        p.click("button:has-text('Show report')")
        expect(p.locator(".notice")).to_contain_text("Industry figures are hidden")
        assert [r[0] for r in summary_cells(p)] == ["own"]

        # The frozen June report: one of its CSVs downloads.
        p.click("a:has-text('Your monthly reports')")
        expect(p.locator("h1")).to_have_text("Monthly reports: ESUP1")
        with p.expect_download() as info:
            p.click("a:has-text('business_process.process_success.csv')")
        frozen = tmp_path / "frozen.csv"
        info.value.save_as(frozen)
        assert frozen.read_text().startswith("month,series,")

        # Another supplier's report is simply not there.
        answer = p.goto(f"{server}/portal/reports/ESUP2")
        assert answer is not None and answer.status == 404
        expect(p.locator(".error-status")).to_have_text("404")
