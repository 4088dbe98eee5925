"""The operator's command line: ``meterhub db upgrade``, ``party ...`` and ``user ...``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from meterhub.audit.models import AuditEntry
from meterhub.cli.main import app
from meterhub.config import Settings, get_settings
from meterhub.db.session import get_engine
from meterhub.migrations.run import current_revision
from meterhub.parties import service
from meterhub.parties.models import Party

runner = CliRunner()


def meterhub(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def _fail_line(result: Result) -> str:
    """A refusal is exactly one line on stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty database file, not yet migrated, named by METERHUB_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("METERHUB_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    get_engine(url).dispose()


class TestDbUpgrade:
    def test_creates_the_schema_on_an_empty_database(self, fresh_db: str) -> None:
        result = meterhub("db", "upgrade")
        assert result.exit_code == 0, result.output
        head = current_revision(fresh_db)
        assert head is not None
        assert result.stdout.strip() == f"database at revision {head}"
        assert meterhub("party", "list").exit_code == 0

    def test_running_it_again_changes_nothing(self, settings: Settings) -> None:
        before = current_revision(settings.database_url)
        result = meterhub("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert current_revision(settings.database_url) == before

    def test_commands_on_an_unmigrated_database_say_what_to_do(self, fresh_db: str) -> None:
        result = meterhub("party", "list")
        assert result.exit_code == 1
        assert "meterhub db upgrade" in _fail_line(result)


class TestParty:
    def test_add_and_list(self, settings: Settings, session: Session) -> None:
        result = meterhub(
            "party",
            "add",
            "edf",
            "EDF Energy",
            "--kind",
            "supplier",
            "--role",
            "IS",
            "--role",
            "GS",
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "party EDF registered"
        party = service.party_by_code(session, "EDF")
        assert party is not None
        assert (party.name, party.kind, service.party_roles(party)) == (
            "EDF Energy",
            "supplier",
            {"IS", "GS"},
        )
        entry = session.scalar(select(AuditEntry).where(AuditEntry.object_id == "EDF"))
        assert entry is not None
        assert (entry.interface, entry.action) == ("cli", "party.created")

        meterhub(
            "party", "add", "DNO1", "Northern Grid", "--kind", "network_operator", "--role", "ED"
        )
        listed = meterhub("party", "list")
        assert listed.exit_code == 0
        lines = listed.stdout.strip().splitlines()
        assert [line.split()[:3] for line in lines] == [
            ["DNO1", "network_operator", "ED"],
            ["EDF", "supplier", "GS,IS"],
        ]
        assert lines[1].endswith("EDF Energy")

    def test_duplicate_party_is_one_line_and_exit_2(
        self, settings: Settings, session: Session
    ) -> None:
        args = ("party", "add", "EDF", "EDF Energy", "--kind", "supplier", "--role", "IS")
        assert meterhub(*args).exit_code == 0
        result = meterhub(*args)
        assert result.exit_code == 2
        assert _fail_line(result) == "error: party_exists: party EDF already exists"

    @pytest.mark.parametrize(
        ("kind", "role", "code"),
        [("supplier", "BOSS", "bad_role"), ("bank", "IS", "bad_kind")],
    )
    def test_bad_role_or_kind_is_exit_2(
        self, settings: Settings, session: Session, kind: str, role: str, code: str
    ) -> None:
        result = meterhub("party", "add", "NEW", "New Co", "--kind", kind, "--role", role)
        assert result.exit_code == 2
        assert _fail_line(result).startswith(f"error: {code}: ")
        assert session.scalar(select(Party).where(Party.code == "NEW")) is None


class TestUser:
    def _party(self) -> None:
        result = meterhub(
            "party",
            "add",
            "EDF",
            "EDF Energy",
            "--kind",
            "supplier",
            "--role",
            "IS",
            "--role",
            "ES",
        )
        assert result.exit_code == 0, result.output

    def test_add_user_and_issue_a_token_that_works(
        self, settings: Settings, session: Session, client: TestClient
    ) -> None:
        self._party()
        result = meterhub(
            "user",
            "add",
            "EDF",
            "Alice",
            "--password",
            "a long enough password",
            "--role",
            "is=90b3d51f30000001",
            "--role",
            "ES",
            "--display-name",
            "Alice A",
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "user alice added to EDF"
        user = service.user_by_username(session, "alice")
        assert user is not None
        assert {r.role: r.duis_user_id for r in user.roles} == {
            "IS": "90-B3-D5-1F-30-00-00-01",
            "ES": None,
        }

        issued = meterhub("user", "token", "alice", "--label", "ci")
        assert issued.exit_code == 0, issued.output
        printed = json.loads(issued.stdout)
        assert printed["username"] == "alice"
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {printed['token']}"})
        assert me.status_code == 200
        assert me.json()["display_name"] == "Alice A"

    def test_password_is_prompted_for(self, settings: Settings, session: Session) -> None:
        self._party()
        result = meterhub(
            "user", "add", "EDF", "bob", "--role", "IS", input="a long enough password\n"
        )
        assert result.exit_code == 0, result.output
        assert "a long enough password" not in result.output
        assert service.user_by_username(session, "bob") is not None

    @pytest.mark.parametrize(
        ("party", "role", "password", "code"),
        [
            ("EDF", "ED", "a long enough password", "role_not_held"),
            ("EDF", "BOSS", "a long enough password", "bad_role"),
            ("EDF", "IS=not-an-eui", "a long enough password", "bad_eui64"),
            ("EDF", "IS", "short", "weak_password"),
            ("NOSUCH", "IS", "a long enough password", "not_found"),
        ],
    )
    def test_refusals_are_one_line_and_exit_2(
        self,
        settings: Settings,
        session: Session,
        party: str,
        role: str,
        password: str,
        code: str,
    ) -> None:
        self._party()
        result = meterhub("user", "add", party, "carol", "--password", password, "--role", role)
        assert result.exit_code == 2
        assert _fail_line(result).startswith(f"error: {code}: ")
        assert service.user_by_username(session, "carol") is None

    def test_token_for_unknown_user(self, settings: Settings) -> None:
        result = meterhub("user", "token", "nobody")
        assert result.exit_code == 2
        assert _fail_line(result) == "error: unknown_user: no user nobody"

    def test_token_is_printed_on_one_line(self, settings: Settings, session: Session) -> None:
        self._party()
        username = "a-rather-long-service-account@edf-energy.example"
        added = meterhub("user", "add", "EDF", username, "--password", "x" * 12, "--role", "IS")
        assert added.exit_code == 0, added.output
        issued = meterhub("user", "token", username)
        assert issued.exit_code == 0
        assert len(issued.stdout.strip().splitlines()) == 1

    def test_the_operator_makes_and_unmakes_a_local_security_officer(
        self, settings: Settings, session: Session, client: TestClient
    ) -> None:
        self._party()
        added = meterhub("user", "add", "EDF", "lso", "--password", "x" * 12, "--role", "IS")
        assert added.exit_code == 0, added.output
        made = meterhub("user", "lso", "lso")
        assert made.exit_code == 0, made.output
        assert made.stdout.strip() == "user lso is now a Local Security Officer of EDF"
        token = json.loads(meterhub("user", "token", "lso").stdout)["token"]
        listed = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.permissions_changed")
        ).one()
        assert (entry.actor, entry.interface) == ("system", "cli")

        withdrawn = meterhub("user", "lso", "lso", "--withdraw")
        assert withdrawn.exit_code == 0, withdrawn.output
        listed = client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        assert listed.json()["error"]["code"] == "not_security_officer"

    def test_lso_of_an_unknown_user(self, settings: Settings) -> None:
        result = meterhub("user", "lso", "nobody")
        assert result.exit_code == 2
        assert _fail_line(result) == "error: unknown_user: no user nobody"
