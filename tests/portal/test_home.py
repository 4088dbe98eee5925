"""The home page: who you are, what your party can see, and whom it works with."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_login
from tests.portal.conftest import TwoSuppliers, log_in


def cell(page: str, device_type: str) -> list[str]:
    """The numbers in one row of the device-count table."""
    row = re.search(rf"<th scope=\"row\"><a [^>]*>{device_type}</a></th>(.*?)</tr>", page, re.S)
    assert row is not None, device_type
    return re.findall(r">(\d+)<", row.group(1))


class TestHome:
    def test_shows_party_user_roles_and_duis_ids(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/").text
        assert "Alpha Energy" in page
        assert f"<code>{world.a.code}</code>" in page
        assert world.login_a.user.display_name in page
        for role in world.login_a.user.roles:
            assert role.duis_user_id and role.duis_user_id in page
            assert f'<span class="tag">{role.role}</span>' in page

    def test_counts_devices_by_type_and_status(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/").text
        # Columns in status order present: Pending, Commissioned, Suspended; then All.
        assert cell(page, "ESME") == ["0", "4", "2", "6"]
        assert cell(page, "CHF") == ["1", "0", "0", "1"]
        assert 'href="/portal/inventory?device_type=ESME&amp;status=Suspended"' in page

    def test_lists_appointments_made_and_held(
        self, client: TestClient, session: Session, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/").text
        assert "Made by your party" in page
        assert "Charlie Metering" in page
        assert "in force" in page

        agent_login = make_login(session, party=world.agent)
        session.commit()
        client.cookies.clear()
        log_in(client, agent_login)
        page = client.get("/portal/").text
        assert "Held by your party" in page
        assert "Alpha Energy" in page
        # The agent sees the meters of the supplier that appointed it, not its hub.
        assert cell(page, "ESME") == ["4", "2", "6"]

    def test_header_names_party_and_user_with_a_logout_form(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/inventory").text
        assert '<span class="party" title="Party">Alpha Energy' in page
        assert 'action="/portal/logout"' in page
        assert 'aria-current="page">Inventory</a>' in page


class TestErrorPages:
    def test_unknown_portal_page_is_an_html_404(
        self, client: TestClient, world: TwoSuppliers
    ) -> None:
        log_in(client, world.login_a)
        page = client.get("/portal/no-such-page")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "there is no such page in the portal" in page.text

    def test_wrong_method_is_an_html_405(self, client: TestClient) -> None:
        page = client.post("/portal/inventory")
        assert page.status_code == 405
        assert page.headers["content-type"].startswith("text/html")
        assert "method_not_allowed" in page.text

    def test_api_errors_stay_json(self, client: TestClient) -> None:
        response = client.get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_portal_pages_are_not_cached_and_allow_no_script(self, client: TestClient) -> None:
        page = client.get("/portal/login")
        assert page.headers["cache-control"] == "no-store"
        assert "script-src" not in page.headers["content-security-policy"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "<script" not in page.text
