"""The demo logins printed for a newcomer: one per kind of party, and each shows something the
moment it logs in (devices on its home page and through the API; an agent, an appointment in
force)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from typer.testing import CliRunner

from meterhub.app import create_app
from meterhub.cli.main import app
from meterhub.config import Settings, get_settings
from meterhub.demo.logins import SHOWCASE, request_path
from meterhub.demo.seed import SeedResult, write_credentials
from meterhub.gateway.xml import parse_request
from tests.demo.conftest import AS_OF
from tests.portal.conftest import post_login

runner = CliRunner()
SR = "{http://www.dccinterface.co.uk/ServiceUserGateway}"


@pytest.fixture
def printed(
    seeded_db: tuple[str, SeedResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[str], Path]]:
    """What ``meterhub demo logins`` prints for the seeded estate, and the credentials file."""
    credentials = tmp_path / "credentials.json"
    write_credentials(credentials, seeded_db[1].credentials)
    assert seeded_db[1].request is not None
    request_path(credentials).write_bytes(seeded_db[1].request)
    monkeypatch.delenv("METERHUB_HUB_URL", raising=False)
    monkeypatch.setenv("METERHUB_SERVE_PORT", "8765")
    get_settings.cache_clear()
    result = runner.invoke(app, ["demo", "logins", "--credentials", str(credentials)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    yield result.stdout.splitlines(), credentials


@pytest.fixture
def hub(seeded_db: tuple[str, SeedResult], tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=seeded_db[0],
        secret_key="test-secret-key-not-for-production",
        secret_key_file=tmp_path / "secret",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def logins_of(lines: list[str]) -> dict[str, str]:
    """Kind of party -> username, from the printed table."""
    found = {}
    for line in lines:
        for kind, _ in SHOWCASE:
            if line.startswith(f"  {kind} "):
                found[kind] = line.split()[len(kind.split()) + 1]
    return found


class TestPrintedLogins:
    def test_one_login_per_kind_of_party(self, printed: tuple[list[str], Path]) -> None:
        assert set(logins_of(printed[0])) == {kind for kind, _ in SHOWCASE}

    def test_each_printed_login_sees_devices_in_the_portal_and_the_api(
        self, printed: tuple[list[str], Path], hub: TestClient, seeded_db: tuple[str, SeedResult]
    ) -> None:
        by_user = {c.username: c for c in seeded_db[1].credentials}
        for kind, username in logins_of(printed[0]).items():
            credential = by_user[username]
            hub.cookies.clear()
            assert post_login(hub, username, credential.password).status_code == 303, kind
            home = hub.get("/portal/")
            shown = re.search(r'Devices you can see <span class="count">(\d+)</span>', home.text)
            assert shown is not None and int(shown.group(1)) > 0, kind
            token = {"Authorization": f"Bearer {credential.api_token}"}
            devices = hub.get("/api/v1/devices", headers=token).json()
            assert devices["items"], kind

    def test_each_printed_party_has_a_local_security_officer_who_opens_the_users_page(
        self, printed: tuple[list[str], Path], hub: TestClient, seeded_db: tuple[str, SeedResult]
    ) -> None:
        lines = printed[0]
        start = lines.index(
            "  Local Security Officers (Users page: create, disable, reset passwords):"
        )
        end = lines.index("", start)
        officers = dict(line.split() for line in lines[start + 1 : end])
        by_party = {c.party: c for c in seeded_db[1].credentials}
        shown = {c.party for c in seeded_db[1].credentials if c.showcase}
        assert set(officers) == shown
        for party, username in officers.items():
            hub.cookies.clear()
            password = by_party[party].password
            assert post_login(hub, username, password).status_code == 303, party
            page = hub.get("/portal/users")
            assert page.status_code == 200, party
            assert by_party[party].username in page.text

    def test_the_agent_printed_holds_an_appointment_in_force(
        self, printed: tuple[list[str], Path], hub: TestClient, seeded_db: tuple[str, SeedResult]
    ) -> None:
        username = logins_of(printed[0])["agent (RSA)"]
        (credential,) = (c for c in seeded_db[1].credentials if c.username == username)
        token = {"Authorization": f"Bearer {credential.api_token}"}
        appointments = hub.get("/api/v1/appointments", headers=token).json()
        assert any(
            a["valid_from"] <= AS_OF.isoformat() and a["valid_to"] is None for a in appointments
        )

    def test_the_duis_command_has_the_hubs_address_and_a_request_it_accepts(
        self, printed: tuple[list[str], Path], hub: TestClient, seeded_db: tuple[str, SeedResult]
    ) -> None:
        lines, credentials = printed
        (command,) = (line for line in lines if "meterhub duis send" in line)
        assert "--url http://127.0.0.1:8765 " in command
        assert str(request_path(credentials)) in command
        token = command.split("--token ")[1].split()[0]
        request = parse_request(request_path(credentials).read_bytes())
        assert request.srv == "4.1.1"
        answer = hub.post(
            "/api/v1/duis",
            content=request_path(credentials).read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
        )
        assert answer.status_code == 200, answer.text
        code = etree.fromstring(answer.content).find(f"{SR}Header/{SR}ResponseCode")
        assert code is not None and code.text == "I99"
