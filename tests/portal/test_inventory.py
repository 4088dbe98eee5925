"""The inventory pages: filters, sorting, keyset pages, the CSV download, the device page."""

from __future__ import annotations

import csv
import html
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_device
from tests.portal.conftest import TwoSuppliers, log_in

_DEVICE_LINK = re.compile(r'href="/portal/devices/([0-9A-F-]{23})"')


def shown_ids(page_html: str) -> list[str]:
    return _DEVICE_LINK.findall(page_html)


def link(page_html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page_html)
    return html.unescape(found.group(1)) if found else None


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


class TestInventoryFilters:
    def test_unfiltered_list_is_all_of_the_partys_devices(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory")
        assert page.status_code == 200
        assert shown_ids(page.text) == sorted(d.device_id for d in world.devices_a)

    def test_each_filter_narrows_the_list(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        cases = {
            "status=Suspended": lambda d: d.status == "Suspended",
            "model=ACME-2": lambda d: d.model == "ACME-2",
            "firmware_version=2.0.0": lambda d: d.firmware_version == "2.0.0",
            "csp_region=South": lambda d: d.csp_region == "South",
            "device_type=CHF": lambda d: d.device_type == "CHF",
            "manufacturer=Acme&status=Commissioned&firmware_version=1.0.0": lambda d: (
                d.status == "Commissioned" and d.firmware_version == "1.0.0"
            ),
        }
        for query, wanted in cases.items():
            page = client.get(f"/portal/inventory?{query}")
            expected = sorted(d.device_id for d in world.devices_a if wanted(d))
            assert expected, query
            assert shown_ids(page.text) == expected, query

    def test_filter_selects_offer_only_the_partys_own_values(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory?model=ACME-1").text
        assert '<option value="ACME-1" selected>' in page
        assert '<option value="ACME-2">' in page
        assert "BRAVO-X" not in page
        assert "Bravo" not in page

    def test_unknown_status_is_a_clear_422_page(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory?status=Broken")
        assert page.status_code == 422
        assert "bad_status" in page.text
        assert "unknown status &#39;Broken&#39;" in page.text

    def test_bad_page_size_is_refused(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        for size in ("0", "abc", "100000"):
            page = client.get(f"/portal/inventory?size={size}")
            assert page.status_code == 422
            assert "bad_page_size" in page.text


class TestInventorySorting:
    def test_descending_model_sort_and_header_links(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory?sort=-model").text
        expected = [
            d.device_id
            for d in sorted(world.devices_a, key=lambda d: (d.model, d.device_id), reverse=True)
        ]
        assert shown_ids(page) == expected
        assert 'aria-sort="descending"><a href="/portal/inventory?sort=model&amp;size=50">' in page

    def test_unknown_sort_column_is_refused(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory?sort=password_hash")
        assert page.status_code == 422
        assert "bad_sort" in page.text


class TestInventoryPagination:
    def test_next_walks_every_device_once_and_previous_walks_back(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        url: str | None = "/portal/inventory?size=2&sort=model"
        pages: list[list[str]] = []
        html_pages: list[str] = []
        while url:
            page = client.get(url).text
            pages.append(shown_ids(page))
            html_pages.append(page)
            url = link(page, "next")
        expected = [
            d.device_id for d in sorted(world.devices_a, key=lambda d: (d.model, d.device_id))
        ]
        assert [len(p) for p in pages] == [2, 2, 2, 1]
        assert [i for p in pages for i in p] == expected
        assert link(html_pages[0], "prev") is None and link(html_pages[0], "first") is None

        back: list[list[str]] = [pages[-1]]
        page = html_pages[-1]
        while (url := link(page, "prev")) is not None:
            page = client.get(url).text
            back.append(shown_ids(page))
        assert back == list(reversed(pages))
        first = link(html_pages[2], "first")
        assert first is not None
        assert shown_ids(client.get(first).text) == pages[0]

    def test_page_size_choice_is_kept_in_links(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory?size=25&status=Commissioned").text
        assert '<option value="25" selected>' in page
        csv_link = re.search(r'href="(/portal/inventory\.csv\?[^"]+)"', page)
        assert csv_link is not None
        assert "status=Commissioned" in csv_link.group(1)


class TestInventoryCsv:
    def test_csv_is_every_matching_row_not_just_the_page(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        response = client.get("/portal/inventory.csv?status=Commissioned&size=2&sort=-device_id")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        rows = csv_rows(response.text)
        expected = sorted(
            (d.device_id for d in world.devices_a if d.status == "Commissioned"), reverse=True
        )
        assert [r["Device ID"] for r in rows] == expected
        assert response.text.splitlines()[0] == (
            "Device ID,Device type,Manufacturer,Model,Firmware version,SMETS/CHTS version,"
            "CSP region,Status,Holder,MPxN,Comms hub ID,Updated (UTC)"
        )
        assert {r["Status"] for r in rows} == {"Commissioned"}

    def test_csv_shows_the_holder_of_a_hub(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        rows = csv_rows(client.get("/portal/inventory.csv?device_type=CHF").text)
        assert [(r["Device ID"], r["Holder"]) for r in rows] == [
            (world.devices_a[-1].device_id, world.a.code)
        ]

    def test_csv_cells_cannot_run_as_spreadsheet_formulas(
        self, client: TestClient, session: Session, world: TwoSuppliers
    ) -> None:
        make_device(
            session,
            device_type="CHF",
            owner=world.a,
            status="Pending",
            model='=HYPERLINK("http://x")',
        )
        session.commit()
        log_in(client, world.login_a)
        rows = csv_rows(client.get("/portal/inventory.csv?device_type=CHF").text)
        assert '\'=HYPERLINK("http://x")' in {r["Model"] for r in rows}

    def test_csv_with_a_bad_filter_is_an_error_page(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        response = client.get("/portal/inventory.csv?csp_region=Mars")
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")

    def test_csv_needs_a_login(self, client: TestClient, world: TwoSuppliers) -> None:
        response = client.get("/portal/inventory.csv", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/portal/login?next=")


class TestDevicePage:
    def test_shows_the_device_and_its_history(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        device = world.devices_a[4]
        page = client.get(f"/portal/devices/{device.device_id.replace('-', '').lower()}")
        assert page.status_code == 200
        assert device.device_id in page.text
        assert "added to inventory" in page.text
        assert "Suspended" in page.text

    def test_malformed_device_id_is_a_422_page(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/devices/not-a-device")
        assert page.status_code == 422
        assert "bad_eui64" in page.text


class TestScoping:
    """A user of supplier A never sees supplier B's devices, on any page."""

    def test_list_and_filters_never_show_b(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        b_ids = {d.device_id for d in world.devices_b}
        for query in ("", "?model=BRAVO-X", "?manufacturer=Bravo", "?size=1000&sort=-model"):
            page = client.get(f"/portal/inventory{query}")
            assert page.status_code == 200
            assert not b_ids & set(shown_ids(page.text))
            assert not any(i in page.text for i in b_ids)

    def test_detail_of_bs_device_is_the_404_page(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        for device in (world.devices_b[0], world.devices_b[-1]):
            page = client.get(f"/portal/devices/{device.device_id}")
            assert page.status_code == 404
            assert page.headers["content-type"].startswith("text/html")
            assert "not_found" in page.text
            assert "BRAVO" not in page.text

    def test_csv_never_contains_b(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        rows = csv_rows(client.get("/portal/inventory.csv").text)
        assert sorted(r["Device ID"] for r in rows) == sorted(d.device_id for d in world.devices_a)
        assert not csv_rows(client.get("/portal/inventory.csv?model=BRAVO-X").text)

    def test_home_counts_only_as_devices(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/").text
        assert f'<span class="count">{len(world.devices_a)}</span>' in page
        assert "Bravo Power" not in page

    def test_b_sees_only_bs_own(self, client: TestClient, world: TwoSuppliers) -> None:
        log_in(client, world.login_b)
        page = client.get("/portal/inventory").text
        assert shown_ids(page) == sorted(d.device_id for d in world.devices_b)
        assert client.get(f"/portal/devices/{world.devices_a[0].device_id}").status_code == 404
