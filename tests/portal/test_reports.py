"""``/portal/reports``: the party's report page with filters and charts, a CSV per table holding
exactly what the page shows, and its frozen monthly files; another party's anything is a 404."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from meterhub.app import create_app
from meterhub.config import Settings
from tests.portal.conftest import log_in
from tests.portal.reports_world import (
    SECRET,
    ReportParties,
    make_report_parties,
    report_files,
    table_cells,
)
from tests.reporting.explore_lake import EVERYONE_BUT, device_ids_of

__all__ = ["report_files"]

JUNE = "from=2024-06-01&to=2024-06-30"


@pytest.fixture
def parties(session: Session) -> ReportParties:
    return make_report_parties(session)


@pytest.fixture
def client(
    settings: Settings, report_files: tuple[Path, Path], parties: ReportParties
) -> Iterator[TestClient]:
    lake, reports = report_files
    configured = settings.model_copy(
        update={"lake_dir": str(lake), "reports_dir": str(reports), "report_secret": SECRET}
    )
    with TestClient(create_app(configured)) as c:
        log_in(c, parties.login_1)
        yield c


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


SECTIONS = ("process", "league", "alerts", "inventory")


def every_section(client: TestClient, params: str) -> tuple[str, dict[str, list[list[str]]]]:
    """The text of every section of the page, and the tables they show."""
    texts, cells = [], {}
    for section in SECTIONS:
        page = client.get(f"/portal/reports/ESUP1?{params}&section={section}")
        assert page.status_code == 200
        texts.append(page.text)
        cells.update(table_cells(page.text))
    return "\n".join(texts), cells


class TestReportPage:
    def test_reports_lead_to_the_callers_own_page(self, client: TestClient) -> None:
        answer = client.get("/portal/reports", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/reports/ESUP1"

    def test_own_numbers_industry_peers_charts(self, client: TestClient) -> None:
        page = client.get(f"/portal/reports/ESUP1?{JUNE}")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        cells = table_cells(page.text)
        summary = cells["summary"]
        # Three days of one read and one timeout, a tariff update, a rare read, a refusal.
        assert summary[0][:6] == ["own", "ESUP1", "9", "5", "4", "55.6"]
        assert summary[1][:2] == ["industry", "Industry"]
        assert [r[1].rsplit(" ", 1)[0] for r in summary[2:]] == ["Supplier"] * 5
        assert page.text.count("<svg") == 3
        assert set(cells) == {"summary", "daily", "breakdown", "rtt", "failures"}
        assert set(every_section(client, JUNE)[1]) == {
            "summary",
            "daily",
            "breakdown",
            "rtt",
            "failures",
            "league",
            "alerts",
        }

    def test_nothing_of_another_party_is_on_the_page(self, client: TestClient) -> None:
        for params in (JUNE, f"{JUNE}&breakdown=model", f"{JUNE}&model=RARE-9"):
            text, _ = every_section(client, params)
            for other in EVERYONE_BUT("ESUP1"):
                assert f">{other}<" not in text and f" {other} " not in text
                for identifier in device_ids_of(other):
                    assert identifier not in text

    def test_filters_come_back_selected(self, client: TestClient) -> None:
        page = client.get(f"/portal/reports/ESUP1?{JUNE}&csp_region=South&breakdown=srv")
        assert '<option value="South" selected>' in page.text
        assert '<option value="srv" selected>' in page.text
        assert table_cells(page.text)["summary"][0][2] == "1"

    def test_a_filter_isolating_one_peer_breaks_nothing_out(self, client: TestClient) -> None:
        page = client.get(f"/portal/reports/ESUP1?{JUNE}&model=RARE-9")
        cells = every_section(client, f"{JUNE}&model=RARE-9")[1]
        assert {row[0] for row in cells["summary"]} == {"own"}
        assert "Industry figures are hidden" in page.text
        assert "fewer than 5 parties with requests" in page.text and "2 parties" not in page.text
        assert all(row[3] != "peer" for row in cells["league"])

    def test_bad_filters_get_an_error_page(self, client: TestClient) -> None:
        page = client.get("/portal/reports/ESUP1?from=2024-06-30&to=2024-06-01")
        assert page.status_code == 422
        assert "bad_period" in page.text

    def test_a_stranger_is_sent_to_log_in(self, settings: Settings) -> None:
        with TestClient(create_app(settings)) as anonymous:
            answer = anonymous.get("/portal/reports/ESUP1", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/portal/login")

    def test_without_report_data_the_page_says_so(
        self, settings: Settings, parties: ReportParties
    ) -> None:
        with TestClient(create_app(settings)) as c:
            log_in(c, parties.login_1)
            page = c.get("/portal/reports/ESUP1")
        assert page.status_code == 200
        assert "No report data is configured" in page.text


class TestSections:
    """The page is split into sections a person moves between by plain links."""

    def test_each_section_shows_its_own_tables(self, client: TestClient) -> None:
        shown = {
            section: set(
                table_cells(client.get(f"/portal/reports/ESUP1?{JUNE}&section={section}").text)
            )
            for section in SECTIONS
        }
        assert shown == {
            "process": {"summary", "daily", "breakdown", "rtt", "failures"},
            "league": {"league"},
            "alerts": {"alerts"},
            "inventory": set(),
        }

    def test_section_links_keep_the_filters(self, client: TestClient) -> None:
        page = client.get(f"/portal/reports/ESUP1?{JUNE}&model=ACME-1&section=league")
        links = re.findall(r'<nav class="sections".*?</nav>', page.text, re.S)[0]
        hrefs = re.findall(r'href="([^"]+)"', links)
        assert len(hrefs) == 4
        assert all("model=ACME-1" in h and "from=2024-06-01" in h for h in hrefs)
        assert 'aria-current="page">League tables<' in links
        # The form keeps the section, so filtering stays in it.
        assert '<input type="hidden" name="section" value="league">' in page.text

    def test_the_inventory_section_lists_the_monthly_inventory_reports(
        self, client: TestClient
    ) -> None:
        page = client.get(f"/portal/reports/ESUP1?{JUNE}&section=inventory")
        assert 'href="/portal/reports/ESUP1/runs/2024-06/inventory.devices.csv"' in page.text
        assert "business_process.process_success.csv" not in page.text

    def test_an_unknown_section_is_a_404(self, client: TestClient) -> None:
        assert client.get(f"/portal/reports/ESUP1?{JUNE}&section=nope").status_code == 404


class TestCsv:
    @pytest.mark.parametrize(
        "params", [JUNE, f"{JUNE}&model=ACME-1&breakdown=firmware_version", f"{JUNE}&model=RARE-9"]
    )
    def test_each_table_downloads_exactly_as_shown(self, client: TestClient, params: str) -> None:
        shown = every_section(client, params)[1]
        for table_id, rows in shown.items():
            answer = client.get(f"/portal/reports/ESUP1/{table_id}.csv?{params}")
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/csv")
            assert "attachment" in answer.headers["content-disposition"]
            header, *body = csv_rows(answer.text)
            empty = len(rows) == 1 and len(rows[0]) == 1
            assert body == ([] if empty else rows), table_id
            assert header[0]

    def test_an_unknown_table_is_a_404(self, client: TestClient) -> None:
        assert client.get(f"/portal/reports/ESUP1/devices.csv?{JUNE}").status_code == 404


class TestAnotherParty:
    @pytest.mark.parametrize(
        "path",
        [
            "/portal/reports/ESUP2",
            "/portal/reports/ESUP2/summary.csv",
            "/portal/reports/ESUP2/runs",
            "/portal/reports/ESUP2/runs/2024-06/manifest.json",
            "/portal/reports/ESUP2/runs/2024-06/ESUP2-2024-06.pdf",
            "/portal/reports/NOSUCH/runs",
        ],
    )
    def test_another_partys_pages_and_files_are_404(self, client: TestClient, path: str) -> None:
        answer = client.get(path)
        assert answer.status_code == 404
        assert "ESUP2-2024-06" not in answer.text

    @pytest.mark.parametrize(
        "name",
        [
            "ESUP2-2024-06.pdf",  # another party's PDF, beside one's own
            "..%2Fmanifest.json",  # the run manifest, which lists every recipient
            "..%2F..%2FESUP2%2Fmanifest.json",
            "%2Fetc%2Fpasswd",
            "inventory.devices.csv.bak",
        ],
    )
    def test_only_files_in_ones_own_manifest_download(self, client: TestClient, name: str) -> None:
        assert client.get(f"/portal/reports/ESUP1/runs/2024-06/{name}").status_code == 404

    def test_a_bad_month_is_a_404(self, client: TestClient) -> None:
        assert client.get("/portal/reports/ESUP1/runs/2024-13/manifest.json").status_code == 404


class TestFrozenRuns:
    def test_the_months_and_files_are_listed(self, client: TestClient) -> None:
        page = client.get("/portal/reports/ESUP1/runs")
        assert page.status_code == 200
        assert "2024-06" in page.text
        assert (
            "/portal/reports/ESUP1/runs/2024-06/business_process.process_success.csv" in page.text
        )
        assert "/portal/reports/ESUP1/runs/2024-06/ESUP1-2024-06.pdf" in page.text
        assert "ESUP2" not in page.text

    def test_own_files_download(self, client: TestClient, report_files: tuple[Path, Path]) -> None:
        folder = report_files[1] / "2024-06" / "ESUP1"
        name = "business_process.process_success.csv"
        answer = client.get(f"/portal/reports/ESUP1/runs/2024-06/{name}")
        assert answer.status_code == 200
        assert answer.content == (folder / name).read_bytes()
        pdf = client.get("/portal/reports/ESUP1/runs/2024-06/ESUP1-2024-06.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        manifest = client.get("/portal/reports/ESUP1/runs/2024-06/manifest.json").json()
        assert manifest["recipient"] == "ESUP1"

    def test_device_rows_in_a_frozen_file_are_only_ones_own(
        self, client: TestClient, report_files: tuple[Path, Path]
    ) -> None:
        text = client.get("/portal/reports/ESUP1/runs/2024-06/manifest.json").text
        names = [f["path"] for f in json.loads(text)["files"]]
        for name in names:
            body = client.get(f"/portal/reports/ESUP1/runs/2024-06/{name}").text
            for other in EVERYONE_BUT("ESUP1"):
                for identifier in device_ids_of(other):
                    assert identifier not in body, name


@pytest.fixture
def operator(
    settings: Settings, report_files: tuple[Path, Path], parties: ReportParties
) -> Iterator[TestClient]:
    lake, reports = report_files
    configured = settings.model_copy(
        update={"lake_dir": str(lake), "reports_dir": str(reports), "report_secret": SECRET}
    )
    with TestClient(create_app(configured)) as c:
        log_in(c, parties.operator)
        yield c


class TestOperatorView:
    """The hub operator reads any party's reports, exactly as that party sees them."""

    def test_the_operator_lands_on_a_party_with_reports(self, operator: TestClient) -> None:
        answer = operator.get("/portal/reports", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/portal/reports/ESUP6"  # the most requests
        page = operator.get("/portal/reports")
        assert "DCC has no requests" not in page.text
        assert table_cells(page.text)["summary"][0][:2] == ["own", "ESUP6"]

    def test_it_sees_exactly_what_the_party_sees_and_says_whose_view(
        self, operator: TestClient, client: TestClient, parties: ReportParties
    ) -> None:
        log_in(client, parties.login_2)
        for params in (JUNE, f"{JUNE}&model=ACME-1", f"{JUNE}&breakdown=model"):
            as_operator = operator.get(f"/portal/reports/ESUP2?{params}")
            assert as_operator.status_code == 200
            assert "Viewing as ESUP2 (operator view)" in as_operator.text
            own = client.get(f"/portal/reports/ESUP2?{params}")
            assert "operator view" not in own.text
            assert table_cells(as_operator.text) == table_cells(own.text)

    def test_the_picker_lists_the_parties_with_reports_and_keeps_the_period(
        self, operator: TestClient
    ) -> None:
        page = operator.get(f"/portal/reports/ESUP1?{JUNE}")
        assert '<select name="party">' in page.text
        assert '<option value="ESUP2">' in page.text
        assert '<option value="DCC">' not in page.text  # the operator sends no requests
        picked = operator.get(
            "/portal/reports?party=ESUP2&from=2024-06-03&to=2024-06-09", follow_redirects=False
        )
        assert picked.headers["location"] == "/portal/reports/ESUP2?from=2024-06-03&to=2024-06-09"

    def test_its_csvs_and_frozen_files(self, operator: TestClient) -> None:
        table = operator.get(f"/portal/reports/ESUP2/summary.csv?{JUNE}")
        assert table.status_code == 200 and csv_rows(table.text)[1][1] == "ESUP2"
        runs = operator.get("/portal/reports/ESUP2/runs")
        assert "Viewing as ESUP2 (operator view)" in runs.text
        assert "/portal/reports/ESUP2/runs/2024-06/ESUP2-2024-06.pdf" in runs.text
        pdf = operator.get("/portal/reports/ESUP2/runs/2024-06/ESUP2-2024-06.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    def test_a_party_that_does_not_exist_is_a_404(self, operator: TestClient) -> None:
        assert operator.get(f"/portal/reports/NOSUCH?{JUNE}").status_code == 404

    def test_anyone_else_gets_no_picker_and_cannot_pick(self, client: TestClient) -> None:
        page = client.get(f"/portal/reports/ESUP1?{JUNE}")
        assert 'name="party"' not in page.text and "operator view" not in page.text
        picked = client.get("/portal/reports?party=ESUP2", follow_redirects=False)
        assert picked.headers["location"] == "/portal/reports/ESUP1"
        assert client.get(f"/portal/reports/ESUP2?{JUNE}").status_code == 404


class TestDefaultPeriod:
    def test_the_page_opens_on_the_newest_month_held_from_its_first_day(
        self, client: TestClient
    ) -> None:
        page = client.get("/portal/reports/ESUP1")
        assert 'name="from" value="2024-06-01"' in page.text
        assert 'name="to" value="2024-06-07"' in page.text  # the newest day the lake holds
        assert "the month so far, up to the newest complete day" in page.text
